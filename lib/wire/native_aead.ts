/**
 * ChaCha20-Poly1305 from the runtime (node:crypto's `chacha20-poly1305`,
 * native code in Deno): the same bytes as lib/wire/noise.ts's noble AEAD,
 * six to seven times faster on 64 KiB payloads (about 600-800 MB/s against
 * 100) and faster on small ones too, which file transfers in a room with a
 * password need (issue #16). The Deno processes call {@link installNativeAead} once at
 * startup; from then on every Noise CipherState seals and opens with it.
 *
 * Owns: the node:crypto adapter to the {@link Aead} interface, and the check
 * that it agrees with noble before it is used. Deno only: the page
 * (lib/web/page/, bundled for browsers) must not import this module, nor must
 * anything the page imports (lib/wire/noise.ts does not): a browser has no
 * node:crypto. Imports only node:crypto and lib/wire/noise.ts.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { nobleAead, noiseTagBytes, useAead } from "./noise.ts";
import type { Aead } from "./noise.ts";

const algorithm = "chacha20-poly1305";
const options = { authTagLength: noiseTagBytes };

/** A plain Uint8Array of `bytes` (a node Buffer, whose slice() would share memory), copied only if shared. */
function plainBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength) {
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  return Uint8Array.prototype.slice.call(bytes);
}

/** node:crypto's ChaCha20-Poly1305 as an {@link Aead}. */
export const nativeAead: Aead = {
  name: "node:crypto",

  seal(key, nonce, ad, plaintext) {
    const cipher = createCipheriv(algorithm, key, nonce, options);
    if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    const rest = cipher.final(); // empty for a stream cipher; kept for correctness
    const sealed = new Uint8Array(body.length + rest.length + noiseTagBytes);
    sealed.set(body);
    sealed.set(rest, body.length);
    sealed.set(cipher.getAuthTag(), body.length + rest.length);
    return sealed;
  },

  open(key, nonce, ad, ciphertext) {
    if (ciphertext.length < noiseTagBytes) {
      throw new RangeError(`a sealed message has at least ${noiseTagBytes} bytes`);
    }
    const bodyLength = ciphertext.length - noiseTagBytes;
    const decipher = createDecipheriv(algorithm, key, nonce, options);
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength });
    const body = decipher.update(ciphertext.subarray(0, bodyLength));
    // final() checks the tag and throws when it does not verify; until then
    // `body` is unauthenticated and must not leave this function.
    const rest = decipher.final();
    if (rest.length === 0) return plainBytes(body);
    const plaintext = new Uint8Array(body.length + rest.length);
    plaintext.set(body);
    plaintext.set(rest, body.length);
    return plaintext;
  },
};

/**
 * True when {@link nativeAead} gives noble's bytes and refuses an altered
 * message: a known-answer check run before it is trusted with traffic.
 */
export function nativeAeadAgreesWithNoble(): boolean {
  try {
    const key = Uint8Array.from({ length: 32 }, (_, index) => index + 1);
    const nonce = Uint8Array.from({ length: 12 }, (_, index) => 0xa0 + index);
    const ad = new TextEncoder().encode("lanchat native aead self-check");
    const plaintext = Uint8Array.from({ length: 1000 }, (_, index) => index * 7);
    for (const adUsed of [ad, new Uint8Array(0)]) {
      const sealed = nativeAead.seal(key, nonce, adUsed, plaintext);
      if (sealed.toHex() !== nobleAead.seal(key, nonce, adUsed, plaintext).toHex()) return false;
      if (nativeAead.open(key, nonce, adUsed, sealed).toHex() !== plaintext.toHex()) return false;
      const altered = sealed.slice();
      altered[altered.length - 1]! ^= 1;
      try {
        nativeAead.open(key, nonce, adUsed, altered);
        return false; // an altered tag that opens: never use it
      } catch {
        // refused, as it must be
      }
    }
    return true;
  } catch {
    return false; // no chacha20-poly1305 in this runtime
  }
}

/**
 * Makes node:crypto's ChaCha20-Poly1305 the AEAD of every Noise CipherState
 * in this process, after {@link nativeAeadAgreesWithNoble}. Returns false,
 * and leaves noble in place, when the check fails: slower, never wrong.
 * Call it once at startup, in Deno only.
 *
 * @example
 * import { installNativeAead } from "./lib/wire/native_aead.ts";
 * installNativeAead();
 */
export function installNativeAead(): boolean {
  if (!nativeAeadAgreesWithNoble()) return false;
  useAead(nativeAead);
  return true;
}
