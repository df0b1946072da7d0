/**
 * Shared test helpers: a raw protocol client over real loopback TCP, waits
 * with deadlines, and a server started in-process that always closes.
 *
 * Owns: nothing the product uses. Tests only. Importing it moves the test
 * process into a temporary home first (tests/fixtures/test_home.ts), so that
 * no test writes into the person's lanchat data folder.
 */
import { generateKeyPair, type KeyPair, sign } from "../lib/wire/identity.ts";
import { isolateThisProcess } from "./fixtures/test_home.ts";
import { encodeFrame, FrameDecoder } from "../lib/frame.ts";
import { encodeBody, helloSignatureBytes } from "../lib/wire/protocol.ts";
import { fromBase64, toBase64 } from "../lib/wire/base64.ts";
import { startServer } from "../lib/server/server.ts";
import type { RunningServer, ServerOptions } from "../lib/server/server.ts";
import { HandshakeState } from "../lib/wire/noise.ts";
import type { TransportCiphers } from "../lib/wire/noise.ts";
import { createRoomKey, noisePrologue } from "../lib/wire/room_key.ts";
import type { RoomKey } from "../lib/wire/room_key.ts";

isolateThisProcess();

/** A decoded server payload (loosely typed: tests check fields themselves). */
export type Received = { type: string; [field: string]: unknown };

/** Resolves `promise`, or rejects after `ms` with `what` in the message. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The key of every test server unless a test gives another (issue #14): a
 * server restarted in a test is the same server to its clients, as a real
 * one restarted with its key file is.
 */
export const testServerKey: KeyPair = generateKeyPair();

/** Starts a server on 127.0.0.1 and a free port, quiet, with short test-friendly ticks. */
export function startTestServer(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({
    host: "127.0.0.1",
    port: 0,
    name: "test room",
    tickMs: 50,
    serverKey: testServerKey,
    ...options,
  });
}

const roomKeys = new Map<string, Promise<RoomKey>>();

/** A room key for `password`, derived once per test process (scrypt is slow on purpose). */
export function testRoomKey(password: string): Promise<RoomKey> {
  let key = roomKeys.get(password);
  if (key === undefined) roomKeys.set(password, key = createRoomKey(password));
  return key;
}

/**
 * A protocol client that records everything the server sends. After
 * {@link TestClient.handshake} it seals what it sends and opens what it gets,
 * as PROTOCOL.md section 5 says; a payload that does not open is recorded as
 * plaintext JSON when it is (the server's `auth_failed`), else as `unreadable`.
 */
