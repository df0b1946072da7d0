/**
 * The chat room: who is online, nick rules, routing of public and private
 * messages, and answers from the message store.
 *
 * Owns: membership and nick uniqueness (look-alikes included: nick_skeleton.ts),
 * `joined`/`left`/`renamed`, ordering of
 * delivered messages (the store's id order), visibility of private messages.
 * Knows nothing of sockets: members are anything with `deliver()`.
 * Must not import session.ts or server.ts.
 */
import { ProtocolError } from "../wire/errors.ts";
import type { History, PageQuery, StoredMessage } from "../store/history.ts";
import { Outgoing } from "./outgoing.ts";
import { encodePayload, nickKey, nickProblem } from "../wire/protocol.ts";
import { nickSkeletons } from "./nick_skeleton.ts";
import type {
  ChatMessage,
  HelloMessage,
  HistoryRequest,
  LeaveReason,
  SayMessage,
  SearchRequest,
  ServerMessage,
  UserEntry,
} from "../wire/protocol.ts";
import { maxPayloadBytes } from "../frame.ts";

const utf8 = new TextEncoder();

/** Room left in a frame for the 16-byte tag of an encrypted (Noise) payload. */
const maxAnswerBytes = maxPayloadBytes - 16;

/** Anything that can sit in the room: a TCP or WebSocket session, or a test double. */
export interface Member {
  /** Current nick; the room sets it on join and rename. */
  nick: string;
  /** When the member joined (ms). */
  since: number;
  /**
   * Chat messages with an id at or below this were (or will be) sent by the
   * resume replay, so live delivery skips them.
   */
  resumedUpTo: number;
  /** Queues a message for this member. Never awaits; never throws. */
  deliver(message: Outgoing): void;
}

/** Options of a Room. */
export interface RoomOptions {
  /** Where messages are kept. */
  history: History;
  /** Most members online at once; the next `hello` gets `server_full`. Default 1000. */
  maxUsers?: number;
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
  /** Shown to each member in `welcome`, when set. */
  motd?: string;
  /**
   * Joins and leaves are announced while at most this many users are online.
   * Above it, as chat services do for large rooms (Twitch's IRC stops JOIN/PART
   * at 1,000), they are not: announcing every join to everyone costs O(n²).
   * Clients refresh the list with `users`. Default 1000.
   */
  presenceLimit?: number;
}

/** Turns a stored message into its wire form (`ref` never included). */
export function toWire(message: StoredMessage): ChatMessage {
  const wire: ChatMessage = {
    type: "msg",
    id: message.id,
    ts: message.ts,
    from: message.from,
    kind: message.kind,
    body: message.body,
  };
  if (message.to !== null) wire.to = message.to;
  return wire;
}

/** The room. One per server; every session joins the same one. */
export class Room {
  readonly history: History;
  readonly maxUsers: number;
  readonly #now: () => number;
  readonly #motd: string | undefined;
  readonly #presenceLimit: number;
  /** Online members by nick key (unique without regard to case). */
  readonly #members = new Map<string, Member>();
  /** The same members by each of their {@link nickSkeletons}: a nick that looks like one online is refused. */
  readonly #bySkeleton = new Map<string, Member>();
  /**
   * The `users` list as JSON, in chunks that each fit one frame (entries
   * comma-separated, oldest member first); null when a leave or rename made it
   * stale. A join appends to the last chunk, so answering each joiner costs a
   * copy instead of encoding every user again.
   */
  #userChunks: UserChunk[] | null = [];

  constructor(options: RoomOptions) {
    this.history = options.history;
    this.maxUsers = options.maxUsers ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#motd = options.motd;
    this.#presenceLimit = options.presenceLimit ?? 1000;
  }

  /** How many members are online. */
  get size(): number {
    return this.#members.size;
  }

  /** True when `member` is in the room. */
  has(member: Member): boolean {
    return this.#members.get(nickKey(member.nick)) === member;
  }

