/**
 * Tests of the full-screen client's pure parts: text width (text_width.ts),
 * wrapping and the input layout (screen.ts), the chat screen as a function
 * of the view (chat_view.ts) and the escape sequences drawn (ansi.ts).
 */
import { assert, assertEquals } from "./_assert.ts";
import { displayWidth, fitWidth, truncate } from "../lib/client/terminal/text_width.ts";
import { layoutInput, rowText, rowWidth, wrapSpans } from "../lib/client/terminal/screen.ts";
import {
  addNote,
  applyEvent,
  atTop,
  type ChatView,
  clearLog,
  createView,
  layoutChat,
  messageEntry,
  nickColor,
  olderCursor,
  prependEntries,
  scrollBy,
  statusBar,
  switchConversation,
} from "../lib/client/terminal/chat_view.ts";
import { editorWith } from "../lib/client/terminal/line_editor.ts";
import { drawScreen } from "../lib/client/terminal/ansi.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import type { SessionEvent } from "../lib/client/session.ts";

const now = new Date(2026, 10, 25, 14, 30).getTime();

function message(
  id: number,
  from: string,
  text: string,
  extra: {
    to?: string;
    channel?: string;
    kind?: "text" | "action";
    own?: boolean;
    source?: "live" | "history";
  } = {},
): SessionEvent {
  return {
    type: "message",
    message: {
      type: "msg",
      id,
      ts: now,
      from,
      kind: extra.kind ?? "text",
      body: encodeBody(text),
      ...(extra.to === undefined ? {} : { to: extra.to }),
      ...(extra.channel === undefined ? {} : { channel: extra.channel }),
    },
    text,
    own: extra.own ?? false,
    source: extra.source ?? "live",
  };
}

function lines(view: ChatView): string[] {
  return layoutChat(view).rows.map(rowText);
}

Deno.test("text width: CJK and emoji take two columns, combining marks none", () => {
  assertEquals(displayWidth("abc"), 3);
  assertEquals(displayWidth("中文"), 4);
  assertEquals(displayWidth("😀"), 2);
  assertEquals(displayWidth("e\u0301"), 1);
  assertEquals(displayWidth("👍🏽"), 2);
  assertEquals(displayWidth("🇫🇷"), 2);
  assertEquals(displayWidth("ｆｕｌｌ"), 8);
  assertEquals(fitWidth("中文字", 5), { text: "中文", width: 4 });
  assertEquals(truncate("ana, bob, carol", 9), "ana, bob…");
});

Deno.test("wrapping breaks at spaces, never inside a wide character, and indents continuation rows", () => {
  const rows = wrapSpans([{ text: "hello wide 世界世界" }], 8, 2);
  assertEquals(rows.map(rowText), ["hello ", "  wide ", "  世界世", "  界"]);
  for (const row of rows) assert(rowWidth(row) <= 8);
  // A wide character that would end in the last column moves to the next row.
  assertEquals(wrapSpans([{ text: "abc中" }], 4).map(rowText), ["abc", "中"]);
  // Newlines inside a message are row breaks; styles survive wrapping.
  const styled = wrapSpans([{ text: "<bob>", style: { color: 2 } }, { text: " a\nb" }], 20);
  assertEquals(styled.map(rowText), ["<bob> a", "b"]);
  assertEquals(styled[0]![0], { text: "<bob>", style: { color: 2 } });
});

Deno.test("input layout puts the cursor after wide characters and wraps them whole", () => {
  const prompt = [{ text: "> " }];
  // Cursor offsets count UTF-16 code units: 2 is after "中文".
  let layout = layoutInput(prompt, "中文中文", 3, 6, 3);
  assertEquals(layout.rows.map(rowText), ["> 中文", "  中文"]);
  assertEquals(layout.cursor, { row: 1, column: 4 });
  layout = layoutInput(prompt, "中文中文", 4, 6, 3);
  // The last row is full, so the cursor starts a new one.
  assertEquals(layout.rows.map(rowText), ["> 中文", "  中文", "  "]);
  assertEquals(layout.cursor, { row: 2, column: 2 });
  layout = layoutInput(prompt, "ab😀c", 2, 10, 3);
  assertEquals(layout.cursor, { row: 0, column: 4 });
  // Control characters typed or pasted are shown inert, never sent to the terminal raw.
  assertEquals(rowText(layoutInput(prompt, "a\x1b[2Jb", 0, 20, 1).rows[0]!), "> a␛[2Jb");
  // Only the rows around the cursor are shown when the text is taller than allowed.
  layout = layoutInput(prompt, "1\n2\n3\n4", 7, 10, 2);
  assertEquals(layout.rows.map(rowText), ["  3", "  4"]);
  assertEquals(layout.cursor, { row: 1, column: 3 });
});

