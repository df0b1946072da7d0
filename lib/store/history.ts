/**
 * The message store behind the room: the `History` interface and an
 * in-memory implementation.
 *
 * Owns: ids, visibility of private messages, paging (`before`/`more`),
 * resume (`after`) and substring search semantics. Time comes in with each
 * message (the room's `now()`), so tests control it.
 * Imports only lib/wire/protocol.ts (types and nick comparison).
 */
import { nickKey } from "../wire/protocol.ts";
import type { FileInfo, MessageKind } from "../wire/protocol.ts";

/** A message as the room hands it to the store. */
export interface NewMessage {
  ts: number;
  from: string;
  /** Addressee of a private message, or null for the whole room. */
  to: string | null;
  /** The sender's account (PROTOCOL.md section 8); null or absent for a guest. */
  fromAccount?: number | null;
  /** The addressee's account, for a private message; null or absent for a guest. */
  toAccount?: number | null;
  /** The channel of a public message (PROTOCOL.md section 9); 0 or absent: `#general`. */
  channel?: number;
  /** The accounts it mentions (`@nick`, lib/wire/mentions.ts), at most 20. */
  mentions?: number[];
  /** True when it says `@channel`, `@here` or `@all`. */
  mentionsEveryone?: boolean;
  kind: MessageKind;
  /** Decoded text (what search looks at). */
  text: string;
  /** Canonical BASE64 of the text (what goes on the wire). */
  body: string;
  /** The file this message is (PROTOCOL.md section 10); its bytes are in lib/store/file_store.ts. */
  file?: FileInfo;
}

/** A message the store has accepted: it has its id. */
export interface StoredMessage extends NewMessage {
  id: number;
}

/**
 * Who is reading: private messages show only to the accounts of their two
 * parties, never to a guest (PROTOCOL.md section 8.7).
 */
export interface Viewer {
  /** The reader's account, or null for a guest. */
  account: number | null;
  /** The channels the reader is in besides `#general` (id 0, everyone's). Default none. */
  channels?: number[];
}

/**
 * The other side of a private conversation: an account (under any nick it
 * used), or, for a nick nobody owns, the guests who used that nick.
 */
export type Partner = { account: number } | { guestNick: string };

/** A request for one page of history, newest `limit` first, returned oldest first. */
export interface PageQuery {
  viewer: Viewer;
  /** Exclusive upper bound on ids. */
  before?: number;
  limit: number;
  /** Only the private conversation between `viewer` and this partner. */
  with?: Partner;
  /**
   * Only the public messages of this channel (0: `#general`), which the viewer must be in. Without
   * it and without `with`: `#general` and the viewer's private messages, as version 1 had it.
   */
  channel?: number;
  /** Only file messages (the `files` request, PROTOCOL.md section 10.5). */
  filesOnly?: boolean;
}

/**
 * One conversation of an account, and how far it has read it: a channel
 * (`c` and its id; `c0` is `#general`) or direct messages with another
 * account (`d` and its id).
 */
export interface ReadPoint {
  conversation: string;
  /** The newest message id read (0: none). */
  read: number;
}

/** How much of a conversation is unread. Counts stop at {@link maxCounted}. */
export interface UnreadCount {
  conversation: string;
  /** Messages from others after `read`. */
  unread: number;
  /** Those of them that mention the reader (every one, in direct messages). */
  mentions: number;
  /** The newest message id in the conversation (0: none). */
  last: number;
}

/** Unread counts stop here: a client shows "999+". */
export const maxCounted = 1000;

/** One page of history, oldest first. */
export interface Page {
  items: StoredMessage[];
  /** True when older messages visible to the viewer exist. */
  more: boolean;
}

/**
 * Where the room keeps messages. `append` resolves once the message is
 * durable, and concurrent appends resolve in call order with strictly
 * increasing ids. Reads are asynchronous so that a store may answer them off
 * the event loop (a search over a large history must not stall every
 * connection); `lastId` is synchronous and cheap.
 */
export interface History {
  /** Stores a message; resolves with its id once it is safely kept. */
  append(message: NewMessage): Promise<StoredMessage>;
  /** Id of the newest message, 0 when there is none. */
  lastId(): number;
  /** Newest `limit` visible messages older than `before`, oldest first. */
  page(query: PageQuery): Promise<Page>;
  /** Visible messages with id > `afterId`, oldest first, at most `limit`. */
  after(viewer: Viewer, afterId: number, limit: number): Promise<StoredMessage[]>;
  /**
   * Newest `limit` visible messages whose text contains `query`, case
   * insensitively, oldest first.
   */
  search(
    viewer: Viewer,
    query: string,
    limit: number,
    channel?: number,
  ): Promise<StoredMessage[]>;
  /**
   * The unread counts of `account` in each of `points`, in their order. Bounded: counting stops at
   * {@link maxCounted} per conversation.
   */
  unread(account: number, points: ReadPoint[]): Promise<UnreadCount[]>;
  /** The accounts `account` has direct messages with, newest conversation first (at most 200). */
  directPartners(account: number): Promise<number[]>;
  /**
   * The file message `id` when `viewer` may see it, else null (also when it is no file or does
   * not exist: a guesser learns nothing). PROTOCOL.md section 10.4.
   */
  fileMessage(viewer: Viewer, id: number): Promise<StoredMessage | null>;
  /** True while some message refers to the file bytes with this SHA-256 (retention's sweep). */
  fileReferenced(sha256: string): Promise<boolean>;
  /** Flushes and releases the store. */
  close(): Promise<void>;
}

