/**
 * A chat session as the joining side sees it: join, chat, reconnect.
 *
 * Owns: the handshake (`server`, the room key and Noise handshake of a room
 * with a password, `hello`, `welcome`, nick retries), the refusal of a
 * server that asks for no password where one is expected (a session that ran
 * encrypted once never continues in plaintext), the last
 * message id seen and de-duplication by id, delivery tracking of own messages
 * by `ref`, and the reconnect policy (3 attempts, about 1 s, 2 s, 4 s apart,
 * then giving up or, with `keepRetrying`, waits growing to a limit, also
 * before the first join when asked; resuming with `hello.after`), taking my
 * nick back when the ghost of my dropped connection leaves (`reclaimNick`),
 * and the device key of protocol version 2 (PROTOCOL.md section 8): signing
 * each `hello` over the server's challenge, a link code on the first join,
 * the refusals of accounts, and the `link` and `whois` requests.
 * File transfers (PROTOCOL.md section 10) live in lib/client/files/: this
 * module routes their answers, chunks and refusals there and tells them when
 * a connection is joined, dropped, or the session is over.
 * It reports everything as {@link SessionEvent}s, and where it is as a
 * {@link SessionState}, and never prints: the terminal (lib/client/terminal/)
 * and the page (lib/web/page/) show them.
 * Imports lib/wire/ and lib/client/ only; no terminal code.
 */
import {
  challengeBytes,
  decodeBody,
  encodeBody,
  helloSignatureBytes,
  maxHistoryLimit,
  maxTextBytes,
  nickKey,
  proofNonceBytes,
  serverProofBytes,
} from "../wire/protocol.ts";
import { fromBase64, toBase64 } from "../wire/base64.ts";
import { fingerprint, keyBytes, type KeyPair, sign, verify } from "../wire/identity.ts";
import type {
  ChannelEntry,
  ChatMessage,
  ConversationEntry,
  FileInfo,
  FileLimits,
  LeaveReason,
  MessageKind,
  SecureParams,
  ServerMessage,
  UserEntry,
} from "../wire/protocol.ts";
import type { ErrorCode } from "../wire/errors.ts";
import { type Address, formatAddress } from "./address.ts";
import {
  ConnectError,
  Connection,
  HandshakeError,
  type Incoming,
  type NotifyLevel,
} from "./connection.ts";

export type { ChannelEntry, ConversationEntry, NotifyLevel };
import type { Dialer } from "./channel.ts";
import { downgradeMessage, secureParamsProblem } from "../wire/room_key.ts";
import { type Anchor, MessageIds, type MessageSource } from "./message_ids.ts";
import type { WhoisAnswer } from "./event_words.ts";
import { FileTransfers } from "./files/file_transfers.ts";
import { nobleSha256 } from "./files/noble_sha256.ts";
import type {
  FileSink,
  FileSource,
  FileTransfer,
  Sha256Factory,
  UploadTarget,
} from "./files/transfer_types.ts";

export type { FileInfo, FileLimits, MessageSource, WhoisAnswer };

/** The answer to {@link ChatSession.requestLinkCode}: the code (canonical, `K7QM3XPA`) and when it expires (ms). */
export interface LinkCode {
  code: string;
  expires: number;
}

/** Everything a session reports to whoever shows it. */
export type SessionEvent =
  | { type: "connected"; address: Address; serverName: string; reconnect: boolean }
  | {
    type: "welcome";
    nick: string;
    motd?: string;
    reconnect: boolean;
    /** True when a version-2 server let me in without an account (no device key, or `--guest`). */
    guest: boolean;
  }
  | { type: "users"; users: UserEntry[] }
  | {
    type: "message";
    message: ChatMessage;
    /** The decoded `body`. */
    text: string;
    /** True when I sent it (its `from` is my nick). */
    own: boolean;
    source: MessageSource;
    /** Version 4: the file this message is (its id is the file's id). */
    file?: FileInfo;
  }
  | { type: "history_end"; shown: number; more: boolean }
  /** `guest`: the server says this person has no device key (version 2). */
  | { type: "joined"; nick: string; ts: number; guest: boolean }
  | { type: "left"; nick: string; ts: number; reason?: LeaveReason }
  | { type: "renamed"; from: string; to: string; ts: number; own: boolean }
  | {
    type: "server_error";
    code: ErrorCode;
    message: string;
    /** Set when the refusal answered a {@link ChatSession.history} or {@link ChatSession.search} request. */
    request?: "history" | "search";
  }
  | { type: "delivered"; ref: string }
  | { type: "refused"; ref: string; text: string; code: string; message: string }
  | { type: "notice"; text: string }
  | { type: "lost"; address: Address; reason: string }
  | {
    type: "reconnecting";
    attempt: number;
    /** How many attempts before giving up, or null when the session keeps retrying. */
    attempts: number | null;
    delayMs: number;
  }
  | { type: "reconnect_failed"; attempt: number; attempts: number | null; reason: string }
  | { type: "resumed"; missed: number }
  /** Version 3: my conversations with their unread counts, once after each join (all parts). */
  | { type: "conversations"; items: ConversationEntry[] }
  /** Version 3: I joined or left a channel (on this device or another of my account). */
  | { type: "channel"; channel: ChannelEntry }
  | { type: "topic"; channel: string; topic: string; by: string; ts: number }
  /** Version 3: another device of my account read `conversation` up to `id`. */
  | { type: "read"; conversation: string; id: number }
  | { type: "notify"; conversation: string; level: NotifyLevel }
  /**
   * A device was added to my account (PROTOCOL.md 8.5): its key's fingerprint, and when; `own`
   * when it is this device (it just joined with a code).
   */
  | { type: "linked"; fingerprint: string; ts: number; own: boolean };

/** A chat message with its text decoded, as `history` and `search` hand them out. */
export interface DecodedMessage {
  message: ChatMessage;
  text: string;
  /** True when I sent it. */
  own: boolean;
  /** Version 4: the file this message is (its id is the file's id). */
  file?: FileInfo;
}

/** A page of older messages, oldest first; `more` when still older ones exist. */
export interface HistoryResult {
  items: DecodedMessage[];
  more: boolean;
}

/** How a session ended. */
export type SessionEnd =
  | { kind: "quit" }
  /**
   * `downgrade`: a server asked for no room password where one was expected
   * ({@link DowngradeRefused}); `serverKey`: it did not prove the key
   * remembered for it ({@link ServerKeyRefused}); `link`: it refused the link
   * code of the first join ({@link LinkRefused}); `code`: it refused this
   * device for good ({@link DeviceRefused}: `key_required`, `device_removed`).
   */
  | {
    kind: "gave_up";
    message: string;
    downgrade?: boolean;
    serverKey?: boolean;
    link?: boolean;
    code?: DeviceRefusalCode;
  };

/**
 * Where the session is, for a status line (reported through `onState`, in
 * order): dialing; greeted and joining (room password, nick, `hello`); online
 * (joined and caught up, so messages and requests go out at once); waiting
 * `delayMs` before the next attempt, after `reason`; ended.
 */
export type SessionState =
  | { state: "connecting"; reconnect: boolean }
  | { state: "joining"; reconnect: boolean }
  | { state: "online" }
  | { state: "waiting"; attempt: number; delayMs: number; reason: string }
  | { state: "ended"; end: SessionEnd };

/** What {@link SessionOptions.roomKey} is told besides the server's parameters. */
export interface RoomKeyRequest {
  /**
   * True when the server refused the key this session was given last (a
   * wrong password): forget it and ask the person again. Only sessions that
   * keep retrying ask again; others end with {@link WrongPassword}.
   */
  refused: boolean;
}