Deno.test("chat screen: messages above the status bar, typed text and cursor in the input line", () => {
  const view = createView({ width: 40, height: 8 }, "ana");
  applyEvent(view, {
    type: "connected",
    address: { host: "h", port: 1 },
    serverName: "office",
    reconnect: false,
  }, now);
  applyEvent(view, { type: "welcome", nick: "ana", reconnect: false, guest: false }, now);
  applyEvent(
    view,
    { type: "users", users: [{ nick: "bob", since: 0 }, { nick: "ana", since: 0 }] },
    now,
  );
  view.editor = editorWith("half 中文", 5);
  applyEvent(view, message(1, "bob", "hi ana, 你好"), now);
  const screen = layoutChat(view);
  assertEquals(screen.rows.map(rowText), [
    "",
    "",
    '-- connected to "office" at h:1',
    "-- you are ana; type /help for commands",
    "-- 2 online: bob, ana",
    "[14:30] <bob> hi ana, 你好",
    " office │ connected │ ana │ 2 online    ",
    "> half 中文",
  ]);
  assertEquals(screen.cursor, { row: 7, column: 7 });
  assert(screen.rows.every((row) => rowWidth(row) <= 40));
});

Deno.test("chat screen: private messages and mentions are marked and ring the bell; own and history do not", () => {
  const view = createView({ width: 60, height: 12 }, "ana");
  assertEquals(applyEvent(view, message(1, "bob", "psst", { to: "ana" }), now).bell, true);
  assertEquals(applyEvent(view, message(2, "bob", "@ANA look"), now).bell, true);
  assertEquals(applyEvent(view, message(3, "bob", "banana"), now).bell, false);
  // The shared rule (lib/wire/mentions.ts): only `@` mentions, never in code; @here is everyone.
  assertEquals(applyEvent(view, message(7, "bob", "ana: look"), now).bell, false);
  assertEquals(applyEvent(view, message(8, "bob", "`@ana`"), now).bell, false);
  assertEquals(applyEvent(view, message(9, "bob", "@here standup"), now).bell, true);
  assertEquals(
    applyEvent(view, message(4, "ana", "me", { own: true, to: "bob" }), now).bell,
    false,
  );
  assertEquals(
    applyEvent(view, message(5, "bob", "old ana", { source: "history" }), now).bell,
    false,
  );
  assertEquals(applyEvent(view, message(6, "bob", "waves", { kind: "action" }), now).bell, false);
  // A private message goes to the conversation with its sender; one I sent with /msg shows
  // where I typed it too.
  const shown = lines(view);
  assert(!shown.includes("[14:30] [private] <bob> psst"), shown.join("\n"));
  assert(shown.includes("[14:30] [to bob] <ana> me"), shown.join("\n"));
  assert(shown.includes("[14:30] * bob waves"), shown.join("\n"));
  switchConversation(view, "@bob");
  const direct = lines(view);
  assert(direct.includes("[14:30] [private] <bob> psst"), direct.join("\n"));
  assert(direct.includes("[14:30] [to bob] <ana> me"), direct.join("\n"));
  assert(!direct.includes("[14:30] * bob waves"), direct.join("\n"));
  assertEquals(nickColor("Bob"), nickColor("bob"));
});

Deno.test("chat screen: hostile text and nicks are inert; a sent newline is only a row break", () => {
  const view = createView({ width: 60, height: 6 }, "ana");
  applyEvent(view, message(1, "bob\x1b[31m", "\x1b[2J\x1b]0;pwned\x07\u202eevil\nline 2"), now);
  const shown = lines(view);
  assertEquals(shown.slice(2, 4), [
    "[14:30] <bob␛[31m> ␛[2J␛]0;pwned␇<U+202E>evil",
    "        line 2",
  ]);
  const drawn = drawScreen(null, layoutChat(view));
  assert(
    !drawn.includes("\x07") && !drawn.includes("\x1b]"),
    "no bell or OSC reaches the terminal",
  );
});