  /** The online list, oldest member first. */
  users(): UserEntry[] {
    return [...this.#members.values()].map((member) => ({
      nick: member.nick,
      since: member.since,
    }));
  }

  /**
   * The `users` answer: one message, or several when the list does not fit one
   * frame (PROTOCOL.md is silent on that): every part but the last carries
   * `"more": true`, and a client gathers parts until one has no `more`.
   */
  usersMessages(): Outgoing[] {
    if (this.#userChunks === null) {
      this.#userChunks = [];
      for (const user of this.users()) appendUser(this.#userChunks, JSON.stringify(user));
    }
    const chunks = this.#userChunks.length === 0 ? [emptyUserChunk()] : this.#userChunks;
    // Full chunks do not change as people join: their encoding is shared by every joiner.
    return chunks.map((chunk, index) =>
      index < chunks.length - 1
        ? chunk.encoded.more ??= encodeUserChunk(chunk, true)
        : chunk.encoded.last ??= encodeUserChunk(chunk, false)
    );
  }

  /**
   * Admits `member` under `hello.nick`: `welcome` and `users` to it, `joined`
   * to the others. Throws ProtocolError (`nick_invalid`, `nick_taken`,
   * `server_full`); the member may try another nick. Returns the id range the
   * caller must replay when `hello.after` was given: (after, upTo].
   */
  join(member: Member, hello: HelloMessage): { replayAfter: number; replayUpTo: number } | null {
    const problem = nickProblem(hello.nick);
    if (problem !== null) throw new ProtocolError("nick_invalid", `${problem}: '${hello.nick}'`);
    const key = nickKey(hello.nick);
    if (this.#members.has(key)) {
      throw new ProtocolError("nick_taken", `'${hello.nick}' is already online; pick another nick`);
    }
    const skeletons = nickSkeletons(hello.nick);
    const lookalike = this.#lookalike(skeletons, member);
    if (lookalike !== null) throw lookalikeError(hello.nick, lookalike.nick);
    if (this.#members.size >= this.maxUsers) {
      throw new ProtocolError(
        "server_full",
        `the room is full (${this.maxUsers} users); try later`,
      );
    }
    const now = this.#now();
    member.nick = hello.nick;
    member.since = now;
    const last = this.history.lastId();
    // Messages committed but not yet broadcast are covered by the replay, not live delivery.
    member.resumedUpTo = hello.after === undefined ? 0 : last;
    this.#members.set(key, member);
    for (const skeleton of skeletons) this.#bySkeleton.set(skeleton, member);
    if (this.#userChunks !== null) {
      appendUser(this.#userChunks, JSON.stringify({ nick: member.nick, since: member.since }));
    }
    const welcome: ServerMessage = { type: "welcome", nick: member.nick, last };
    if (this.#motd !== undefined) welcome.motd = this.#motd;
    member.deliver(Outgoing.of(welcome));
    for (const part of this.usersMessages()) member.deliver(part);
    if (this.#members.size <= this.#presenceLimit) {
      this.#broadcast(Outgoing.of({ type: "joined", nick: member.nick, ts: now }), member);
    }
    return hello.after === undefined ? null : { replayAfter: hello.after, replayUpTo: last };
  }

  /** Removes `member` (if present) and tells the others why it left. */
  leave(member: Member, reason: LeaveReason): void {
    if (!this.has(member)) return;
    const announce = this.#members.size <= this.#presenceLimit;
    this.#members.delete(nickKey(member.nick));
    for (const skeleton of nickSkeletons(member.nick)) this.#bySkeleton.delete(skeleton);
    this.#userChunks = null;
    if (announce) {
      this.#broadcast(Outgoing.of({ type: "left", nick: member.nick, ts: this.#now(), reason }));
    }
  }

  /** Renames `member`; everyone (it included) gets `renamed`. */
  rename(member: Member, nick: string): void {
    const problem = nickProblem(nick);
    if (problem !== null) throw new ProtocolError("nick_invalid", `${problem}: '${nick}'`);
    const oldKey = nickKey(member.nick), newKey = nickKey(nick);
    const holder = this.#members.get(newKey);
    if (holder !== undefined && holder !== member) {
      throw new ProtocolError("nick_taken", `'${nick}' is already online; pick another nick`);
    }
    const skeletons = nickSkeletons(nick);
    const lookalike = this.#lookalike(skeletons, member);
    if (lookalike !== null) throw lookalikeError(nick, lookalike.nick);
    const from = member.nick;
    this.#members.delete(oldKey);
    for (const skeleton of nickSkeletons(from)) this.#bySkeleton.delete(skeleton);
    member.nick = nick;
    this.#members.set(newKey, member);
    for (const skeleton of skeletons) this.#bySkeleton.set(skeleton, member);
    this.#userChunks = null;
    this.#broadcast(Outgoing.of({ type: "renamed", from, to: nick, ts: this.#now() }));
  }

  /**
   * Stores a message and delivers it: to everyone, or to the sender and the
   * addressee of a private one. The sender's copy carries its `ref`. Delivery
   * happens after the store has kept it, in id order.
   */
  async say(member: Member, say: SayMessage): Promise<void> {
    let addressee: Member | undefined;
    if (say.to !== undefined) {
      addressee = this.#members.get(nickKey(say.to));
      if (addressee === undefined) {
        throw new ProtocolError("no_such_user", `'${say.to}' is not online`, { ref: say.ref });
      }
    }
    const stored = await this.history.append({
      ts: this.#now(),
      from: member.nick,
      to: addressee?.nick ?? null,
      kind: say.kind,
      text: say.text,
      body: say.body,
    });
    const wire = toWire(stored);
    const shared = Outgoing.of(wire);
    const own = say.ref === undefined ? shared : Outgoing.of({ ...wire, ref: say.ref });
    if (addressee === undefined) {
      for (const other of this.#members.values()) {
        if (other.resumedUpTo >= stored.id) continue;
        other.deliver(other === member ? own : shared);
      }
      return;
    }
    member.deliver(own);
    if (addressee !== member && this.has(addressee)) addressee.deliver(shared);
  }

  /**
   * A `history` answer for `member`, trimmed to fit one frame. `upTo`: the
   * newest id the answer may hold (the store's last id when the request
   * arrived), so that messages delivered live after it are not in it too.
   */
  async historyPage(member: Member, request: HistoryRequest, upTo?: number): Promise<Outgoing> {
    const query: PageQuery = { viewer: member.nick, limit: request.limit };
    const bound = upTo === undefined ? undefined : upTo + 1;
    const before = request.before === undefined
      ? bound
      : bound === undefined
      ? request.before
      : Math.min(request.before, bound);
    if (before !== undefined) query.before = before;
    if (request.with !== undefined) query.with = request.with;
    const page = await this.history.page(query);
    return fitItems(page.items.map(toWire), (items, trimmed) => {
      const answer: ServerMessage = { type: "history", items, more: page.more || trimmed };
      if (request.ref !== undefined) answer.ref = request.ref;
      return answer;
    });
  }

  /** A `results` answer for `member`, trimmed to fit one frame. */
  async searchResults(member: Member, request: SearchRequest): Promise<Outgoing> {
    const items = request.q.length === 0
      ? []
      : (await this.history.search(member.nick, request.q, request.limit)).map(toWire);
    return fitItems(items, (kept) => {
      const answer: ServerMessage = { type: "results", q: request.q, items: kept };
      if (request.ref !== undefined) answer.ref = request.ref;
      return answer;
    });
  }

  /** Empties the room without telling anyone (the server is shutting down). */
  clear(): void {
    this.#members.clear();
    this.#bySkeleton.clear();
  }

  /** Someone else online whose nick shares one of `skeletons`, or null. */
  #lookalike(skeletons: string[], member: Member): Member | null {
    for (const skeleton of skeletons) {
      const holder = this.#bySkeleton.get(skeleton);
      if (holder !== undefined && holder !== member) return holder;
    }
    return null;
  }

  #broadcast(message: Outgoing, except?: Member): void {
    for (const member of this.#members.values()) {
      if (member !== except) member.deliver(message);
    }
  }
}

