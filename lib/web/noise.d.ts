/**
 * Types of noise.js, the bundle of lib/web/noise_entry.ts (lib/wire/noise.ts and
 * lib/wire/room_key.ts with @noble). tests/web_bundle_test.ts checks that the
 * TypeScript modules still fit these declarations.
 */

/** `server.secure` of PROTOCOL.md section 5. */
export interface SecureParams {
  noise: string;
  kdf: string;
  salt: string;
  N: number;
  r: number;
  p: number;
}

export declare const noiseProtocolName: string;
export declare const noisePrologue: Uint8Array;

export declare class NoiseError extends Error {}

export declare class CipherState {
  constructor(key?: Uint8Array | null);
  readonly hasKey: boolean;
  readonly nonce: number;
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
}

export interface TransportCiphers {
  send: CipherState;
  receive: CipherState;
}

export declare class HandshakeState {
  constructor(options: {
    initiator: boolean;
    prologue: Uint8Array;
    psk: Uint8Array;
    ephemeralPrivateKey?: Uint8Array;
  });
  readonly initiator: boolean;
  readonly finished: boolean;
  readonly handshakeHash: Uint8Array;
  writeMessage(payload: Uint8Array): Uint8Array;
  readMessage(message: Uint8Array): Uint8Array;
  split(): TransportCiphers;
}

export declare function deriveRoomPsk(
  password: string,
  params: SecureParams,
  onProgress?: (done: number) => void,
): Promise<Uint8Array>;

/** The refusal of a plaintext greeting where a password is expected (lib/wire/room_key.ts). */
export declare const downgradeMessage: string;
export declare function secureParamsProblem(secure: unknown): string | null;
