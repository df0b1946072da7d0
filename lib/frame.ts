/**
 * Length-prefixed framing (PROTOCOL.md section 1): bytes <-> payloads.
 *
 * Owns: the 4-byte unsigned big-endian header and the payload size limits.
 * Pure code: no sockets, no JSON. Imports only lib/wire/errors.ts.
 */
import { FrameError } from "./wire/errors.ts";

/** Bytes of the length header in front of every payload. */
export const frameHeaderBytes = 4;
/** Largest payload a frame may carry. */
export const maxPayloadBytes = 65535;
/** Size of each read from a socket, as the protocol suggests. */
export const readChunkBytes = 8192;

const noBody = new Uint8Array(0);
/** Bytes of a body that must arrive before the rest of it is allocated in one go. */
const wholeBodyAfterBytes = 8192;

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
 * length is checked before anything is kept for the body, and the body is
 * kept as the bytes arrive, never allocated whole from the header: a peer
 * that announces 65,535 bytes and sends one holds one byte here, not 64 KiB
 * (12,000 such connections held 794 MB before). After a FrameError the
 * decoder is unusable (the connection must close).
 *
 * @example
 * const decoder = new FrameDecoder();
 * for (const payload of decoder.push(chunk)) handle(payload);
 */
export class FrameDecoder {
  #maxPayloadBytes: number;
  #header = new Uint8Array(frameHeaderBytes);
  #headerFill = 0;
  /** Length of the body being collected, or -1 between frames. */
  #bodyLength = -1;
  /** The body's bytes so far; grown (doubling) as they arrive, up to #bodyLength. */
  #body: Uint8Array = noBody;
  #bodyFill = 0;
  #failed = false;

  /** `maxPayload`: the largest L accepted (a server may lower it). Default and most: 65535. */
  constructor(maxPayload: number = maxPayloadBytes) {
    this.#maxPayloadBytes = Math.min(maxPayload, maxPayloadBytes);
  }

  /** The largest L accepted from the next header on (at most 65535). */
  get maxPayloadBytes(): number {
    return this.#maxPayloadBytes;
  }

  set maxPayloadBytes(bytes: number) {
    this.#maxPayloadBytes = Math.max(1, Math.min(bytes, maxPayloadBytes));
  }

  /** True when a frame has started but is not complete (EOF now would cut it). */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#bodyLength >= 0;
  }

  /** Bytes held for the frame in progress (header and body so far). */
  get heldBytes(): number {
    return this.#headerFill + this.#bodyFill;
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
      if (this.#bodyLength < 0) {
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
        this.#bodyLength = length;
        this.#bodyFill = 0;
      }
      const take = Math.min(this.#bodyLength - this.#bodyFill, chunk.length - offset);
      this.#reserve(this.#bodyFill + take);
      this.#body.set(chunk.subarray(offset, offset + take), this.#bodyFill);
      this.#bodyFill += take;
      offset += take;
      if (this.#bodyFill === this.#bodyLength) {
        payloads.push(
          this.#body.length === this.#bodyLength
            ? this.#body
            : this.#body.slice(0, this.#bodyLength),
        );
        this.#body = noBody;
        this.#bodyLength = -1;
        this.#bodyFill = 0;
      }
    }
    return payloads;
  }

  /**
   * Grows the body buffer to hold at least `bytes` (doubling, at least 1 KiB, at most the body).
   * Once 8 KiB have arrived the peer is really sending: the whole body is allocated at once
   * (a file chunk of 64 KiB split over reads was copied six times on its way up).
   */
  #reserve(bytes: number): void {
    if (bytes <= this.#body.length) return;
    const capacity = bytes >= wholeBodyAfterBytes
      ? this.#bodyLength
      : Math.min(this.#bodyLength, Math.max(bytes, this.#body.length * 2, 1024));
    const grown = new Uint8Array(capacity);
    grown.set(this.#body.subarray(0, this.#bodyFill));
    this.#body = grown;
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
