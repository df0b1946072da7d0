/**
 * One TCP connection from the client to a lanchat server.
 *
 * Owns: connecting with a timeout, `setNoDelay`, framing in both directions
 * (8 KiB reads, one serialized writer), answering server pings, noticing a
 * server that went silent, and turning socket errors into sentences.
 * In a room with a password it also runs the Noise initiator handshake
 * (PROTOCOL.md section 5) and seals and opens every later payload.
 * Knows nothing of nicks, history or the terminal.
 * Imports lib/frame.ts, lib/wire/protocol.ts, lib/wire/errors.ts, lib/wire/noise.ts,
 * lib/wire/room_key.ts and lib/client/ only.
 */
import { encodeFrame, FrameDecoder, readChunkBytes } from "../frame.ts";
import { encodePayload, parseJsonObject } from "../wire/protocol.ts";
import { HandshakeState, NoiseError } from "../wire/noise.ts";
import type { TransportCiphers } from "../wire/noise.ts";
import { noisePrologue } from "../wire/room_key.ts";
import type { ServerMessage } from "../wire/protocol.ts";
import { ProtocolError } from "../wire/errors.ts";
import { parseServerMessage } from "../wire/server_message.ts";
import { type Address, formatAddress } from "./address.ts";

/** What the client may put on the wire: a typed message as plain JSON fields. */
export type OutgoingMessage =
  | { type: "hello"; nick: string; client?: string; after?: number }
  | { type: "say"; body: string; to?: string; kind?: "text" | "action"; ref?: string }
  | { type: "nick"; nick: string }
  | { type: "users" }
  | { type: "history"; limit?: number; before?: number; with?: string; ref?: string }
  | { type: "search"; q: string; limit?: number; ref?: string }
  | { type: "ping"; n: string | number }
  | { type: "pong"; n: string | number }
  | { type: "bye" };

/** A server payload that broke the contract; shown to the user, then skipped. */
export interface MalformedMessage {
  type: "malformed";
  problem: string;
}

/** What {@link Connection.next} hands out. */
export type Incoming = ServerMessage | MalformedMessage;

/** Could not open the TCP connection; `reason` is short and human ("connection refused"). */
export class ConnectError extends Error {
  override name = "ConnectError";
  readonly reason: string;

  constructor(address: Address, reason: string, options?: ErrorOptions) {
    super(`cannot reach ${formatAddress(address)} (${reason})`, options);
    this.reason = reason;
  }
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
  /** Give up connecting after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Send a ping after this long without any frame from the server. Default 30000 ms. */
  idlePingMs?: number;
  /** Treat the connection as lost after this long without any frame. Default 45000 ms. */
  deadAfterMs?: number;
}

/** Turns a failed `Deno.connect` into a few words a person understands. */
export function describeConnectError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.NetworkUnreachable) return "network unreachable";
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  const message = error instanceof Error ? error.message : String(error);
  if (
    /lookup address|name or service not known|nodename nor servname|no such host/i.test(message)
  ) {
    return "host not found";
  }
  if (/no route to host|host is unreachable/i.test(message)) return "no route to host";
  return message.replace(/ \(os error \d+\)$/, "");
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/**
 * A joined-or-joining TCP connection. A background pump reads frames, answers
 * `ping` itself, and queues every other message for {@link next}.
 *
 * @example
 * const connection = await Connection.open({ host: "127.0.0.1", port: 9000 });
 * const first = await connection.next(5000); // { type: "server", ... }
 */
export class Connection {
  readonly address: Address;
  #conn: Deno.TcpConn;
  #queue: Incoming[] = [];
  #waiters: Array<() => void> = [];
  #closedReason: string | null = null;
  #writeChain: Promise<void> = Promise.resolve();
  #lastHeard = Date.now();
  #pingCount = 0;
  #watchdog: ReturnType<typeof setInterval>;
  #pumpDone: Promise<void>;
  #idlePingMs: number;
  #deadAfterMs: number;
  /** While the handshake runs: payloads kept as bytes for it, instead of parsed. */
  #raw: Uint8Array[] | null = null;
  /** After a handshake: seals what we send, opens what we receive. */
  #ciphers: TransportCiphers | null = null;

