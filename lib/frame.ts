/**
 * Length-prefixed framing (PROTOCOL.md section 1): bytes <-> payloads.
 *
 * Owns: the 4-byte unsigned big-endian header and the payload size limits.
 * Pure code: no sockets, no JSON. Imports only lib/errors.ts.
 */
import { FrameError } from "./errors.ts";

/** Bytes of the length header in front of every payload. */
export const frameHeaderBytes = 4;
/** Largest payload a frame may carry. */
export const maxPayloadBytes = 65535;
/** Size of each read from a socket, as the protocol suggests. */
export const readChunkBytes = 8192;

/**
 * Wraps one payload in a frame: 4-byte big-endian length, then the payload.
 * Throws a RangeError for an empty or oversized payload (a caller's mistake).
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length < 1 || payload.length > maxPayloadBytes) {
    throw new RangeError(
      `frame payload must be 1..${maxPayloadBytes} bytes, got ${payload.length}`,
    );
  }
  const frame = new Uint8Array(frameHeaderBytes + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/**
 * Turns a byte stream, fed in chunks of any size, into whole payloads.
 *
 * Two states: collecting the 4 header bytes, then collecting the body. The
 * length is checked before the body buffer is allocated, so a hostile length
 * never makes the decoder allocate it. After a FrameError the decoder is
 * unusable (the connection must close).
 *
 * @example
 * const decoder = new FrameDecoder();
 * for (const payload of decoder.push(chunk)) handle(payload);
 */
export class FrameDecoder {
  readonly #maxPayloadBytes: number;
  #header = new Uint8Array(frameHeaderBytes);
  #headerFill = 0;
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #failed = false;

  /** `maxPayload`: the largest L accepted (a server may lower it). Default and most: 65535. */
  constructor(maxPayload: number = maxPayloadBytes) {
    this.#maxPayloadBytes = Math.min(maxPayload, maxPayloadBytes);
  }

  /** True when a frame has started but is not complete (EOF now would cut it). */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#body !== null;
  }

  /**
   * Feeds one chunk; returns the payloads it completed, in order. The returned
   * payloads never alias `chunk`, so the caller may reuse its read buffer.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw new Error("FrameDecoder used after a framing error");
    const payloads: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body === null) {
        const take = Math.min(frameHeaderBytes - this.#headerFill, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < frameHeaderBytes) break;
        this.#headerFill = 0;
        const length = new DataView(this.#header.buffer).getUint32(0);
        this.#checkLength(length);
        if (chunk.length - offset >= length) {
          // The whole body is in this chunk: copy it out in one step.
          payloads.push(chunk.slice(offset, offset + length));
          offset += length;
          continue;
        }
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      }
      const body = this.#body;
      const take = Math.min(body.length - this.#bodyFill, chunk.length - offset);
      body.set(chunk.subarray(offset, offset + take), this.#bodyFill);
      this.#bodyFill += take;
      offset += take;
      if (this.#bodyFill === body.length) {
        payloads.push(body);
        this.#body = null;
      }
    }
    return payloads;
  }

  #checkLength(length: number): void {
    if (length === 0) {
      this.#failed = true;
      throw new FrameError("bad_frame", "frame length 0: every frame carries 1 to 65535 bytes");
    }
    if (length > this.#maxPayloadBytes) {
      this.#failed = true;
      throw new FrameError(
        "frame_too_large",
        `frame length ${length} exceeds the limit of ${this.#maxPayloadBytes} bytes`,
      );
    }
  }
}
