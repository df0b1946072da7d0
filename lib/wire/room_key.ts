/**
 * The room password as a key (PROTOCOL.md section 5): `server.secure`
 * parameters, the scrypt derivation of the 32-byte Noise PSK, and the bounds
 * a client checks before it spends memory on a server's parameters.
 *
 * Owns: salt generation, scrypt parameters, the prologue. Never logs, never
 * keeps the password: callers hold only the derived key. Imports only
 * @noble/hashes, lib/wire/noise.ts, lib/wire/base64.ts and types, so the browser bundle can use it too.
 */
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { fromBase64, toBase64 } from "./base64.ts";
import { noiseProtocolName } from "./noise.ts";
import type { SecureParams } from "./protocol.ts";

/** A room password, derived: what the server sends, and the key both sides use. */
export interface RoomKey {
  params: SecureParams;
  /** scrypt(utf8(password), salt, N, r, p, 32). */
  psk: Uint8Array;
}

/** The Noise prologue both sides mix in: binds the handshake to this protocol. */
/**
 * What a client says, and does, when a server it expects to ask for the room
 * password greets without asking: a man in the middle can answer
 * `server.secure = null` (issue #12). The terminal and the page both refuse
 * such a greeting before they send anything, with this sentence.
 */
export const downgradeMessage =
  "this server did not ask for the room password: it may not be the room you think; not sending anything";

export const noisePrologue: Uint8Array = new TextEncoder().encode("lanchat/1");

/** scrypt cost parameters of PROTOCOL.md section 5. */
export const scryptCost = { N: 32768, r: 8, p: 1 } as const;

/** Random salt bytes per server start. */
const saltBytes = 16;
/** Most memory a client lets a server's scrypt parameters take (128 * N * r bytes). */
const maxScryptMemoryBytes = 128 * 1024 * 1024;

/**
 * The scrypt PSK of `password` for `params`. Slow on purpose (about 0.1 to
 * 1 s, 32 MiB): derive once per server start / per join, not per connection.
 * `onProgress` gets 0..1 (the browser shows it).
 */
export async function deriveRoomPsk(
  password: string,
  params: SecureParams,
  onProgress?: (done: number) => void,
): Promise<Uint8Array> {
  return await scryptAsync(new TextEncoder().encode(password), fromBase64(params.salt), {
    N: params.N,
    r: params.r,
    p: params.p,
    dkLen: 32,
    maxmem: maxScryptMemoryBytes + 1024 * 1024,
    ...(onProgress === undefined ? {} : { onProgress }),
  });
}

/**
 * A new room key for `password`: fresh random salt, the protocol's cost.
 *
 * @example
 * const key = await createRoomKey(Deno.env.get("LANCHAT_PASSWORD")!);
 * await startServer({ roomKey: key });
 */
export async function createRoomKey(password: string): Promise<RoomKey> {
  const params: SecureParams = {
    noise: noiseProtocolName,
    kdf: "scrypt",
    salt: toBase64(crypto.getRandomValues(new Uint8Array(saltBytes))),
    ...scryptCost,
  };
  return { params, psk: await deriveRoomPsk(password, params) };
}

/**
 * Why a client should not use a server's `secure` object (unknown protocol,
 * malformed salt, scrypt cost that would take too much memory or time), or
 * null when it is usable. A hostile server must not make a client allocate
 * gigabytes.
 */
export function secureParamsProblem(secure: unknown): string | null {
  if (typeof secure !== "object" || secure === null) return "'secure' is not an object";
  const value = secure as Record<string, unknown>;
  if (value.noise !== noiseProtocolName) {
    return `the server asks for ${String(value.noise)}; this client speaks ${noiseProtocolName}`;
  }
  if (value.kdf !== "scrypt") return `unknown key derivation ${String(value.kdf)}`;
  if (typeof value.salt !== "string") return "the salt is missing";
  let salt: Uint8Array;
  try {
    salt = fromBase64(value.salt);
  } catch {
    return "the salt is not BASE64";
  }
  if (salt.length < 8 || salt.length > 64) return "the salt has an unusual length";
  const { N, r, p } = value;
  if (
    typeof N !== "number" || typeof r !== "number" || typeof p !== "number" ||
    !Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p)
  ) return "scrypt parameters N, r, p must be integers";
  if (N < 1024 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 4) {
    return `scrypt parameters N=${N} r=${r} p=${p} are out of range`;
  }
  if (128 * N * r > maxScryptMemoryBytes) {
    return `scrypt parameters N=${N} r=${r} need more memory than this client allows`;
  }
  return null;
}
