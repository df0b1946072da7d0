/**
 * lib/web/page/conversation_list.ts: the sidebar's items from the client
 * core's conversations, and what the quick switcher offers for typed text.
 */
import { assertEquals } from "./_assert.ts";
import { Conversations } from "../lib/client/conversations.ts";
import type { DecodedMessage } from "../lib/client/session.ts";
import {
  type ConversationItem,
  conversationItems,
  filterChoices,
  switcherChoices,
} from "../lib/web/page/conversation_list.ts";

let nextId = 1;
function decoded(from: string, text: string, to?: string): DecodedMessage {
  return {
    message: {
      type: "msg",
      id: nextId++,
      ts: 1,
      from,
      kind: "text",
      body: "",
      ...(to === undefined ? {} : { to }),
    },
    text,
    own: false,
  };
}

function item(kind: "channel" | "direct", title: string, extra: Partial<ConversationItem> = {}) {
  return {
    key: kind === "channel" ? "room" : `@${title}`,
    kind,
    title,
    unread: 0,
    mentions: 0,
    active: false,
    online: true,
    ...extra,
  };
}

Deno.test("the sidebar lists the room as a channel, then direct messages, with their counts", () => {
  const conversations = new Conversations();
  conversations.setRoomName("office-pc");
  conversations.addMessage(decoded("bob", "psst", "ana"), "live", 0);
  conversations.addMessage(decoded("bob", "again", "ana"), "live", 0);
  conversations.addMessage(decoded("cy", "hi", "ana"), "live", 0);
  conversations.showResults("kiwi", [], "none");
  conversations.activate("room");
  const items = conversationItems(conversations.all, {
    active: conversations.active,
    mentionsIn: (conversation) => conversation.kind === "private" ? 1 : 0,
    isOnline: (nick) => nick === "bob",
  });
  assertEquals(items, [
    item("channel", "office-pc", { active: true }),
    item("direct", "bob", { unread: 2, mentions: 1 }),
    item("direct", "cy", { unread: 1, mentions: 1, online: false }),
  ]);
});

Deno.test("the switcher offers every conversation, then people online without one (not me)", () => {
  const items = [item("channel", "office-pc"), item("direct", "Bob")];
  const choices = switcherChoices(items, ["ana", "bob", "carol"], "ANA");
  assertEquals(choices.map((choice) => [choice.title, choice.key]), [
    ["office-pc", "room"],
    ["Bob", "@Bob"],
    ["carol", ""],
  ]);
});

Deno.test("typing in the switcher: names that start with it first, # for channels, @ for people", () => {
  const choices = [
    item("channel", "office-pc"),
    item("direct", "bob"),
    item("direct", "Robin", { key: "" }),
    item("direct", "dana.k", { unread: 2 }),
    item("direct", "eve", { mentions: 1, unread: 1 }),
  ];
  const titles = (query: string) => filterChoices(choices, query).map((choice) => choice.title);
  assertEquals(titles("ob"), ["bob", "Robin"]);
  assertEquals(titles("RO"), ["Robin"]);
  assertEquals(titles("o"), ["office-pc", "bob", "Robin"]);
  assertEquals(titles("#o"), ["office-pc"]);
  assertEquals(titles("@o"), ["bob", "Robin"]);
  assertEquals(titles("zz"), []);
  // Nothing typed: mentions first, then unread, then the rest, each in order.
  assertEquals(titles("  "), ["eve", "dana.k", "office-pc", "bob", "Robin"]);
});
