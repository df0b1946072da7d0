/**
 * One TCP connection from the client to a lanchat server.
 *
 * Owns: connecting with a timeout, `setNoDelay`, framing in both directions
 * (8 KiB reads, one serialized writer), answering server pings, noticing a
 * server that went silent, and turning socket errors into sentences.
 * In a room with a password it also runs the Noise initiator handshake
 * (PROTOCOL.md section 5) and seals and opens every later payload.
 * File data payloads (PROTOCOL.md section 10.2) are told apart from JSON
 * here: those that arrive go to the {@link Connection.onData} handler, in
 * order with the messages; those sent wait behind every JSON message (chat
 * first), and each payload is sealed as it is written, so nonces follow the
 * write order.
 * Knows nothing of nicks, history, transfers or the terminal.
 * Imports lib/frame.ts, lib/wire/protocol.ts, lib/wire/errors.ts, lib/wire/noise.ts,
 * lib/wire/room_key.ts, lib/wire/file_chunk.ts and lib/client/ only.
 */
import { encodePayload, parseJsonObject } from "../wire/protocol.ts";
import { HandshakeState, NoiseError } from "../wire/noise.ts";
import type { TransportCiphers } from "../wire/noise.ts";
import { noisePrologue } from "../wire/room_key.ts";
import type { ServerMessage } from "../wire/protocol.ts";
import { parseServerMessage } from "../wire/server_message.ts";
import { decodeChunk, type FileChunk, isDataPayload } from "../wire/file_chunk.ts";
import type { Address } from "./address.ts";
import type { ChannelHandlers, Dialer, PayloadChannel } from "./channel.ts";

export { ConnectError } from "./channel.ts";

/** What the client may put on the wire: a typed message as plain JSON fields. */
/** How a person wants to be told of a conversation (PROTOCOL.md section 9.5). */
export type NotifyLevel = "all" | "mentions" | "muted";

export type OutgoingMessage =
  | {
    type: "hello";
    nick: string;
    client?: string;
    after?: number;
    /** Version 2: BASE64 of the device's public key, its signature, a link code (PROTOCOL.md 8.3). */
    key?: string;
    sig?: string;
    link?: string;
  }
  | {
    type: "say";
    body: string;
    to?: string;
    channel?: string;
    kind?: "text" | "action";
    ref?: string;
  }
  | { type: "nick"; nick: string }
  | { type: "users" }
  | {
    type: "history";
    limit?: number;
    before?: number;
    with?: string;
    channel?: string;
    ref?: string;
  }
  | { type: "search"; q: string; limit?: number; channel?: string; ref?: string }
  /** Version 3 (PROTOCOL.md section 9). */
  | { type: "join" | "part" | "members"; channel: string; ref?: string }
  | { type: "topic"; channel: string; topic: string; ref?: string }
  | { type: "channels"; ref?: string }
  | { type: "read"; conversation: string; id: number }
  | { type: "notify"; conversation: string; level: NotifyLevel; ref?: string }
  | { type: "ping"; n: string | number }
  | { type: "pong"; n: string | number }
  | { type: "bye" }
  | { type: "prove"; nonce: string }
  | { type: "link"; ref?: string }
  | { type: "whois"; nick: string; ref?: string }
  | FileRequest;

/** Version 4: what a client sends about files (PROTOCOL.md section 10). */
export type FileRequest =
  | {
    type: "upload";
    name: string;
    size: number;
    sha256: string;
    mime: string;
    channel?: string;
    to?: string;
    ref?: string;
  }
  | { type: "get"; id: number; offset: number; ref?: string }
  | { type: "got"; stream: number; offset: number }
  | { type: "cancel"; stream: number; discard: boolean }
  | {
    type: "files";
    channel?: string;
    with?: string;
    before?: number;
    limit?: number;
    ref?: string;
  };

/** A server payload that broke the contract; shown to the user, then skipped. */
export interface MalformedMessage {
  type: "malformed";
  problem: string;
}

/** What {@link Connection.next} hands out. */
export type Incoming = ServerMessage | MalformedMessage;

/** A payload waiting for the single writer. */
interface QueuedWrite {
  payload: Uint8Array;
  /** Seal it with the transport ciphers when it is written (decided when it was queued). */
  seal: boolean;
  /** `sealed` for the channel: a binary payload (Noise, or file data), not JSON text. */
  binary: boolean;
  written: PromiseWithResolvers<void>;
}

/**
 * The secure handshake did not complete. `wrongPassword`: the server refused
 * our key (`auth_failed`) or its answer did not verify. Otherwise `code` is
 * the server's plaintext refusal (`not_joined`, `shutting_down`, ...) or null
 * when the connection closed or went silent.
 */