Deno.test("chat screen: PageUp scrolls back, new messages keep the view still and are counted", () => {
  const view = createView({ width: 30, height: 6 }, "ana");
  for (let id = 1; id <= 20; id++) applyEvent(view, message(id, "bob", `message ${id}`), now);
  assertEquals(lines(view).slice(0, 4), [1, 2, 3, 4].map((n) => `[14:30] <bob> message ${n + 16}`));
  scrollBy(view, 3);
  assertEquals(lines(view)[3], "[14:30] <bob> message 17");
  applyEvent(view, message(21, "bob", "message 21"), now);
  assertEquals(lines(view)[3], "[14:30] <bob> message 17", "the view did not move");
  assert(lines(view)[4]!.includes("[↓ 1 new below]"), lines(view)[4]);
  assertEquals(atTop(view), false);
  assertEquals(scrollBy(view, 1000), true);
  assertEquals(lines(view)[0], "[14:30] <bob> message 1");
  // An older page arrives at the top; the view stays put until scrolled further.
  assertEquals(olderCursor(view), 1);
  prependEntries(view, [
    messageEntry({
      message: { type: "msg", id: 0, ts: now, from: "old", kind: "text", body: "" },
      text: "zero",
      own: false,
    }, { nick: "ana", now }),
  ], false);
  assertEquals(scrollBy(view, 1000), true);
  assertEquals(lines(view).slice(0, 3), [
    "-- beginning of the ",
    "   conversation",
    "[14:30] <old> zero",
  ]);
  scrollBy(view, -10_000);
  assertEquals(view.scroll, 0);
  assertEquals(view.unseen, 0);
  clearLog(view);
  addNote(view, "! oops");
  assertEquals(lines(view).slice(0, 4), ["", "", "", "! oops"]);
  assertEquals(olderCursor(view), 22);
});

Deno.test("chat screen: after a resize every row fits the new width and the status bar stays whole", () => {
  const view = createView({ width: 80, height: 10 }, "ana");
  applyEvent(view, {
    type: "users",
    users: ["ana", "bob", "carol", "dave", "erin"].map((nick) => ({ nick, since: 0 })),
  }, now);
  applyEvent(view, message(1, "bob", "中文".repeat(30)), now);
  view.query = "bob";
  view.editor = editorWith("长".repeat(30));
  for (const width of [80, 33, 20, 7]) {
    view.width = width;
    const screen = layoutChat(view);
    assertEquals(screen.rows.length, 10);
    for (const row of screen.rows) assert(rowWidth(row) <= width, `${width}: ${rowText(row)}`);
    assert(screen.cursor.column < width && screen.cursor.row < 10);
  }
  view.width = 33;
  assert(layoutChat(view).rows.some((row) => rowText(row).includes("[query: bob]")));
  view.width = 70;
  const bar = layoutChat(view).rows.map(rowText).find((row) => row.includes("│"));
  assertEquals(bar, " lanchat │ connecting │ ana │ 5 online: ana, +4 more     [query: bob] ");
});

Deno.test("drawScreen rewrites only the rows that changed, and leaves colours out under NO_COLOR", () => {
  const view = createView({ width: 30, height: 5 }, "ana");
  applyEvent(view, message(1, "bob", "one"), now);
  const first = layoutChat(view);
  view.editor = editorWith("x");
  const second = layoutChat(view);
  const update = drawScreen(first, second);
  const colour = new RegExp(String.raw`\x1b\[(?:\d+;)*[39]\dm`);
  assertEquals(update.match(new RegExp(String.raw`\x1b\[\d+;1H`, "g")), ["\x1b[5;1H"]);
  assert(drawScreen(null, second).includes("\x1b[2J"));
  assert(colour.test(drawScreen(null, second)), "colours by default");
  assert(!colour.test(drawScreen(null, second, { color: false })), "no colours");
});