/** The first join failed; `exitCode` is what `lanchat join` should exit with. */
export class JoinFailure extends Error {
  override name = "JoinFailure";
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** Why the server refused a nick: taken by someone online, not a nick, or owned by an account. */
export type NickRefusalCode = "nick_taken" | "nick_invalid" | "nick_owned";

/**
 * Asked for a nick: `problem` is null for the first ask, or the server's
 * reason the previous nick (`refused`) was refused, with its `code`
 * (`nick_owned`: it belongs to someone else's account; the UI may say how to
 * link this device if it is theirs). Resolves null when the person gives up.
 */
export type NickChooser = (
  problem: string | null,
  refused: string | null,
  code?: NickRefusalCode | null,
) => Promise<string | null>;

/** Options of {@link ChatSession}. */
export interface SessionOptions {
  address: Address;
  /** Opens the transport: `dialTcp` in the terminal, a WebSocket in the page. */
  dial: Dialer;
  /**
   * Nick to join with. When missing, `chooseNick` is asked first (but not when
   * joining with `linkCode`: the server then gives the account's nick).
   */
  nick?: string;
  /**
   * Asked for a nick when none was given and after `nick_taken`/`nick_invalid`/`nick_owned`
   * on the first join. Without it such a refusal ends the join (exit code 2).
   */
  chooseNick?: NickChooser;
  /**
   * This device's key (PROTOCOL.md section 8). With a server of version 2 or
   * more (its greeting has `challenge`), every `hello` carries `key` and
   * `sig`: the signature of {@link helloSignatureBytes} over this
   * connection's challenge and, on a secure one, its Noise handshake hash.
   * An older server gets a `hello` without them. Default: none, so a version-2
   * server lets me in as a guest.
   */
  deviceKey?: KeyPair;
  /**
   * A one-time code from `/link` on another device of my account: sent as
   * `hello.link` until the first join succeeds (then forgotten), so this
   * device's key joins that account. Needs `deviceKey`. A refused code ends
   * the first join with {@link LinkRefused} (a session that keeps retrying
   * from the first join ends with `link: true`). Default: none.
   */
  linkCode?: string;
  /** Sent as `hello.client`. Default "lanchat-terminal/0.1". */
  client?: string;
  /** How many old messages to ask for after the first `welcome`; 0 (the default) asks none. */
  historyLimit?: number;
  /** Waits before each reconnect attempt. Default [1000, 2000, 4000]: three attempts. */
  reconnectDelaysMs?: number[];
  /**
   * After the attempts of `reconnectDelaysMs`, keep trying instead of giving
   * up: each wait twice the one before, at most `maxDelayMs`, until the server
   * is back or {@link ChatSession.quit}; {@link ChatSession.retryNow} cuts a
   * wait short. Default: give up after those attempts.
   */
  keepRetrying?: {
    maxDelayMs: number;
    /**
     * Keep trying for the first join too: {@link ChatSession.start} then
     * throws nothing; a server that is down, full or refuses the password is
     * tried again (a refused password and a connection that went stale while
     * the person typed, at once). Only a server that asks for no password where
     * one is expected, or no nick or key to be had, ends the session (see
     * {@link ChatSession.ended}). Default false: the first join fails at once.
     */
    fromFirstJoin?: boolean;
    /**
     * Each wait is multiplied by a random factor between 1 - jitter and
     * 1 + jitter, so many clients dropped together do not all come back at the
     * same instant. Default 0.
     */
    jitter?: number;
  };
  /**
   * After a reconnect that had to join under another nick (my dropped
   * connection still held mine), ask for mine back as soon as that ghost
   * leaves. Default false.
   */
  reclaimNick?: boolean;
  /** Told where the session is, synchronously, in order. */
  onState?: (state: SessionState) => void;
  /**
   * What to check when the server cannot be reached, after the reason
   * (`still`: after the reconnect attempts failed), with commands that run
   * where this client runs. Default: the same checks, naming no command.
   */
  reachHint?: (address: Address, still: boolean) => string;
  /** Connect timeout per attempt. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long the server may take to greet and to answer `hello`. Default 10000 ms. */
  answerTimeoutMs?: number;
  /** Receives every event, synchronously, in order. */
  onEvent: (event: SessionEvent) => void;
  /**
   * The room key (scrypt PSK) for a server with a password, given its
   * `server.secure`. Asked on every connection to such a server, so it should
   * remember what it derived (reconnects must not ask the person again).
   * Throws JoinFailure when no password can be had. Without it, a room with a
   * password ends the join (exit code 2).
   */
  roomKey?: (secure: SecureParams, request: RoomKeyRequest) => Promise<Uint8Array>;
  /**
   * Asked at each greeting that asks for no room password: null when joining
   * in plaintext is fine; otherwise a room password is expected (one was
   * given, or this server had one before) and the greeting is refused before
   * anything is sent, with {@link downgradeMessage} and then this text, which
   * says what to do if the room's operator really removed the password.
   * Default: plaintext is fine. Either way, once a connection of this
   * session ran encrypted, a plaintext greeting ends the session.
   */
  passwordExpected?: () => string | null;
  /**
   * Told the key a server has proven (its fingerprint), or null when it has
   * none (an older lanchat), before anything else is sent on the connection
   * (issue #14). Answers null to go on, or the words that refuse it: this
   * address answered with another key than when this person joined it
   * before. The session then ends ({@link ServerKeyRefused}), also on a
   * reconnect. It is the caller's to remember a key seen for the first time.
   * Default: every key is fine (but a key is still proven when shown).
   */
  checkServerKey?: (fingerprint: string | null) => Promise<string | null> | string | null;
  /**
   * Makes the incremental SHA-256 of file transfers (the terminal passes
   * node:crypto's). Default: @noble/hashes, which runs anywhere.
   */
  sha256?: Sha256Factory;
}

/** What a person reads when the room password is wrong. */
export const wrongPasswordMessage =
  "wrong room password. Ask whoever runs the room for it; set LANCHAT_PASSWORD or type it when asked.";

/** Defined in lib/wire/room_key.ts, where the page's bundle gets the same sentence. */
export { downgradeMessage };

/**
 * A server asked for no room password where one is expected. Nothing was
 * sent on that connection; the session ends (exit code 1), also on a
 * reconnect, which never falls back to plaintext.
 */
export class DowngradeRefused extends JoinFailure {
  override name = "DowngradeRefused";

  constructor(advice: string) {
    super(`${downgradeMessage}. ${advice}`, 1);
  }
}

/**
 * Whoever answers at the address is not the server this person joined
 * before: another key, no key where one was known, or a key it could not
 * prove. Nothing was sent; the session ends (exit code 1), also on a
 * reconnect.
 */
export class ServerKeyRefused extends JoinFailure {
  override name = "ServerKeyRefused";

  constructor(message: string) {
    super(message, 1);
  }
}

/**
 * The server refused the link code of the first join (`link_invalid`: wrong,
 * used, expired, or this key is in another account already), or cannot link
 * at all (a server older than version 2). The message carries the server's
 * words. Exit code 1.
 */
export class LinkRefused extends JoinFailure {
  override name = "LinkRefused";

  constructor(message: string) {
    super(message, 1);
  }
}

/** The refusals that end a session for good: this device may not join here (PROTOCOL.md 8.4). */
export type DeviceRefusalCode = "key_required" | "device_removed";

/**
 * The server will not take this device: it admits no guests (`key_required`,
 * for a session without a key) or its operator removed this device from its
 * account (`device_removed`, at `hello` or while online). Trying again does
 * not help: the session ends, also on a reconnect. Exit code 1.
 */
export class DeviceRefused extends JoinFailure {
  override name = "DeviceRefused";
  readonly code: DeviceRefusalCode;

  constructor(message: string, code: DeviceRefusalCode) {
    super(message, 1);
    this.code = code;
  }
}

/** The server refused the room key: the password is wrong. */
export class WrongPassword extends JoinFailure {
  override name = "WrongPassword";

  constructor() {
    super(wrongPasswordMessage, 1);
  }
}

/**
 * The server speaks another protocol version, or asks for the room password
 * in a way this client does not accept: trying again does not help.
 */
export class IncompatibleServer extends JoinFailure {
  override name = "IncompatibleServer";

