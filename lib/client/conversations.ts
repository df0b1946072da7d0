/**
 * The conversations of one chat window: the room (`#general`), the other
 * channels I am in (version 3), one private conversation per peer (keyed by
 * `nickKey`, so "Bob" and "bob" are one), and the results of the latest
 * search.
 *
 * Owns: where a message belongs (the room, its channel, or the private
 * conversation with the other party: conversation_names.ts), each message
 * once per epoch (live, missed, history pages and private history overlap),
 * entries kept in message-id order with local notices where they happened,
 * which conversation is active, closing one, following a peer's rename, and
 * the cursors of older history (`before`). What counts as unread, mentions,
 * read marks and notification levels are lib/client/unread.ts's rules
 * (shared with the terminal): each conversation mirrors its status there.
 * Pure bookkeeping: no sockets, no DOM, no timers; the UI draws it and calls
 * the session. Imports lib/wire/protocol.ts, lib/client/session.ts types,
 * lib/client/message_ids.ts types, lib/client/conversation_names.ts and
 * lib/client/unread.ts only.
 *
 * Version 3 (issue #15), for the page: feed `conversations`, `read`,
 * `notify` and `channel` events to {@link Conversations.applyConversations},
 * {@link Conversations.applyRead}, {@link Conversations.applyNotify},
 * {@link Conversations.openChannel} / {@link Conversations.removeChannel};
 * pass `onRead` (to `ChatSession.markRead`, through lib/client/read_sender.ts)
 * and `me`; read `unread`, `mentions`, `notify` on each conversation;
 * {@link Conversations.place} says whether a message should notify.
 */
import { type ChatMessage, type ConversationEntry, nickKey } from "../wire/protocol.ts";
import type { MessageSource } from "./message_ids.ts";
import type { DecodedMessage, HistoryResult, NotifyLevel } from "./session.ts";
import {
  channelName,
  conversationKey,
  conversationOf,
  directName,
  generalChannel,
  isDirect,
} from "./conversation_names.ts";
import { type ConversationStatus, type ReadMark, UnreadTracker } from "./unread.ts";

export type { ReadMark };

/**
 * What a conversation is: `room`, a channel (the room, `#general`, with the
 * key "room", or another channel of version 3, keyed by {@link channelKey};
 * {@link isChannel}); private messages with one person; or search results.
 */
export type ConversationKind = "room" | "private" | "search";

/** How a local line reads: news (info), small talk of the room (quiet), or trouble (error). */
export type NoticeTone = "info" | "quiet" | "error";

/** A chat message in a conversation. */
export interface MessageEntry {
  kind: "message";
  /** Unique within the conversation: a list key for views. */
  key: string;
  epoch: number;
  /** Where it sorts: the message id. */
  order: number;
  message: ChatMessage;
  /** The decoded body. */
  text: string;
  /** I sent it. */
  own: boolean;
}

/** A line from the client itself (joins, leaves, errors, help). */
export interface NoticeEntry {
  kind: "notice";
  key: string;
  epoch: number;
  /** The newest message id when it happened, plus a half: it stays where it happened. */
  order: number;
  text: string;
  tone: NoticeTone;
  /** When it happened (ms since the epoch), or null for a line without a time. */
  ts: number | null;
}

export type Entry = MessageEntry | NoticeEntry;

/** One conversation. Views read it; only {@link Conversations} changes it. */
export interface Conversation {
  /** Stable while the conversation lives, also across a peer's rename (element ids, list keys). */
  readonly id: number;
  /** "room", "search", {@link channelKey} of a channel, or {@link privateKey} of the peer. */
  key: string;
  kind: ConversationKind;
  /** The room's name (the server's), a channel's name without its `#`, the peer's nick, or the search text. */
  title: string;
  /**
   * Its name on the wire (PROTOCOL.md 9.1): `#general` for the room, `#ops`,
   * `@ana`; "" for search results.
   */
  name: string;
  /** In order: older epochs first, then by message id; a new array after each change. */
  entries: readonly Entry[];
  /**
   * Messages from others I have not read (lib/client/unread.ts): counted by
   * the server while I was away, then here while it is not on screen.
   */
  unread: number;
  /** Those of them that mention me; every unread private message is one. */
  mentions: number;
  /** How I want to be told of it (version 3; `all` until the server says otherwise). */
  notify: NotifyLevel;
  /** Read up to this message id, on any of my devices (0: nothing), e.g. for a "new" line. */
  readId: number;
  /** Older messages exist on the server. */
  more: boolean;
  /** An older page is being fetched. */
  loading: boolean;
  /** Its own history was asked for (private conversations ask once they appear). */
  askedHistory: boolean;
  /** Smallest message id shown here, in the current epoch. */
  oldestId: number | null;
  /** Grows with every change: a view redraws when it moved. */
  revision: number;
}

