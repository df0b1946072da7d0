/**
 * The Noise protocol `Noise_NNpsk0_25519_ChaChaPoly_SHA256` (Noise spec
 * revision 34): CipherState, SymmetricState, HandshakeState for both roles,
 * and Split(). PROTOCOL.md section 5 runs it with the prologue "lanchat/1".
 *
 * Owns: the handshake's state machine and nonce handling. Pure: no sockets,
 * no JSON, no clocks. The primitives (X25519, ChaCha20-Poly1305, SHA-256,
 * HMAC) come from the audited @noble libraries; nothing here invents one.
 * The transport AEAD is swappable process-wide ({@link useAead}): the Deno
 * processes install node:crypto's native ChaCha20-Poly1305 from
 * lib/wire/native_aead.ts, several times faster for file transfers; the page
 * keeps {@link nobleAead}. Imports only @noble/*, never native_aead.ts or
 * node:*, so the browser bundle (lib/web/app.js) is this same code.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";

/** The one Noise protocol lanchat speaks. */
export const noiseProtocolName = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";
/** Bytes of a Poly1305 tag: every transport message is its plaintext plus this. */
export const noiseTagBytes = 16;
/** Bytes of an X25519 public key (the `e` token). */
const dhBytes = 32;
/** Bytes of a SHA-256 output (HASHLEN). */
const hashBytes = 32;
/** Largest nonce a CipherState uses; past it the session must end (exact in a double). */
const maxNonce = Number.MAX_SAFE_INTEGER;

const utf8 = new TextEncoder();

/** A handshake or transport message that does not verify, or a state misuse by the peer. */
export class NoiseError extends Error {
  override name = "NoiseError";
}

/**
 * ChaCha20-Poly1305 as RFC 8439 defines it (32-byte key, 12-byte nonce,
 * 16-byte tag after the ciphertext): the one primitive {@link CipherState}
 * calls per message. Two implementations must give the same bytes; the
 * tests hold each to the other and to the published vectors.
 */
export interface Aead {
  /** Who implements it, for logs and tests: "noble", "node:crypto". */
  readonly name: string;
  /** Encrypts `plaintext` under `key` and `nonce` (12 bytes), authenticating `ad` too: ciphertext then tag. */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * The inverse of seal: the plaintext of `ciphertext` (tag included). Throws
   * when the tag does not verify (wrong key, nonce or `ad`, altered bytes) or
   * `ciphertext` is shorter than a tag, and then returns nothing of it.
   */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/** The portable AEAD, pure JavaScript (@noble/ciphers): the default, and the page's. */
export const nobleAead: Aead = {
  name: "noble",
  seal: (key, nonce, ad, plaintext) => chacha20poly1305(key, nonce, ad).encrypt(plaintext),
  open: (key, nonce, ad, ciphertext) => chacha20poly1305(key, nonce, ad).decrypt(ciphertext),
};

/** What every CipherState seals and opens with (read per message, so a switch applies at once). */
let processAead: Aead = nobleAead;

/**
 * Makes `aead` the ChaCha20-Poly1305 of every CipherState in this process,
 * existing ones included, from the next message on. Call it once at startup
 * (see lib/wire/native_aead.ts); it changes speed, never bytes.
 */
export function useAead(aead: Aead): void {
  processAead = aead;
}

/** The AEAD CipherStates use now ({@link nobleAead} unless {@link useAead} changed it). */
export function currentAead(): Aead {
  return processAead;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** HKDF of the Noise spec (section 4.3) with HMAC-SHA256; returns 2 or 3 outputs. */
function hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = hmac(sha256, chainingKey, inputKeyMaterial);
  const output1 = hmac(sha256, tempKey, Uint8Array.of(1));
  const output2 = hmac(sha256, tempKey, concat(output1, Uint8Array.of(2)));
  if (outputs === 2) return [output1, output2];
  return [output1, output2, hmac(sha256, tempKey, concat(output2, Uint8Array.of(3)))];
}

/** ChaChaPoly nonce: 32 zero bits, then the 64-bit counter little-endian. */
function nonceBytes(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, n % 0x1_0000_0000, true);
  view.setUint32(8, Math.floor(n / 0x1_0000_0000), true);
  return nonce;
}

/**
 * A key and a nonce (Noise spec section 5.1). Without a key it passes
 * plaintext through, as the spec says; with one, each call uses the next
 * nonce. A message that does not decrypt leaves the nonce unchanged.
 */
