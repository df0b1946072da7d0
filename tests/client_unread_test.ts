/**
 * The client core's unread bookkeeping (issue #15): lib/client/unread.ts
 * (counts seeded by the server's `conversations`, counted live, read on
 * screen, `read` marks from my other devices, notification levels and the
 * alert rule, `/next`), lib/client/conversation_names.ts (which conversation
 * a message is in), lib/client/read_sender.ts (marks coalesced per
 * conversation) and the page's Conversations built on them. Pure, except the
 * read sender's timers.
 */
import { assert, assertEquals } from "./_assert.ts";
import { withDeadline } from "./_helpers.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import type { ChatMessage, ConversationEntry } from "../lib/wire/protocol.ts";
import { alertWanted, type ReadMark, UnreadTracker } from "../lib/client/unread.ts";
import { channelName, conversationOf, sameConversation } from "../lib/client/conversation_names.ts";
import { ReadSender } from "../lib/client/read_sender.ts";
import { Conversations, isChannel } from "../lib/client/conversations.ts";

function msg(
  id: number,
  from: string,
  text: string,
  where: { channel?: string; to?: string } = {},
): { message: ChatMessage; text: string } {
  return {
    message: { type: "msg", id, ts: 1, from, kind: "text", body: encodeBody(text), ...where },
    text,
  };
}

function item(
  conversation: string,
  counts: Partial<Omit<ConversationEntry, "conversation">> = {},
): ConversationEntry {
  return {
    conversation,
    kind: conversation.startsWith("@") ? "direct" : "channel",
    unread: 0,
    mentions: 0,
    read: 0,
    last: 0,
    notify: "all",
    ...counts,
  };
}

/** A tracker for "ana", and the read marks it reported. */
function tracker(): { unread: UnreadTracker; reads: ReadMark[] } {
  const reads: ReadMark[] = [];
  return { unread: new UnreadTracker({ onRead: (mark) => reads.push(mark) }), reads };
}

function arrive(
  unread: UnreadTracker,
  sent: { message: ChatMessage; text: string },
  options: { own?: boolean; source?: "live" | "missed" | "history" } = {},
) {
  return unread.arrive(
    sent.message,
    sent.text,
    options.own ?? false,
    options.source ?? "live",
    "ana",
  );
}

function counts(unread: UnreadTracker): Array<[string, number, number]> {
  return unread.all.map((status) => [status.name, status.unread, status.mentions]);
}

Deno.test("a message belongs to its channel, #general without one, or to the other party of a direct message", () => {
  assertEquals(conversationOf(msg(1, "bob", "x", { channel: "#ops" }).message, false), "#ops");
  assertEquals(conversationOf(msg(1, "bob", "x").message, false), "#general");
  assertEquals(conversationOf(msg(1, "bob", "x", { to: "ana" }).message, false), "@bob");
  assertEquals(conversationOf(msg(1, "ana", "x", { to: "bob" }).message, true), "@bob");
  assertEquals([channelName("ops"), channelName("#ops"), channelName(" ops ")], [
    "#ops",
    "#ops",
    "#ops",
  ]);
  assert(sameConversation("#Ops", "#ops") && sameConversation("@Bob", "@bob"));
  assert(!sameConversation("#bob", "@bob"));
});