/** A request for older messages: for `history({ limit, before, with, channel })`. */
export interface OlderRequest {
  before: number;
  with?: string;
  /** A channel other than the room (version 3). */
  channel?: string;
}

/** Options of {@link Conversations}. */
export interface ConversationsOptions {
  /** Told after every change, with the conversation changed (null: the list or the active one). */
  onChange?: (conversation: Conversation | null) => void;
  /** The clock for notices. Default Date.now. */
  now?: () => number;
  /** My nick, for mentions (lib/wire/mentions.ts). Default: none, so only private messages are. */
  me?: () => string | null;
  /**
   * Told each time a conversation on screen was read further (version 3):
   * send it with `ChatSession.markRead`, through lib/client/read_sender.ts.
   * Default: nobody.
   */
  onRead?: (mark: ReadMark) => void;
}

/** Where {@link Conversations.place} put a message, and what it means for the person. */
export interface Placement {
  conversation: Conversation;
  /** It was added to the conversation's unread count. */
  counted: boolean;
  /** It mentions me, or is a private message from someone else. */
  mention: boolean;
  /** Notify the person now, by the conversation's level (lib/client/unread.ts alertWanted). */
  alert: boolean;
}

/** The key of the private conversation with `nick`. */
export function privateKey(nick: string): string {
  return `@${nickKey(nick)}`;
}

/** True for the room and the other channels (kind `room`), false for private and search ones. */
export function isChannel(conversation: Conversation): boolean {
  return conversation.kind === "room";
}

/** The key of channel `name` (`#ops`, any case); the room (`#general`) is "room". */
export function channelKey(name: string): string {
  const key = conversationKey(channelName(name));
  return key === conversationKey(generalChannel) ? "room" : key;
}

/**
 * The peer of a private message, from my side: the addressee of my own, the
 * sender of another's; null for a room message.
 */
export function peerOf(message: ChatMessage, own: boolean): string | null {
  if (message.to === undefined) return null;
  return own ? message.to : message.from;
}

/**
 * All conversations of a window.
 *
 * @example
 * const conversations = new Conversations({ onChange: () => redraw() });
 * conversations.addMessage(decoded, "live", session.historyEpoch);
 * conversations.activate(privateKey("bob"));
 */
export class Conversations {
  readonly #options: ConversationsOptions;
  readonly #unread: UnreadTracker;
  readonly #byKey = new Map<string, Conversation>();
  /** Tab order: the room first, then the others as they opened. */
  #order: Conversation[] = [];
  #activeKey = "room";
  /** The key of the conversation that was active before the current one. */
  #previousKey = "room";
  #visible = true;
  #epoch = 0;
  /** Ids of the messages placed in the current epoch. */
  #placed = new Set<number>();
  #newestId = 0;
  /** Smallest id placed in the current epoch: the room's `before` (its history holds privates too). */
  #oldestId: number | null = null;
  #counter = 0;

  constructor(options: ConversationsOptions = {}) {
    this.#options = options;
    this.#unread = new UnreadTracker({ onRead: (mark) => this.#options.onRead?.(mark) });
    this.#create("room", "room", "", generalChannel);
  }

  /** The room (always there). */
  get room(): Conversation {
    return this.#byKey.get("room")!;
  }

  /** The conversation on screen. */
  get active(): Conversation {
    return this.#byKey.get(this.#activeKey) ?? this.room;
  }

  /** Every conversation, in tab order. */
  get all(): readonly Conversation[] {
    return this.#order;
  }

  /** Unread messages over all conversations. */
  get totalUnread(): number {
    return this.#order.reduce((total, conversation) => total + conversation.unread, 0);
  }

  /** Unread mentions over all conversations (private messages included). */
  get totalMentions(): number {
    return this.#order.reduce((total, conversation) => total + conversation.mentions, 0);
  }

  /** The epoch of the message ids placed (see ChatSession.historyEpoch). */
  get epoch(): number {
    return this.#epoch;
  }

  /** The conversation with `key`, if open. */
  find(key: string): Conversation | undefined {
    return this.#byKey.get(key);
  }

  /** The private conversation with `nick`, if open. */
  privateWith(nick: string): Conversation | undefined {
    return this.#byKey.get(privateKey(nick));
  }

  /** The conversation the wire calls `name` (`#general`, `#ops`, `@ana`), if open. */
  byName(name: string): Conversation | undefined {
    return this.#byKey.get(this.#keyOfName(name));
  }