export class CipherState {
  #key: Uint8Array | null;
  #nonce = 0;

  /** `key`: 32 bytes, or null for "no key yet". */
  constructor(key: Uint8Array | null = null) {
    this.#key = key;
  }

  /** True once a key is set. */
  get hasKey(): boolean {
    return this.#key !== null;
  }

  /** The nonce the next message will use. */
  get nonce(): number {
    return this.#nonce;
  }

  /** Encrypts `plaintext` with associated data `ad`: ciphertext plus a 16-byte tag. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#key === null) return plaintext;
    const sealed = processAead.seal(this.#key, this.#nextNonce(), ad, plaintext);
    this.#nonce++;
    return sealed;
  }

  /** Decrypts and authenticates; throws NoiseError when the tag does not verify. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#key === null) return ciphertext;
    if (ciphertext.length < noiseTagBytes) {
      throw new NoiseError(`a sealed message has at least ${noiseTagBytes} bytes`);
    }
    let plaintext: Uint8Array;
    try {
      plaintext = processAead.open(this.#key, this.#nextNonce(), ad, ciphertext);
    } catch (error) {
      throw new NoiseError("message does not decrypt (wrong key or altered)", { cause: error });
    }
    this.#nonce++;
    return plaintext;
  }

  /** Transport messages have no associated data. */
  encrypt(plaintext: Uint8Array): Uint8Array {
    return this.encryptWithAd(new Uint8Array(0), plaintext);
  }

  /** Transport messages have no associated data. */
  decrypt(ciphertext: Uint8Array): Uint8Array {
    return this.decryptWithAd(new Uint8Array(0), ciphertext);
  }

  #nextNonce(): Uint8Array {
    if (this.#nonce >= maxNonce) throw new NoiseError("nonce exhausted: start a new session");
    return nonceBytes(this.#nonce);
  }
}

/** Noise spec section 5.2: chaining key, handshake hash and the current cipher. */
class SymmetricState {
  chainingKey: Uint8Array;
  hash: Uint8Array;
  cipher = new CipherState();

  constructor(protocolName: string) {
    const name = utf8.encode(protocolName);
    if (name.length <= hashBytes) {
      this.hash = new Uint8Array(hashBytes);
      this.hash.set(name);
    } else {
      this.hash = sha256(name);
    }
    this.chainingKey = this.hash;
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = hkdf(this.chainingKey, inputKeyMaterial, 2);
    this.chainingKey = chainingKey!;
    this.cipher = new CipherState(tempKey!);
  }

  mixHash(data: Uint8Array): void {
    this.hash = sha256(concat(this.hash, data));
  }

  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempHash, tempKey] = hkdf(this.chainingKey, inputKeyMaterial, 3);
    this.chainingKey = chainingKey!;
    this.mixHash(tempHash!);
    this.cipher = new CipherState(tempKey!);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.hash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.hash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  split(): [CipherState, CipherState] {
    const [key1, key2] = hkdf(this.chainingKey, new Uint8Array(0), 2);
    return [new CipherState(key1!), new CipherState(key2!)];
  }
}

/** Options of {@link HandshakeState}. */
export interface HandshakeOptions {
  /** The initiator (the joining client) writes the first message. */
  initiator: boolean;
  /** Bytes both sides must agree on. lanchat: utf8("lanchat/1"). */
  prologue: Uint8Array;
  /** The 32-byte pre-shared key (lanchat: scrypt of the room password). */
  psk: Uint8Array;
  /** This side's ephemeral X25519 private key. Default: 32 fresh random bytes (tests fix it). */
  ephemeralPrivateKey?: Uint8Array;
}

/** The two CipherStates of a finished handshake, from this side's point of view. */
export interface TransportCiphers {
  /** Seals what this side sends. */
  send: CipherState;
  /** Opens what this side receives. */
  receive: CipherState;
}

/**
 * One side of the NNpsk0 handshake:
 *
 *     -> psk, e
 *     <- e, ee
 *
 * The initiator calls writeMessage, then readMessage; the responder the other
 * way round. Then {@link split} gives the transport ciphers.
 *
 * @example
 * const client = new HandshakeState({ initiator: true, prologue, psk });
 * const server = new HandshakeState({ initiator: false, prologue, psk });
 * server.readMessage(client.writeMessage(new Uint8Array(0)));
 * client.readMessage(server.writeMessage(new Uint8Array(0)));
 * const { send } = client.split();
 */