  private constructor(conn: Deno.TcpConn, address: Address, options: ConnectionOptions) {
    this.#conn = conn;
    this.address = address;
    this.#idlePingMs = options.idlePingMs ?? 30_000;
    this.#deadAfterMs = options.deadAfterMs ?? 45_000;
    const checkEveryMs = Math.max(50, Math.min(5_000, Math.floor(this.#idlePingMs / 3)));
    this.#watchdog = setInterval(() => this.#checkAlive(), checkEveryMs);
    this.#pumpDone = this.#pump();
  }

  /**
   * Connects, with `setNoDelay(true)`. Throws {@link ConnectError} when the
   * server cannot be reached within `connectTimeoutMs`.
   */
  static async open(address: Address, options: ConnectionOptions = {}): Promise<Connection> {
    const timeoutMs = options.connectTimeoutMs ?? 5_000;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({
      hostname: address.host,
      port: address.port,
      signal: controller.signal,
    });
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    let conn: Deno.TcpConn;
    try {
      const winner = await Promise.race([connecting, timedOut]);
      if (winner === "timeout") {
        controller.abort();
        // A connect that still completes after we gave up must not leak.
        connecting.then((late) => late.close(), () => {});
        throw new ConnectError(address, `timed out after ${Math.round(timeoutMs / 1000)} s`);
      }
      conn = winner;
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw new ConnectError(address, describeConnectError(error), { cause: error });
    } finally {
      clearTimeout(timer);
    }
    try {
      conn.setNoDelay(true);
    } catch {
      // Not fatal: only latency suffers.
    }
    return new Connection(conn, address, options);
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
      const message = this.#queue.shift();
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
      if (!woken) return this.#queue.shift() ?? null;
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
    const payload = encodePayload(message);
    // Sealed now, in call order, which is also the order of the writes below (nonces match).
    return this.#writeFrame(
      encodeFrame(this.#ciphers === null ? payload : this.#ciphers.send.encrypt(payload)),
    );
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
      await this.#writeFrame(encodeFrame(handshake.writeMessage(new Uint8Array(0))));
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

  /** Queues raw frame bytes for the single writer. */
  #writeFrame(frame: Uint8Array): Promise<void> {
    const write = this.#writeChain.then(() => {
      if (this.#closedReason !== null) {
        throw new Error(`connection closed (${this.#closedReason})`);
      }
      return writeAll(this.#conn, frame);
    });
    // The chain itself never rejects, so one failed write does not poison later ones.
    this.#writeChain = write.catch(() => {});
    write.catch((error) => this.#shutdown(`write failed: ${describeConnectError(error)}`));
    return write;
  }

  /** Resolves when every message queued so far has been written (or failed). */
  flushed(): Promise<void> {
    return this.#writeChain;
  }

  /** Closes the socket and waits for the reader to stop. Safe to call twice. */
  async close(reason = "closed by the client"): Promise<void> {
    this.#shutdown(reason);
    await this.#pumpDone;
  }

  /** Waits until the connection ends by itself (or is closed). */
  get done(): Promise<void> {
    return this.#pumpDone;
  }

  #shutdown(reason: string): void {
    if (this.#closedReason !== null) return;
    this.#closedReason = reason;
    clearInterval(this.#watchdog);
    try {
      this.#conn.close();
    } catch {
      // Already closed by the other side.
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

  async #pump(): Promise<void> {
    const decoder = new FrameDecoder();
    const buffer = new Uint8Array(readChunkBytes);
    try {
      while (this.#closedReason === null) {
        let count: number | null;
        try {
          count = await this.#conn.read(buffer);
        } catch (error) {
          if (this.#closedReason === null) {
            this.#shutdown(describeConnectError(error));
          }
          return;
        }
        if (count === null) {
          this.#shutdown(
            decoder.midFrame ? "the server closed it mid-frame" : "the server closed it",
          );
          return;
        }
        this.#lastHeard = Date.now();
        let payloads: Uint8Array[];
        try {
          payloads = decoder.push(buffer.subarray(0, count));
        } catch (error) {
          const problem = error instanceof ProtocolError ? error.message : String(error);
          this.#shutdown(`the server sent a broken frame: ${problem}`);
          return;
        }
        for (const payload of payloads) {
          if (this.#raw !== null) this.#raw.push(payload);
          else this.#open(payload);
          if (this.#closedReason !== null) return;
        }
        if (payloads.length > 0) this.#wake();
      }
    } finally {
      clearInterval(this.#watchdog);
    }
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
