/**
 * Reads a few chosen plaintext bytes of a ChaCha20-Poly1305 message (RFC
 * 8439, the Noise transport cipher of PROTOCOL.md section 5) without opening
 * it whole and without checking its tag: for the load generator of
 * `deno task bench --preset features`, which needs only a chat message's type
 * and timing header, so that decrypting every delivery does not make the
 * generator, rather than the server, the limit.
 *
 * Owns: the ChaCha20 block function and the byte ranges it is applied to.
 * Nothing read here is authenticated: it serves timing only; whatever the
 * generator acts on (greetings, pings, errors) is opened whole and checked
 * with lib/wire/native_aead.ts. Imports only lib/wire/ (for its self-check).
 */
import { nativeAead } from "../lib/wire/native_aead.ts";
import { noiseTagBytes } from "../lib/wire/noise.ts";

/**
 * A range of plaintext bytes, [start, end). A negative start counts from the
 * plaintext's end; so does an end of 0 or below (0: up to the end).
 */
export type ByteRange = readonly [start: number, end: number];

const blockBytes = 64;
const keyWordsCache = new WeakMap<Uint8Array, Uint32Array>();
const block = new Uint32Array(16);
const blockBytesView = new Uint8Array(block.buffer);
let scratch = new Uint8Array(1024);

function littleEndianWord(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) |
    (bytes[offset + 3]! << 24)) >>> 0;
}

function keyWords(key: Uint8Array): Uint32Array {
  let words = keyWordsCache.get(key);
  if (words === undefined) {
    words = new Uint32Array(8);
    for (let index = 0; index < 8; index++) words[index] = littleEndianWord(key, index * 4);
    keyWordsCache.set(key, words);
  }
  return words;
}

/** The ChaCha20 block (RFC 8439 section 2.3) for `counter` into {@link block}. */
function chachaBlock(key: Uint32Array, counter: number, nonce: Uint8Array): void {
  const j0 = 0x61707865, j1 = 0x3320646e, j2 = 0x79622d32, j3 = 0x6b206574;
  const j4 = key[0]!, j5 = key[1]!, j6 = key[2]!, j7 = key[3]!;
  const j8 = key[4]!, j9 = key[5]!, j10 = key[6]!, j11 = key[7]!;
  const j12 = counter >>> 0;
  const j13 = littleEndianWord(nonce, 0), j14 = littleEndianWord(nonce, 4);
  const j15 = littleEndianWord(nonce, 8);
  let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
  let x8 = j8, x9 = j9, x10 = j10, x11 = j11, x12 = j12, x13 = j13, x14 = j14, x15 = j15;
  for (let round = 0; round < 10; round++) {
    // Column rounds.
    x0 = (x0 + x4) | 0, x12 ^= x0, x12 = (x12 << 16) | (x12 >>> 16);
    x8 = (x8 + x12) | 0, x4 ^= x8, x4 = (x4 << 12) | (x4 >>> 20);
    x0 = (x0 + x4) | 0, x12 ^= x0, x12 = (x12 << 8) | (x12 >>> 24);
    x8 = (x8 + x12) | 0, x4 ^= x8, x4 = (x4 << 7) | (x4 >>> 25);
    x1 = (x1 + x5) | 0, x13 ^= x1, x13 = (x13 << 16) | (x13 >>> 16);
    x9 = (x9 + x13) | 0, x5 ^= x9, x5 = (x5 << 12) | (x5 >>> 20);
    x1 = (x1 + x5) | 0, x13 ^= x1, x13 = (x13 << 8) | (x13 >>> 24);
    x9 = (x9 + x13) | 0, x5 ^= x9, x5 = (x5 << 7) | (x5 >>> 25);
    x2 = (x2 + x6) | 0, x14 ^= x2, x14 = (x14 << 16) | (x14 >>> 16);
    x10 = (x10 + x14) | 0, x6 ^= x10, x6 = (x6 << 12) | (x6 >>> 20);
    x2 = (x2 + x6) | 0, x14 ^= x2, x14 = (x14 << 8) | (x14 >>> 24);
    x10 = (x10 + x14) | 0, x6 ^= x10, x6 = (x6 << 7) | (x6 >>> 25);
    x3 = (x3 + x7) | 0, x15 ^= x3, x15 = (x15 << 16) | (x15 >>> 16);
    x11 = (x11 + x15) | 0, x7 ^= x11, x7 = (x7 << 12) | (x7 >>> 20);
    x3 = (x3 + x7) | 0, x15 ^= x3, x15 = (x15 << 8) | (x15 >>> 24);
    x11 = (x11 + x15) | 0, x7 ^= x11, x7 = (x7 << 7) | (x7 >>> 25);
    // Diagonal rounds.
    x0 = (x0 + x5) | 0, x15 ^= x0, x15 = (x15 << 16) | (x15 >>> 16);
    x10 = (x10 + x15) | 0, x5 ^= x10, x5 = (x5 << 12) | (x5 >>> 20);
    x0 = (x0 + x5) | 0, x15 ^= x0, x15 = (x15 << 8) | (x15 >>> 24);
    x10 = (x10 + x15) | 0, x5 ^= x10, x5 = (x5 << 7) | (x5 >>> 25);
    x1 = (x1 + x6) | 0, x12 ^= x1, x12 = (x12 << 16) | (x12 >>> 16);
    x11 = (x11 + x12) | 0, x6 ^= x11, x6 = (x6 << 12) | (x6 >>> 20);
    x1 = (x1 + x6) | 0, x12 ^= x1, x12 = (x12 << 8) | (x12 >>> 24);
    x11 = (x11 + x12) | 0, x6 ^= x11, x6 = (x6 << 7) | (x6 >>> 25);
    x2 = (x2 + x7) | 0, x13 ^= x2, x13 = (x13 << 16) | (x13 >>> 16);
    x8 = (x8 + x13) | 0, x7 ^= x8, x7 = (x7 << 12) | (x7 >>> 20);
    x2 = (x2 + x7) | 0, x13 ^= x2, x13 = (x13 << 8) | (x13 >>> 24);
    x8 = (x8 + x13) | 0, x7 ^= x8, x7 = (x7 << 7) | (x7 >>> 25);
    x3 = (x3 + x4) | 0, x14 ^= x3, x14 = (x14 << 16) | (x14 >>> 16);
    x9 = (x9 + x14) | 0, x4 ^= x9, x4 = (x4 << 12) | (x4 >>> 20);
    x3 = (x3 + x4) | 0, x14 ^= x3, x14 = (x14 << 8) | (x14 >>> 24);
    x9 = (x9 + x14) | 0, x4 ^= x9, x4 = (x4 << 7) | (x4 >>> 25);
  }
  block[0] = x0 + j0, block[1] = x1 + j1, block[2] = x2 + j2, block[3] = x3 + j3;
  block[4] = x4 + j4, block[5] = x5 + j5, block[6] = x6 + j6, block[7] = x7 + j7;
  block[8] = x8 + j8, block[9] = x9 + j9, block[10] = x10 + j10, block[11] = x11 + j11;
  block[12] = x12 + j12, block[13] = x13 + j13, block[14] = x14 + j14, block[15] = x15 + j15;
}

