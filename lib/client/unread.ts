/**
 * Unread that follows the person (issue #15, PROTOCOL.md 9.5), for every
 * client: which conversations I am in, how many messages of each I have not
 * read, how many of those mention me, how far I have read, how I want to be
 * told, and which one is on screen.
 *
 * Owns: the counts and their rules, one place for the terminal and the page:
 * - seeded from the server's `conversations` message at each join
 *   ({@link UnreadTracker.seed}), which is authoritative (it counts what
 *   arrived while no device of mine was online);
 * - a message from someone else, not seen before, in a conversation not on
 *   screen counts as unread ({@link UnreadTracker.arrive}); it counts as a
 *   mention when it mentions me (lib/wire/mentions.ts) or is a direct
 *   message (as the server counts them);
 * - a conversation on screen is read up to its newest message: viewing it
 *   ({@link UnreadTracker.activate}) or a message arriving while it is shown
 *   reports a {@link ReadMark} for the UI to send (`ChatSession.markRead`),
 *   so my other devices follow;
 * - a `read` from another device of mine ({@link UnreadTracker.applyRead})
 *   clears the count when it covers the newest message;
 * - whether a message should ring or notify, by the conversation's level
 *   (`all`, `mentions`, `muted`; {@link Arrival.alert});
 * - which conversation `/next` goes to ({@link UnreadTracker.nextUnread}).
 * Pure bookkeeping: no sockets, no DOM, no timers. Imports lib/wire/ and
 * lib/client/conversation_names.ts, and types of lib/client/ only.
 *
 * API (stable): {@link UnreadTracker}, {@link ConversationStatus},
 * {@link Arrival}, {@link ReadMark}, {@link alertWanted}, {@link countText}.
 */
import type { ChatMessage, ConversationEntry } from "../wire/protocol.ts";
import { mentionsMe } from "../wire/mentions.ts";
import type { NotifyLevel } from "./connection.ts";
import type { MessageSource } from "./message_ids.ts";
import {
  conversationKey,
  conversationKind,
  type ConversationKindName,
  conversationOf,
  directName,
  generalChannel,
} from "./conversation_names.ts";

/** One conversation's counts, as views read them. Only {@link UnreadTracker} changes them. */
export interface ConversationStatus {
  /** Its name on the wire, as last seen: `#general`, `#ops`, `@ana`. */
  readonly name: string;
  readonly kind: ConversationKindName;
  /** Messages from others after {@link readId} (the server stops counting at 1,000). */
  readonly unread: number;
  /** Those of them that mention me; every unread direct message is one. */
  readonly mentions: number;
  /** Read up to this message id, on any of my devices (0: nothing read). */
  readonly readId: number;
  /** The newest message id known in it (0: none known). */
  readonly lastId: number;
  /** How I want to be told of it. Default `all`. */
  readonly notify: NotifyLevel;
}

/** "I have read `conversation` up to message `id`": for `ChatSession.markRead`. */
export interface ReadMark {
  conversation: string;
  id: number;
}

/** What a message did to the counts ({@link UnreadTracker.arrive}). */
export interface Arrival {
  /** The conversation it belongs to (opened when it was not known). */
  conversation: ConversationStatus;
  /** It was added to the unread count. */
  counted: boolean;
  /** It mentions me (`@me`, `@channel`/`@here`/`@all` in a channel) or is a direct message to me. */
  mention: boolean;
  /** Tell the person now (the terminal's bell, the page's notification): see {@link alertWanted}. */
  alert: boolean;
}

/** Options of {@link UnreadTracker}. */
export interface UnreadTrackerOptions {
  /**
   * Told, synchronously, each time a conversation on screen was read further:
   * send it with `ChatSession.markRead(mark.conversation, mark.id)` (coalescing
   * is the caller's: lib/client/read_sender.ts). Default: nobody.
   */
  onRead?: (mark: ReadMark) => void;
}