Deno.test("unread: seeded by the server, counted live where I am not, mentions apart, read where I am", () => {
  const { unread, reads } = tracker();
  unread.seed([
    item("#general", { unread: 2, read: 5, last: 7 }),
    item("#ops", { unread: 3, mentions: 1, read: 10, last: 13 }),
    item("@bob", { unread: 1, mentions: 1, last: 4, notify: "mentions" }),
  ]);
  // #general is on screen: read at once, and the server is told.
  assertEquals(counts(unread), [["#general", 0, 0], ["#ops", 3, 1], ["@bob", 1, 1]]);
  assertEquals(reads, [{ conversation: "#general", id: 7 }]);

  const plain = arrive(unread, msg(14, "carol", "hi", { channel: "#ops" }));
  assertEquals([plain.counted, plain.mention, plain.alert], [true, false, true]);
  const mention = arrive(unread, msg(15, "carol", "@ANA look", { channel: "#ops" }));
  assertEquals([mention.counted, mention.mention, mention.alert], [true, true, true]);
  const direct = arrive(unread, msg(16, "bob", "psst", { to: "ana" }));
  assertEquals([direct.counted, direct.mention, direct.alert], [true, true, true]);
  // Mine, a repeat (missed again after a reconnect), an older page: not counted, no alert.
  const own = arrive(unread, msg(17, "ana", "mine", { channel: "#ops" }), { own: true });
  assertEquals([own.counted, own.alert], [false, false]);
  const repeat = arrive(unread, msg(14, "carol", "hi", { channel: "#ops" }), { source: "missed" });
  assertEquals([repeat.counted, repeat.alert], [false, false]);
  const old = arrive(unread, msg(12, "carol", "old", { channel: "#ops" }), { source: "history" });
  assertEquals([old.counted, old.alert], [false, false]);
  assertEquals(counts(unread), [["#general", 0, 0], ["#ops", 5, 2], ["@bob", 2, 2]]);
  assertEquals([unread.totalUnread, unread.totalMentions], [7, 4]);

  // On screen: a message there is read as it comes (no count, a mark).
  const here = arrive(unread, msg(18, "carol", "in general"));
  assertEquals([here.counted, here.alert], [false, false]);
  assertEquals(reads.at(-1), { conversation: "#general", id: 18 });
  // ...but a mention there still rings.
  assertEquals(arrive(unread, msg(19, "carol", "@here standup")).alert, true);

  assertEquals(unread.nextUnread()?.name, "#ops");
  unread.activate("#ops");
  assertEquals(unread.active?.name, "#ops");
  assertEquals(counts(unread)[1], ["#ops", 0, 0]);
  assertEquals(reads.at(-1), { conversation: "#ops", id: 17 });
  assertEquals(unread.nextUnread()?.name, "@bob");
  unread.activate("@bob");
  assertEquals(unread.nextUnread(), null);
});

Deno.test("unread: /next takes mentions first, then unread that is not muted, round from the one on screen", () => {
  const { unread } = tracker();
  unread.seed([
    item("#general"),
    item("#a", { unread: 2, last: 2 }),
    item("#b", { unread: 5, last: 5, notify: "muted" }),
    item("#c", { unread: 1, mentions: 1, last: 9 }),
    item("@dan", { unread: 1, mentions: 1, last: 3 }),
  ]);
  assertEquals(unread.nextUnread()?.name, "#c");
  unread.activate("#c");
  assertEquals(unread.nextUnread()?.name, "@dan");
  unread.activate("@dan");
  assertEquals(unread.nextUnread()?.name, "#a");
  unread.activate("#a");
  assertEquals(unread.nextUnread()?.name, "#b", "a muted one comes last");
});

Deno.test("unread: a read mark from my other device clears the count when it covers the newest message", () => {
  const { unread, reads } = tracker();
  unread.seed([item("#general"), item("#ops", { unread: 2, read: 10, last: 12 })]);
  arrive(unread, msg(13, "bob", "a", { channel: "#ops" }));
  arrive(unread, msg(14, "bob", "@ana b", { channel: "#ops" }));
  assertEquals(counts(unread)[1], ["#ops", 4, 1]);
  // Read up to an id the server counted: which of its unread are left is unknown; the count stays.
  unread.applyRead("#ops", 11);
  assertEquals(counts(unread)[1], ["#ops", 4, 1]);
  // Up to the server's newest: only what came after is left.
  unread.applyRead("#ops", 13);
  assertEquals(counts(unread)[1], ["#ops", 1, 1]);
  unread.applyRead("#ops", 12); // Older than a mark already applied: nothing.
  assertEquals(counts(unread)[1], ["#ops", 1, 1]);
  unread.applyRead("#OPS", 14);
  assertEquals(counts(unread)[1], ["#ops", 0, 0]);
  assertEquals(unread.find("#ops")?.readId, 14);
  assertEquals(reads, [], "a mark from elsewhere is not sent back");
  unread.applyRead("#nowhere", 99); // Not mine: ignored.
  assertEquals(unread.find("#nowhere"), undefined);
});