  constructor(message: string) {
    super(message, 1);
  }
}

/** The connection went stale while the person typed the password: join again with the key. */
/** Fresh connections allowed after the hello deadline passed during a prompt. */
const maxStaleRounds = 3;

class StaleConnection extends Error {
  override name = "StaleConnection";
}

interface PendingSay {
  ref: string;
  text: string;
  body: string;
  to?: string;
  /** A channel other than `#general` (version 3). */
  channel?: string;
  kind: MessageKind;
  /** Connection generation it was written on, or null when not written yet. */
  sentOn: number | null;
  /** Times the server answered `rate_limited` and it was sent again after the wait. */
  retries: number;
}

/** A page or search asked for by the person, answered by the reply carrying its `ref`. */
interface RequestWaiter<T> {
  ref: string;
  resolve: (answer: T | null) => void;
}

/** A `link` or `whois` request: resolved by its answer, rejected by an `error` with its ref or a drop. */
interface AnswerWaiter<T> {
  ref: string;
  resolve: (answer: T) => void;
  reject: (error: Error) => void;
}

/** The nick sent with a link code when none was given: the server ignores it (PROTOCOL.md 8.5). */
const linkingNick = "new-device";

/** Most times one message is sent again after `rate_limited` before it is given up. */
const maxSayRetries = 3;
/** Longest wait before sending again; a longer one is shown and the message given up. */
const maxRetryWaitMs = 60_000;

type HistoryPage = Extract<ServerMessage, { type: "history" }>;

const defaultClient = "lanchat-terminal/0.1";
const utf8 = new TextEncoder();

/**
 * What to check when `address` cannot be reached (`still`: after reconnect
 * attempts). Names no command: how lanchat is run is the UI's to say
 * ({@link SessionOptions.reachHint}).
 */
function defaultReachHint(address: Address, still: boolean): string {
  return `Is the lanchat server ${still ? "still " : ""}running there? ` +
    `Is port ${address.port}/tcp open in its firewall? Is the address right?`;
}

/**
 * One person's chat session with one server, across reconnects.
 *
 * @example
 * const session = new ChatSession({ address, nick: "ana", onEvent: (e) => show(e) });
 * await session.start();           // throws JoinFailure when the first join fails
 * session.say("hello");
 * const end = await session.ended; // { kind: "quit" } or { kind: "gave_up", message }
 */
export class ChatSession {
  readonly #options: SessionOptions;
  readonly #address: Address;
  #nick: string | null;
  #connection: Connection | null = null;
  #generation = 0;
  #joined = false;
  /** Parts of a `users` list that arrives in several messages (each but the last has `more`). */
  #usersParts: UserEntry[] = [];
  /** The nick typed at the prompt, kept for a fresh connection; null until then. */
  #chosenNick: string | null = null;
  #quitting = false;
  #ids = new MessageIds();
  #resyncing = false;
  #pingCount = 0;
  #pongWaiters = new Map<string, (answered: boolean) => void>();
  #historyWaiter: ((page: HistoryPage | null) => void) | null = null;
  /** Answers to `history` requests the person made, in the order they were sent. */
  #pageWaiters: Array<RequestWaiter<HistoryPage>> = [];
  /** Answers to `search` requests, in the order they were sent. */
  #searchWaiters: Array<RequestWaiter<ChatMessage[]>> = [];
  #requestCount = 0;
  #refCount = 0;
  #pending = new Map<string, PendingSay>();
  #ready: PromiseWithResolvers<void> = Promise.withResolvers();
  #ended: PromiseWithResolvers<SessionEnd> = Promise.withResolvers();
  #wakeSleep: (() => void) | null = null;
  /** Whether the person was told that messages wait for the reconnect (once per outage). */
  #toldQueued = false;
  #idleWaiters: Array<() => void> = [];
  /** A connection of this session completed the secure handshake: never plaintext again. */
  #ranEncrypted = false;
  /** The session has ended (`ended` is resolved). */
  #over = false;
  /** The server refused the last room key: the next `roomKey` call is told so. */
  #keyRefused = false;
  /** The nick I asked for (at the first join, or with `rename`), for `reclaimNick`. */
  #wantedNick: string | null = null;
  /** Bumped whenever the server turned out to have restarted without its history. */
  #historyEpoch = 0;
  /** The link code still to send (first join only); null once joined. */
  #linkCode: string | null;
  /** The `server.version` of the last greeting (1 when absent). */
  #serverVersion = 1;
  /** The last join was made with the device key (a version-2 server and a key). */
  #keyed = false;
  /** The last `welcome` said guest; null before the first. */
  #guest: boolean | null = null;
  /** Set when the server refused this device while it was online: the session ends, no reconnect. */
  #deviceRefusal: { message: string; code: DeviceRefusalCode } | null = null;
  /** The fingerprint of `options.deviceKey`, or null without one. */
  readonly #deviceFingerprint: string | null;
  #linkWaiters: Array<AnswerWaiter<LinkCode>> = [];
  /** Channel requests (`join`, `part`, `channels`, `topic`, `members`, `notify`) by ref. */
  #channelWaiters: Array<AnswerWaiter<ServerMessage>> = [];
  /** `conversations` parts gathered until the one without `more`. */
  #conversationParts: ConversationEntry[] = [];
  #whoisWaiters: Array<AnswerWaiter<WhoisAnswer>> = [];
  /** Uploads, downloads and `files` requests (lib/client/files/). */
  readonly #files: FileTransfers;