/** True when `message` belongs to conversation `conversation` (see {@link ReadPoint}) of `account`. */
export function inReadPoint(message: NewMessage, account: number, conversation: string): boolean {
  const id = Number(conversation.slice(1));
  if (conversation.startsWith("c")) return message.to === null && (message.channel ?? 0) === id;
  const from = message.fromAccount ?? null, to = message.toAccount ?? null;
  return message.to !== null &&
    ((from === account && to === id) || (from === id && to === account));
}

/** True when `viewer` may see `message`: public, or private and one of its two accounts. */
export function visibleTo(message: NewMessage, viewer: Viewer): boolean {
  if (message.to === null) {
    const channel = message.channel ?? 0;
    return channel === 0 || (viewer.channels ?? []).includes(channel);
  }
  if (viewer.account === null) return false;
  return message.fromAccount === viewer.account || message.toAccount === viewer.account;
}

/** True when `message` belongs to the private conversation of `viewer` and `partner`. */
export function inConversation(message: NewMessage, viewer: Viewer, partner: Partner): boolean {
  if (message.to === null || viewer.account === null) return false;
  const me = viewer.account;
  const from = message.fromAccount ?? null, to = message.toAccount ?? null;
  if ("account" in partner) {
    return (from === me && to === partner.account) || (from === partner.account && to === me);
  }
  const guest = nickKey(partner.guestNick);
  return (from === me && to === null && nickKey(message.to) === guest) ||
    (to === me && from === null && nickKey(message.from) === guest);
}

/** Options of MemoryHistory. */
export interface MemoryHistoryOptions {
  /**
   * Id of the first message. Default: the start time in microseconds, so that
   * a restarted in-memory server hands out ids above any it gave before and a
   * reconnecting client's `after` still resumes exactly.
   */
  firstId?: number;
}

/** Keeps messages in an array: fast, and gone when the process ends. */
export class MemoryHistory implements History {
  #messages: StoredMessage[] = [];
  #nextId: number;

  constructor(options: MemoryHistoryOptions = {}) {
    this.#nextId = options.firstId ?? Date.now() * 1000;
  }

  append(message: NewMessage): Promise<StoredMessage> {
    const stored = { ...message, channel: message.channel ?? 0, id: this.#nextId++ };
    this.#messages.push(stored);
    return Promise.resolve(stored);
  }

  lastId(): number {
    return this.#messages.at(-1)?.id ?? 0;
  }

  page(query: PageQuery): Promise<Page> {
    const items: StoredMessage[] = [];
    let more = false;
    for (let index = this.#messages.length - 1; index >= 0; index--) {
      const message = this.#messages[index]!;
      if (query.before !== undefined && message.id >= query.before) continue;
      if (query.filesOnly === true && message.file === undefined) continue;
      const wanted = query.with !== undefined
        ? inConversation(message, query.viewer, query.with)
        : query.channel !== undefined
        ? message.to === null && (message.channel ?? 0) === query.channel
        : visibleTo(message, query.viewer) && (message.to !== null || !message.channel);
      if (!wanted) continue;
      if (items.length === query.limit) {
        more = true;
        break;
      }
      items.push(message);
    }
    return Promise.resolve({ items: items.reverse(), more });
  }

  after(viewer: Viewer, afterId: number, limit: number): Promise<StoredMessage[]> {
    const items: StoredMessage[] = [];
    for (const message of this.#messages) {
      if (items.length === limit) break;
      if (message.id > afterId && visibleTo(message, viewer)) items.push(message);
    }
    return Promise.resolve(items);
  }

  search(
    viewer: Viewer,
    query: string,
    limit: number,
    channel?: number,
  ): Promise<StoredMessage[]> {
    const needle = query.toLowerCase();
    const items: StoredMessage[] = [];
    for (let index = this.#messages.length - 1; index >= 0 && items.length < limit; index--) {
      const message = this.#messages[index]!;
      const inChannel = channel === undefined ||
        (message.to === null && (message.channel ?? 0) === channel);
      if (
        inChannel && visibleTo(message, viewer) && message.text.toLowerCase().includes(needle)
      ) {
        items.push(message);
      }
    }
    return Promise.resolve(items.reverse());
  }

  unread(account: number, points: ReadPoint[]): Promise<UnreadCount[]> {
    return Promise.resolve(points.map(({ conversation, read }) => {
      let unread = 0, mentions = 0, last = 0;
      for (const message of this.#messages) {
        if (!inReadPoint(message, account, conversation)) continue;
        last = message.id;
        if (message.id <= read || message.fromAccount === account || unread >= maxCounted) continue;
        unread++;
        if (
          conversation.startsWith("d") || message.mentionsEveryone === true ||
          (message.mentions ?? []).includes(account)
        ) mentions++;
      }
      return { conversation, unread, mentions, last };
    }));
  }

  directPartners(account: number): Promise<number[]> {
    const partners: number[] = [];
    for (let index = this.#messages.length - 1; index >= 0 && partners.length < 200; index--) {
      const message = this.#messages[index]!;
      if (message.to === null) continue;
      const from = message.fromAccount ?? null, to = message.toAccount ?? null;
      const other = from === account ? to : to === account ? from : null;
      if (other !== null && other !== account && !partners.includes(other)) partners.push(other);
    }
    return Promise.resolve(partners);
  }

  fileMessage(viewer: Viewer, id: number): Promise<StoredMessage | null> {
    const message = this.#messages.find((each) => each.id === id);
    return Promise.resolve(
      message !== undefined && message.file !== undefined && visibleTo(message, viewer)
        ? message
        : null,
    );
  }

  fileReferenced(sha256: string): Promise<boolean> {
    return Promise.resolve(this.#messages.some((message) => message.file?.sha256 === sha256));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
