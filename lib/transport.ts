/**
 * How a session talks to its peer: whole payloads in, batches of outgoing
 * messages out. TCP (length-prefixed frames) is one adapter; WebSocket is
 * another.
 *
 * Owns: the Transport interface and the TCP adapter (reads of 8 KiB through
 * FrameDecoder, coalesced writes). Knows nothing of the room or JSON.
 */
import { FrameDecoder, readChunkBytes } from "./frame.ts";
import type { Outgoing } from "./outgoing.ts";

/** A connection that carries payloads. */
export interface Transport {
  /** Peer address for logs, e.g. "192.168.1.7:51234". */
  readonly remote: string;
  /** Peer IP alone (for per-address limits). */
  readonly remoteIp: string;
  /**
   * Yields whole payloads until the peer closes. Throws FrameError on bad
   * framing and the socket's error on a reset.
   */
  payloads(): AsyncIterable<Uint8Array>;
  /** Writes a batch of messages, coalesced into as few writes as possible. */
  write(batch: readonly Outgoing[]): Promise<void>;
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

/** Most bytes joined into one coalesced socket write. */
const maxCoalescedBytes = 256 * 1024;

/** Transport over a TCP connection using lib/frame.ts framing. */
export class TcpTransport implements Transport {
  readonly remote: string;
  readonly remoteIp: string;
  readonly #conn: Deno.TcpConn;
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const address = conn.remoteAddr;
    this.remoteIp = address.hostname;
    this.remote = address.hostname.includes(":")
      ? `[${address.hostname}]:${address.port}`
      : `${address.hostname}:${address.port}`;
    conn.setNoDelay(true);
  }

  async *payloads(): AsyncGenerator<Uint8Array> {
    const decoder = new FrameDecoder();
    const buffer = new Uint8Array(readChunkBytes);
    for (;;) {
      const count = await this.#conn.read(buffer);
      if (count === null) {
        if (decoder.midFrame) throw new Deno.errors.UnexpectedEof("connection closed mid-frame");
        return;
      }
      yield* decoder.push(buffer.subarray(0, count));
    }
  }

  async write(batch: readonly Outgoing[]): Promise<void> {
    if (batch.length === 1) return await this.#writeAll(batch[0]!.frame);
    let index = 0;
    while (index < batch.length) {
      let size = 0, end = index;
      while (
        end < batch.length &&
        (end === index || size + batch[end]!.frame.length <= maxCoalescedBytes)
      ) {
        size += batch[end]!.frame.length;
        end++;
      }
      const joined = new Uint8Array(size);
      let offset = 0;
      for (let item = index; item < end; item++) {
        joined.set(batch[item]!.frame, offset);
        offset += batch[item]!.frame.length;
      }
      await this.#writeAll(joined);
      index = end;
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
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