  /** The room's name (the server's), shown as its title. */
  setRoomName(name: string): void {
    this.room.title = name;
    this.#changed(this.room);
  }

  /**
   * Whether the window is on screen (a hidden browser tab is not): messages
   * for the active conversation count as unread only while it is not.
   */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    this.#unread.setVisible(visible);
    this.#syncAll();
  }

  /** The private conversation with `nick`, opened (last in tab order) when missing. */
  openPrivate(nick: string): Conversation {
    return this.privateWith(nick) ??
      this.#create(privateKey(nick), "private", nick, directName(nick));
  }

  /**
   * Channel `name` (`#ops`; the room for `#general`), opened (last in tab
   * order) when missing: for a `channel` event that says I am in it.
   */
  openChannel(name: string): Conversation {
    const wire = channelName(name);
    const key = channelKey(wire);
    return this.#byKey.get(key) ?? this.#create(key, "room", wire.slice(1), wire);
  }

  /**
   * I left channel `name` (a `channel` event with `joined: false`, from this
   * device or another of mine): its conversation closes. Never the room.
   */
  removeChannel(name: string): void {
    const key = channelKey(name);
    if (key === "room") return;
    this.close(key);
  }

  /** Puts `key` on screen and marks it read; unknown keys change nothing. */
  activate(key: string): void {
    if (!this.#byKey.has(key)) return;
    if (key !== this.#activeKey) this.#previousKey = this.#activeKey;
    this.#activeKey = key;
    this.#activateUnread();
    this.#changed(null);
  }

  /** Closes a channel, private or search conversation (never the room); the one before comes back. */
  close(key: string): void {
    const conversation = this.#byKey.get(key);
    if (conversation === undefined || key === "room") return;
    this.#byKey.delete(key);
    this.#order = this.#order.filter((other) => other !== conversation);
    if (this.#activeKey === key) {
      this.#activeKey = this.#byKey.has(this.#previousKey) ? this.#previousKey : "room";
      this.#activateUnread(); // Before it goes, so the tracker does not pick a conversation itself.
    }
    if (this.#previousKey === key) this.#previousKey = "room";
    if (conversation.name !== "") this.#unread.remove(conversation.name);
    this.#changed(null);
  }

  // ---- unread that follows the person (version 3) -------------------------------------

  /**
   * The server's `conversations` event (after each join): every channel I
   * am in and every person I have private messages with opens (in its
   * order), with the server's unread and mention counts, read marks and
   * levels. One on screen is read at once (`onRead`).
   */
  applyConversations(items: readonly ConversationEntry[]): void {
    for (const item of items) {
      if (item.kind === "direct") this.openPrivate(item.conversation.slice(1));
      else this.openChannel(item.conversation);
    }
    this.#unread.seed(items);
    this.#syncAll();
  }

  /** Another device of mine read `name` up to `id` (the `read` event). */
  applyRead(name: string, id: number): void {
    this.#unread.applyRead(name, id);
    this.#syncAll();
  }

  /** How I want to be told of `name` (the `notify` event). */
  applyNotify(name: string, level: NotifyLevel): void {
    if (this.byName(name) === undefined) return;
    this.#unread.applyNotify(name, level);
    this.#syncAll();
  }

  /** The person marked `conversation` read (Esc), even when it is not on screen. */
  markReadNow(conversation: Conversation): void {
    if (conversation.name === "") return;
    this.#unread.markRead(conversation.name);
    this.#sync(conversation);
  }

  /**
   * Where the next unread conversation is (mentions first, muted ones
   * last), after the active one; null when nothing is unread.
   */
  nextUnread(): Conversation | null {
    const next = this.#unread.nextUnread();
    return next === null ? null : this.byName(next.name) ?? null;
  }

  /**
   * A private message to `nick` was refused (no such user online): closes
   * its conversation unless it holds a message, so nothing goes on targeting
   * a peer that is not there. Returns true when it was closed.
   */
  closeIfEmpty(nick: string): boolean {
    const conversation = this.privateWith(nick);
    if (conversation === undefined) return false;
    if (conversation.entries.some((entry) => entry.kind === "message")) return false;
    this.close(conversation.key);
    return true;
  }

  /** `from` is now `to`: their private conversation follows (unless `to` has one already). */
  renamePeer(from: string, to: string): Conversation | null {
    const conversation = this.privateWith(from);
    if (conversation === undefined || this.#byKey.has(privateKey(to))) return null;
    const wasActive = this.#activeKey === conversation.key;
    if (this.#previousKey === conversation.key) this.#previousKey = privateKey(to);
    this.#byKey.delete(conversation.key);
    conversation.key = privateKey(to);
    conversation.title = to;
    conversation.name = directName(to);
    this.#unread.renamePeer(from, to);
    this.#byKey.set(conversation.key, conversation);
    if (wasActive) this.#activeKey = conversation.key;
    this.#changed(conversation);
    return conversation;
  }

  /**
   * Places a message once (per epoch) in its conversation, opening a private
   * one or a channel when needed. `epoch` is ChatSession.historyEpoch when it
   * arrived: a newer one means the server restarted without its history, and
   * its ids start again. Live and missed messages from others count as unread
   * when their conversation is not on screen (lib/client/unread.ts). Returns
   * where it went, or null for a repeat; {@link place} says more.
   */
  addMessage(decoded: DecodedMessage, source: MessageSource, epoch: number): Conversation | null {
    return this.place(decoded, source, epoch)?.conversation ?? null;
  }

  /**
   * {@link addMessage}, telling also whether the message counted as unread,
   * mentions me, and should notify the person (by the conversation's level).
   */
  place(decoded: DecodedMessage, source: MessageSource, epoch: number): Placement | null {
    if (epoch > this.#epoch) this.#newEpoch(epoch);
    const { message } = decoded;
    if (this.#placed.has(message.id)) return null;
    this.#placed.add(message.id);
    this.#newestId = Math.max(this.#newestId, message.id);
    const name = conversationOf(message, decoded.own);
    const conversation = isDirect(name)
      ? this.openPrivate(name.slice(1))
      : channelKey(name) === "room"
      ? this.room
      : this.openChannel(name);
    // The room pages the view of version 1 (#general and private messages): its cursor must not
    // move past #general messages for a channel's older ones, or scrolling back would skip them.
    if (conversation === this.room || conversation.kind === "private") {
      this.#oldestId = Math.min(this.#oldestId ?? message.id, message.id);
    }
    conversation.oldestId = Math.min(conversation.oldestId ?? message.id, message.id);
    this.#insert(conversation, {
      kind: "message",
      key: `m${this.#epoch}:${message.id}`,
      epoch: this.#epoch,
      order: message.id,
      message,
      text: decoded.text,
      own: decoded.own,
    });
    const arrival = this.#unread.arrive(
      message,
      decoded.text,
      decoded.own,
      source,
      this.#options.me?.() ?? "",
    );
    this.#sync(conversation);
    return {
      conversation,
      counted: arrival.counted,
      mention: arrival.mention,
      alert: arrival.alert,
    };
  }

  /** Adds a local line to `conversation` (default: the one on screen), after the newest message. */
  addNotice(
    text: string,
    tone: NoticeTone,
    conversation: Conversation = this.active,
    options: { timed?: boolean } = {},
  ): void {
    this.#insert(conversation, {
      kind: "notice",
      key: `n${++this.#counter}`,
      epoch: this.#epoch,
      order: this.#newestId + 0.5,
      text,
      tone,
      ts: options.timed === false ? null : (this.#options.now ?? Date.now)(),
    });
    this.#changed(conversation);
  }

  /** The conversation was seen: its unread count goes to 0 (when it is on screen). */
  markRead(conversation: Conversation): void {
    if (!this.#onScreen(conversation) || conversation.unread === 0) return;
    if (conversation.name !== "") this.#unread.markRead(conversation.name);
    this.#sync(conversation);
  }

  /** Empties a conversation's view (the messages stay known: they are not shown again). */
  clear(conversation: Conversation): void {
    conversation.entries = [];
    this.#changed(conversation);
  }

  /** Replaces the search results: opens (or reuses) the search conversation. */
  showResults(query: string, items: readonly DecodedMessage[], summary: string): Conversation {
    const search = this.#byKey.get("search") ?? this.#create("search", "search", query);
    search.title = query;
    search.entries = [
      {
        kind: "notice",
        key: "summary",
        epoch: 0,
        order: 0,
        text: summary,
        tone: "quiet",
        ts: null,
      },
      ...items.map((item, index): MessageEntry => ({
        kind: "message",
        key: `r${index}`,
        epoch: 0,
        order: index + 1,
        message: item.message,
        text: item.text,
        own: item.own,
      })),
    ];
    this.#changed(search);
    return search;
  }

  // ---- history paging ---------------------------------------------------------------

  /**
   * What to ask for the next older page of `conversation`, or null when
   * there is none to ask for (no more, already loading, nothing shown yet).
   * The room pages through everything I may see (its history holds my
   * private messages too); a private conversation through its own.
   */
  olderRequest(conversation: Conversation): OlderRequest | null {
    if (!conversation.more || conversation.loading) return null;
    if (conversation.key === "room") {
      return this.#oldestId === null ? null : { before: this.#oldestId };
    }
    if (conversation.kind === "private" && conversation.oldestId !== null) {
      return { before: conversation.oldestId, with: conversation.title };
    }
    if (conversation.kind === "room" && conversation.oldestId !== null) {
      return { before: conversation.oldestId, channel: conversation.name };
    }
    return null;
  }

  /** A history request for `conversation` went out: shown as loading. */
  loading(conversation: Conversation): void {
    conversation.loading = true;
    this.#changed(conversation);
  }

  /**
   * The answer to a history request for `conversation` (null: refused or
   * lost): places its messages and records whether older ones exist. Returns
   * true when the room should ask again at once: the page held only private
   * messages, so the room itself got nothing, and older ones exist.
   */
  addPage(
    conversation: Conversation,
    page: HistoryResult | null,
    epoch: number,
    request: OlderRequest | null = null,
  ): boolean {
    conversation.loading = false;
    if (page === null) {
      this.#changed(conversation);
      return false;
    }
    let addedHere = 0;
    for (const item of page.items) {
      if (this.addMessage(item, "history", epoch) === conversation) addedHere++;
    }
    conversation.more = page.more;
    this.#changed(conversation);
    const cursorMoved = request === null || (this.#oldestId ?? 0) < request.before;
    return request !== null && conversation.key === "room" && addedHere === 0 && page.more &&
      cursorMoved;
  }

  /** The first history of the room has been shown; `more`: older messages exist. */
  setMore(conversation: Conversation, more: boolean): void {
    conversation.more = more;
    this.#changed(conversation);
  }

  // ---- inside --------------------------------------------------------------------

  #onScreen(conversation: Conversation): boolean {
    return this.#visible && conversation.key === this.#activeKey;
  }

  /** The key of the conversation the wire calls `name`. */
  #keyOfName(name: string): string {
    return isDirect(name) ? privateKey(name.slice(1)) : channelKey(name);
  }

  /** Tells the tracker which conversation is on screen (search results: none of them). */
  #activateUnread(): void {
    const name = this.active.name;
    this.#unread.activate(name === "" ? null : name);
    this.#syncAll();
  }

  /** Copies the tracker's counts to `conversation`; tells onChange when they moved. */
  #sync(conversation: Conversation, always = true): void {
    const status: ConversationStatus | undefined = conversation.name === ""
      ? undefined
      : this.#unread.find(conversation.name);
    if (status !== undefined) {
      const moved = conversation.unread !== status.unread ||
        conversation.mentions !== status.mentions || conversation.notify !== status.notify ||
        conversation.readId !== status.readId;
      conversation.unread = status.unread;
      conversation.mentions = status.mentions;
      conversation.notify = status.notify;
      conversation.readId = status.readId;
      if (moved && !always) this.#changed(conversation);
    }
    if (always) this.#changed(conversation);
  }

  #syncAll(): void {
    for (const conversation of this.#order) this.#sync(conversation, false);
  }

  /** The server restarted without its history: ids start again; what is shown stays, above. */
  #newEpoch(epoch: number): void {
    this.#epoch = epoch;
    this.#placed.clear();
    this.#newestId = 0;
    this.#oldestId = null;
    this.#unread.resetIds();
    for (const conversation of this.#order) conversation.oldestId = null;
  }

  #create(key: string, kind: ConversationKind, title: string, name = ""): Conversation {
    if (name !== "") this.#unread.open(name);
    const conversation: Conversation = {
      id: ++this.#counter,
      key,
      kind,
      title,
      name,
      entries: [],
      unread: 0,
      mentions: 0,
      notify: "all",
      readId: 0,
      more: false,
      loading: false,
      askedHistory: false,
      oldestId: null,
      revision: 0,
    };
    this.#byKey.set(key, conversation);
    this.#order = [...this.#order, conversation];
    this.#changed(null);
    return conversation;
  }

  /** Inserts by (epoch, order), after equal ones: most land at the end, pages at the start. */
  #insert(conversation: Conversation, entry: Entry): void {
    const entries = conversation.entries;
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const other = entries[middle]!;
      const before = other.epoch < entry.epoch ||
        (other.epoch === entry.epoch && other.order <= entry.order);
      if (before) low = middle + 1;
      else high = middle;
    }
    conversation.entries = [...entries.slice(0, low), entry, ...entries.slice(low)];
  }

  #changed(conversation: Conversation | null): void {
    if (conversation !== null) conversation.revision++;
    this.#options.onChange?.(conversation);
  }
}