/** `nick_taken` for a nick that looks like `online`'s (the skeletons of lib/server/nick_skeleton.ts). */
function lookalikeError(nick: string, online: string): ProtocolError {
  return new ProtocolError(
    "nick_taken",
    `'${nick}' looks too much like '${online}', who is online; pick another nick`,
  );
}

/** Part of the users list: JSON entries, comma-separated, and their UTF-8 size. */
interface UserChunk {
  json: string;
  bytes: number;
  entries: number;
  /** This chunk encoded as a `users` part, with `more` (not last) or without (last); built once. */
  encoded: { more: Outgoing | null; last: Outgoing | null };
}

function encodeUserChunk(chunk: UserChunk, more: boolean): Outgoing {
  return new Outgoing(
    utf8.encode(`{"type":"users","users":[${chunk.json}]${more ? ',"more":true' : ""}}`),
  );
}

/** Room for the `users` wrapper around a chunk's entries. */
const maxUserChunkBytes = maxAnswerBytes - 64;
/**
 * Users per chunk. Every joiner gets the full chunks' shared encodings plus
 * its own copy of the last chunk: a small last chunk keeps that copy small
 * when thousands join at once, and a room of up to this many is one message.
 */
const maxUserChunkEntries = 128;

/** Appends one user's JSON entry to the last chunk, or starts a new chunk when it is full. */
function appendUser(chunks: UserChunk[], entry: string): void {
  const bytes = utf8.encode(entry).length + 1;
  const last = chunks.at(-1);
  if (
    last !== undefined && last.bytes + bytes <= maxUserChunkBytes &&
    last.entries < maxUserChunkEntries
  ) {
    last.json = `${last.json},${entry}`;
    last.bytes += bytes;
    last.entries++;
    last.encoded = { more: null, last: null };
  } else {
    chunks.push({ json: entry, bytes, entries: 1, encoded: { more: null, last: null } });
  }
}

function emptyUserChunk(): UserChunk {
  return { json: "", bytes: 0, entries: 0, encoded: { more: null, last: null } };
}

/**
 * Builds an answer holding as many of the newest `items` as fit in one frame.
 * `trimmed` tells the builder that older items were left out.
 */
function fitItems(
  items: ChatMessage[],
  build: (items: ChatMessage[], trimmed: boolean) => ServerMessage,
): Outgoing {
  let kept = items;
  for (;;) {
    const payload = encodePayload(build(kept, kept.length < items.length));
    if (payload.length <= maxAnswerBytes || kept.length === 0) {
      return new Outgoing(payload);
    }
    // Drop the oldest quarter (at least one) and try again: bounded by items.length.
    kept = kept.slice(Math.max(1, Math.floor(kept.length / 4)));
  }
}
