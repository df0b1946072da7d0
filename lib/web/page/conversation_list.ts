/**
 * The conversations as the sidebar and the quick switcher list them:
 * channels (today the room, shown as `#<room name>`; later the server's
 * channels) and direct messages, each with its unread and mention counts,
 * and the switcher's filter.
 *
 * Owns: turning the client core's conversations into {@link ConversationItem}s
 * (the sidebar's whole interface), the switcher's choices (also people online
 * with no conversation yet) and how typed text picks among them. Pure.
 * Imports the conversation types of lib/client/ and lib/wire/protocol.ts.
 */
import type { Conversation } from "../../client/conversations.ts";
import { nickKey } from "../../wire/protocol.ts";

/** What the sidebar shows of one conversation. */
export interface ConversationItem {
  /** The conversation's key (`Conversations.find`), or for a switcher choice with none yet, "". */
  key: string;
  kind: "channel" | "direct";
  /** A channel's name without its "#", or the other person's nick. */
  title: string;
  unread: number;
  mentions: number;
  /** On screen. */
  active: boolean;
  /** A direct message's peer is online (channels: always true). */
  online: boolean;
}

/** What {@link conversationItems} needs besides the conversations. */
export interface ItemSources {
  active: Conversation;
  mentionsIn(conversation: Conversation): number;
  isOnline(nick: string): boolean;
}

/**
 * True for a channel: the room, and (version 3) the server's other channels;
 * not a private conversation nor search results.
 */
export function isChannel(conversation: Conversation): boolean {
  return conversation.kind !== "private" && conversation.kind !== "search";
}

/** A channel's name without its "#" ("office-pc", "ops"). */
export function channelTitle(conversation: Conversation): string {
  return conversation.title.replace(/^#/, "") || "room";
}

/**
 * The sidebar's items, channels first, then direct messages, each in the
 * order they opened. Search results are not a conversation of the sidebar.
 */
export function conversationItems(
  conversations: readonly Conversation[],
  sources: ItemSources,
): ConversationItem[] {
  const items: ConversationItem[] = [];
  for (const conversation of conversations) {
    if (conversation.kind === "search") continue;
    const channel = isChannel(conversation);
    items.push({
      key: conversation.key,
      kind: channel ? "channel" : "direct",
      title: channel ? channelTitle(conversation) : conversation.title,
      unread: conversation.unread,
      mentions: sources.mentionsIn(conversation),
      active: conversation === sources.active,
      online: channel || sources.isOnline(conversation.title),
    });
  }
  return items.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "channel" ? -1 : 1));
}

/**
 * The quick switcher's choices: every item, then a direct message with each
 * person online who has none yet (key ""), me left out.
 */
export function switcherChoices(
  items: readonly ConversationItem[],
  online: readonly string[],
  me: string | null,
): ConversationItem[] {
  const open = new Set(items.filter((item) => item.kind === "direct").map((i) => nickKey(i.title)));
  if (me !== null) open.add(nickKey(me));
  const people = online.filter((nick) => !open.has(nickKey(nick))).map((
    nick,
  ): ConversationItem => ({
    key: "",
    kind: "direct",
    title: nick,
    unread: 0,
    mentions: 0,
    active: false,
    online: true,
  }));
  return [...items, ...people];
}

/**
 * The choices whose title holds `query` (any case; a leading "#" or "@" asks
 * for channels or people only): names that start with it first, then the
 * rest, each part in the given order. An empty query keeps them all, those
 * with mentions or unread messages first.
 *
 * @example
 * filterChoices(choices, "#gen"); // channels whose name holds "gen"
 */
export function filterChoices(
  choices: readonly ConversationItem[],
  query: string,
): ConversationItem[] {
  let wanted = nickKey(query.trim());
  const kind = wanted.startsWith("#") ? "channel" : wanted.startsWith("@") ? "direct" : null;
  if (kind !== null) wanted = wanted.slice(1);
  const ranked: { item: ConversationItem; rank: number; index: number }[] = [];
  choices.forEach((item, index) => {
    if (kind !== null && item.kind !== kind) return;
    const title = nickKey(item.title);
    const at = title.indexOf(wanted);
    if (at === -1) return;
    const rank = wanted === ""
      ? (item.mentions > 0 ? 0 : item.unread > 0 ? 1 : 2)
      : (at === 0 ? 0 : 1);
    ranked.push({ item, rank, index });
  });
  return ranked.sort((a, b) => a.rank - b.rank || a.index - b.index).map(({ item }) => item);
}