export class HandshakeError extends Error {
  override name = "HandshakeError";
  readonly wrongPassword: boolean;
  readonly code: string | null;

  constructor(message: string, wrongPassword: boolean, code: string | null = null) {
    super(message);
    this.wrongPassword = wrongPassword;
    this.code = code;
  }
}

/** Options of {@link Connection.open}. */
export interface ConnectionOptions {
  /** Opens the transport (TCP in the terminal, a WebSocket in the page). */
  dial: Dialer;
  /** Give up connecting after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Send a ping after this long without any frame from the server. Default 30000 ms. */
  idlePingMs?: number;
  /** Treat the connection as lost after this long without any frame. Default 45000 ms. */
  deadAfterMs?: number;
}

/**
 * A joined-or-joining connection. Its channel delivers payloads; pings are
 * answered here and every other message is queued for {@link next}.
 *
 * @example
 * const connection = await Connection.open({ host: "127.0.0.1", port: 9000 }, { dial: dialTcp });
 * const first = await connection.next(5000); // { type: "server", ... }
 */
export class Connection {
  readonly address: Address;
  #channel: PayloadChannel;
  /** What arrived, in order: messages for {@link next}, file chunks for {@link onData}'s handler. */
  #queue: Array<Incoming | FileChunk> = [];
  #dataHandler: ((chunk: FileChunk) => void) | null = null;
  #waiters: Array<() => void> = [];
  #closedReason: string | null = null;
  /** JSON messages (and the handshake) waiting to be written: they go first. */
  #urgentWrites: QueuedWrite[] = [];
  /** File data payloads waiting to be written, behind every JSON message. */
  #bulkWrites: QueuedWrite[] = [];
  #writing = false;
  /** Resolved when nothing waits to be written; null while nobody asked. */
  #flushed: PromiseWithResolvers<void> | null = null;
  #lastHeard = Date.now();
  #pingCount = 0;
  #watchdog: ReturnType<typeof setInterval>;
  #ended: PromiseWithResolvers<void> = Promise.withResolvers();
  #idlePingMs: number;
  #deadAfterMs: number;
  /** While the handshake runs: payloads kept as bytes for it, instead of parsed. */
  #raw: Uint8Array[] | null = null;
  /** After a handshake: seals what we send, opens what we receive. */
  #ciphers: TransportCiphers | null = null;
  /** The Noise handshake hash once {@link secure} has finished, else null. */
  #handshakeHash: Uint8Array | null = null;

