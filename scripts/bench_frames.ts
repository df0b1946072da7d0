/**
 * Length-prefixed frames (PROTOCOL.md section 1) read in place, for the load
 * generator of `deno task bench --preset features`: a payload is a view of
 * the read buffer, not a copy. lib/frame.ts's FrameDecoder copies every
 * payload into a buffer of its own (right for the server and the clients,
 * which keep payloads); at half a million deliveries a second those copies
 * (an allocation each) were a quarter of the generator's CPU.
 *
 * Owns: walking a chunk's frames and keeping the one frame a read cut in two.
 * Pure: no sockets. Imports only lib/frame.ts (the limits).
 */
import { frameHeaderBytes, maxPayloadBytes } from "../lib/frame.ts";

/**
 * Turns chunks into payloads. The payloads of a chunk are views of it: use
 * them before the chunk's buffer is read into again. A frame cut by the end of
 * a chunk is kept (copied) until the next chunk completes it.
 *
 * @example
 * const frames = new FrameViews();
 * for (const payload of frames.push(buffer.subarray(0, count))) handle(payload);
 */
export class FrameViews {
  /** The frame cut by the end of the last chunk: header and body so far. */
  #held = new Uint8Array(0);
  #heldBytes = 0;

  /** The payloads `chunk` completes, in order. Throws RangeError on a length of 0 or above 65,535. */
  push(chunk: Uint8Array): Uint8Array[] {
    const payloads: Uint8Array[] = [];
    let offset = 0;
    if (this.#heldBytes > 0) {
      offset = this.#complete(chunk, payloads);
      if (this.#heldBytes > 0) return payloads;
    }
    while (chunk.length - offset >= frameHeaderBytes) {
      const length = payloadLength(chunk, offset);
      const end = offset + frameHeaderBytes + length;
      if (end > chunk.length) break;
      payloads.push(chunk.subarray(offset + frameHeaderBytes, end));
      offset = end;
    }
    if (offset < chunk.length) this.#hold(chunk.subarray(offset));
    return payloads;
  }

  /** Adds the start of `chunk` to the held frame; returns how much of `chunk` it took. */
  #complete(chunk: Uint8Array, payloads: Uint8Array[]): number {
    let taken = 0;
    if (this.#heldBytes < frameHeaderBytes) {
      taken = Math.min(frameHeaderBytes - this.#heldBytes, chunk.length);
      this.#append(chunk.subarray(0, taken));
      if (this.#heldBytes < frameHeaderBytes) return taken;
    }
    const total = frameHeaderBytes + payloadLength(this.#held, 0);
    const more = Math.min(total - this.#heldBytes, chunk.length - taken);
    this.#append(chunk.subarray(taken, taken + more));
    taken += more;
    if (this.#heldBytes === total) {
      // A copy: the held buffer takes the next cut frame before this payload is used.
      payloads.push(this.#held.slice(frameHeaderBytes, total));
      this.#heldBytes = 0;
    }
    return taken;
  }

  #hold(bytes: Uint8Array): void {
    this.#heldBytes = 0;
    this.#append(bytes);
  }

  #append(bytes: Uint8Array): void {
    const needed = this.#heldBytes + bytes.length;
    if (needed > this.#held.length) {
      const grown = new Uint8Array(Math.max(needed, 2 * this.#held.length, 256));
      grown.set(this.#held.subarray(0, this.#heldBytes));
      this.#held = grown;
    }
    this.#held.set(bytes, this.#heldBytes);
    this.#heldBytes = needed;
  }
}

/** The big-endian length at `offset`, checked against the protocol's limits. */
function payloadLength(bytes: Uint8Array, offset: number): number {
  const length = ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) |
    (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
  if (length < 1 || length > maxPayloadBytes) {
    throw new RangeError(
      `frame length ${length}: every frame carries 1 to ${maxPayloadBytes} bytes`,
    );
  }
  return length;
}
