/**
 * Shared test helpers: a raw protocol client over real loopback TCP, waits
 * with deadlines, and a server started in-process that always closes.
 *
 * Owns: nothing the product uses. Tests only.
 */
import { encodeFrame, FrameDecoder } from "../lib/frame.ts";
import { encodeBody } from "../lib/protocol.ts";
import { startServer } from "../lib/server.ts";
import type { RunningServer, ServerOptions } from "../lib/server.ts";

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

/** Starts a server on 127.0.0.1 and a free port, quiet, with short test-friendly ticks. */
export function startTestServer(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ host: "127.0.0.1", port: 0, name: "test room", tickMs: 50, ...options });
}

/** A protocol client that records everything the server sends. */
export class TestClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly received: Received[] = [];
  /** Resolves when the server closes the connection (or it breaks). */
  readonly closed: Promise<void>;
  #cursor = 0;
  #notify: (() => void) | null = null;
  #ended = false;

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
        for (const payload of decoder.push(buffer.subarray(0, count))) {
          this.received.push(JSON.parse(new TextDecoder().decode(payload)));
        }
        this.#notify?.();
      }
    } catch {
      // Reset or closed locally: the connection is over either way.
    } finally {
      this.#ended = true;
      this.#notify?.();
    }
  }

  /** Sends one JSON payload. */
  async send(message: Record<string, unknown>): Promise<void> {
    await this.sendPayload(new TextEncoder().encode(JSON.stringify(message)));
  }

  /** Sends raw payload bytes in one frame. */
  async sendPayload(payload: Uint8Array): Promise<void> {
    await this.sendRaw(encodeFrame(payload));
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

/** Decodes a `body` field of a received message. */
export function text(message: Received): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(String(message.body)));
}