  private constructor(channel: PayloadChannel, address: Address, options: ConnectionOptions) {
    this.#channel = channel;
    this.address = address;
    this.#idlePingMs = options.idlePingMs ?? 30_000;
    this.#deadAfterMs = options.deadAfterMs ?? 45_000;
    const checkEveryMs = Math.max(50, Math.min(5_000, Math.floor(this.#idlePingMs / 3)));
    this.#watchdog = setInterval(() => this.#checkAlive(), checkEveryMs);
    const handlers: ChannelHandlers = {
      payload: (bytes) => this.#receive(bytes),
      end: (reason) => {
        this.#shutdown(reason);
        clearInterval(this.#watchdog);
        this.#ended.resolve();
      },
    };
    channel.start(handlers);
  }

  /** Opens the channel with `options.dial`. Throws {@link ConnectError} when the server cannot be reached. */
  static async open(address: Address, options: ConnectionOptions): Promise<Connection> {
    const channel = await options.dial(address, options.connectTimeoutMs ?? 5_000);
    return new Connection(channel, address, options);
  }

  /** What ties a proof to this connection: the Noise handshake hash, on a secure one (else null). */
  get handshakeHash(): Uint8Array | null {
    return this.#handshakeHash;
  }

  /** Why the connection ended, or null while it is open. */
  get closedReason(): string | null {
    return this.#closedReason;
  }

  /**
   * The next message from the server, in order. Resolves null once the
   * connection is closed and the queue is drained, or when `timeoutMs`
   * passes without a message.
   */
  async next(timeoutMs?: number): Promise<Incoming | null> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    while (true) {
      const message = this.#nextMessage();
      if (message !== undefined) return message;
      if (this.#closedReason !== null) return null;
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const woken = await new Promise<boolean>((resolve) => {
        this.#waiters.push(() => resolve(true));
        if (remainingMs !== Infinity) timer = setTimeout(() => resolve(false), remainingMs);
      });
      clearTimeout(timer);
      if (!woken) return this.#nextMessage() ?? null;
    }
  }

  /**
   * Where file data payloads go (PROTOCOL.md section 10.2): each is handed to
   * `handler` as {@link next} reaches it, so in order with the messages (a
   * `download` answer comes before its chunks). Without a handler they are
   * dropped: a server sends them only to a client that asked for a file.
   */
  onData(handler: ((chunk: FileChunk) => void) | null): void {
    this.#dataHandler = handler;
  }

  /** The next queued message; file chunks before it go to the data handler on the way. */
  #nextMessage(): Incoming | undefined {
    for (;;) {
      const item = this.#queue.shift();
      if (item === undefined || "type" in item) return item;
      this.#dataHandler?.(item);
    }
  }

  /**
   * Queues one message for the single writer; resolves once its bytes are
   * written. Rejects when the connection is closed or the write fails (the
   * pump then reports the connection as lost).
   */
  send(message: OutgoingMessage): Promise<void> {
    if (this.#raw !== null) {
      return Promise.reject(new Error("the secure handshake is still running"));
    }
    const secure = this.#ciphers !== null;
    return this.#write(this.#urgentWrites, encodePayload(message), secure, secure);
  }

  /**
   * Queues one file data payload (PROTOCOL.md section 10.2: `0x00`, stream,
   * offset, bytes) behind every JSON message: a chat message sent while it
   * waits is written first. Resolves once written, so a sender that awaits
   * each payload keeps at most one waiting. Sealed in a secure session;
   * always binary on the channel. Rejects like {@link send}.
   */
  sendData(payload: Uint8Array): Promise<void> {
    if (this.#raw !== null) {
      return Promise.reject(new Error("the secure handshake is still running"));
    }
    if (!isDataPayload(payload)) {
      return Promise.reject(new TypeError("a data payload starts with the byte 0x00"));
    }
    return this.#write(this.#bulkWrites, payload, this.#ciphers !== null, true);
  }

  /**
   * Runs the Noise NNpsk0 initiator handshake with `psk`, right after the
   * `server` greeting. Afterwards every payload is sealed and opened here.
   * Throws {@link HandshakeError}.
   */
  async secure(psk: Uint8Array, timeoutMs: number): Promise<void> {
    const handshake = new HandshakeState({ initiator: true, prologue: noisePrologue, psk });
    const raw: Uint8Array[] = [];
    this.#raw = raw;
    try {
      await this.#write(this.#urgentWrites, handshake.writeMessage(new Uint8Array(0)), false, true);
      const deadline = Date.now() + timeoutMs;
      let answer = await this.#nextRaw(raw, timeoutMs);
      // A plaintext ping sent before our handshake message arrived is not the answer.
      for (let skipped = 0; skipped < 8 && plaintextType(answer) === "ping"; skipped++) {
        answer = await this.#nextRaw(raw, Math.max(0, deadline - Date.now()));
      }
      const refusal = plaintextError(answer);
      if (refusal !== null) {
        throw new HandshakeError(refusal.message, refusal.code === "auth_failed", refusal.code);
      }
      try {
        handshake.readMessage(answer);
      } catch (error) {
        if (!(error instanceof NoiseError)) throw error;
        throw new HandshakeError("the server's handshake answer did not verify", true);
      }
      this.#handshakeHash = handshake.handshakeHash;
      this.#ciphers = handshake.split();
    } catch (error) {
      if (error instanceof HandshakeError) throw error;
      throw new HandshakeError(
        `the handshake failed: ${error instanceof Error ? error.message : String(error)}`,
        false,
      );
    } finally {
      this.#raw = null;
    }
    // Sealed payloads that came right behind the answer.
    for (const payload of raw) this.#open(payload);
    if (raw.length > 0) this.#wake();
  }

  async #nextRaw(raw: Uint8Array[], timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    // Bounded by the deadline: each round waits for a payload, the close or the time.
    for (;;) {
      const payload = raw.shift();
      if (payload !== undefined) return payload;
      if (this.#closedReason !== null) {
        throw new HandshakeError(`the server closed the connection (${this.#closedReason})`, false);
      }
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        throw new HandshakeError(
          `the server did not answer the handshake within ${Math.round(timeoutMs / 1000)} s`,
          false,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, remainingMs);
      });
      clearTimeout(timer);
    }
  }