/**
 * Whether a message should ring the bell or show a notification: never for
 * my own, a repeat or an old one (`live` is false for history and for
 * messages missed while offline); `muted`: never; `mentions`: only a
 * mention (every direct message is one); `all`: a mention, or any message in
 * a conversation that is not on screen.
 */
export function alertWanted(
  level: NotifyLevel,
  message: { live: boolean; own: boolean; mention: boolean; onScreen: boolean },
): boolean {
  if (!message.live || message.own || level === "muted") return false;
  if (level === "mentions") return message.mention;
  return message.mention || !message.onScreen;
}

/** A count as shown: `999+` from 1,000 on (the server counts no further). */
export function countText(count: number): string {
  return count >= 1000 ? "999+" : String(count);
}

/** Locally counted messages kept per conversation, to add to a later `conversations` message. */
const maxRecent = 200;

interface State {
  name: string;
  kind: ConversationKindName;
  unread: number;
  mentions: number;
  readId: number;
  lastId: number;
  notify: NotifyLevel;
  /** The server's `last` when it last counted (a `conversations` item); 0 before. */
  seededLast: number;
  /** Messages counted here since, oldest first (at most {@link maxRecent}). */
  recent: { id: number; mention: boolean }[];
}

/**
 * Every conversation of one person with one server, and their unread counts.
 *
 * @example
 * const unread = new UnreadTracker({ onRead: (mark) => session.markRead(mark.conversation, mark.id) });
 * // in onEvent:
 * if (event.type === "conversations") unread.seed(event.items);
 * if (event.type === "message") {
 *   const arrival = unread.arrive(event.message, event.text, event.own, event.source, session.nick ?? "");
 *   if (arrival.alert) ring();
 * }
 * if (event.type === "read") unread.applyRead(event.conversation, event.id);
 * unread.activate("#ops"); // on screen: read, and onRead tells the server
 */
export class UnreadTracker {
  readonly #options: UnreadTrackerOptions;
  readonly #byKey = new Map<string, State>();
  /** In the order they appeared. */
  #order: State[] = [];
  #activeKey: string | null = conversationKey(generalChannel);
  #visible = true;

  constructor(options: UnreadTrackerOptions = {}) {
    this.#options = options;
    this.#ensure(generalChannel);
  }

  /** Every conversation: channels (`#general` first), then direct ones, each in order of appearance. */
  get all(): readonly ConversationStatus[] {
    return [
      ...this.#order.filter((state) => state.kind === "channel"),
      ...this.#order.filter((state) => state.kind === "direct"),
    ];
  }

  /** `#general`, always there. */
  get general(): ConversationStatus {
    return this.#byKey.get(conversationKey(generalChannel))!;
  }

  /** The conversation on screen, or null (search results, say). */
  get active(): ConversationStatus | null {
    return this.#activeKey === null ? null : this.#byKey.get(this.#activeKey) ?? null;
  }

  /** Unread messages over all conversations. */
  get totalUnread(): number {
    return this.#order.reduce((total, state) => total + state.unread, 0);
  }

  /** Unread mentions over all conversations. */
  get totalMentions(): number {
    return this.#order.reduce((total, state) => total + state.mentions, 0);
  }

  /** The conversation named `name` (any case), if known. */
  find(name: string): ConversationStatus | undefined {
    return this.#byKey.get(conversationKey(name));
  }

  /** The conversation named `name`, added (after the others of its kind) when missing. */
  open(name: string): ConversationStatus {
    return this.#ensure(name);
  }

