/**
 * The WebSocket adapter of Transport (PROTOCOL.md section 1: `/ws`, one
 * payload per WebSocket message, no length header), on the socket that the
 * web server upgraded (lib/server/http/web_server.ts answers the handshake).
 *
 * Owns: reading frames only when the session asks for payloads (so a session
 * that stops reading stops the socket, as on TCP), the payload limit checked
 * before a message's bytes are taken (lib/server/transport/websocket_frames.ts), answering
 * pings and close frames, coalesced writes of the shared frames of
 * lib/server/outgoing.ts, and the close handshake, bounded in time.
 * Knows nothing of the room, JSON or HTTP.
 */
import { FrameError } from "../../wire/errors.ts";
import { maxPayloadBytes, readChunkBytes } from "../../frame.ts";
import { closeQuietly, lingeringClose } from "../http/lingering_close.ts";
import type { Outgoing } from "../outgoing.ts";
import { FrameJoiner } from "./transport.ts";
import type { Transport } from "./transport.ts";
import {
  closeCodes,
  closePayload,
  encodeWebSocketFrame,
  opcodes,
  WebSocketDecoder,
} from "./websocket_frames.ts";
import type { WebSocketEvent } from "./websocket_frames.ts";

/** Options of {@link WebSocketTransport}. Every field documents its default. */
export interface WebSocketTransportOptions {
  /** Bytes read past the handshake's head (a client may send frames at once). Default none. */
  initialBytes?: Uint8Array;
  /** The largest message accepted (at most 65535). Default 65535. */
  maxPayloadBytes?: number;
  /**
   * How long close() waits for the last frames to be written, and then for
   * the peer's close frame, in ms. Default 1000.
   */
  closeTimeoutMs?: number;
}

/** First read size; grows to readChunkBytes once a read fills it (as TcpTransport). */
const initialReadBytes = 2048;
/** Most bytes read and thrown away while waiting for the peer's close frame. */
const maxLingerBytes = 256 * 1024;

const nothing = new Uint8Array(0);
const noop = () => {};

/** The session's batches as joined WebSocket frames (shared, as lib/server/transport/transport.ts does for TCP). */
const webSocketFrames = new FrameJoiner((message) => message.webSocketFrame);

/** Transport over an upgraded HTTP connection speaking RFC 6455. */
export class WebSocketTransport implements Transport {
  readonly remote: string;
  readonly remoteIp: string;
  /** Resolves once the socket is closed for good (after close() and its bounded handshake). */
  readonly finished: Promise<void>;
  readonly #conn: Deno.TcpConn | Deno.TlsConn;
  readonly #decoder: WebSocketDecoder;
  readonly #closeTimeoutMs: number;
  readonly #finished = Promise.withResolvers<void>();
  /** Small while idle, like TcpTransport's: grows once a read fills it. */
  #buffer = new Uint8Array(initialReadBytes);
  #initialBytes: Uint8Array | null;
  /** The socket read in flight, shared by read() and the close handshake. */
  #reading: Promise<number | null> | null = null;
  /** A framing error found, thrown by the next read(). */
  #error: FrameError | null = null;
  /** The peer sent its close frame, or ended the stream. */
  #peerClosed = false;
  #closeSent = false;
  /** The code of the close frame close() sends. */
  #closeCode: number = closeCodes.normal;
  #closing = false;
  #connClosed = false;
  /** Every write, ours and the session's, one after the other. */
  #tail: Promise<void> = Promise.resolve();
  /** A pong waiting for its turn; a newer ping replaces it (RFC 6455 section 5.5.3). */
  #pendingPong: Uint8Array | null = null;

