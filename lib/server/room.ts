/**
 * The chat room: who is online, nick rules, routing of public and private
 * messages, and answers from the message store.
 *
 * Owns: membership (a person is an account on one or more connections, or a
 * guest on one), nick uniqueness and ownership (first claim wins; look-alikes
 * included: nick_skeleton.ts), link codes and `whois` (PROTOCOL.md section 8),
 * `joined`/`left`/`renamed`, ordering of delivered messages (the store's id
 * order), visibility of private messages (by account).
 * Knows nothing of sockets: members are anything with `deliver()`.
 * Must not import session.ts or server.ts.
 */
import { ProtocolError } from "../wire/errors.ts";
import type { History, PageQuery, Partner, StoredMessage, Viewer } from "../store/history.ts";
import { MemoryReadMarks, type ReadMarks } from "../store/read_marks.ts";
import { mentionsIn } from "../wire/mentions.ts";
import {
  type Channel,
  type Channels,
  general,
  isMember,
  MemoryChannels,
} from "../store/channels.ts";
import { type Account, type Accounts, MemoryAccounts } from "../store/accounts.ts";
import { fingerprint } from "../wire/identity.ts";
import { type LinkCodeLimits, LinkCodes } from "./link_codes.ts";
import { TokenBuckets } from "./limits/token_buckets.ts";
import { attemptKey } from "./limits/ip_networks.ts";
import { Outgoing } from "./outgoing.ts";
import { channelNameProblem, encodePayload, nickKey, nickProblem } from "../wire/protocol.ts";
import { nickSkeletons } from "./nick_skeleton.ts";
import type {
  ChannelRequest,
  ChannelsRequest,
  ChatMessage,
  ConversationEntry,
  DeviceEntry,
  FileInfo,
  FileLimits,
  FilesRequest,
  HelloMessage,
  HistoryRequest,
  LeaveReason,
  LinkRequest,
  NotifyRequest,
  ReadRequest,
  Ref,
  SayMessage,
  SearchRequest,
  ServerMessage,
  UserEntry,
  WhoisRequest,
} from "../wire/protocol.ts";
import { maxPayloadBytes } from "../frame.ts";

const utf8 = new TextEncoder();

/** Room left in a frame for the 16-byte tag of an encrypted (Noise) payload. */
const maxAnswerBytes = maxPayloadBytes - 16;

/** Anything that can sit in the room: a TCP or WebSocket session, or a test double. */
export interface Member {
  /** Current nick; the room sets it on join and rename. */
  nick: string;
  /** When the member's person came online (ms); the room sets it. */
  since: number;
  /**
   * Chat messages with an id at or below this were (or will be) sent by the
   * resume replay, so live delivery skips them.
   */
  resumedUpTo: number;
  /** The account this connection joined as, or null for a guest; the room sets it. */
  account: number | null;
  /** Queues a message for this member. Never awaits; never throws. */
  deliver(message: Outgoing): void;
  /** Sends `error` with `code` and closes the connection (the operator removed its device). */
  dismiss(code: "device_removed", message: string): void;
}

/** Who a `hello` says it is, beyond its nick: checked by the session before it asks the room. */
export interface Credentials {
  /** The device key the connection proved (PROTOCOL.md section 8.3), or null for a guest. */
  deviceKey: Uint8Array | null;
  /** `hello.link`: a one-time code adding `deviceKey` to another device's account. */
  link?: string;
  /** The peer's address: claims and wrong link codes are limited per address. */
  address: string;
}

/** Identity limits (PROTOCOL.md section 8). Every field documents its default. */
export interface IdentityLimits {
  /** Accept `hello` without a key (guests). Default true (`serve --no-guests` sets false). */
  guests: boolean;
  /** Accounts one address may make at once. Default 20. */
  accountBurst: number;
  /** Accounts one address may make per hour once the burst is spent. Default 20 (`--accounts-per-hour`). */
  accountsPerHour: number;
  /** Accounts owning a nick, in all. Default 10,000 (`--max-accounts`). */
  maxAccounts: number;
  /** Device keys per account. Default 16 (`--max-devices`). */
  maxDevices: number;
  /** Channels besides `#general`. Default 1,000 (`--max-channels`). */
  maxChannels: number;
}

/** The defaults of IdentityLimits. */
export const defaultIdentityLimits: IdentityLimits = {
  guests: true,
  accountBurst: 20,
  accountsPerHour: 20,
  maxAccounts: 10_000,
  maxDevices: 16,
  maxChannels: 1000,
};

/** Options of a Room. */
export interface RoomOptions {
  /** Where messages are kept. */
  history: History;
  /** Where accounts are kept. Default: a new MemoryAccounts. */
  accounts?: Accounts;
  /** Most people online at once; the next `hello` gets `server_full`. Default 1000. */
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
  /** Who may join with what (section 8). Defaults: defaultIdentityLimits. */
  identity?: Partial<IdentityLimits>;
  /** Limits of link codes. Defaults: lib/server/link_codes.ts. */
  linkCodes?: Partial<LinkCodeLimits>;
  /** Where channels are kept (PROTOCOL.md section 9). Default: a new MemoryChannels. */
  channels?: Channels;
  /** Where read marks and notification levels are kept (section 9.5). Default: in memory. */
  readMarks?: ReadMarks;
  /** `welcome.files` for members with an account (section 10.1); absent: no file transfer. */
  files?: FileLimits;
}

