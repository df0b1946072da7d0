/**
 * How a session talks to its peer: whole payloads in, batches of outgoing
 * messages out. TCP (length-prefixed frames) is one adapter; WebSocket is
 * another.
 *
 * Owns: the Transport interface and the TCP adapter (reads of 8 KiB through
 * FrameDecoder, coalesced writes). Knows nothing of the room or JSON.
 */
import { FrameDecoder, readChunkBytes } from "../../frame.ts";
import type { Outgoing } from "../outgoing.ts";

/** A connection that carries payloads. */
export interface Transport {
  /** Peer address for logs, e.g. "192.168.1.7:51234". */
  readonly remote: string;
  /** Peer IP alone (for per-address limits). */
  readonly remoteIp: string;
  /**
   * The whole payloads of the next read (at least one), or null once the peer
   * has closed. Throws FrameError on bad framing and the socket's error on a
   * reset. Handing over a read's payloads together keeps the per-payload cost
   * to a plain loop instead of one await each.
   */
  read(): Promise<Uint8Array[] | null>;
  /**
   * Writes a batch of messages, coalesced into as few writes as possible.
   * One at a time: the next write starts once this promise has settled
   * (the session's single writer guarantees it).
   */
  write(batch: readonly Outgoing[]): Promise<void>;
  /**
   * Sets the largest payload accepted from the next one on (at most 65535).
   * A connection starts with a small limit until it has joined (a `hello` and
   * a Noise handshake message are small), so that connections that never join
   * cannot make the server hold 64 KiB each.
   */
  setPayloadLimit(bytes: number): void;
  /** Closes the connection; safe to call more than once. */
  close(): void;
  /**
   * What ties a proof to this connection (issue #14): the Noise handshake
   * hash of a secure session once established; absent or null otherwise.
   */
  channelBinding?(): Uint8Array | null;
  /**
   * Reads of `bytes` at a time while a file streams in (0: back to the
   * usual size); a transport without a choice ignores it.
   */
  setReadSize?(bytes: number): void;
}

/** Frames this large are written one by one rather than joined (file chunks). */
const largeFrameBytes = 16 * 1024;
/**
 * First read size of a connection (see TcpTransport's buffer): a `hello`,
 * even with a device key and its signature, is about 250 bytes.
 */
const initialReadBytes = 512;

const nothingToWrite = new Uint8Array(0);

/**
 * Joins the frames of a batch into one buffer, for one socket write, and
 * keeps the last batch joined with its bytes. In a busy room most members
 * have the same broadcasts queued when their writers run one after another,
 * so the next member's batch is usually the same messages: it reuses the
 * bytes instead of allocating and copying them again. Bytes are never
 * changed once joined, so sharing them is safe. One per framing (TCP frames
 * here, WebSocket frames in lib/server/transport/ws_transport.ts).
 */
export class FrameJoiner {
  readonly #frameOf: (message: Outgoing) => Uint8Array;
  #lastBatch: readonly Outgoing[] = [];
  #lastBytes: Uint8Array = nothingToWrite;

  constructor(frameOf: (message: Outgoing) => Uint8Array) {
    this.#frameOf = frameOf;
  }