export class HandshakeState {
  readonly initiator: boolean;
  readonly #symmetric: SymmetricState;
  readonly #psk: Uint8Array;
  readonly #ephemeralPrivate: Uint8Array;
  #remoteEphemeral: Uint8Array | null = null;
  /** Messages done so far: 0, 1, then 2 = finished. */
  #step = 0;
  #failed = false;

  constructor(options: HandshakeOptions) {
    if (options.psk.length !== 32) throw new RangeError("the Noise psk must be 32 bytes");
    this.initiator = options.initiator;
    this.#psk = options.psk;
    this.#ephemeralPrivate = options.ephemeralPrivateKey ??
      crypto.getRandomValues(new Uint8Array(32));
    this.#symmetric = new SymmetricState(noiseProtocolName);
    this.#symmetric.mixHash(options.prologue);
  }

  /** True once both handshake messages are done. */
  get finished(): boolean {
    return this.#step === 2;
  }

  /** The handshake hash `h`, which both sides share at the end (channel binding). */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.hash;
  }

  /** Writes this side's next handshake message carrying `payload` (lanchat sends none). */
  writeMessage(payload: Uint8Array): Uint8Array {
    this.#expectTurn(true);
    const symmetric = this.#symmetric;
    const parts: Uint8Array[] = [];
    if (this.#step === 0) symmetric.mixKeyAndHash(this.#psk);
    const ephemeralPublic = x25519.getPublicKey(this.#ephemeralPrivate);
    parts.push(ephemeralPublic);
    symmetric.mixHash(ephemeralPublic);
    symmetric.mixKey(ephemeralPublic); // psk handshakes mix `e` into the key too
    if (this.#step === 1) symmetric.mixKey(this.#dh());
    parts.push(symmetric.encryptAndHash(payload));
    this.#step++;
    return concat(...parts);
  }

  /** Reads the peer's next handshake message and returns its payload; throws NoiseError. */
  readMessage(message: Uint8Array): Uint8Array {
    this.#expectTurn(false);
    if (message.length < dhBytes + noiseTagBytes) {
      this.#failed = true;
      throw new NoiseError(
        `handshake message of ${message.length} bytes; it has at least ${dhBytes + noiseTagBytes}`,
      );
    }
    const symmetric = this.#symmetric;
    try {
      if (this.#step === 0) symmetric.mixKeyAndHash(this.#psk);
      const remoteEphemeral = message.slice(0, dhBytes);
      this.#remoteEphemeral = remoteEphemeral;
      symmetric.mixHash(remoteEphemeral);
      symmetric.mixKey(remoteEphemeral);
      if (this.#step === 1) symmetric.mixKey(this.#dh());
      const payload = symmetric.decryptAndHash(message.subarray(dhBytes));
      this.#step++;
      return payload;
    } catch (error) {
      this.#failed = true;
      if (error instanceof NoiseError) throw error;
      throw new NoiseError("handshake message rejected", { cause: error });
    }
  }

  /** The transport ciphers; only once the handshake is finished. */
  split(): TransportCiphers {
    if (!this.finished) throw new Error("split() before the handshake finished");
    const [initiatorToResponder, responderToInitiator] = this.#symmetric.split();
    return this.initiator
      ? { send: initiatorToResponder, receive: responderToInitiator }
      : { send: responderToInitiator, receive: initiatorToResponder };
  }

  /** `ee`: X25519 of my ephemeral with theirs; noble refuses a low-order (all-zero) result. */
  #dh(): Uint8Array {
    if (this.#remoteEphemeral === null) throw new NoiseError("no remote ephemeral key");
    try {
      return x25519.getSharedSecret(this.#ephemeralPrivate, this.#remoteEphemeral);
    } catch (error) {
      throw new NoiseError("the peer's ephemeral key is not usable", { cause: error });
    }
  }

  #expectTurn(writing: boolean): void {
    if (this.#failed) throw new NoiseError("the handshake already failed");
    if (this.#step >= 2) throw new NoiseError("the handshake is already finished");
    // Step 0 is the initiator's to write, step 1 the responder's.
    const writer = this.#step === 0 ? this.initiator : !this.initiator;
    if (writer !== writing) {
      throw new Error(
        `handshake misuse: it is not this side's turn to ${writing ? "write" : "read"}`,
      );
    }
  }
}
