/**
 * How conversations are named on the wire (PROTOCOL.md 9.1): a channel by its
 * name (`#general`, `#ops`), direct messages by `@` and the other person's
 * current nick (`@ana`).
 *
 * Owns: which conversation a message belongs to ({@link conversationOf}: its
 * `to` and `from` for a direct message, its `channel` otherwise, `#general`
 * when it has none), writing a channel name as people type it (`ops` or
 * `#ops`), and comparing names as the server does (`nickKey`: `#Ops` is
 * `#ops`). Pure; imports lib/wire/protocol.ts only.
 *
 * API (stable): {@link generalChannel}, {@link conversationOf},
 * {@link channelName}, {@link directName}, {@link conversationKey},
 * {@link sameConversation}, {@link isDirect}, {@link peerOfDirect},
 * {@link conversationKind}.
 */
import { type ChatMessage, nickKey } from "../wire/protocol.ts";

/** The channel every server has; a message without `channel` (and without `to`) is in it. */
export const generalChannel = "#general";

/** What a conversation is: a channel (`#general` included) or direct messages with one person. */
export type ConversationKindName = "channel" | "direct";

/**
 * The conversation `message` belongs to, from my side: `@` and the other
 * party of a direct message (the addressee of my own, the sender of
 * another's), else its channel, `#general` when it names none.
 *
 * @example
 * conversationOf({ ...msg, from: "bob", to: "ana" }, false); // "@bob"
 * conversationOf({ ...msg, from: "bob", channel: "#ops" }, false); // "#ops"
 * conversationOf({ ...msg, from: "bob" }, false); // "#general"
 */
export function conversationOf(message: ChatMessage, own: boolean): string {
  if (message.to !== undefined) return directName(own ? message.to : message.from);
  return message.channel ?? generalChannel;
}

/**
 * A channel name as the wire writes it: `#` added when the person left it
 * out (`ops` -> `#ops`). Checks nothing: `channelNameProblem` (protocol.ts) does.
 */
export function channelName(typed: string): string {
  const name = typed.trim();
  return name.startsWith("#") ? name : `#${name}`;
}

/** The conversation of direct messages with `nick`: `@nick`. */
export function directName(nick: string): string {
  return `@${nick}`;
}

/** True for a direct conversation's name (`@ana`). */
export function isDirect(name: string): boolean {
  return name.startsWith("@");
}

/** `channel` for `#name`, `direct` for `@nick`. */
export function conversationKind(name: string): ConversationKindName {
  return isDirect(name) ? "direct" : "channel";
}

/** The nick of a direct conversation's name (`@ana` -> `ana`), or null for a channel. */
export function peerOfDirect(name: string): string | null {
  return isDirect(name) ? name.slice(1) : null;
}

/**
 * The key two names of one conversation share: compared as the server
 * compares names (`nickKey`), so `#Ops` and `#ops`, `@Ana` and `@ana` are one.
 */
export function conversationKey(name: string): string {
  return nickKey(name);
}

/** True when `a` and `b` name the same conversation. */
export function sameConversation(a: string, b: string): boolean {
  return conversationKey(a) === conversationKey(b);
}