Deno.test("chat screen: the status bar lists conversations with unread and mention counts; each keeps its log", () => {
  const view = createView({ width: 100, height: 8 }, "ana");
  applyEvent(view, message(1, "bob", "in general"), now);
  // Only #general: no list (a guest, an older server).
  assertEquals(
    rowText(statusBar(view)),
    " lanchat │ connecting │ ana │ 0 online" + " ".repeat(62),
  );
  applyEvent(view, {
    type: "conversations",
    items: [
      {
        conversation: "#general",
        kind: "channel",
        unread: 0,
        mentions: 0,
        read: 1,
        last: 1,
        notify: "all",
      },
      {
        conversation: "#ops",
        kind: "channel",
        unread: 3,
        mentions: 2,
        read: 2,
        last: 6,
        notify: "all",
      },
      {
        conversation: "@bob",
        kind: "direct",
        unread: 1,
        mentions: 1,
        read: 0,
        last: 5,
        notify: "all",
      },
    ],
  }, now);
  const bar = statusBar(view);
  assertEquals(
    rowText(bar).trimEnd(),
    " lanchat │ connecting │ ana │ [#general] #ops 3 @2 @bob 1 │ 0 online",
  );
  // A conversation with mentions stands out.
  assertEquals(bar.find((span) => span.text === "#ops 3 @2")?.style?.bold, true);

  // A message in #ops counts there and stays in its log; the topic is said there too.
  assertEquals(
    applyEvent(view, message(7, "carol", "deploy", { channel: "#ops" }), now).bell,
    true,
  );
  applyEvent(view, { type: "topic", channel: "#ops", topic: "deploys", by: "carol", ts: now }, now);
  assert(!lines(view).some((line) => line.includes("deploy")), lines(view).join("\n"));
  assert(rowText(statusBar(view)).includes("#ops 4 @2"));
  const switched = switchConversation(view, "#OPS");
  assertEquals(switched, { name: "#ops", needsHistory: true });
  assert(lines(view).includes("[14:30] <carol> deploy"), lines(view).join("\n"));
  // The conversation had unread messages: the line stands right before the first one not read.
  const shown = lines(view);
  assertEquals(
    shown[shown.indexOf("[14:30] <carol> deploy") - 1]?.trim(),
    "── new since you last read ──",
    shown.join("\n"),
  );
  assert(lines(view).includes("-- carol set the topic of #ops: deploys"), lines(view).join("\n"));
  assertEquals(lines(view).at(-1), "[#ops] > ");
  assert(rowText(statusBar(view)).includes(" #general [#ops] @bob 1 │"));
  assertEquals(view.reads.at(-1), { conversation: "#ops", id: 7 });
  // Back: #general's log is where it was; the history of #ops is not asked twice.
  switchConversation(view, "#general");
  assert(lines(view).includes("[14:30] <bob> in general"), lines(view).join("\n"));
  assertEquals(switchConversation(view, "#ops").needsHistory, false);
  // A read mark from another device of mine clears a count.
  applyEvent(view, { type: "read", conversation: "@bob", id: 5 }, now);
  assert(rowText(statusBar(view)).includes(" #general [#ops] @bob │"));
  // Leaving the channel on screen brings #general back.
  applyEvent(view, {
    type: "channel",
    channel: { name: "#ops", topic: "deploys", members: 1, joined: false },
  }, now);
  assert(lines(view).includes("[14:30] <bob> in general"), lines(view).join("\n"));
  assert(rowText(statusBar(view)).includes(" [#general] @bob │"));
  assert(lines(view).some((line) => line.startsWith("-- you left #ops")));

  // Narrow: the one on screen and those with unread stay, then how many are left out;
  // the online count keeps its room.
  const narrow = createView({ width: 60, height: 8 }, "ana");
  applyEvent(narrow, {
    type: "conversations",
    items: ["#general", "#a", "#b", "#c", "#d", "#e"].map((conversation, index) => ({
      conversation,
      kind: "channel" as const,
      unread: conversation === "#d" ? 2 : 0,
      mentions: 0,
      read: 0,
      last: index,
      notify: "all" as const,
    })),
  }, now);
  assertEquals(
    rowText(statusBar(narrow)).trimEnd(),
    " lanchat │ connecting │ ana │ [#general] #d 2 +4 │ 0 online",
  );
});