/**
 * The plaintext of `sealed` (ciphertext then 16-byte tag) under `key` and
 * `nonce` (12 bytes), with only the bytes of `ranges` filled in and every
 * other byte 0. The tag is NOT checked. The result is a view of a buffer
 * reused by the next call: read it before calling again.
 */
export function peekSealed(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ranges: readonly ByteRange[],
): Uint8Array {
  const length = sealed.length - noiseTagBytes;
  if (length < 0) throw new RangeError(`a sealed message has at least ${noiseTagBytes} bytes`);
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
  const plaintext = scratch.subarray(0, length);
  plaintext.fill(0);
  const words = keyWords(key);
  let blockInHand = -1;
  for (const [rawStart, rawEnd] of ranges) {
    const start = Math.max(0, rawStart < 0 ? length + rawStart : rawStart);
    const end = Math.min(length, rawEnd <= 0 ? length + rawEnd : rawEnd);
    for (let index = start; index < end; index++) {
      const blockIndex = Math.floor(index / blockBytes);
      if (blockIndex !== blockInHand) {
        // Block 0 keys Poly1305; the plaintext starts at block counter 1.
        chachaBlock(words, blockIndex + 1, nonce);
        blockInHand = blockIndex;
      }
      plaintext[index] = sealed[index]! ^ blockBytesView[index % blockBytes]!;
    }
  }
  return plaintext;
}

/**
 * True when {@link peekSealed} reads the bytes node:crypto's
 * ChaCha20-Poly1305 sealed (a known-answer check: run it before trusting the
 * generator's timing, e.g. on a big-endian machine it fails).
 */
export function peekAgreesWithNativeAead(): boolean {
  const key = Uint8Array.from({ length: 32 }, (_, index) => 3 * index + 1);
  const nonce = Uint8Array.from({ length: 12 }, (_, index) => 0x40 + index);
  const plaintext = Uint8Array.from({ length: 300 }, (_, index) => (index * 31 + 7) & 0xff);
  const sealed = nativeAead.seal(key, nonce, new Uint8Array(0), plaintext);
  const ranges: ByteRange[] = [[0, 13], [100, 140], [-21, 0]];
  const peeked = peekSealed(key, nonce, sealed, ranges);
  for (const [start, end] of [[0, 13], [100, 140], [279, 300]] as const) {
    for (let index = start; index < end; index++) {
      if (peeked[index] !== plaintext[index]) return false;
    }
  }
  return peeked[50] === 0 && peeked[150] === 0;
}