  constructor(conn: Deno.TcpConn | Deno.TlsConn, options: WebSocketTransportOptions = {}) {
    this.#conn = conn;
    this.#decoder = new WebSocketDecoder({
      maxMessageBytes: Math.min(options.maxPayloadBytes ?? maxPayloadBytes, maxPayloadBytes),
    });
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 1000;
    this.#initialBytes = options.initialBytes !== undefined && options.initialBytes.length > 0
      ? options.initialBytes
      : null;
    this.finished = this.#finished.promise;
    const address = conn.remoteAddr;
    this.remoteIp = address.hostname;
    this.remote = address.hostname.includes(":")
      ? `[${address.hostname}]:${address.port}`
      : `${address.hostname}:${address.port}`;
  }

  async read(): Promise<Uint8Array[] | null> {
    // Bounded: each round reads at least one byte or ends.
    for (;;) {
      if (this.#error !== null) throw this.#error;
      if (this.#peerClosed || this.#closing) return null;
      let chunk = this.#initialBytes;
      this.#initialBytes = null;
      if (chunk === null) {
        let count: number | null;
        try {
          count = await this.#readSocket();
        } catch (error) {
          if (this.#closing) return null; // closed here while the read waited
          throw error;
        }
        if (this.#closing) return null;
        if (count === null) {
          this.#peerClosed = true;
          if (this.#decoder.heldBytes > 0) {
            throw new Deno.errors.UnexpectedEof("connection closed mid-message");
          }
          return null;
        }
        chunk = this.#buffer.subarray(0, count);
      }
      const payloads = this.#handle(this.#decoder.push(chunk));
      // The decoder copied what it keeps, so the buffer may be replaced now.
      if (chunk.length === this.#buffer.length && chunk.length < readChunkBytes) {
        this.#buffer = new Uint8Array(readChunkBytes);
      }
      if (payloads.length > 0) return payloads;
    }
  }

  /** Reads the socket into #buffer, or joins the read already in flight. */
  #readSocket(): Promise<number | null> {
    return this.#reading ??= this.#conn.read(this.#buffer).finally(() => {
      this.#reading = null;
    });
  }

  /**
   * Acts on decoded events; returns the payloads. An error is kept for the
   * next read(), so the payloads before it are handled first (as on TCP).
   */
  #handle(events: WebSocketEvent[]): Uint8Array[] {
    const payloads: Uint8Array[] = [];
    for (const event of events) {
      switch (event.kind) {
        case "message":
          if (event.payload.length === 0) {
            this.#fail(closeCodes.policyViolation, "bad_frame", "empty WebSocket message");
            return payloads;
          }
          payloads.push(event.payload);
          break;
        case "ping":
          this.#queuePong(event.payload);
          break;
        case "pong":
          break;
        case "close":
          this.#peerClosed = true;
          // Echo the peer's code (RFC 6455 section 5.5.1); read() returns null next.
          this.#sendClose(event.code);
          return payloads;
        case "error":
          this.#fail(
            event.closeCode,
            event.closeCode === closeCodes.tooBig ? "frame_too_large" : "bad_frame",
            event.message,
          );
          return payloads;
      }
    }
    return payloads;
  }

  #fail(closeCode: number, code: "bad_frame" | "frame_too_large", message: string): void {
    this.#closeCode = closeCode;
    this.#error = new FrameError(code, message);
  }

  setPayloadLimit(bytes: number): void {
    this.#decoder.maxMessageBytes = Math.max(1, Math.min(bytes, maxPayloadBytes));
  }

  write(batch: readonly Outgoing[]): Promise<void> {
    if (this.#closeSent || this.#closing) {
      return Promise.reject(new Deno.errors.BrokenPipe("the WebSocket is closing"));
    }
    return this.#enqueue(webSocketFrames.join(batch));
  }

  /** Writes `bytes` after everything queued before them, in one socket write when it takes them. */
  #enqueue(bytes: Uint8Array): Promise<void> {
    const written = this.#tail.then(() => this.#writeAll(bytes));
    this.#tail = written.then(noop, noop);
    return written;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** At most one pong waits: a peer that pings without reading cannot grow a queue. */
  #queuePong(payload: Uint8Array): void {
    if (this.#closeSent) return;
    const waiting = this.#pendingPong !== null;
    this.#pendingPong = encodeWebSocketFrame(opcodes.pong, payload);
    if (waiting) return;
    this.#tail = this.#tail.then(() => {
      const pong = this.#pendingPong;
      this.#pendingPong = null;
      return pong === null ? undefined : this.#writeAll(pong);
    }).then(noop, noop);
  }

  /** Queues our close frame once; `code` null sends one without a code. */
  #sendClose(code: number | null): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#pendingPong = null;
    void this.#enqueue(
      encodeWebSocketFrame(opcodes.close, code === null ? nothing : closePayload(code)),
    ).catch(noop);
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    void this.#finish();
  }

  /**
   * The close handshake, bounded by closeTimeoutMs at each step: our close
   * frame goes out, then (unless the peer closed first) we wait for its close
   * frame, so that the kernel does not reset a socket with unread input and
   * lose our frame on the way.
   */
  async #finish(): Promise<void> {
    try {
      this.#sendClose(this.#closeCode);
      const timer = setTimeout(() => this.#closeConn(), this.#closeTimeoutMs);
      await this.#tail;
      clearTimeout(timer);
      if (this.#connClosed || this.#peerClosed) return;
      if (this.#decoder.done) {
        // After a framing error the stream cannot be parsed: drain it until the peer closes.
        await lingeringClose(this.#conn, {
          lingerMs: this.#closeTimeoutMs,
          maxDiscardBytes: maxLingerBytes,
          read: () => this.#readSocket(),
        });
        return;
      }
      await this.#awaitPeerClose();
    } finally {
      this.#closeConn();
      this.#finished.resolve();
    }
  }

  /** Reads (and drops) frames until the peer's close frame, its end of stream, or the deadline. */
  async #awaitPeerClose(): Promise<void> {
    const timer = setTimeout(() => this.#closeConn(), this.#closeTimeoutMs);
    try {
      let discarded = 0;
      if (this.#initialBytes !== null) this.#decoder.push(this.#initialBytes);
      // Bounded by maxLingerBytes, the peer's close, and the timer closing the socket.
      while (!this.#decoder.done && discarded < maxLingerBytes) {
        const count = await this.#readSocket();
        if (count === null) break;
        discarded += count;
        this.#decoder.push(this.#buffer.subarray(0, count));
      }
    } catch {
      // Reset, or closed by the timer.
    } finally {
      clearTimeout(timer);
    }
  }

  #closeConn(): void {
    if (this.#connClosed) return;
    this.#connClosed = true;
    closeQuietly(this.#conn);
  }
}