export class TestClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly received: Received[] = [];
  /** Resolves when the server closes the connection (or it breaks). */
  readonly closed: Promise<void>;
  #cursor = 0;
  #notify: (() => void) | null = null;
  #ended = false;
  /** During the handshake: raw payloads for it. */
  #raw: Uint8Array[] | null = null;
  #ciphers: TransportCiphers | null = null;
  /** The Noise handshake hash once {@link handshake} completed, else null. */
  #handshakeHash: Uint8Array | null = null;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    conn.setNoDelay(true);
    this.closed = this.#readLoop();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Connects and joins as `nick`; the `server`, `welcome` and `users` frames are consumed. */
  static async joined(
    port: number,
    nick: string,
    extra: Record<string, unknown> = {},
  ): Promise<TestClient> {
    const client = await TestClient.connect(port);
    await client.next("server");
    await client.send({ type: "hello", nick, ...extra });
    await client.next("welcome");
    await client.next("users");
    return client;
  }

  async #readLoop(): Promise<void> {
    const decoder = new FrameDecoder();
    // Large reads: the test clients share one event loop with the server they test,
    // and must not be the ones that fall behind when tests push megabytes.
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const count = await this.conn.read(buffer);
        if (count === null) break;
        for (const payload of decoder.push(buffer.subarray(0, count))) this.#accept(payload);
        this.#notify?.();
      }
    } catch {
      // Reset or closed locally: the connection is over either way.
    } finally {
      this.#ended = true;
      this.#notify?.();
    }
  }

  #accept(payload: Uint8Array): void {
    if (this.#raw !== null) {
      this.#raw.push(payload);
      return;
    }
    let bytes = payload;
    if (this.#ciphers !== null) {
      try {
        bytes = this.#ciphers.receive.decrypt(payload);
      } catch {
        // Not sealed: the server's plaintext auth_failed, or garbage.
      }
    }
    if (bytes[0] === 0 && bytes.length > 13) {
      // A data payload (PROTOCOL.md section 10.2): kept with its header read.
      const view = new DataView(bytes.buffer, bytes.byteOffset, 13);
      this.received.push({
        type: "data",
        stream: view.getUint32(1),
        offset: view.getUint32(5) * 2 ** 32 + view.getUint32(9),
        data: bytes.slice(13),
      });
      return;
    }
    try {
      this.received.push(JSON.parse(new TextDecoder().decode(bytes)));
    } catch {
      this.received.push({ type: "unreadable", bytes: payload.length });
    }
  }

  /**
   * Runs the Noise initiator handshake with `psk` (call after `server`).
   * Resolves null when it completed, or the server's plaintext `error`
   * (auth_failed) when it refused.
   */
  async handshake(psk: Uint8Array, ms = 3000): Promise<Received | null> {
    const state = new HandshakeState({ initiator: true, prologue: noisePrologue, psk });
    const raw: Uint8Array[] = [];
    this.#raw = raw;
    try {
      await this.sendPayload(state.writeMessage(new Uint8Array(0)));
      const answer = await withDeadline(
        (async () => {
          for (;;) {
            const first = raw.shift();
            if (first !== undefined) return first;
            if (this.#ended) throw new Error("connection closed during the handshake");
            await new Promise<void>((resolve) => this.#notify = resolve);
          }
        })(),
        ms,
        "the handshake answer",
      );
      const refusal = plaintextJson(answer);
      if (refusal !== null) {
        this.received.push(refusal);
        return refusal;
      }
      state.readMessage(answer);
      this.#handshakeHash = state.handshakeHash.slice();
      this.#ciphers = state.split();
    } finally {
      this.#raw = null;
    }
    for (const payload of raw) this.#accept(payload);
    return null;
  }

  /** Connects, takes `server` and completes the handshake (throws if refused). */
  static async secure(port: number, psk: Uint8Array): Promise<TestClient> {
    const client = await TestClient.connect(port);
    await client.next("server");
    const refusal = await client.handshake(psk);
    if (refusal !== null) {
      client.close();
      await client.closed;
      throw new Error(`handshake refused: ${JSON.stringify(refusal)}`);
    }
    return client;
  }

  /** {@link secure}, then joins as `nick` (welcome and users consumed). */
  static async secureJoined(port: number, nick: string, psk: Uint8Array): Promise<TestClient> {
    const client = await TestClient.secure(port, psk);
    await client.send({ type: "hello", nick });
    await client.next("welcome");
    await client.next("users");
    return client;
  }

  /**
   * Sends `hello` as `nick` with device key `key` (PROTOCOL.md section 8.3),
   * signing the challenge of the `server` frame already received (and the
   * handshake hash after {@link handshake}). `extra` goes in too (`link`, `after`).
   */
  async helloWithKey(
    nick: string,
    key: KeyPair,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const greeting = this.received.find((message) => message.type === "server");
    if (greeting === undefined || typeof greeting.challenge !== "string") {
      throw new Error("helloWithKey before a server frame with a challenge");
    }
    const signed = helloSignatureBytes(fromBase64(greeting.challenge), this.#handshakeHash);
    await this.send({
      type: "hello",
      nick,
      key: toBase64(key.publicKey),
      sig: toBase64(sign(signed, key.secretKey)),
      ...extra,
    });
  }

  /** Connects and joins as `nick` with device key `key`; `server`, `welcome` and `users` consumed. */
  static async keyed(
    port: number,
    nick: string,
    key: KeyPair,
    extra: Record<string, unknown> = {},
  ): Promise<TestClient> {
    const client = await TestClient.connect(port);
    await client.next("server");
    await client.helloWithKey(nick, key, extra);
    const answer = await client.next((message) =>
      message.type === "welcome" || message.type === "error"
    );
    if (answer.type === "error") {
      client.close();
      throw new Error(`hello refused: ${answer.code}: ${answer.message}`);
    }
    await client.next("users");
    return client;
  }

  /** Sends one JSON payload (sealed after a handshake). */
  async send(message: Record<string, unknown>): Promise<void> {
    await this.sendPayload(new TextEncoder().encode(JSON.stringify(message)));
  }

  /** Seals `payload` as the next transport message (after a handshake), without sending it. */
  seal(payload: Uint8Array): Uint8Array {
    if (this.#ciphers === null) throw new Error("seal() before the handshake");
    return this.#ciphers.send.encrypt(payload);
  }

  /** Sends payload bytes in one frame (sealed after a handshake). */
  async sendPayload(payload: Uint8Array): Promise<void> {
    await this.sendRaw(
      encodeFrame(this.#ciphers === null ? payload : this.#ciphers.send.encrypt(payload)),
    );
  }

  /** Writes raw bytes (anything, framed or not). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** Sends a `say` of `text`. */
  say(text: string, extra: Record<string, unknown> = {}): Promise<void> {
    return this.send({ type: "say", body: encodeBody(text), ...extra });
  }

  /**
   * The next received message matching `match` (a type name or a predicate),
   * skipping (and keeping) earlier ones that do not match.
   */
  async next(match: string | ((message: Received) => boolean), ms = 3000): Promise<Received> {
    const test = typeof match === "string" ? (m: Received) => m.type === match : match;
    const found = this.#take(test);
    if (found !== undefined) return found;
    return await withDeadline(
      (async () => {
        for (;;) {
          const item = this.#take(test);
          if (item !== undefined) return item;
          if (this.#ended) throw new Error(`connection closed before a matching message arrived`);
          await new Promise<void>((resolve) => this.#notify = resolve);
        }
      })(),
      ms,
      `a message matching ${typeof match === "string" ? match : "predicate"}; got so far: ${
        JSON.stringify(this.received.slice(-5)).slice(0, 400)
      }`,
    );
  }

  #take(test: (message: Received) => boolean): Received | undefined {
    for (let index = this.#cursor; index < this.received.length; index++) {
      const message = this.received[index]!;
      if (test(message)) {
        if (index === this.#cursor) this.#cursor++;
        else {this.received.splice(index, 1),
            this.received.splice(this.#cursor, 0, message),
            this.#cursor++;}
        return message;
      }
    }
    return undefined;
  }

  /** Every message of `type` received so far. */
  all(type: string): Received[] {
    return this.received.filter((message) => message.type === type);
  }

  /** Waits until the server closes the connection. */
  async waitClosed(ms = 3000): Promise<void> {
    await withDeadline(this.closed, ms, "the server to close the connection");
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}

/**
 * A payload that is plaintext JSON (an object with a string `type`), or null.
 * A Noise message is random bytes and starts with "{" one time in 256, so
 * the first byte alone cannot tell them apart.
 */
export function plaintextJson(bytes: Uint8Array): Received | null {
  if (bytes[0] !== 0x7b) return null;
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof value === "object" && value !== null && typeof value.type === "string"
      ? value
      : null;
  } catch {
    return null;
  }
}

/** Decodes a `body` field of a received message. */
export function text(message: Received): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(String(message.body)));
}

/**
 * Whether something (a file, a folder, a link) is at `path`. Fails on any
 * error but "not found", so that an unreadable path never passes for absent.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
