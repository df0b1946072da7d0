/**
 * Ed25519 identities (issue #14): the key pair of a device or of a server,
 * its fingerprint as people read it, and signatures over challenges.
 *
 * Owns: the key format (a 32-byte secret seed, a 32-byte public key, RFC
 * 8032), the fingerprint rule (`SHA256:` and the unpadded BASE64 of the
 * SHA-256 of the public key, as OpenSSH prints host keys) and its short form.
 * Pure: no files, no sockets, no clocks; the page bundles it too. Imports
 * only @noble and lib/wire/base64.ts.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { toBase64 } from "./base64.ts";

/** Bytes of an Ed25519 secret seed and of a public key. */
export const keyBytes = 32;
/** Bytes of an Ed25519 signature. */
export const signatureBytes = 64;

/** A key pair: `secretKey` is the 32-byte seed, never shown nor sent. */
export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A new key pair from the platform's secure random numbers. */
export function generateKeyPair(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** The key pair of a 32-byte secret seed; throws RangeError for another length. */
export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  if (secretKey.length !== keyBytes) {
    throw new RangeError(`an Ed25519 secret key is ${keyBytes} bytes, not ${secretKey.length}`);
  }
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/**
 * How people compare keys: `SHA256:` and the unpadded BASE64 of the SHA-256
 * of the public key (43 characters), the form `ssh-keygen -l` prints.
 *
 * @example
 * fingerprint(publicKey); // "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk"
 */
export function fingerprint(publicKey: Uint8Array): string {
  return `SHA256:${toBase64(sha256(publicKey)).replace(/=+$/, "")}`;
}

/** The first 12 characters of the fingerprint's hash, for lists and cards: "SHA256:If4x36FUomFi". */
export function shortFingerprint(publicKey: Uint8Array): string {
  return fingerprint(publicKey).slice(0, "SHA256:".length + 12);
}

/** Signs `message` with the secret seed (deterministic, RFC 8032). */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/** True when `signature` is `publicKey`'s over `message`; false for any malformed input. */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== signatureBytes || publicKey.length !== keyBytes) return false;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