/**
 * Turns a stored message into its wire form (`ref` never included).
 * `channelName`: the name of its channel when it is not `#general`.
 */
export function toWire(message: StoredMessage, channelName?: string): ChatMessage {
  const wire: ChatMessage = {
    type: "msg",
    id: message.id,
    ts: message.ts,
    from: message.from,
    kind: message.kind,
    body: message.body,
  };
  if (message.to !== null) wire.to = message.to;
  else if (channelName !== undefined && (message.channel ?? 0) !== general.id) {
    wire.channel = channelName;
  }
  if (message.file !== undefined) wire.file = message.file;
  return wire;
}

/** One person online: an account (on one or more connections) or a guest (on one). */
interface Person {
  nick: string;
  /** When its first connection joined (ms). */
  since: number;
  /** Its account, or null for a guest. */
  account: number | null;
  /** Its connections in the room, in the order they joined. */
  connections: Member[];
  /** The device key each connection proved (guests: none). */
  deviceKeys: Map<Member, Uint8Array>;
  /** The channels its account is in, `#general` not included. */
  channels: Set<number>;
}

/** Accounts a message's mentions are kept for (the rest are shown, not counted). */
const maxMentions = 20;
/** Conversations per `conversations` part: 100 entries fit one frame with room to spare. */
const conversationsPerPart = 100;

/** How often device `seen` times are written (they are kept in memory meanwhile). */
const seenFlushMs = 30_000;

/** The room. One per server; every session joins the same one. */
export class Room {
  readonly history: History;
  readonly accounts: Accounts;
  readonly maxUsers: number;
  readonly identity: IdentityLimits;
  readonly linkCodes: LinkCodes;
  readonly channels: Channels;
  readonly readMarks: ReadMarks;
  /** The people online in each channel (not `#general`: everyone is in it). */
  readonly #channelPeople = new Map<number, Set<Person>>();
  /** Channels made per account: 10 at once, then 10 an hour. */
  readonly #channelCreates = new TokenBuckets({ burst: 10, perSecond: 10 / 3600 });
  readonly #now: () => number;
  readonly #motd: string | undefined;
  readonly #files: FileLimits | undefined;
  readonly #presenceLimit: number;
  /** People online by nick key (unique without regard to case). */
  readonly #people = new Map<string, Person>();
  /** The same people by account. */
  readonly #byAccount = new Map<number, Person>();
  /** The same people by each of their {@link nickSkeletons}: a nick that looks like one online is refused. */
  readonly #bySkeleton = new Map<string, Person>();
  /** Every connection in the room, for broadcasts (the hot path). */
  readonly #connections = new Set<Member>();
  readonly #personOf = new Map<Member, Person>();
  /** Accounts made per address. */
  readonly #claims: TokenBuckets;
  /** Renames per account (each one writes to the store): 10 at once, then 10 a minute. */
  readonly #renames = new TokenBuckets({ burst: 10, perSecond: 10 / 60 });
  /** Device `seen` times not written yet, by fingerprint. */
  readonly #seen = new Map<string, { key: Uint8Array; at: number }>();
  #seenFlushedAt: number;
  /**
   * The `users` list as JSON, in chunks that each fit one frame (entries
   * comma-separated, oldest person first); null when a leave or rename made it
   * stale. A join appends to the last chunk, so answering each joiner costs a
   * copy instead of encoding every user again.
   */
  #userChunks: UserChunk[] | null = [];