  join(batch: readonly Outgoing[]): Uint8Array {
    if (batch.length === 1) return this.#frameOf(batch[0]!);
    if (sameMessages(batch, this.#lastBatch)) return this.#lastBytes;
    let size = 0;
    for (const message of batch) size += this.#frameOf(message).length;
    const joined = new Uint8Array(size);
    let offset = 0;
    for (const message of batch) {
      const frame = this.#frameOf(message);
      joined.set(frame, offset);
      offset += frame.length;
    }
    this.#lastBatch = batch;
    this.#lastBytes = joined;
    return joined;
  }
}

function sameMessages(a: readonly Outgoing[], b: readonly Outgoing[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

const tcpFrames = new FrameJoiner((message) => message.frame);

/** Transport over a TCP connection using lib/frame.ts framing. */
export class TcpTransport implements Transport {
  readonly remote: string;
  readonly remoteIp: string;
  readonly #conn: Deno.TcpConn;
  readonly #decoder: FrameDecoder;
  /**
   * Idle connections hold their read buffer the whole time a read waits, so it
   * starts small and grows to readChunkBytes (8 KiB) the first time a read
   * fills it: 10,000 idle clients then hold 5 MB instead of 80 MB. (2 KiB
   * before issue #17: 512 bytes took 1.5-3.5 MB off the server's RSS at
   * 1,000 clients x 0.2 msg/s, alternating runs.)
   */
  #buffer = new Uint8Array(initialReadBytes);
  #closed = false;

  /** `options.maxPayloadBytes`: the largest frame accepted (default 65535). */
  constructor(conn: Deno.TcpConn, options: { maxPayloadBytes?: number } = {}) {
    this.#conn = conn;
    this.#decoder = new FrameDecoder(options.maxPayloadBytes);
    const address = conn.remoteAddr;
    this.remoteIp = address.hostname;
    this.remote = address.hostname.includes(":")
      ? `[${address.hostname}]:${address.port}`
      : `${address.hostname}:${address.port}`;
    conn.setNoDelay(true);
  }

  async read(): Promise<Uint8Array[] | null> {
    // Bounded: each round reads at least one byte or ends.
    for (;;) {
      // The buffer of this read (setReadSize may swap the field while it waits).
      const buffer = this.#buffer;
      const count = await this.#conn.read(buffer);
      if (count === null) {
        if (this.#decoder.midFrame) {
          throw new Deno.errors.UnexpectedEof("connection closed mid-frame");
        }
        return null;
      }
      const payloads = this.#decoder.push(buffer.subarray(0, count));
      if (count === this.#buffer.length && count < readChunkBytes) {
        this.#buffer = new Uint8Array(readChunkBytes);
      }
      if (payloads.length > 0) return payloads;
    }
  }

  setPayloadLimit(bytes: number): void {
    this.#decoder.maxPayloadBytes = bytes;
  }

  setReadSize(bytes: number): void {
    const size = bytes > 0 ? bytes : readChunkBytes;
    if (size !== this.#buffer.length) this.#buffer = new Uint8Array(size);
  }

  write(batch: readonly Outgoing[]): Promise<void> {
    if (this.#writing !== nothingToWrite) {
      throw new Error("TcpTransport.write called while a write is in flight");
    }
    // File chunks (64 KiB frames) go out one write each: joining them would copy them all again.
    if (batch.length > 1 && batch[0]!.payload.length >= largeFrameBytes) {
      return this.#writeEach(batch);
    }
    const bytes = tcpFrames.join(batch);
    // One write at a time (the session's single writer), so the bytes in
    // flight fit in a field and the handler is made once, not per write.
    this.#writing = bytes;
    return this.#conn.write(bytes).then(this.#afterWrite);
  }

  /** The bytes of the write in flight. */
  #writing: Uint8Array = nothingToWrite;

  readonly #afterWrite = (written: number): Promise<void> | undefined => {
    const bytes = this.#writing;
    this.#writing = nothingToWrite;
    if (written < bytes.length) return this.#writeRest(bytes, written);
  };

  async #writeEach(batch: readonly Outgoing[]): Promise<void> {
    this.#writing = new Uint8Array(1); // in flight (any value but nothingToWrite)
    try {
      for (const message of batch) {
        const frame = message.frame;
        let offset = 0;
        // Bounded: each round writes at least one byte or throws.
        while (offset < frame.length) offset += await this.#conn.write(frame.subarray(offset));
      }
    } finally {
      this.#writing = nothingToWrite;
    }
  }

  async #writeRest(bytes: Uint8Array, offset: number): Promise<void> {
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or the runtime: nothing left to release.
    }
  }
}