  /**
   * Queues one payload for the single writer, in `queue` (urgent: JSON; bulk:
   * file data). Resolves once its bytes are written.
   */
  #write(queue: QueuedWrite[], payload: Uint8Array, seal: boolean, binary: boolean): Promise<void> {
    if (this.#closedReason !== null) {
      return Promise.reject(new Error(`connection closed (${this.#closedReason})`));
    }
    const written = Promise.withResolvers<void>();
    queue.push({ payload, seal, binary, written });
    void this.#pumpWrites();
    return written.promise;
  }

  /**
   * The single writer: one payload at a time, every urgent one before any
   * bulk one. A payload is sealed right before it is written, so the Noise
   * nonces follow the order of the writes, whatever order they were queued in.
   */
  async #pumpWrites(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    // Bounded by the queues: each round writes (or drops) one queued payload.
    for (;;) {
      const next = this.#urgentWrites.shift() ?? this.#bulkWrites.shift();
      if (next === undefined) break;
      if (this.#closedReason !== null) {
        next.written.reject(new Error(`connection closed (${this.#closedReason})`));
        continue;
      }
      try {
        const bytes = next.seal && this.#ciphers !== null
          ? this.#ciphers.send.encrypt(next.payload)
          : next.payload;
        await this.#channel.write(bytes, next.binary);
        next.written.resolve();
      } catch (error) {
        next.written.reject(error);
        this.#shutdown(`write failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.#writing = false;
    this.#flushed?.resolve();
    this.#flushed = null;
  }

  /** Resolves when every payload queued so far has been written (or failed). */
  flushed(): Promise<void> {
    if (!this.#writing && this.#urgentWrites.length === 0 && this.#bulkWrites.length === 0) {
      return Promise.resolve();
    }
    this.#flushed ??= Promise.withResolvers<void>();
    return this.#flushed.promise;
  }

  /** Closes the channel and waits for it to end. Safe to call twice. */
  async close(reason = "closed by the client"): Promise<void> {
    this.#shutdown(reason);
    await this.#ended.promise;
  }

  /** Waits until the connection ends by itself (or is closed). */
  get done(): Promise<void> {
    return this.#ended.promise;
  }

  #shutdown(reason: string): void {
    if (this.#closedReason !== null) return;
    this.#closedReason = reason;
    clearInterval(this.#watchdog);
    this.#channel.close();
    // Nothing queued will be written now: its senders learn so at once.
    for (const queued of [...this.#urgentWrites.splice(0), ...this.#bulkWrites.splice(0)]) {
      queued.written.reject(new Error(`connection closed (${reason})`));
    }
    if (!this.#writing) {
      this.#flushed?.resolve();
      this.#flushed = null;
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #checkAlive(): void {
    const silentMs = Date.now() - this.#lastHeard;
    if (silentMs >= this.#deadAfterMs) {
      this.#shutdown(`the server sent nothing for ${Math.round(silentMs / 1000)} s`);
    } else if (silentMs >= this.#idlePingMs) {
      this.send({ type: "ping", n: `alive-${++this.#pingCount}` }).catch(() => {});
    }
  }

  /** One payload from the channel: kept raw for a running handshake, else opened and accepted. */
  #receive(payload: Uint8Array): void {
    if (this.#closedReason !== null) return;
    this.#lastHeard = Date.now();
    if (this.#raw !== null) this.#raw.push(payload);
    else this.#open(payload);
    this.#wake();
  }

  /** Opens a sealed payload (in a secure session) and accepts it. */
  #open(payload: Uint8Array): void {
    if (this.#ciphers === null) {
      this.#accept(payload);
      return;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = this.#ciphers.receive.decrypt(payload);
    } catch {
      // A plaintext `auth_failed` or shutdown notice is all a server sends unsealed now.
      const refusal = plaintextError(payload);
      this.#shutdown(
        refusal !== null
          ? `the server ended the secure session: ${refusal.message}`
          : "a message from the server did not decrypt; the connection is not safe",
      );
      return;
    }
    this.#accept(plaintext);
  }

  #accept(payload: Uint8Array): void {
    if (isDataPayload(payload)) {
      const chunk = decodeChunk(payload);
      if (chunk === null) {
        this.#queue.push({
          type: "malformed",
          problem: "a file data payload too short to hold data",
        });
      } else if (this.#dataHandler !== null) {
        this.#queue.push(chunk);
      }
      return;
    }
    let message: ServerMessage | null;
    try {
      message = parseServerMessage(payload);
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      this.#queue.push({ type: "malformed", problem });
      return;
    }
    if (message === null) return; // A type from a newer protocol: ignored.
    if (message.type === "ping") {
      this.send({ type: "pong", n: message.n }).catch(() => {});
      return;
    }
    this.#queue.push(message);
  }
}

/** The `type` of a plaintext JSON payload, or null when it is not one (a Noise message). */
function plaintextType(payload: Uint8Array): string | null {
  if (payload[0] !== 0x7b) return null;
  try {
    return parseJsonObject(payload).type;
  } catch {
    return null;
  }
}

/** The code and message of a plaintext `error` payload, or null when it is not one. */
function plaintextError(payload: Uint8Array): { code: string; message: string } | null {
  if (payload[0] !== 0x7b) return null; // "{": a Noise message is random-looking bytes.
  try {
    const object = parseJsonObject(payload);
    if (object.type !== "error") return null;
    return { code: String(object.code), message: String(object.message ?? object.code) };
  } catch {
    return null;
  }
}