  constructor(options: RoomOptions) {
    this.history = options.history;
    this.accounts = options.accounts ?? new MemoryAccounts();
    this.maxUsers = options.maxUsers ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#motd = options.motd;
    this.#files = options.files;
    this.#presenceLimit = options.presenceLimit ?? 1000;
    this.identity = { ...defaultIdentityLimits, ...options.identity };
    this.linkCodes = new LinkCodes(options.linkCodes);
    this.channels = options.channels ?? new MemoryChannels();
    this.readMarks = options.readMarks ?? new MemoryReadMarks();
    this.#claims = new TokenBuckets({
      burst: this.identity.accountBurst,
      perSecond: this.identity.accountsPerHour / 3600,
    });
    this.#seenFlushedAt = this.#now();
  }

  /** How many people are online (an account on several connections counts once). */
  get size(): number {
    return this.#people.size;
  }

  /** True when `member` is in the room. */
  has(member: Member): boolean {
    return this.#personOf.has(member);
  }

  /** The online list, oldest person first. */
  users(): UserEntry[] {
    return [...this.#people.values()].map(userEntry);
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
   * Admits `member` under `hello.nick` (or, with a key, as its account; with
   * a link code, as the code's account): `welcome` and `users` to it,
   * `joined` to the others when its person was not online yet. Throws
   * ProtocolError (`nick_invalid`, `nick_taken`, `nick_owned`, `server_full`,
   * `key_required`, `link_invalid`, `rate_limited`); the member may try
   * again. Returns the id range the caller must replay when `hello.after`
   * was given: (after, upTo].
   */
  join(
    member: Member,
    hello: HelloMessage,
    credentials: Credentials,
  ): { replayAfter: number; replayUpTo: number } | null {
    const now = this.#now();
    const key = credentials.deviceKey;
    let account: Account | null = null;
    let nick = hello.nick;
    let linked = false;
    if (key === null) {
      if (!this.identity.guests) {
        throw new ProtocolError(
          "key_required",
          "this server admits only clients with a device key (lanchat 0.2 or later, or its web page); " +
            "a version-1 client cannot join it",
        );
      }
      this.#checkNick(nick, null);
    } else if (credentials.link !== undefined) {
      account = this.#link(key, credentials.link, credentials.address, now);
      nick = account.nick;
      linked = true;
    } else {
      // A device of an account always joins under the account's nick: `hello.nick` only names
      // the nick a new key claims. (Renaming is `nick`'s job, so a script on the same device or a
      // reconnect that still has an old nick never moves the account.)
      account = this.accounts.forDevice(key);
      if (account !== null) nick = account.nick;
      else this.#checkNick(nick, null);
    }
    const person = this.#people.get(nickKey(nick)) ??
      (account === null ? undefined : this.#byAccount.get(account.id));
    if (person !== undefined && person.account !== (account?.id ?? null)) {
      throw new ProtocolError("nick_taken", `'${nick}' is already online; pick another nick`);
    }
    if (person === undefined && this.#people.size >= this.maxUsers) {
      throw new ProtocolError(
        "server_full",
        `the room is full (${this.maxUsers} users); try later`,
      );
    }
    if (key !== null && account === null) {
      account = this.#claim(nick, key, credentials.address, now);
    }
    member.account = account?.id ?? null;
    member.resumedUpTo = 0;
    const last = this.history.lastId();
    // Messages committed but not yet broadcast are covered by the replay, not live delivery.
    if (hello.after !== undefined) member.resumedUpTo = last;
    const joining = person ?? this.#addPerson(nick, account?.id ?? null, now);
    member.nick = joining.nick;
    member.since = joining.since;
    joining.connections.push(member);
    if (key !== null) {
      joining.deviceKeys.set(member, key);
      this.#markSeen(key, now);
    }
    this.#connections.add(member);
    this.#personOf.set(member, joining);
    const welcome: ServerMessage = { type: "welcome", nick: member.nick, last };
    if (this.#motd !== undefined) welcome.motd = this.#motd;
    if (account === null) welcome.guest = true;
    else if (this.#files !== undefined) welcome.files = this.#files;
    member.deliver(Outgoing.of(welcome));
    for (const part of this.usersMessages()) member.deliver(part);
    if (person === undefined && this.#people.size <= this.#presenceLimit) {
      const joined: ServerMessage = { type: "joined", nick: member.nick, ts: now };
      if (account === null) joined.guest = true;
      this.#broadcast(Outgoing.of(joined), member);
    }
    if (linked && key !== null) {
      const note = Outgoing.of({ type: "linked", fingerprint: fingerprint(key), ts: now });
      for (const connection of joining.connections) connection.deliver(note);
    }
    return hello.after === undefined ? null : { replayAfter: hello.after, replayUpTo: last };
  }

  /** Removes `member` (if present); when its person has no connection left, tells the others why it left. */
  leave(member: Member, reason: LeaveReason): void {
    const person = this.#personOf.get(member);
    if (person === undefined) return;
    this.#personOf.delete(member);
    this.#connections.delete(member);
    person.connections = person.connections.filter((connection) => connection !== member);
    const key = person.deviceKeys.get(member);
    person.deviceKeys.delete(member);
    if (key !== undefined) this.#markSeen(key, this.#now());
    if (person.connections.length > 0) return;
    for (const channel of person.channels) this.#channelPeople.get(channel)?.delete(person);
    const announce = this.#people.size <= this.#presenceLimit;
    this.#people.delete(nickKey(person.nick));
    if (person.account !== null) this.#byAccount.delete(person.account);
    for (const skeleton of nickSkeletons(person.nick)) this.#bySkeleton.delete(skeleton);
    this.#userChunks = null;
    if (announce) {
      this.#broadcast(Outgoing.of({ type: "left", nick: person.nick, ts: this.#now(), reason }));
    }
  }

  /** Renames `member`'s person (all its connections; its account moves to the new nick); everyone gets `renamed`. */
  rename(member: Member, nick: string): void {
    const person = this.#personOf.get(member);
    if (person === undefined) throw new ProtocolError("not_joined", "send 'hello' first");
    if (nick === person.nick) return;
    if (nickKey(nick) !== nickKey(person.nick)) this.#checkNick(nick, person.account, person);
    else if (nickProblem(nick) !== null) {
      throw new ProtocolError("nick_invalid", `${nickProblem(nick)}: '${nick}'`);
    }
    if (person.account !== null) {
      // Each rename of an account is a write to the history file: a few a minute is plenty.
      const waitMs = this.#renames.take(String(person.account), 1, performance.now());
      if (waitMs > 0) {
        throw new ProtocolError(
          "rate_limited",
          `too many nick changes in a short time; try again in ${Math.ceil(waitMs / 1000)} s`,
          { waitMs },
        );
      }
      this.accounts.rename(person.account, nick, nickSkeletons(nick));
    }
    this.#renamePerson(person, nick);
  }

  /**
   * Stores a message and delivers it: to everyone online (`#general`), to the
   * members of its channel online, or to the connections of the sender and
   * the addressee of a private one (whose account is offline too: it is kept
   * for them, PROTOCOL.md section 9.4). The sending connection's copy carries
   * its `ref`. Delivery happens after the store has kept it, in id order.
   * `file`: the message is that file (section 10; its bytes are stored already). Resolves with
   * the message's id.
   */
  async say(member: Member, say: SayMessage, file?: FileInfo): Promise<number> {
    let addressee: Person | undefined;
    let offline: Account | null = null;
    let channel: Channel = general;
    if (say.to !== undefined) {
      addressee = this.#people.get(nickKey(say.to));
      if (addressee === undefined) offline = this.accounts.owner(say.to);
      if (addressee === undefined && offline === null) {
        throw new ProtocolError(
          "no_such_user",
          `nobody is online as '${say.to}' and no account owns it`,
          { ref: say.ref },
        );
      }
    } else if (say.channel !== undefined) {
      channel = this.#memberChannel(member, say.channel, say.ref);
    }
    // A file's line is its name: `@all.txt` mentions nobody.
    const mentioned = file === undefined ? mentionsIn(say.text) : { nicks: [], everyone: false };
    const mentions = mentioned.nicks.slice(0, maxMentions).flatMap((nick) => {
      const account = this.#people.get(nick)?.account ?? this.accounts.owner(nick)?.id ?? null;
      return account === null ? [] : [account];
    });
    const stored = await this.history.append({
      ts: this.#now(),
      from: member.nick,
      to: addressee?.nick ?? offline?.nick ?? null,
      fromAccount: member.account,
      toAccount: addressee?.account ?? offline?.id ?? null,
      channel: channel.id,
      mentions,
      mentionsEveryone: mentioned.everyone && say.to === undefined,
      kind: say.kind,
      text: say.text,
      body: say.body,
      ...(file === undefined ? {} : { file }),
    });
    const wire = toWire(stored, channel.name);
    const shared = Outgoing.of(wire);
    const own = say.ref === undefined ? shared : Outgoing.of({ ...wire, ref: say.ref });
    if (say.to === undefined && channel.id === general.id) {
      for (const other of this.#connections) {
        if (other.resumedUpTo >= stored.id) continue;
        other.deliver(other === member ? own : shared);
      }
      return stored.id;
    }
    const sender = this.#personOf.get(member);
    const receivers = new Set(sender?.connections ?? [member]);
    if (say.to === undefined) {
      for (const person of this.#channelPeople.get(channel.id) ?? []) {
        for (const connection of person.connections) receivers.add(connection);
      }
    } else {
      for (const connection of addressee?.connections ?? []) receivers.add(connection);
    }
    if (!this.has(member)) receivers.add(member);
    for (const connection of receivers) {
      if (connection !== member && connection.resumedUpTo >= stored.id) continue;
      connection.deliver(connection === member ? own : shared);
    }
    return stored.id;
  }

  /**
   * Where a file of `member` may go (section 10.3), checked before any byte
   * is sent: a channel it is in (`not_member`), or the account owning `to`
   * (`no_such_user`: files go to accounts only). Returns the conversation's
   * key ("c" and the channel id, "d" and the account id), part of the upload's
   * resume key.
   */
  fileTarget(member: Member, target: { channel?: string; to?: string; ref?: Ref }): string {
    if (target.to !== undefined) {
      const account = this.#people.get(nickKey(target.to))?.account ??
        this.accounts.owner(target.to)?.id ?? null;
      if (account === null) {
        throw new ProtocolError(
          "no_such_user",
          `no account owns '${target.to}': files go to people with an account (not guests)`,
          { ref: target.ref },
        );
      }
      return `d${account}`;
    }
    if (target.channel === undefined) return `c${general.id}`;
    return `c${this.#memberChannel(member, target.channel, target.ref).id}`;
  }

  /** A `files` answer (section 10.5): the newest file messages of one conversation. */
  async filesPage(member: Member, request: FilesRequest): Promise<Outgoing> {
    const query: PageQuery = {
      viewer: this.viewer(member),
      limit: request.limit,
      filesOnly: true,
    };
    if (request.before !== undefined) query.before = request.before;
    if (request.with !== undefined) query.with = this.#partner(request.with);
    else {
      query.channel = request.channel === undefined
        ? general.id
        : this.#memberChannel(member, request.channel, request.ref).id;
    }
    const page = await this.history.page(query);
    return fitItems(page.items.map((item) => this.wire(item)), (items, trimmed) => {
      const answer: ServerMessage = { type: "files", items, more: page.more || trimmed };
      if (request.ref !== undefined) answer.ref = request.ref;
      return answer;
    });
  }

  /**
   * A `history` answer for `member`, trimmed to fit one frame. `upTo`: the
   * newest id the answer may hold (the store's last id when the request
   * arrived), so that messages delivered live after it are not in it too.
   */
  async historyPage(member: Member, request: HistoryRequest, upTo?: number): Promise<Outgoing> {
    const query: PageQuery = { viewer: this.viewer(member), limit: request.limit };
    const bound = upTo === undefined ? undefined : upTo + 1;
    const before = request.before === undefined
      ? bound
      : bound === undefined
      ? request.before
      : Math.min(request.before, bound);
    if (before !== undefined) query.before = before;
    if (request.with !== undefined) query.with = this.#partner(request.with);
    else if (request.channel !== undefined) {
      query.channel = this.#memberChannel(member, request.channel, request.ref).id;
    }
    const page = await this.history.page(query);
    return fitItems(page.items.map((item) => this.wire(item)), (items, trimmed) => {
      const answer: ServerMessage = { type: "history", items, more: page.more || trimmed };
      if (request.ref !== undefined) answer.ref = request.ref;
      return answer;
    });
  }

  /** A `results` answer for `member`, trimmed to fit one frame. */
  async searchResults(member: Member, request: SearchRequest): Promise<Outgoing> {
    const channel = request.channel === undefined
      ? undefined
      : this.#memberChannel(member, request.channel, request.ref).id;
    const items = request.q.length === 0
      ? []
      : (await this.history.search(this.viewer(member), request.q, request.limit, channel)).map(
        (item) => this.wire(item),
      );
    return fitItems(items, (kept) => {
      const answer: ServerMessage = { type: "results", q: request.q, items: kept };
      if (request.ref !== undefined) answer.ref = request.ref;
      return answer;
    });
  }

  /** Who `member` is to the store: its account and its channels. */
  viewer(member: Member): Viewer {
    const person = this.#personOf.get(member);
    return { account: member.account, channels: [...person?.channels ?? []] };
  }

  /** A stored message in its wire form, with its channel's name. */
  wire(message: StoredMessage): ChatMessage {
    const channel = message.channel ?? general.id;
    return toWire(
      message,
      channel === general.id ? undefined : this.channels.byId(channel)?.name ?? "#unknown",
    );
  }

  /** `join`, `part`, `topic`, `members` and `channels` (PROTOCOL.md section 9.3). */
  channelRequest(member: Member, request: ChannelRequest | ChannelsRequest): void {
    const person = this.#personOf.get(member);
    if (person === undefined) throw new ProtocolError("not_joined", "send 'hello' first");
    const ref = request.ref;
    if (request.type === "channels") {
      const answer: ServerMessage = {
        type: "channels",
        items: this.channels.list().map((channel) => ({
          name: channel.name,
          topic: channel.topic,
          members: channel.id === general.id ? this.size : this.channels.memberCount(channel.id),
          joined: channel.id === general.id || person.channels.has(channel.id),
        })),
      };
      if (ref !== undefined) answer.ref = ref;
      member.deliver(Outgoing.of(answer));
      return;
    }
    if (person.account === null) {
      throw new ProtocolError(
        "bad_message",
        "a guest is in #general only: channels need a device key (lanchat 0.3, or its web page)",
        { ref },
      );
    }
    const account = person.account;
    const now = this.#now();
    switch (request.type) {
      case "join": {
        let channel = this.channels.byName(request.channel);
        if (channel === null) channel = this.#createChannel(request.channel, account, now, ref);
        else if (!person.channels.has(channel.id) && channel.id !== general.id) {
          this.channels.join(channel.id, account, now);
        }
        this.#enter(person, channel.id);
        this.#tellAccount(person, this.#channelAnswer(channel, true), member, ref);
        return;
      }
      case "part": {
        const channel = this.#memberChannel(member, request.channel, ref);
        if (channel.id === general.id) {
          throw new ProtocolError("bad_message", "everyone is in #general; it cannot be left", {
            ref,
          });
        }
        this.channels.part(channel.id, account);
        person.channels.delete(channel.id);
        this.#channelPeople.get(channel.id)?.delete(person);
        this.#tellAccount(person, this.#channelAnswer(channel, false), member, ref);
        return;
      }
      case "topic": {
        const channel = this.#memberChannel(member, request.channel, ref);
        if (channel.id === general.id) {
          throw new ProtocolError("bad_message", "#general has no topic on this server", { ref });
        }
        const topic = request.topic ?? "";
        this.channels.setTopic(channel.id, topic);
        const note: ServerMessage = {
          type: "topic",
          channel: channel.name,
          topic,
          by: person.nick,
          ts: now,
        };
        const shared = Outgoing.of(note);
        for (const other of this.#channelPeople.get(channel.id) ?? []) {
          for (const connection of other.connections) {
            connection.deliver(
              connection === member && ref !== undefined ? Outgoing.of({ ...note, ref }) : shared,
            );
          }
        }
        return;
      }
      case "members": {
        const channel = this.#memberChannel(member, request.channel, ref);
        const online = (accountId: number) => this.#byAccount.has(accountId);
        const users = channel.id === general.id
          ? this.users().map((user) => ({ nick: user.nick, online: true }))
          : this.channels.members(channel.id).map((accountId) => ({
            nick: this.#byAccount.get(accountId)?.nick ?? this.#nickOfAccount(accountId),
            online: online(accountId),
          }));
        const answer: ServerMessage = { type: "members", channel: channel.name, users };
        if (ref !== undefined) answer.ref = ref;
        member.deliver(Outgoing.of(answer));
        return;
      }
    }
  }

  /**
   * The `conversations` message(s) for `member` after it joined (section 9.5): every channel it is
   * in and every account it has direct messages with, with unread counts. None for a guest.
   */
  async conversations(member: Member): Promise<Outgoing[]> {
    const account = member.account;
    const person = this.#personOf.get(member);
    if (account === null || person === undefined) return [];
    const marks = new Map(this.readMarks.of(account).map((mark) => [mark.conversation, mark]));
    const partners = await this.history.directPartners(account);
    const names = new Map<string, { name: string; kind: "channel" | "direct" }>();
    for (const id of [general.id, ...person.channels]) {
      const channel = this.channels.byId(id);
      if (channel !== null) names.set(`c${id}`, { name: channel.name, kind: "channel" });
    }
    for (const partner of partners) {
      const nick = this.#byAccount.get(partner)?.nick ?? this.accounts.nickOf(partner);
      if (nick !== null) names.set(`d${partner}`, { name: `@${nick}`, kind: "direct" });
    }
    const points = [...names.keys()].map((conversation) => ({
      conversation,
      read: marks.get(conversation)?.read ?? 0,
    }));
    const counts = await this.history.unread(account, points);
    const items: ConversationEntry[] = counts.map((count) => {
      const named = names.get(count.conversation)!;
      return {
        conversation: named.name,
        kind: named.kind,
        unread: count.unread,
        mentions: count.mentions,
        read: marks.get(count.conversation)?.read ?? 0,
        last: count.last,
        notify: marks.get(count.conversation)?.notify ?? "all",
      };
    });
    const parts: Outgoing[] = [];
    for (let start = 0; start < items.length || start === 0; start += conversationsPerPart) {
      const part = items.slice(start, start + conversationsPerPart);
      const more = start + conversationsPerPart < items.length;
      parts.push(Outgoing.of({ type: "conversations", items: part, ...(more ? { more } : {}) }));
    }
    return parts;
  }

  /** `read` (section 9.5): keeps the mark and tells the account's other connections. */
  markRead(member: Member, request: ReadRequest): void {
    const person = this.#personOf.get(member);
    if (person === undefined || person.account === null) {
      throw new ProtocolError("bad_message", "a guest has no read marks: join with a device key");
    }
    const key = this.#conversationKey(member, request.conversation, undefined);
    const read = this.readMarks.markRead(person.account, key, request.id);
    const note = Outgoing.of({ type: "read", conversation: request.conversation, id: read });
    for (const connection of person.connections) {
      if (connection !== member) connection.deliver(note);
    }
  }

  /** `notify` (section 9.5): keeps the level and echoes it to the account's connections. */
  setNotify(member: Member, request: NotifyRequest): void {
    const person = this.#personOf.get(member);
    if (person === undefined || person.account === null) {
      throw new ProtocolError("bad_message", "a guest has no settings: join with a device key", {
        ref: request.ref,
      });
    }
    const key = this.#conversationKey(member, request.conversation, request.ref);
    this.readMarks.setNotify(person.account, key, request.level);
    const note: ServerMessage = {
      type: "notify",
      conversation: request.conversation,
      level: request.level,
    };
    for (const connection of person.connections) {
      connection.deliver(
        Outgoing.of(
          connection === member && request.ref !== undefined ? { ...note, ref: request.ref } : note,
        ),
      );
    }
  }

  /** The store's name of a conversation (`c<id>`, `d<account>`) named on the wire (`#ops`, `@ana`). */
  #conversationKey(member: Member, name: string, ref: Ref | undefined): string {
    if (name.startsWith("@")) {
      const other = this.#people.get(nickKey(name.slice(1)))?.account ??
        this.accounts.owner(name.slice(1))?.id ?? null;
      if (other === null) {
        throw new ProtocolError("no_such_user", `no account owns '${name.slice(1)}'`, { ref });
      }
      return `d${other}`;
    }
    return `c${this.#memberChannel(member, name, ref).id}`;
  }

  /** A one-time code adding a device to `member`'s account (section 8.5). */
  linkCode(member: Member, request: LinkRequest): ServerMessage {
    if (member.account === null) {
      throw new ProtocolError(
        "bad_message",
        "a guest has no account to add a device to: join with a device key (lanchat 0.2 or later)",
        { ref: request.ref },
      );
    }
    const { code, expires } = this.linkCodes.issue(member.account, this.#now());
    const answer: ServerMessage = { type: "link_code", code, expires };
    if (request.ref !== undefined) answer.ref = request.ref;
    return answer;
  }

  /** The `whois` answer for `request.nick` (section 8.8). */
  whois(request: WhoisRequest): ServerMessage {
    const online = this.#people.get(nickKey(request.nick));
    const account = online === undefined
      ? this.accounts.owner(request.nick)
      : online.account === null
      ? null
      : { id: online.account, nick: online.nick, created: 0 };
    if (online === undefined && account === null) {
      throw new ProtocolError(
        "no_such_user",
        `nobody is online as '${request.nick}' and no account owns it`,
        { ref: request.ref },
      );
    }
    const answer: Extract<ServerMessage, { type: "whois" }> = {
      type: "whois",
      nick: online?.nick ?? account?.nick ?? request.nick,
      guest: account === null,
      devices: [],
    };
    if (account !== null) {
      const onlineKeys = new Set(
        [...(online?.deviceKeys.values() ?? [])].map((key) => fingerprint(key)),
      );
      const owner = this.accounts.owner(answer.nick);
      if (owner !== null) answer.since = owner.created;
      answer.devices = this.accounts.devices(account.id).map((device) => {
        const print = fingerprint(device.publicKey);
        const seen = this.#seen.get(print)?.at ?? device.seen;
        const entry: DeviceEntry = {
          fingerprint: print,
          added: device.added,
          online: onlineKeys.has(print),
        };
        if (seen !== null) entry.seen = seen;
        return entry;
      });
    }
    if (request.ref !== undefined) answer.ref = request.ref;
    return answer;
  }

  /**
   * About once a second: writes device `seen` times now and then, and when
   * the operator changed accounts from outside (`lanchat accounts`),
   * dismisses the connections whose device no longer belongs to their account.
   */
  tick(): void {
    const now = this.#now();
    if (now - this.#seenFlushedAt >= seenFlushMs) this.flushSeen();
    if (!this.accounts.changedElsewhere()) return;
    const dismissed: Member[] = [];
    for (const person of this.#byAccount.values()) {
      for (const [member, key] of person.deviceKeys) {
        if (this.accounts.forDevice(key)?.id !== person.account) dismissed.push(member);
      }
    }
    for (const member of dismissed) {
      if (member.account !== null) this.linkCodes.revoke(member.account);
      member.dismiss(
        "device_removed",
        "the server's operator removed this device from its account; ask them why, or join again under another nick",
      );
    }
  }

  /** Writes the `seen` times of devices kept in memory since the last write. */
  flushSeen(): void {
    this.#seenFlushedAt = this.#now();
    const pending = [...this.#seen.values()];
    this.#seen.clear();
    for (const { key, at } of pending) this.accounts.seen(key, at);
  }

  /** Empties the room without telling anyone (the server is shutting down). */
  clear(): void {
    try {
      this.flushSeen();
    } catch { /* the store is failing: seen times are a convenience */ }
    this.#people.clear();
    this.#byAccount.clear();
    this.#bySkeleton.clear();
    this.#connections.clear();
    this.#personOf.clear();
  }

  /**
   * Refuses `nick` for a member of account `self` (null: a guest or a new
   * key), as `nick_invalid`, `nick_owned` (another account owns it or a
   * look-alike) or `nick_taken` (someone else is online under it or a
   * look-alike). `person`: the renaming person, who does not collide with itself.
   */
  #checkNick(nick: string, self: number | null, person?: Person): void {
    const problem = nickProblem(nick);
    if (problem !== null) throw new ProtocolError("nick_invalid", `${problem}: '${nick}'`);
    const owner = this.accounts.owner(nick);
    if (owner !== null && owner.id !== self) {
      throw new ProtocolError(
        "nick_owned",
        `'${nick}' belongs to someone else on this server; pick another nick`,
      );
    }
    const skeletons = nickSkeletons(nick);
    const alike = this.accounts.lookalikeOwner(skeletons, self);
    if (alike !== null) {
      throw new ProtocolError(
        "nick_owned",
        `'${nick}' looks too much like '${alike.nick}', which belongs to someone on this server; pick another nick`,
      );
    }
    const mine = person ?? (self === null ? undefined : this.#byAccount.get(self));
    const holder = this.#people.get(nickKey(nick));
    if (holder !== undefined && holder !== mine) {
      throw new ProtocolError("nick_taken", `'${nick}' is already online; pick another nick`);
    }
    for (const skeleton of skeletons) {
      const lookalike = this.#bySkeleton.get(skeleton);
      if (lookalike !== undefined && lookalike !== mine) throw lookalikeError(nick, lookalike.nick);
    }
  }

  /** A new account for `key` owning `nick`, within the limits of section 8.3. */
  #claim(nick: string, key: Uint8Array, address: string, now: number): Account {
    if (this.accounts.count() >= this.identity.maxAccounts) {
      throw new ProtocolError(
        "server_full",
        `this server holds its most accounts (${this.identity.maxAccounts}); ask its operator to release unused nicks`,
      );
    }
    const waitMs = this.#claims.take(attemptKey(address), 1, performance.now());
    if (waitMs > 0) {
      throw new ProtocolError(
        "rate_limited",
        `too many new nicks from your address (at most ${this.identity.accountsPerHour} an hour); ` +
          `join with a nick you have, or try again in ${Math.ceil(waitMs / 60_000)} min`,
        { waitMs },
      );
    }
    return this.accounts.claim(nick, nickSkeletons(nick), key, now);
  }

  /** Adds `key` to the account of link code `code` (section 8.5). */
  #link(key: Uint8Array, code: string, address: string, now: number): Account {
    const holder = this.accounts.forDevice(key);
    const accountId = this.linkCodes.redeem(code, address, now);
    if (holder !== null) {
      if (holder.id === accountId) return holder;
      throw new ProtocolError(
        "link_invalid",
        `this device already belongs to '${holder.nick}'; an operator can free it with 'lanchat accounts remove-device'`,
      );
    }
    const devices = this.accounts.devices(accountId);
    if (devices.length >= this.identity.maxDevices) {
      throw new ProtocolError(
        "link_invalid",
        `that account has its most devices (${this.identity.maxDevices}); an operator can remove old ones with 'lanchat accounts remove-device'`,
      );
    }
    this.accounts.addDevice(accountId, key, now);
    const account = this.accounts.forDevice(key);
    if (account === null) throw new Error("a device just added has no account");
    return account;
  }

  /** What a code or account for `with` names: the account owning it, or the guests who used it. */
  #partner(nick: string): Partner {
    const owner = this.accounts.owner(nick);
    return owner === null ? { guestNick: nick } : { account: owner.id };
  }

  /** The channel `name` when `member` is in it; else `not_member` (or `channel_invalid`). */
  #memberChannel(member: Member, name: string, ref: Ref | undefined): Channel {
    const channel = this.channels.byName(name);
    if (channel === null) {
      throw new ProtocolError("not_member", `there is no channel ${name}; /join ${name} makes it`, {
        ref,
      });
    }
    if (!isMember(this.channels, channel.id, member.account)) {
      throw new ProtocolError(
        "not_member",
        `you are not in ${channel.name}; /join ${channel.name} first`,
        { ref },
      );
    }
    return channel;
  }

  /** A new channel made by `account`, within the limits of section 9.3. */
  #createChannel(name: string, account: number, now: number, ref: Ref | undefined): Channel {
    const problem = channelNameProblem(name);
    if (problem !== null) {
      throw new ProtocolError("channel_invalid", `${problem}: '${name}'`, { ref });
    }
    const skeletons = nickSkeletons(name);
    const alike = this.channels.lookalike(skeletons);
    if (alike !== null) {
      throw new ProtocolError(
        "channel_invalid",
        `'${name}' looks too much like ${alike.name}; join that one or pick another name`,
        { ref },
      );
    }
    if (this.channels.count() >= this.identity.maxChannels) {
      throw new ProtocolError(
        "server_full",
        `this server holds its most channels (${this.identity.maxChannels}); join an existing one`,
        { ref },
      );
    }
    const waitMs = this.#channelCreates.take(String(account), 1, performance.now());
    if (waitMs > 0) {
      throw new ProtocolError(
        "rate_limited",
        `you made many channels lately; try again in ${Math.ceil(waitMs / 60_000)} min`,
        { ref, waitMs },
      );
    }
    return this.channels.create(name, skeletons, account, now);
  }

  /** `person` is in channel `id` from now on (on every connection). */
  #enter(person: Person, id: number): void {
    if (id === general.id) return;
    person.channels.add(id);
    this.#peopleIn(id).add(person);
  }

  #peopleIn(id: number): Set<Person> {
    let people = this.#channelPeople.get(id);
    if (people === undefined) {
      people = new Set();
      this.#channelPeople.set(id, people);
    }
    return people;
  }

  #channelAnswer(channel: Channel, joined: boolean): Extract<ServerMessage, { type: "channel" }> {
    return {
      type: "channel",
      name: channel.name,
      topic: channel.topic,
      members: channel.id === general.id ? this.size : this.channels.memberCount(channel.id),
      joined,
    };
  }

  /** Sends `answer` to every connection of `person`, with `ref` on `asker`'s copy. */
  #tellAccount(
    person: Person,
    answer: Extract<ServerMessage, { type: "channel" }>,
    asker: Member,
    ref: Ref | undefined,
  ): void {
    const shared = Outgoing.of(answer);
    for (const connection of person.connections) {
      connection.deliver(
        connection === asker && ref !== undefined ? Outgoing.of({ ...answer, ref }) : shared,
      );
    }
  }

  /** The nick of an account that is not online (a member list). */
  #nickOfAccount(accountId: number): string {
    return this.accounts.nickOf(accountId) ?? `account-${accountId}`;
  }

  #addPerson(nick: string, account: number | null, now: number): Person {
    const person: Person = {
      nick,
      since: now,
      account,
      connections: [],
      deviceKeys: new Map(),
      channels: new Set(account === null ? [] : this.channels.channelsOf(account)),
    };
    for (const channel of person.channels) this.#peopleIn(channel).add(person);
    this.#people.set(nickKey(nick), person);
    if (account !== null) this.#byAccount.set(account, person);
    for (const skeleton of nickSkeletons(nick)) this.#bySkeleton.set(skeleton, person);
    if (this.#userChunks !== null) appendUser(this.#userChunks, JSON.stringify(userEntry(person)));
    return person;
  }

  #renamePerson(person: Person, nick: string): void {
    const from = person.nick;
    this.#people.delete(nickKey(from));
    for (const skeleton of nickSkeletons(from)) this.#bySkeleton.delete(skeleton);
    person.nick = nick;
    this.#people.set(nickKey(nick), person);
    for (const skeleton of nickSkeletons(nick)) this.#bySkeleton.set(skeleton, person);
    for (const connection of person.connections) connection.nick = nick;
    this.#userChunks = null;
    this.#broadcast(Outgoing.of({ type: "renamed", from, to: nick, ts: this.#now() }));
  }

  #markSeen(key: Uint8Array, at: number): void {
    this.#seen.set(fingerprint(key), { key, at });
  }

  #broadcast(message: Outgoing, except?: Member): void {
    for (const member of this.#connections) {
      if (member !== except) member.deliver(message);
    }
  }
}

function userEntry(person: Person): UserEntry {
  const entry: UserEntry = { nick: person.nick, since: person.since };
  if (person.account === null) entry.guest = true;
  return entry;
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