Deno.test("unread: what arrived after the server counted survives a late conversations message; a lost mark is sent again", () => {
  const { unread, reads } = tracker();
  arrive(unread, msg(20, "bob", "early", { channel: "#ops" }), { source: "missed" });
  assertEquals(counts(unread)[1], ["#ops", 1, 0]);
  unread.seed([item("#general"), item("#ops", { unread: 2, read: 15, last: 19 })]);
  assertEquals(counts(unread)[1], ["#ops", 3, 0]);
  unread.seed([item("#general"), item("#ops", { unread: 3, read: 15, last: 20 })]);
  assertEquals(counts(unread)[1], ["#ops", 3, 0]);
  // Read here up to 20; the server says 15 (the mark was lost): the count is 0 and the mark goes again.
  unread.activate("#ops");
  reads.length = 0;
  unread.activate("#general");
  unread.seed([item("#general"), item("#ops", { unread: 3, read: 15, last: 20 })]);
  assertEquals(counts(unread)[1], ["#ops", 0, 0]);
  assertEquals(reads, [{ conversation: "#ops", id: 20 }]);
});

Deno.test("notify levels: muted never alerts, mentions only on a mention, all on anything elsewhere", () => {
  const table: Array<[Parameters<typeof alertWanted>, boolean]> = [
    [["all", { live: true, own: false, mention: false, onScreen: false }], true],
    [["all", { live: true, own: false, mention: false, onScreen: true }], false],
    [["all", { live: true, own: false, mention: true, onScreen: true }], true],
    [["mentions", { live: true, own: false, mention: false, onScreen: false }], false],
    [["mentions", { live: true, own: false, mention: true, onScreen: false }], true],
    [["muted", { live: true, own: false, mention: true, onScreen: false }], false],
    [["all", { live: false, own: false, mention: true, onScreen: false }], false],
    [["all", { live: true, own: true, mention: true, onScreen: false }], false],
  ];
  for (const [args, wanted] of table) {
    assertEquals(alertWanted(...args), wanted, JSON.stringify(args));
  }

  const { unread } = tracker();
  unread.applyNotify("#ops", "muted");
  const muted = arrive(unread, msg(1, "bob", "@ana urgent", { channel: "#ops" }));
  assertEquals([muted.counted, muted.mention, muted.alert], [true, true, false]);
  unread.applyNotify("#ops", "mentions");
  assertEquals(arrive(unread, msg(2, "bob", "plain", { channel: "#ops" })).alert, false);
  assertEquals(arrive(unread, msg(3, "bob", "@channel hey", { channel: "#ops" })).alert, true);
  unread.applyNotify("#ops", "all");
  assertEquals(arrive(unread, msg(4, "bob", "plain", { channel: "#ops" })).alert, true);
  assertEquals(unread.find("#ops")?.notify, "all");
});

Deno.test("unread: a peer's rename moves the direct conversation; a hidden window counts; leaving a channel on screen goes to #general", () => {
  const { unread, reads } = tracker();
  arrive(unread, msg(1, "bob", "psst", { to: "ana" }));
  assertEquals(unread.renamePeer("bob", "Robert")?.name, "@Robert");
  assertEquals([unread.find("@bob"), unread.find("@robert")?.unread], [undefined, 1]);
  arrive(unread, msg(2, "carol", "hi", { to: "ana" }));
  unread.renamePeer("carol", "robert"); // The same account under two nicks: one conversation.
  assertEquals(counts(unread), [["#general", 0, 0], ["@Robert", 2, 2]]);

  unread.setVisible(false);
  assertEquals(arrive(unread, msg(3, "dan", "while away")).counted, true);
  assertEquals(unread.general.unread, 1);
  unread.setVisible(true);
  assertEquals(unread.general.unread, 0);
  assertEquals(reads.at(-1), { conversation: "#general", id: 3 });

  unread.activate("#ops");
  assert(unread.remove("#ops"));
  assertEquals(unread.active?.name, "#general");
  assert(!unread.remove("#general"), "#general stays");
});

