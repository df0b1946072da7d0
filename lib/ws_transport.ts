/**
 * The WebSocket adapter of Transport (PROTOCOL.md section 1: `/ws`, one
 * payload per WebSocket message, no length header).
 *
 * Owns: turning WebSocket events into a payload stream, the payload size
 * limit on WebSocket, and write backpressure via `bufferedAmount`.
 * Knows nothing of the room or JSON.
 */
import { FrameError } from "./errors.ts";
import { maxPayloadBytes } from "./frame.ts";
import type { Outgoing } from "./outgoing.ts";
import type { Transport } from "./transport.ts";

/** Bytes the socket may hold unsent before write() waits for it to drain. */
const maxBufferedBytes = 1024 * 1024;
/** How often a write waiting for the drain looks again. */
const drainPollMs = 5;

const utf8 = new TextEncoder();

/** Transport over a server-side WebSocket from Deno.upgradeWebSocket. */
export class WebSocketTransport implements Transport {
  readonly remote: string;
  readonly remoteIp: string;
  readonly #socket: WebSocket;
  readonly #opened: Promise<boolean>;
  #inbox: (Uint8Array | FrameError)[] = [];
  #ended = false;
  #wake: (() => void) | null = null;
  #maxBytes: number;

  /** `options.maxPayloadBytes`: the largest message accepted (default and most 65535). */
  constructor(
    socket: WebSocket,
    remote: Deno.NetAddr,
    options: { maxPayloadBytes?: number } = {},
  ) {
    this.#maxBytes = Math.min(options.maxPayloadBytes ?? maxPayloadBytes, maxPayloadBytes);
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    this.remoteIp = remote.hostname;
    this.remote = remote.hostname.includes(":")
      ? `[${remote.hostname}]:${remote.port}`
      : `${remote.hostname}:${remote.port}`;
    this.#opened = new Promise((resolve) => {
      socket.addEventListener("open", () => resolve(true), { once: true });
      socket.addEventListener("close", () => resolve(false), { once: true });
    });
    socket.addEventListener("message", (event) => {
      const data = event.data;
      const payload = typeof data === "string"
        ? utf8.encode(data)
        : data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : null;
      if (payload === null) return;
      if (payload.length === 0) {
        this.#inbox.push(new FrameError("bad_frame", "empty WebSocket message"));
      } else if (payload.length > this.#maxBytes) {
        this.#inbox.push(
          new FrameError(
            "frame_too_large",
            `message of ${payload.length} bytes exceeds ${this.#maxBytes}`,
          ),
        );
      } else {
        this.#inbox.push(payload);
      }
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    socket.addEventListener("close", end);
    socket.addEventListener("error", end);
  }

  async read(): Promise<Uint8Array[] | null> {
    for (;;) {
      if (this.#inbox.length > 0) {
        const errorAt = this.#inbox.findIndex((item) => item instanceof FrameError);
        if (errorAt === 0) throw this.#inbox.shift();
        // Payloads before a bad message are handled; the error comes with the next read.
        return this.#inbox.splice(0, errorAt < 0 ? this.#inbox.length : errorAt) as Uint8Array[];
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = null;
    }
  }

  setPayloadLimit(bytes: number): void {
    this.#maxBytes = Math.max(1, Math.min(bytes, maxPayloadBytes));
  }

  async write(batch: readonly Outgoing[]): Promise<void> {
    if (!(await this.#opened) || this.#socket.readyState !== WebSocket.OPEN) {
      throw new Deno.errors.BrokenPipe("WebSocket is closed");
    }
    for (const message of batch) this.#socket.send(message.payload);
    // Backpressure: wait (bounded by the socket closing) while too much is unsent.
    while (this.#socket.bufferedAmount > maxBufferedBytes) {
      if (this.#socket.readyState !== WebSocket.OPEN) {
        throw new Deno.errors.BrokenPipe("WebSocket closed");
      }
      await new Promise((resolve) => setTimeout(resolve, drainPollMs));
    }
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {
      // Still connecting or already closed: nothing more to do.
    }
    this.#ended = true;
    this.#wake?.();
  }
}