  /**
   * Forgets a conversation (a channel I left, a direct one closed); never
   * `#general`. When it was on screen, `#general` is. Returns true when it was known.
   */
  remove(name: string): boolean {
    const key = conversationKey(name);
    if (key === conversationKey(generalChannel) || !this.#byKey.has(key)) return false;
    const state = this.#byKey.get(key)!;
    this.#byKey.delete(key);
    this.#order = this.#order.filter((other) => other !== state);
    if (this.#activeKey === key) this.activate(generalChannel);
    return true;
  }

  /**
   * The server's `conversations` message (after each join): its counts,
   * read marks and levels replace mine, plus what arrived here after it
   * counted. Conversations it does not list are kept (a direct one I opened
   * without a message yet). One on screen is read at once.
   */
  seed(items: readonly ConversationEntry[]): void {
    for (const item of items) {
      const state = this.#ensure(item.conversation, item.kind);
      state.name = item.conversation;
      const readId = Math.max(state.readId, item.read);
      // Messages counted here that the server had not counted yet (they came after it looked).
      const later = state.recent.filter((seen) => seen.id > item.last && seen.id > readId);
      const serverCounts = readId < item.last;
      state.unread = (serverCounts ? item.unread : 0) + later.length;
      state.mentions = (serverCounts ? item.mentions : 0) +
        later.filter((seen) => seen.mention).length;
      state.readId = readId;
      state.lastId = Math.max(state.lastId, item.last);
      state.seededLast = item.last;
      state.notify = item.notify;
      state.recent = later;
      // Read here further than the server knows (the mark was lost with the connection): say it again.
      if (readId > item.read) this.#options.onRead?.({ conversation: state.name, id: readId });
    }
    const active = this.#activeState();
    if (active !== null) this.#markSeen(active);
  }

  /**
   * A chat message arrived (live, missed while offline, or in a history
   * page): counts it where it belongs, or, when that conversation is on
   * screen, reads up to it. `me` is my nick, for mentions.
   */
  arrive(
    message: ChatMessage,
    text: string,
    own: boolean,
    source: MessageSource,
    me: string,
  ): Arrival {
    const state = this.#ensure(conversationOf(message, own));
    const known = message.id <= state.lastId;
    if (!known) state.lastId = message.id;
    const mention = !own && (state.kind === "direct" || mentionsMe(text, me));
    const onScreen = this.#onScreen(state);
    let counted = false;
    if (onScreen) {
      this.#readUpTo(state, message.id);
    } else if (!own && !known && source !== "history" && message.id > state.readId) {
      counted = true;
      state.unread++;
      if (mention) state.mentions++;
      state.recent.push({ id: message.id, mention });
      if (state.recent.length > maxRecent) state.recent.shift();
    }
    const alert = !known &&
      alertWanted(state.notify, { live: source === "live", own, mention, onScreen });
    return { conversation: state, counted, mention, alert };
  }

  /**
   * Puts `name` on screen (null: nothing of mine is, e.g. search results),
   * opening it when missing, and reads it up to its newest message.
   */
  activate(name: string | null): ConversationStatus | null {
    if (name === null) {
      this.#activeKey = null;
      return null;
    }
    const state = this.#ensure(name);
    this.#activeKey = conversationKey(state.name);
    this.#markSeen(state);
    return state;
  }

  /**
   * Whether the window is in front of the person (a hidden browser tab is
   * not; the terminal always is): while it is not, the active conversation
   * counts like the others. Becoming visible reads it.
   */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    const active = this.#activeState();
    if (active !== null) this.#markSeen(active);
  }

  /** The person marked `name` read (the page's Esc), on screen or not. */
  markRead(name: string): void {
    const state = this.#byKey.get(conversationKey(name));
    if (state !== undefined) this.#markSeen(state, true);
  }

  /**
   * Another device of mine read `name` up to `id` (the `read` event): the
   * count goes to 0 when that covers the newest message; otherwise what was
   * counted here after it stays.
   */
  applyRead(name: string, id: number): void {
    const state = this.#byKey.get(conversationKey(name));
    if (state === undefined || id <= state.readId) return;
    state.readId = id;
    if (id >= state.lastId) {
      state.unread = 0;
      state.mentions = 0;
      state.recent = [];
    } else if (id >= state.seededLast) {
      // Every unread message is one counted here: keep those after the mark.
      state.recent = state.recent.filter((seen) => seen.id > id);
      state.unread = state.recent.length;
      state.mentions = state.recent.filter((seen) => seen.mention).length;
    }
  }

  /** How I want to be told of `name` (the `notify` event, also for my own `setNotify`). */
  applyNotify(name: string, level: NotifyLevel): void {
    this.#ensure(name).notify = level;
  }

  /**
   * `from` is now `to`: the direct conversation follows (the server names
   * it by the current nick). When one with `to` exists already, the two are
   * one (the same account): the counts add up. Returns it, or null when
   * there was none with `from`.
   */
  renamePeer(from: string, to: string): ConversationStatus | null {
    const fromKey = conversationKey(directName(from));
    const toName = directName(to);
    const toKey = conversationKey(toName);
    const state = this.#byKey.get(fromKey);
    if (state === undefined) return null;
    if (fromKey === toKey) {
      state.name = toName;
      return state;
    }
    const existing = this.#byKey.get(toKey);
    this.#byKey.delete(fromKey);
    if (existing !== undefined) {
      existing.unread += state.unread;
      existing.mentions += state.mentions;
      existing.readId = Math.max(existing.readId, state.readId);
      existing.lastId = Math.max(existing.lastId, state.lastId);
      existing.recent = [...existing.recent, ...state.recent].sort((a, b) => a.id - b.id);
      this.#order = this.#order.filter((other) => other !== state);
      if (this.#activeKey === fromKey) this.#activeKey = toKey;
      return existing;
    }
    state.name = toName;
    this.#byKey.set(toKey, state);
    if (this.#activeKey === fromKey) this.#activeKey = toKey;
    return state;
  }

  /**
   * Where `/next` goes: after the conversation on screen, in the order of
   * {@link all} and round again, the first with unread mentions, else the
   * first with unread messages that is not muted, else a muted one; null
   * when nothing is unread.
   */
  nextUnread(): ConversationStatus | null {
    const all = this.all;
    const start = all.findIndex((state) => conversationKey(state.name) === this.#activeKey);
    const ring = [...all.slice(start + 1), ...all.slice(0, start + 1)];
    return ring.find((state) => state.mentions > 0) ??
      ring.find((state) => state.unread > 0 && state.notify !== "muted") ??
      ring.find((state) => state.unread > 0) ?? null;
  }

  /**
   * The server restarted without its history: its message ids start again,
   * so the ids known here mean nothing any more (the counts stay until the
   * next `conversations` message).
   */
  resetIds(): void {
    for (const state of this.#order) {
      state.readId = 0;
      state.lastId = 0;
      state.seededLast = 0;
      state.recent = [];
    }
  }

  // ---- inside --------------------------------------------------------------------

  #ensure(name: string, kind: ConversationKindName = conversationKind(name)): State {
    const key = conversationKey(name);
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    const state: State = {
      name,
      kind,
      unread: 0,
      mentions: 0,
      readId: 0,
      lastId: 0,
      notify: "all",
      seededLast: 0,
      recent: [],
    };
    this.#byKey.set(key, state);
    this.#order = [...this.#order, state];
    return state;
  }

  #activeState(): State | null {
    return this.#activeKey === null ? null : this.#byKey.get(this.#activeKey) ?? null;
  }

  #onScreen(state: State): boolean {
    return this.#visible && this.#activeKey === conversationKey(state.name);
  }

  /** On screen (or `force`d): read up to the newest message known. */
  #markSeen(state: State, force = false): void {
    if (!force && !this.#onScreen(state)) return;
    this.#readUpTo(state, state.lastId);
    state.unread = 0;
    state.mentions = 0;
    state.recent = [];
  }

  #readUpTo(state: State, id: number): void {
    if (id <= state.readId) return;
    state.readId = id;
    state.recent = state.recent.filter((seen) => seen.id > id);
    this.#options.onRead?.({ conversation: state.name, id });
  }
}