  constructor(options: SessionOptions) {
    if (options.linkCode !== undefined && options.deviceKey === undefined) {
      throw new TypeError("SessionOptions.linkCode needs deviceKey: the code links a key");
    }
    this.#options = options;
    this.#address = options.address;
    this.#nick = options.nick ?? null;
    this.#linkCode = options.linkCode ?? null;
    this.#deviceFingerprint = options.deviceKey === undefined
      ? null
      : fingerprint(options.deviceKey.publicKey);
    this.#files = new FileTransfers({
      sha256: options.sha256 ?? nobleSha256,
      where: formatAddress(options.address),
    });
  }

  /**
   * What the server takes in files (`welcome.files`: largest size, chunk,
   * window); null for a guest, on a server without files, and before the
   * first `welcome`.
   */
  get fileLimits(): FileLimits | null {
    return this.#files.limits;
  }

  /**
   * Sends a file to a channel (`target.channel`; default `#general`) or a
   * person (`target.to`): hashed first, then sent in chunks behind any chat,
   * resumed after a reconnect from where the server got. Only accounts send
   * files (`fileLimits` is not null). The outcome is the transfer's `done`.
   */
  sendFile(source: FileSource, target: UploadTarget = {}): FileTransfer {
    return this.#files.upload(source, target);
  }

  /**
   * Fetches file `id` (a file message's id) into `sink`, from the bytes it
   * already holds; resumed after a reconnect; its SHA-256 is checked before
   * `sink.finish()`.
   */
  getFile(id: number, sink: FileSink): FileTransfer {
    return this.#files.download(id, sink);
  }

  /**
   * The newest files of one conversation (a channel, default `#general`, or
   * the direct conversation `with` a person), or those before id `before`,
   * oldest first. Rejects with an Error saying why (not connected, an older
   * server, the server's words).
   */
  async listFiles(
    where: { channel?: string; with?: string } = {},
    before?: number,
    limit?: number,
  ): Promise<HistoryResult> {
    const page = await this.#files.list({
      ...where,
      ...(before === undefined ? {} : { before }),
      ...(limit === undefined ? {} : { limit }),
    });
    return { items: this.#decodeAll(page.items), more: page.more };
  }

  /** My current nick (null before the first join). */
  get nick(): string | null {
    return this.#nick;
  }

  /** The id a reconnect resumes after (`hello.after`): every message up to it has been seen. */
  get lastSeenId(): number {
    return this.#ids.lastSeenId;
  }

  /**
   * True when the server let me in as a guest (no account: a session without
   * `deviceKey`, on a version-2 server); false with an account or on an older
   * server; null before the first `welcome`.
   */
  get guest(): boolean | null {
    return this.#guest;
  }

  /**
   * The protocol version of the server (its greeting's `version`: 3 has
   * channels, PROTOCOL.md section 9); 1 for an older server and before the
   * first greeting.
   */
  get serverVersion(): number {
    return this.#serverVersion;
  }

  /** True once a connection of this session ran the room password's handshake. */
  get encrypted(): boolean {
    return this.#ranEncrypted;
  }

  /** True when joined and caught up: a message or request goes out at once. */
  get online(): boolean {
    return this.#canSend();
  }

  /**
   * Starts at 0 and grows by one each time the server turned out to have
   * restarted without its message history: its ids then start again below
   * those seen, so a message id is unique only within one epoch. Read it
   * when a message event arrives.
   */
  get historyEpoch(): number {
    return this.#historyEpoch;
  }

  /** Own messages sent or queued but not yet echoed by the server. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Resolves once the session is over (after `quit()` or when reconnecting failed). */
  get ended(): Promise<SessionEnd> {
    return this.#ended.promise;
  }

  /**
   * Connects and joins. Resolves once joined and the requested history has
   * been reported; throws {@link JoinFailure} (with an exit code) otherwise.
   */
  async start(): Promise<void> {
    if (this.#options.keepRetrying?.fromFirstJoin === true) {
      const joined = await this.#connectUntilJoined(false);
      if (joined !== null) this.#runFrom(joined);
      await Promise.race([this.#ready.promise, this.#ended.promise]);
      return;
    }
    let connection: Connection;
    // Another round only when a connection went stale while the person typed at a
    // prompt (password or nick): the answers are kept, so nothing is asked twice.
    for (let round = 0;; round++) {
      try {
        this.#setState({ state: "connecting", reconnect: false });
        connection = await this.#open();
      } catch (error) {
        if (error instanceof ConnectError) {
          throw new JoinFailure(`${error.message}. ${this.#reachHint(false)}`, 1, {
            cause: error,
          });
        }
        throw error;
      }
      try {
        await this.#handshake(connection, false);
        break;
      } catch (error) {
        await connection.close();
        if (error instanceof StaleConnection && round < maxStaleRounds) continue;
        if (error instanceof StaleConnection) {
          throw new JoinFailure(`${formatAddress(this.#address)} ${error.message}`, 1);
        }
        throw error;
      }
    }
    this.#runFrom(connection);
    await Promise.race([this.#ready.promise, this.#ended.promise]);
  }

  /**
   * Sends `text` as a chat message (public, or private when `to` is set) and
   * returns its `ref`. Resolves once written to the socket, or queued while
   * reconnecting; never rejects. The outcome arrives later as a `delivered`
   * or `refused` event with that ref.
   */
  async say(
    text: string,
    options: { to?: string; channel?: string; kind?: MessageKind } = {},
  ): Promise<string> {
    const ref = `r${++this.#refCount}`;
    const problem = text.length === 0
      ? "an empty message says nothing"
      : utf8.encode(text).length > maxTextBytes
      ? `this message is longer than ${maxTextBytes} bytes; split it into several messages`
      : null;
    if (problem !== null) {
      this.#emit({ type: "refused", ref, text, code: "too_long", message: problem });
      return ref;
    }
    const entry: PendingSay = {
      ref,
      text,
      body: encodeBody(text),
      kind: options.kind ?? "text",
      sentOn: null,
      retries: 0,
    };
    if (options.to !== undefined) entry.to = options.to;
    else if (options.channel !== undefined && nickKey(options.channel) !== "#general") {
      entry.channel = options.channel;
    }
    this.#pending.set(ref, entry);
    if (this.#canSend()) {
      await this.#sendSay(entry);
    } else if (this.#connection === null && !this.#toldQueued) {
      this.#toldQueued = true;
      this.#emit({
        type: "notice",
        text: "not connected right now; your messages will be sent once reconnected",
      });
    }
    return ref;
  }

  /** Asks the server to rename me; the answer comes as `renamed` or `server_error`. */
  rename(nick: string): void {
    this.#wantedNick = nick;
    this.#sendControl({ type: "nick", nick });
  }

  /** Asks for the online list; it comes as a `users` event. */
  requestUsers(): void {
    this.#sendControl({ type: "users" });
  }

  /**
   * Asks for a page of messages: the newest `limit` ones, or those before id
   * `before`; only my private conversation with `with` when set. Resolves
   * null (after a `notice` event) when not connected or still catching up.
   */
  async history(
    request: { limit: number; before?: number; with?: string; channel?: string },
  ): Promise<HistoryResult | null> {
    if (!this.#canSend()) {
      this.#emit({ type: "notice", text: "not connected right now; try again in a moment" });
      return null;
    }
    const ref = `page-${++this.#requestCount}`;
    const answer = new Promise<HistoryPage | null>((resolve) =>
      this.#pageWaiters.push({ ref, resolve })
    );
    this.#sendControl({
      type: "history",
      ref,
      limit: Math.max(1, Math.min(maxHistoryLimit, request.limit)),
      ...(request.before === undefined ? {} : { before: request.before }),
      ...(request.with === undefined ? {} : { with: request.with }),
      ...(request.channel === undefined ? {} : { channel: request.channel }),
    });
    const page = await answer;
    return page === null ? null : { items: this.#decodeAll(page.items), more: page.more };
  }

  /** Asks for the messages whose text contains `q` (any case). Resolves null when not connected. */
  async search(q: string, limit = 50, channel?: string): Promise<DecodedMessage[] | null> {
    if (!this.#canSend()) {
      this.#emit({ type: "notice", text: "not connected right now; try again in a moment" });
      return null;
    }
    const ref = `search-${++this.#requestCount}`;
    const answer = new Promise<ChatMessage[] | null>((resolve) =>
      this.#searchWaiters.push({ ref, resolve })
    );
    this.#sendControl({
      type: "search",
      q,
      ref,
      limit: Math.max(1, Math.min(maxHistoryLimit, limit)),
      ...(channel === undefined ? {} : { channel }),
    });
    const items = await answer;
    return items === null ? null : this.#decodeAll(items);
  }

  /** Joins channel `name`, making it when it does not exist (version 3). Rejects with the server's words. */
  async joinChannel(name: string): Promise<ChannelEntry> {
    return channelOf(await this.#channelRequest({ type: "join", channel: name }));
  }

  /** Leaves channel `name` (version 3). */
  async partChannel(name: string): Promise<ChannelEntry> {
    return channelOf(await this.#channelRequest({ type: "part", channel: name }));
  }

  /** Every channel of the server, `#general` first (version 3). */
  async listChannels(): Promise<ChannelEntry[]> {
    const answer = await this.#channelRequest({ type: "channels" });
    return answer.type === "channels" ? answer.items : [];
  }

  /** Sets the topic of channel `name`; every member online gets a `topic` event. */
  async setTopic(name: string, topic: string): Promise<void> {
    await this.#channelRequest({ type: "topic", channel: name, topic });
  }

  /** Who is in channel `name`, and who of them is online. */
  async channelMembers(name: string): Promise<{ nick: string; online: boolean }[]> {
    const answer = await this.#channelRequest({ type: "members", channel: name });
    return answer.type === "members" ? answer.users : [];
  }

  /** How I want to be told of `conversation` (`#ops`, `@ana`); kept on the server for my account. */
  async setNotify(conversation: string, level: NotifyLevel): Promise<void> {
    await this.#channelRequest({ type: "notify", conversation, level });
  }

  /**
   * Tells the server I read `conversation` up to message `id`: my other
   * devices' unread counts follow. Sent only when connected to a version-3
   * server with an account; otherwise nothing happens.
   */
  markRead(conversation: string, id: number): void {
    if (this.#serverVersion < 3 || !this.#keyed || !this.#canSend()) return;
    this.#sendControl({ type: "read", conversation, id });
  }

  /** Sends a version-3 request with a ref; resolves with the answer carrying it. */
  #channelRequest(
    request:
      | { type: "join" | "part" | "members"; channel: string }
      | { type: "topic"; channel: string; topic: string }
      | { type: "channels" }
      | { type: "notify"; conversation: string; level: NotifyLevel },
  ): Promise<ServerMessage> {
    if (!this.#joined || this.#connection === null) {
      return Promise.reject(new Error("not connected right now; try again in a moment"));
    }
    if (this.#serverVersion < 3) {
      return Promise.reject(
        new Error(`${formatAddress(this.#address)} runs an older lanchat without channels`),
      );
    }
    const ref = `ch-${++this.#requestCount}`;
    const answer = new Promise<ServerMessage>((resolve, reject) =>
      this.#channelWaiters.push({ ref, resolve, reject })
    );
    this.#connection.send({ ...request, ref }).catch(() => {
      // The connection broke: the drop rejects the waiter.
    });
    return answer;
  }

  /**
   * Asks the server for a one-time code that adds another device to my
   * account (PROTOCOL.md 8.5): good once, for 10 minutes. Rejects with an
   * Error that says why (the server's words on a refusal; not connected; a
   * guest or an older server has no account; the connection dropped before
   * the answer).
   *
   * @example
   * const { code, expires } = await session.requestLinkCode(); // { code: "K7QM3XPA", ... }
   */
  requestLinkCode(): Promise<LinkCode> {
    const problem = this.#accountRequestProblem(true);
    if (problem !== null) return Promise.reject(new Error(problem));
    const ref = `link-${++this.#requestCount}`;
    const answer = new Promise<LinkCode>((resolve, reject) =>
      this.#linkWaiters.push({ ref, resolve, reject })
    );
    this.#connection?.send({ type: "link", ref }).catch(() => {
      // The connection broke: the drop rejects the waiter.
    });
    return answer;
  }

  /**
   * Asks who holds `nick` (PROTOCOL.md 8.8): a guest, or an account with its
   * devices. Rejects with an Error saying why: the server's words (e.g.
   * `no_such_user`), not connected, an older server, or a dropped connection.
   */
  whois(nick: string): Promise<WhoisAnswer> {
    const problem = this.#accountRequestProblem(false);
    if (problem !== null) return Promise.reject(new Error(problem));
    const ref = `whois-${++this.#requestCount}`;
    const answer = new Promise<WhoisAnswer>((resolve, reject) =>
      this.#whoisWaiters.push({ ref, resolve, reject })
    );
    this.#connection?.send({ type: "whois", nick, ref }).catch(() => {
      // The connection broke: the drop rejects the waiter.
    });
    return answer;
  }

  /** Why a `link` (`needsAccount`) or `whois` cannot be asked now, or null. */
  #accountRequestProblem(needsAccount: boolean): string | null {
    if (!this.#joined || this.#connection === null) {
      return "not connected right now; try again in a moment";
    }
    if (this.#serverVersion < 2) {
      return `${formatAddress(this.#address)} runs an older lanchat without accounts`;
    }
    if (needsAccount && !this.#keyed) {
      return "you joined as a guest (without a device key), so there is no account to add a device to";
    }
    return null;
  }

  #decodeAll(items: ChatMessage[]): DecodedMessage[] {
    const decoded: DecodedMessage[] = [];
    for (const message of items) {
      try {
        const text = decodeBody(message.body).text;
        const own = this.#nick !== null && nickKey(message.from) === nickKey(this.#nick);
        decoded.push({
          message: { ...message, ref: undefined },
          text,
          own,
          ...(message.file === undefined ? {} : { file: message.file }),
        });
      } catch {
        // A body that is not text is skipped here, as in the live stream.
      }
    }
    return decoded;
  }

  /** Resolves when no own message is waiting for its echo (or the session ended). */
  async allDelivered(): Promise<void> {
    while (this.#pending.size > 0) {
      const settled = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      const end = await Promise.race([settled.then(() => null), this.#ended.promise]);
      if (end !== null) return;
    }
  }

  /** Sends `bye`, closes the connection and ends the session. Safe to call twice. */
  async quit(): Promise<SessionEnd> {
    if (!this.#quitting) {
      this.#quitting = true;
      this.#wakeSleep?.();
      const connection = this.#connection;
      if (connection !== null) {
        if (this.#joined) {
          connection.send({ type: "bye" }).catch(() => {});
          await connection.flushed();
        }
        await connection.close("quit");
      }
      if (this.#connection === null) this.#finish({ kind: "quit" });
    }
    return await this.#ended.promise;
  }

  // ---- connecting and joining -------------------------------------------------

  #open(): Promise<Connection> {
    const options = this.#options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: this.#options.connectTimeoutMs };
    return Connection.open(this.#address, { dial: this.#options.dial, ...options });
  }

  async #handshake(connection: Connection, reconnect: boolean): Promise<void> {
    const where = formatAddress(this.#address);
    const answerMs = this.#options.answerTimeoutMs ?? 10_000;
    const greeting = await connection.next(answerMs);
    if (greeting?.type === "error") {
      // A server refusing at the door (too many connections from here, a blocked address)
      // says why (and what to do) instead of greeting: show that, not a guess about the port.
      throw new JoinFailure(`${where} refused the connection: ${greeting.message}`, 1);
    }
    if (greeting === null || greeting.type !== "server") {
      const what = greeting === null
        ? connection.closedReason === null
          ? `accepted the connection but sent no greeting within ${Math.round(answerMs / 1000)} s`
          : `closed the connection before greeting (${connection.closedReason})`
        : `greeted with '${greeting.type}' instead of 'server'`;
      throw new JoinFailure(
        `${where} ${what}. Is it a lanchat server's chat port (not its web port)?`,
        1,
      );
    }
    if (greeting.proto !== 1) {
      throw new IncompatibleServer(
        `${where} speaks lanchat protocol ${greeting.proto}; this client speaks 1. ` +
          `Use the same lanchat version on both sides.`,
      );
    }
    // Before anything is sent or shown: a room that had a password never falls back.
    if (greeting.secure === null) this.#refusePlaintext();
    // Known from here on, so whoever hears `connected` can ask for it.
    this.#serverVersion = greeting.version ?? 1;
    this.#emit({
      type: "connected",
      address: this.#address,
      serverName: greeting.name,
      reconnect,
    });
    this.#setState({ state: "joining", reconnect });
    if (greeting.secure !== null) await this.#secure(connection, greeting.secure, answerMs);
    await this.#checkServerKey(connection, greeting.key, answerMs);
    const identity = this.#helloIdentity(connection, greeting);
    const linking = identity.link !== undefined;

    // A nick typed at a prompt is kept, so that a fresh connection (the server's
    // hello deadline may pass while the person types) does not ask again. A device
    // being linked gets the account's nick: nothing to ask.
    let nick = this.#nick ?? this.#chosenNick ??
      (linking ? linkingNick : await this.#chooseNick(null, null));
    if (this.#nick === null && !linking) this.#chosenNick = nick;
    let renames = 0;
    const hello = () =>
      connection.send({
        type: "hello",
        nick,
        client: this.#options.client ?? defaultClient,
        ...(reconnect ? { after: this.lastSeenId } : {}),
        ...identity,
      }).catch(() => {});
    await hello();
    while (true) {
      const answer = await connection.next(answerMs);
      if (answer === null) {
        throw new JoinFailure(
          connection.closedReason === null
            ? `${where} did not answer 'hello' within ${Math.round(answerMs / 1000)} s`
            : `${where} closed the connection while joining (${connection.closedReason})`,
          1,
        );
      }
      if (answer.type === "welcome") {
        this.#onWelcome(connection, answer, reconnect);
        return;
      }
      if (
        answer.type === "error" &&
        (answer.code === "nick_taken" || answer.code === "nick_invalid" ||
          answer.code === "nick_owned")
      ) {
        if (reconnect) {
          // Reconnecting must not stop to ask; my old session may still hold the nick.
          if (++renames > 5 || answer.code === "nick_invalid") {
            throw new JoinFailure(`the server refused the nick "${nick}": ${answer.message}`, 1);
          }
          const next = `${[...nick].slice(0, 31).join("")}_`;
          this.#emit({ type: "notice", text: `${answer.message}; trying "${next}"` });
          nick = next;
        } else {
          nick = await this.#chooseNick(answer.message, nick, answer.code);
          this.#chosenNick = nick;
        }
        await hello();
        continue;
      }
      if (answer.type === "error" && answer.code === "not_joined" && !reconnect) {
        throw new StaleConnection("closed the connection while the nick was typed");
      }
      if (answer.type === "error" && answer.code === "link_invalid" && linking) {
        throw new LinkRefused(
          `${where} did not add this device to an account: ${withoutStop(answer.message)}.`,
        );
      }
      if (
        answer.type === "error" &&
        (answer.code === "key_required" || answer.code === "device_removed")
      ) {
        throw new DeviceRefused(
          `${where} refused to let you join: ${answer.message}`,
          answer.code,
        );
      }
      if (answer.type === "error" && answer.code === "bad_signature") {
        // This client signed what PROTOCOL.md 8.3 says: the server reads it otherwise.
        throw new IncompatibleServer(
          `${where} did not accept this device's signature: ${withoutStop(answer.message)}. ` +
            "Use the same lanchat version on both sides.",
        );
      }
      if (answer.type === "error") {
        const hint = answer.code === "server_full" ? " Try again later." : "";
        throw new JoinFailure(`${where} refused to let you join: ${answer.message}.${hint}`, 1);
      }
      this.#dispatch(answer);
    }
  }

  /**
   * The server asked for no room password: throws {@link DowngradeRefused}
   * when one is expected (given, remembered, or this session ran encrypted).
   */
  #refusePlaintext(): void {
    const advice = this.#options.passwordExpected?.() ?? null;
    if (advice === null && !this.#ranEncrypted) return;
    throw new DowngradeRefused(
      advice ??
        `${formatAddress(this.#address)} asked for the password when this session joined it.`,
    );
  }

  /** PROTOCOL.md section 5: get the room key, then run the Noise handshake. */
  async #secure(connection: Connection, secure: SecureParams, answerMs: number): Promise<void> {
    const where = formatAddress(this.#address);
    const problem = secureParamsProblem(secure);
    if (problem !== null) {
      throw new IncompatibleServer(
        `${where} asks for a room password in a way this client does not accept: ${problem}. ` +
          "Use the same lanchat version on both sides.",
      );
    }
    const provider = this.#options.roomKey;
    if (provider === undefined) {
      throw new JoinFailure("this room needs a password: set LANCHAT_PASSWORD", 2);
    }
    const psk = await provider(secure, { refused: this.#keyRefused });
    this.#keyRefused = false;
    // The server's hello deadline may have passed while the person typed.
    if (connection.closedReason !== null) {
      throw new StaleConnection("closed the connection while the password was typed");
    }
    try {
      await connection.secure(psk, answerMs);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      if (error.wrongPassword) {
        this.#keyRefused = true;
        throw new WrongPassword();
      }
      if (error.code === "not_joined") throw new StaleConnection(error.message);
      throw new JoinFailure(`${where}: the secure handshake failed: ${error.message}`, 1);
    }
    this.#ranEncrypted = true;
  }

  /**
   * The fields that join with the device key (PROTOCOL.md 8.3): `key` and
   * `sig` over this connection's challenge (and Noise handshake hash), and
   * `link` until the first join succeeded. None for an older server (its
   * greeting has no challenge) or without a key; a link code then cannot be
   * used ({@link LinkRefused}).
   */
  #helloIdentity(
    connection: Connection,
    greeting: Extract<ServerMessage, { type: "server" }>,
  ): { key?: string; sig?: string; link?: string } {
    this.#serverVersion = greeting.version ?? 1;
    const deviceKey = this.#options.deviceKey;
    const challengeText = greeting.challenge;
    this.#keyed = false;
    if (this.#serverVersion < 2 || challengeText === undefined || deviceKey === undefined) {
      if (this.#linkCode !== null) {
        throw new LinkRefused(
          `${
            formatAddress(this.#address)
          } runs an older lanchat without accounts: it cannot add this device to one. ` +
            "Join without a code.",
        );
      }
      return {};
    }
    let challenge: Uint8Array;
    try {
      challenge = fromBase64(challengeText);
    } catch {
      challenge = new Uint8Array(0);
    }
    if (challenge.length !== challengeBytes) {
      throw new IncompatibleServer(
        `${formatAddress(this.#address)} sent a challenge this client cannot read. ` +
          "Use the same lanchat version on both sides.",
      );
    }
    const signature = sign(
      helloSignatureBytes(challenge, connection.handshakeHash),
      deviceKey.secretKey,
    );
    this.#keyed = true;
    return {
      key: toBase64(deviceKey.publicKey),
      sig: toBase64(signature),
      ...(this.#linkCode === null ? {} : { link: this.#linkCode }),
    };
  }

  async #chooseNick(
    problem: string | null,
    refused: string | null,
    code: NickRefusalCode | null = null,
  ): Promise<string> {
    const chooser = this.#options.chooseNick;
    if (chooser === undefined) {
      const yours = code === "nick_owned"
        ? ` If "${refused}" is yours, type /link on a device where you are in as it, then join ` +
          "here with --link CODE."
        : "";
      throw new JoinFailure(
        problem === null
          ? "no nick given: use --nick NICK"
          : `the server refused the nick "${refused}": ${problem}. Choose another with --nick NICK.${yours}`,
        2,
      );
    }
    const nick = await chooser(problem, refused, code);
    if (nick === null) throw new JoinFailure("no nick chosen; not joining", 130);
    return nick;
  }

  #onWelcome(
    connection: Connection,
    welcome: Extract<ServerMessage, { type: "welcome" }>,
    reconnect: boolean,
  ): void {
    // Taken before replayed messages arrive and move it.
    const anchor = this.#ids.anchor;
    const restarted = reconnect && this.#ids.resume(welcome.last) === "restarted";
    if (restarted) this.#historyEpoch++;
    // With an account the nick is the account's (PROTOCOL.md 8.3): whatever welcome says is mine.
    if (!reconnect || this.#keyed) this.#wantedNick = welcome.nick;
    this.#linkCode = null; // Used: reconnects join with the key alone.
    this.#guest = welcome.guest === true;
    this.#files.welcome(welcome.files ?? null, this.#serverVersion);
    connection.onData((chunk) => this.#files.receiveData(chunk));
    this.#connection = connection;
    this.#usersParts = [];
    this.#generation++;
    this.#joined = true;
    this.#resyncing = true;
    this.#nick = welcome.nick;
    this.#emit({
      type: "welcome",
      nick: welcome.nick,
      reconnect,
      guest: this.#guest,
      ...(welcome.motd === undefined ? {} : { motd: welcome.motd }),
    });
    this.#resync(welcome, reconnect, restarted, anchor).catch((error) => {
      this.#emit({ type: "notice", text: `could not catch up: ${String(error)}` });
    });
  }

  /**
   * Brings the view up to date after a `welcome`, then lets queued messages
   * out. First join: the requested history. Reconnect: wait until the missed
   * messages are in hand, check the server still has the history I saw (a
   * server restarted without storage numbers messages from 1 again), and if
   * not, fetch what it has. Own messages that were written before the
   * connection broke but never echoed either show up among the missed ones
   * (then they arrived) or are written again, in their original order.
   */
  async #resync(
    welcome: Extract<ServerMessage, { type: "welcome" }>,
    reconnect: boolean,
    restartedAlready: boolean,
    anchor: Anchor | null,
  ): Promise<void> {
    const generation = this.#generation;
    const current = () => this.#generation === generation && this.#joined;
    const historyLimit = Math.min(this.#options.historyLimit ?? 0, maxHistoryLimit);
    if (!reconnect) {
      this.#ids.firstJoin(welcome.last, historyLimit > 0);
      if (historyLimit > 0) {
        this.#sendControl({ type: "history", limit: historyLimit });
      } else if (welcome.last > 0) {
        // Not shown; only remembered, to recognise this server after a reconnect.
        const page = await this.#requestHistory({ type: "history", limit: 1 });
        const newest = page?.items.at(-1);
        if (newest !== undefined && this.#ids.anchor === null) this.#ids.remember(newest);
      }
      if (!(await this.#roundTrip()) || !current()) return;
    } else {
      if (!(await this.#roundTrip()) || !current()) return;
      let restarted = restartedAlready;
      if (!restarted && anchor !== null && anchor.id <= welcome.last) {
        const page = await this.#requestHistory({
          type: "history",
          before: anchor.id + 1,
          limit: 1,
        });
        if (page === null || !current()) return;
        const there = page.items.at(-1);
        restarted = there !== undefined && there.id === anchor.id &&
          (there.ts !== anchor.ts || there.from !== anchor.from || there.body !== anchor.body);
        if (restarted) this.#historyEpoch++;
      }
      if (restarted) {
        this.#emit({
          type: "notice",
          text: "the server restarted without its message history; showing what was said since",
        });
        this.#ids.restarted(welcome.last);
        if (welcome.last > 0) this.#sendControl({ type: "history", limit: maxHistoryLimit });
        if (!(await this.#roundTrip()) || !current()) return;
      }
    }
    this.#closeWindow();
  }

  #closeWindow(): void {
    const closed = this.#ids.closeWindow();
    this.#resyncing = false;
    const ownReplays = closed?.ownReplays ?? [];
    if (closed !== null && closed.source === "missed") {
      this.#emit({ type: "resumed", missed: closed.shown });
    }
    for (const entry of [...this.#pending.values()]) {
      if (entry.sentOn !== null && entry.sentOn !== this.#generation) {
        const index = ownReplays.findIndex((replay) =>
          replay.body === entry.body && replay.kind === entry.kind &&
          (replay.to ?? null) === (entry.to ?? null)
        );
        if (index >= 0) {
          ownReplays.splice(index, 1);
          this.#delivered(entry.ref);
          continue;
        }
      }
      if (entry.sentOn !== this.#generation) this.#sendSay(entry);
    }
    this.#setState({ state: "online" });
    const connection = this.#connection;
    if (connection !== null) {
      this.#files.attach({
        send: (message) => connection.send(message),
        sendData: (payload) => connection.sendData(payload),
      });
    }
    this.#ready.resolve();
  }

  /** Pings the server and waits for the pong: every frame it sent before is then in hand. */
  #roundTrip(): Promise<boolean> {
    const n = `sync-${++this.#pingCount}`;
    const answered = new Promise<boolean>((resolve) => this.#pongWaiters.set(n, resolve));
    this.#sendControl({ type: "ping", n });
    return answered;
  }

  /** Sends a `history` request whose answer is handed back here instead of being shown. */
  #requestHistory(
    request: { type: "history"; limit: number; before?: number },
  ): Promise<HistoryPage | null> {
    const answer = new Promise<HistoryPage | null>((resolve) => (this.#historyWaiter = resolve));
    this.#sendControl(request);
    return answer;
  }

  /** The connection is gone: nobody will answer the requests in flight. */
  #abandonRequests(): void {
    for (const resolve of this.#pongWaiters.values()) resolve(false);
    this.#pongWaiters.clear();
    this.#historyWaiter?.(null);
    this.#historyWaiter = null;
    for (const waiter of this.#pageWaiters.splice(0)) waiter.resolve(null);
    for (const waiter of this.#searchWaiters.splice(0)) waiter.resolve(null);
    const lost = () => new Error("the connection was lost before the server answered; try again");
    for (const waiter of this.#linkWaiters.splice(0)) waiter.reject(lost());
    for (const waiter of this.#channelWaiters.splice(0)) waiter.reject(lost());
    for (const waiter of this.#whoisWaiters.splice(0)) waiter.reject(lost());
    this.#files.detach();
  }

  // ---- the read loop and reconnecting -------------------------------------------

  #runFrom(connection: Connection): void {
    this.#run(connection).catch((error) => {
      this.#finish({
        kind: "gave_up",
        message: `internal error: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  }

  async #run(first: Connection): Promise<void> {
    let connection: Connection | null = first;
    while (connection !== null) {
      while (true) {
        const message = await connection.next();
        if (message === null) break;
        this.#dispatch(message);
      }
      const reason = connection.closedReason ?? "closed";
      await connection.close();
      this.#joined = false;
      this.#connection = null;
      this.#toldQueued = false;
      this.#abandonRequests();
      if (this.#quitting) break;
      const refusal = this.#deviceRefusal;
      if (refusal !== null) {
        // The operator removed this device: coming back would only be refused again.
        this.#finish({ kind: "gave_up", message: refusal.message, code: refusal.code });
        return;
      }
      this.#emit({ type: "lost", address: this.#address, reason });
      connection = await this.#connectUntilJoined(true);
    }
    if (this.#quitting) this.#finish({ kind: "quit" });
  }

  /** The wait before each reconnect attempt, in order: finite unless the session keeps retrying. */
  *#reconnectDelays(): Generator<number> {
    const delays = this.#options.reconnectDelaysMs ?? [1000, 2000, 4000];
    yield* delays;
    const keepRetrying = this.#options.keepRetrying;
    if (keepRetrying === undefined) return;
    let delayMs = delays.at(-1) ?? 1000;
    // Unbounded on purpose: a session told to keep retrying waits for the server (or quit()).
    for (;;) {
      delayMs = Math.min(keepRetrying.maxDelayMs, delayMs * 2);
      yield delayMs;
    }
  }

  /** While waiting to reconnect: try now instead of at the end of the wait. */
  retryNow(): void {
    if (!this.#quitting) this.#wakeSleep?.();
  }

  /**
   * Opens connections until one has joined: after a drop (`reconnect`, each
   * attempt after its wait), or for the first join of a session that keeps
   * retrying from it (the first attempt at once). Null when the session ended.
   */
  async #connectUntilJoined(reconnect: boolean): Promise<Connection | null> {
    const delays = this.#options.reconnectDelaysMs ?? [1000, 2000, 4000];
    const keepRetrying = this.#options.keepRetrying;
    const attempts = keepRetrying === undefined ? delays.length : null;
    const waits = this.#reconnectDelays();
    let attempt = 0;
    let reason = "the connection was lost";
    /** Attempts in a row made without a wait (a refused password, a prompt outlasting the server's patience). */
    let atOnce = reconnect ? 0 : 1;
    // Bounded by the waits: finite unless the session keeps retrying (then until it is quit).
    for (;;) {
      if (atOnce === 0 || atOnce > maxStaleRounds) {
        const wait = waits.next();
        if (wait.done) break;
        attempt++;
        atOnce = 0;
        const delayMs = this.#jittered(wait.value);
        this.#emit({ type: "reconnecting", attempt, attempts, delayMs });
        this.#setState({ state: "waiting", attempt, delayMs, reason });
        await this.#sleep(delayMs);
        if (this.#quitting) return null;
      }
      let connection: Connection | null = null;
      try {
        this.#setState({ state: "connecting", reconnect });
        connection = await this.#open();
        await this.#handshake(connection, reconnect);
        if (this.#quitting) {
          await connection.close("quit");
          return null;
        }
        return connection;
      } catch (error) {
        await connection?.close();
        if (
          error instanceof DowngradeRefused || error instanceof ServerKeyRefused ||
          error instanceof DeviceRefused || (!reconnect && endsFirstJoin(error))
        ) {
          // Not a passing trouble to retry: whoever answers there is not the room we were in,
          // this device may not join there, or there is no nick, key or link to join with.
          const message = error instanceof Error ? error.message : String(error);
          this.#finish({
            kind: "gave_up",
            message,
            ...(error instanceof DowngradeRefused ? { downgrade: true } : {}),
            ...(error instanceof ServerKeyRefused ? { serverKey: true } : {}),
            ...(error instanceof LinkRefused ? { link: true } : {}),
            ...(error instanceof DeviceRefused ? { code: error.code } : {}),
          });
          return null;
        }
        reason = error instanceof ConnectError
          ? error.reason
          : error instanceof Error
          ? error.message
          : String(error);
        if (this.#quitting) return null;
        // The person is asked again (a refused password), or the answers are kept (a stale
        // connection): only a session that keeps retrying goes again without waiting.
        const again = keepRetrying !== undefined &&
          (error instanceof WrongPassword || error instanceof StaleConnection);
        if (again) {
          atOnce++;
          continue;
        }
        atOnce = 0;
        if (attempt > 0) this.#emit({ type: "reconnect_failed", attempt, attempts, reason });
      }
    }
    const where = formatAddress(this.#address);
    this.#finish({
      kind: "gave_up",
      message: `lost the connection to ${where} and ${delays.length} reconnect attempts failed. ` +
        this.#reachHint(true),
    });
    return null;
  }

  #reachHint(still: boolean): string {
    return (this.#options.reachHint ?? defaultReachHint)(this.#address, still);
  }

  /**
   * Has the server prove the key of its greeting (a signature over a fresh
   * nonce, bound to this connection's Noise handshake on a secure one), then
   * asks `checkServerKey` whether that key may be this address's. Throws
   * {@link ServerKeyRefused}; sends nothing else.
   */
  async #checkServerKey(
    connection: Connection,
    key: string | undefined,
    answerMs: number,
  ): Promise<void> {
    const where = formatAddress(this.#address);
    const check = this.#options.checkServerKey;
    if (key === undefined) {
      const refusal = await check?.(null) ?? null;
      if (refusal !== null) throw new ServerKeyRefused(refusal);
      return;
    }
    let publicKey: Uint8Array;
    try {
      publicKey = fromBase64(key);
    } catch {
      publicKey = new Uint8Array(0);
    }
    if (publicKey.length !== keyBytes) {
      throw new IncompatibleServer(
        `${where} sent a server key this client cannot read. Use the same lanchat version on both sides.`,
      );
    }
    const nonce = crypto.getRandomValues(new Uint8Array(proofNonceBytes));
    await connection.send({ type: "prove", nonce: toBase64(nonce) });
    // The connection answers pings itself: the next message is the proof, or what refuses it.
    const answer = await connection.next(answerMs);
    let signature: Uint8Array = new Uint8Array(0);
    if (answer?.type === "proof") {
      try {
        signature = fromBase64(answer.sig);
      } catch {
        // Not BASE64: no proof.
      }
    }
    const proven = verify(
      signature,
      serverProofBytes(nonce, connection.handshakeHash),
      publicKey,
    );
    if (!proven) {
      if (answer === null && connection.closedReason !== null) {
        throw new StaleConnection(`closed the connection (${connection.closedReason})`);
      }
      throw new ServerKeyRefused(
        `${where} showed a server key but did not prove it has it. Whoever answers there may be ` +
          `pretending to be the room; nothing was sent. Ask whoever runs the room.`,
      );
    }
    const refusal = await check?.(fingerprint(publicKey)) ?? null;
    if (refusal !== null) throw new ServerKeyRefused(refusal);
  }

  #jittered(delayMs: number): number {
    const jitter = Math.min(1, Math.max(0, this.#options.keepRetrying?.jitter ?? 0));
    return Math.round(delayMs * (1 - jitter + 2 * jitter * Math.random()));
  }

  /** `reclaimNick`: the nick I asked for is free again (its holder left) while I have another. */
  #reclaimNick(leaver: string): void {
    const wanted = this.#wantedNick;
    if (this.#options.reclaimNick !== true || wanted === null || this.#nick === null) return;
    if (nickKey(leaver) !== nickKey(wanted) || nickKey(this.#nick) === nickKey(wanted)) return;
    this.#sendControl({ type: "nick", nick: wanted });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleep = () => {
        this.#wakeSleep = null;
        done();
      };
    });
  }

  #finish(end: SessionEnd): void {
    this.#files.end(
      end.kind === "quit" ? "the session ended before the transfer was done" : end.message,
    );
    if (!this.#over) this.#setState({ state: "ended", end });
    this.#over = true;
    this.#ready.resolve();
    this.#ended.resolve(end);
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- incoming messages ---------------------------------------------------------

  #dispatch(message: Incoming): void {
    switch (message.type) {
      case "malformed":
        this.#emit({ type: "notice", text: `ignored a malformed message: ${message.problem}` });
        return;
      case "msg":
        this.#onChat(message);
        return;
      case "history": {
        if (this.#historyWaiter !== null) {
          this.#historyWaiter(message);
          this.#historyWaiter = null;
          return;
        }
        // Pages the person asked for are only requested outside a resync, so any
        // history frame during one (the join history, missed messages) is not theirs.
        const pageWaiter = this.#resyncing ? undefined : takeWaiter(this.#pageWaiters, message.ref);
        if (pageWaiter !== undefined) {
          pageWaiter.resolve(message);
          return;
        }
        for (const item of message.items) this.#onChat({ ...item, ref: undefined });
        const replay = this.#ids.replayWindow;
        if (replay?.announceEnd) {
          this.#emit({ type: "history_end", shown: replay.shown, more: message.more });
          replay.announceEnd = false;
        }
        return;
      }
      case "pong": {
        const waiter = this.#pongWaiters.get(String(message.n));
        this.#pongWaiters.delete(String(message.n));
        waiter?.(true);
        return;
      }
      case "users": {
        // A long list comes in parts marked `more`: gather them, then show the whole list.
        this.#usersParts.push(...message.users);
        if (message.more === true) return;
        const users = this.#usersParts;
        this.#usersParts = [];
        this.#emit({ type: "users", users });
        return;
      }
      case "joined":
        this.#emit({
          type: "joined",
          nick: message.nick,
          ts: message.ts,
          guest: message.guest === true,
        });
        return;
      case "left":
        this.#emit({
          type: "left",
          nick: message.nick,
          ts: message.ts,
          ...(message.reason === undefined ? {} : { reason: message.reason }),
        });
        this.#reclaimNick(message.nick);
        return;
      case "renamed": {
        const own = this.#nick !== null && nickKey(message.from) === nickKey(this.#nick);
        if (own) {
          // Mine, also when another device of my account renamed it (PROTOCOL.md 8.6).
          this.#nick = message.to;
          this.#wantedNick = message.to;
        }
        this.#emit({ type: "renamed", from: message.from, to: message.to, ts: message.ts, own });
        return;
      }
      case "error":
        this.#onError(message);
        return;
      case "results":
        takeWaiter(this.#searchWaiters, message.ref)?.resolve(message.items);
        return;
      case "link_code":
        takeAnswerWaiter(this.#linkWaiters, message.ref)?.resolve({
          code: message.code,
          expires: message.expires,
        });
        return;
      case "whois": {
        const { type: _type, ref, ...answer } = message;
        takeAnswerWaiter(this.#whoisWaiters, ref)?.resolve(answer);
        return;
      }
      case "channel": {
        const { type: _type, ref, ...channel } = message;
        takeAnswerWaiter(this.#channelWaiters, ref)?.resolve(message);
        this.#emit({ type: "channel", channel });
        return;
      }
      case "channels":
      case "members":
        takeAnswerWaiter(this.#channelWaiters, message.ref)?.resolve(message);
        return;
      case "topic":
        takeAnswerWaiter(this.#channelWaiters, message.ref)?.resolve(message);
        this.#emit({
          type: "topic",
          channel: message.channel,
          topic: message.topic,
          by: message.by,
          ts: message.ts,
        });
        return;
      case "notify":
        takeAnswerWaiter(this.#channelWaiters, message.ref)?.resolve(message);
        this.#emit({ type: "notify", conversation: message.conversation, level: message.level });
        return;
      case "read":
        this.#emit({ type: "read", conversation: message.conversation, id: message.id });
        return;
      case "conversations":
        this.#conversationParts.push(...message.items);
        if (message.more !== true) {
          this.#emit({ type: "conversations", items: this.#conversationParts.splice(0) });
        }
        return;
      case "linked":
        this.#emit({
          type: "linked",
          fingerprint: message.fingerprint,
          ts: message.ts,
          own: this.#deviceFingerprint === message.fingerprint,
        });
        return;
      case "upload":
      case "stored":
      case "uploaded":
      case "download":
      case "files":
        this.#files.receive(message);
        return;
      case "welcome":
      case "server":
      case "proof":
      case "ping":
        return; // Not expected here (pings are answered by the connection).
    }
  }

  #onChat(message: ChatMessage): void {
    if (message.ref !== undefined) this.#delivered(String(message.ref));
    const source = this.#ids.classify(message.id);
    if (source === null) return;
    let text: string;
    try {
      text = decodeBody(message.body).text;
    } catch {
      this.#emit({ type: "notice", text: `ignored message ${message.id}: its body is not text` });
      return;
    }
    this.#ids.remember(message);
    const own = this.#nick !== null && nickKey(message.from) === nickKey(this.#nick);
    if (own && source === "missed") this.#ids.replayWindow?.ownReplays.push(message);
    this.#emit({
      type: "message",
      message,
      text,
      own,
      source,
      ...(message.file === undefined ? {} : { file: message.file }),
    });
  }

  #onError(error: Extract<ServerMessage, { type: "error" }>): void {
    const ref = error.ref === undefined ? undefined : String(error.ref);
    if (error.code === "device_removed" || error.code === "key_required") {
      // The server closes the connection after this; the session ends then, without reconnecting.
      this.#deviceRefusal = {
        message: `${formatAddress(this.#address)} ended the session: ${error.message}`,
        code: error.code,
      };
      void this.#connection?.close(error.message);
      return;
    }
    if (this.#files.receiveError(error)) return;
    const asked = ref === undefined ? undefined : takeAnswerWaiter(this.#linkWaiters, ref, false) ??
      takeAnswerWaiter(this.#whoisWaiters, ref, false) ??
      takeAnswerWaiter(this.#channelWaiters, ref, false);
    if (asked !== undefined) {
      asked.reject(new Error(error.message));
      return;
    }
    // A page or search refused (rate_limited, a busy store): its asker gets null, the person a line.
    const page = ref === undefined ? undefined : takeWaiter(this.#pageWaiters, ref, false);
    const search = ref === undefined || page !== undefined
      ? undefined
      : takeWaiter(this.#searchWaiters, ref, false);
    const request = page ?? search;
    if (request !== undefined) {
      request.resolve(null);
      this.#emit({
        type: "server_error",
        code: error.code,
        message: error.message,
        request: page !== undefined ? "history" : "search",
      });
      return;
    }
    const entry = ref === undefined ? undefined : this.#pending.get(ref);
    if (entry === undefined) {
      this.#emit({ type: "server_error", code: error.code, message: error.message });
      return;
    }
    if (
      error.code === "rate_limited" && error.wait !== undefined && error.wait <= maxRetryWaitMs &&
      entry.retries < maxSayRetries
    ) {
      // Too much text too fast: the server says when it takes more; send it again then.
      entry.retries++;
      const generation = this.#generation;
      this.#emit({
        type: "notice",
        text: `the server takes no more text from you for ${
          Math.max(1, Math.ceil(error.wait / 1000))
        } s (a limit against floods); your message goes then`,
      });
      setTimeout(() => {
        if (this.#pending.get(entry.ref) === entry && this.#generation === generation) {
          void this.#sendSay(entry);
        }
      }, error.wait);
      return;
    }
    this.#pending.delete(entry.ref);
    this.#emit({
      type: "refused",
      ref: entry.ref,
      text: entry.text,
      code: error.code,
      message: error.message,
    });
    this.#settleIfIdle();
  }

  #delivered(ref: string): void {
    if (!this.#pending.delete(ref)) return;
    this.#emit({ type: "delivered", ref });
    this.#settleIfIdle();
  }

  // ---- outgoing -------------------------------------------------------------------

  #canSend(): boolean {
    return this.#joined && !this.#resyncing && this.#connection !== null;
  }

  #sendSay(entry: PendingSay): Promise<void> {
    const connection = this.#connection;
    if (connection === null) return Promise.resolve();
    entry.sentOn = this.#generation;
    return connection.send({
      type: "say",
      body: entry.body,
      kind: entry.kind,
      ref: entry.ref,
      ...(entry.to === undefined ? {} : { to: entry.to }),
      ...(entry.channel === undefined ? {} : { channel: entry.channel }),
    }).catch(() => {
      // The connection broke; the entry stays pending and is resolved after reconnecting.
    });
  }

  #sendControl(
    message:
      | { type: "nick"; nick: string }
      | { type: "users" }
      | {
        type: "history";
        limit: number;
        before?: number;
        with?: string;
        channel?: string;
        ref?: string;
      }
      | { type: "search"; q: string; limit: number; channel?: string; ref?: string }
      | { type: "read"; conversation: string; id: number }
      | { type: "ping"; n: string },
  ): void {
    const connection = this.#connection;
    if (connection === null || !this.#joined) {
      this.#emit({ type: "notice", text: "not connected right now; try again in a moment" });
      return;
    }
    connection.send(message).catch(() => {});
  }

  #settleIfIdle(): void {
    if (this.#pending.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #emit(event: SessionEvent): void {
    this.#options.onEvent(event);
  }

  #setState(state: SessionState): void {
    this.#options.onState?.(state);
  }
}

/**
 * A first-join failure that trying again cannot mend, even for a session
 * that keeps retrying: no nick or key to be had (exit codes 2 and 130), or a
 * server of another version.
 */
function endsFirstJoin(error: unknown): boolean {
  if (
    error instanceof IncompatibleServer || error instanceof ServerKeyRefused ||
    error instanceof LinkRefused || error instanceof DeviceRefused
  ) {
    return true;
  }
  return error instanceof JoinFailure && !(error instanceof WrongPassword) &&
    (error.exitCode === 2 || error.exitCode === 130);
}

/** A server's sentence without its final full stop, to go on after it. */
function withoutStop(message: string): string {
  return message.replace(/[.\s]+$/, "");
}

/** {@link takeWaiter} for `link` and `whois` requests. */
/** The channel an answer describes (`join`, `part`), or an error for anything else. */
function channelOf(answer: ServerMessage): ChannelEntry {
  if (answer.type !== "channel") throw new Error(`unexpected answer '${answer.type}'`);
  const { type: _type, ref: _ref, ...channel } = answer;
  return channel;
}

function takeAnswerWaiter<T>(
  waiters: Array<AnswerWaiter<T>>,
  ref: string | number | undefined,
  fallback = true,
): AnswerWaiter<T> | undefined {
  const index = ref === undefined ? -1 : waiters.findIndex((waiter) => waiter.ref === String(ref));
  if (index >= 0) return waiters.splice(index, 1)[0];
  return fallback && ref === undefined ? waiters.shift() : undefined;
}

/**
 * The waiter answered by a reply with `ref`: the one that sent it, or, for
 * a server that does not echo `ref`, the oldest (`fallback`).
 */
function takeWaiter<T>(
  waiters: Array<RequestWaiter<T>>,
  ref: string | number | undefined,
  fallback = true,
): RequestWaiter<T> | undefined {
  const index = ref === undefined ? -1 : waiters.findIndex((waiter) => waiter.ref === String(ref));
  if (index >= 0) return waiters.splice(index, 1)[0];
  return fallback && ref === undefined ? waiters.shift() : undefined;
}