Deno.test("read sender: the first mark goes at once, later ones of the interval as one, per conversation", async () => {
  const sent: ReadMark[] = [];
  let wake: () => void = () => {};
  const reads = new ReadSender((mark) => {
    sent.push(mark);
    wake();
  }, { intervalMs: 40 });
  try {
    reads.mark({ conversation: "#ops", id: 1 });
    reads.mark({ conversation: "#ops", id: 3 });
    reads.mark({ conversation: "#ops", id: 2 });
    reads.mark({ conversation: "@bob", id: 7 });
    assertEquals(sent, [{ conversation: "#ops", id: 1 }, { conversation: "@bob", id: 7 }]);
    const trailing = new Promise<void>((resolve) => (wake = resolve));
    await withDeadline(trailing, 2000, "the mark at the end of the interval");
    assertEquals(sent.at(-1), { conversation: "#ops", id: 3 });
    reads.mark({ conversation: "#ops", id: 4 }); // Within the next interval: waits...
    assertEquals(sent.length, 3);
  } finally {
    reads.close(); // ...and goes on close.
  }
  assertEquals(sent.at(-1), { conversation: "#ops", id: 4 });
});

Deno.test("page conversations: channels of their own, the server's counts, read marks out and in", () => {
  const reads: ReadMark[] = [];
  const conversations = new Conversations({ me: () => "ana", onRead: (mark) => reads.push(mark) });
  conversations.applyConversations([
    item("#general", { last: 3, read: 3 }),
    item("#ops", { unread: 2, mentions: 1, read: 4, last: 9, notify: "mentions" }),
    item("@bob", { unread: 1, mentions: 1, last: 5 }),
  ]);
  const ops = conversations.byName("#ops");
  assert(ops !== undefined && isChannel(ops));
  assertEquals([ops.key, ops.title, ops.name, ops.unread, ops.mentions, ops.notify], [
    "#ops",
    "ops",
    "#ops",
    2,
    1,
    "mentions",
  ]);
  assertEquals(conversations.privateWith("bob")?.unread, 1);
  assertEquals(conversations.all.map((conversation) => conversation.name), [
    "#general",
    "#ops",
    "@bob",
  ]);

  const decoded = (sent: { message: ChatMessage; text: string }) => ({ ...sent, own: false });
  const plain = conversations.place(decoded(msg(10, "carol", "x", { channel: "#ops" })), "live", 0);
  assertEquals([plain?.conversation, plain?.counted, plain?.alert], [ops, true, false]);
  const mention = conversations.place(
    decoded(msg(11, "carol", "@ana y", { channel: "#ops" })),
    "live",
    0,
  );
  assertEquals([mention?.alert, ops.unread, ops.mentions], [true, 4, 2]);
  assertEquals(conversations.room.entries.length, 0, "nothing of #ops in the room");
  assertEquals(conversations.nextUnread(), ops);
  assertEquals(conversations.olderRequest({ ...ops, more: true }), {
    before: 10,
    channel: "#ops",
  });

  conversations.activate("#ops");
  assertEquals([ops.unread, ops.mentions, ops.readId], [0, 0, 11]);
  assertEquals(reads.at(-1), { conversation: "#ops", id: 11 });
  conversations.activate("room");
  conversations.place(decoded(msg(12, "carol", "z", { channel: "#ops" })), "live", 0);
  assertEquals(ops.unread, 1);
  conversations.applyRead("#ops", 12);
  assertEquals(ops.unread, 0);
  conversations.applyNotify("#ops", "muted");
  assertEquals(ops.notify, "muted");

  conversations.removeChannel("#ops");
  assertEquals(conversations.byName("#ops"), undefined);
  conversations.removeChannel("#general");
  assertEquals(conversations.byName("#general"), conversations.room);
});

Deno.test("the room pages back from its own oldest message, not a channel's (no #general message skipped)", () => {
  const conversations = new Conversations({ me: () => "ana" });
  const epoch = 0;
  for (
    const { message, text } of [msg(100, "bob", "general 100"), msg(150, "bob", "general 150")]
  ) {
    conversations.addMessage({ message, text, own: false }, "history", epoch);
  }
  // Older #ops history came in with much smaller ids.
  const old = msg(20, "bob", "ops 20", { channel: "#ops" });
  conversations.addMessage({ message: old.message, text: old.text, own: false }, "history", epoch);
  conversations.setMore(conversations.room, true);
  assertEquals(conversations.olderRequest(conversations.room), { before: 100 });
  const ops = conversations.byName("#ops")!;
  assertEquals(conversations.olderRequest({ ...ops, more: true }), { before: 20, channel: "#ops" });
});
