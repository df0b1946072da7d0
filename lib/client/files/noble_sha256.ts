/**
 * The portable SHA-256 of file transfers: @noble/hashes, pure JavaScript,
 * already in the page's bundle (lib/wire/noise.ts uses it). The default of
 * ChatSession; the terminal passes node:crypto's, which is faster.
 *
 * Owns: {@link nobleSha256} only. Imports @noble/hashes and transfer_types.ts.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Sha256Factory } from "./transfer_types.ts";

/**
 * A fresh incremental SHA-256 (@noble/hashes).
 *
 * @example
 * const hasher = nobleSha256();
 * hasher.update(new TextEncoder().encode("abc"));
 * hasher.hex(); // "ba7816bf..."
 */
export const nobleSha256: Sha256Factory = () => {
  const hash = sha256.create();
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => bytesToHex(hash.digest()),
  };
};
