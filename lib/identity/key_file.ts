/**
 * A key pair kept in a file of lanchat's data folder (issue #14): the
 * device key of a person's terminal client, and later the server's own key.
 *
 * Owns: the file's format (JSON: what it is, a version, the BASE64 secret
 * seed and public key, when it was made), making it once and never
 * overwriting it (a lost key is a lost identity), who may read it (mode 0600
 * on Unix; a file others can read is refused with the chmod that fixes it),
 * and saying plainly what is wrong with a damaged one. Imports lib/wire/
 * (keys, BASE64) and node:path only.
 */
import { dirname } from "node:path";
import { fromBase64, toBase64 } from "../wire/base64.ts";
import { generateKeyPair, type KeyPair, keyPairFromSecret } from "../wire/identity.ts";

/** What a key file holds a key for. */
export type KeyKind = "device" | "server";

/** A key read from (or just written to) its file. */
export interface StoredKey {
  kind: KeyKind;
  keyPair: KeyPair;
  /** When the key was made (ms since the epoch). */
  created: number;
  path: string;
}

/** The file's JSON. */
interface KeyFileJson {
  lanchat: `${KeyKind}-key`;
  version: 1;
  secretKey: string;
  publicKey: string;
  created: number;
}

/** A key file that cannot be used; `message` says why and what to do. */
export class KeyFileError extends Error {
  override name = "KeyFileError";
}

/** Options of {@link loadOrCreateKey}. */
export interface KeyFileOptions {
  /** The clock for `created`. Default Date.now. */
  now?: () => number;
  /** Unix permission checks (off on Windows, where files have no such modes). Default: on elsewhere. */
  checkMode?: boolean;
}

/**
 * The key in `path`, made (with its folder) the first time: never replaced,
 * also when two processes make it at once (the first one written wins, and
 * both get it). Throws {@link KeyFileError} for a file others may read, or
 * one that is damaged or of another kind.
 *
 * @example
 * const { key, made } = await loadOrCreateKey(deviceKeyPath(), "device");
 * console.log(fingerprint(key.keyPair.publicKey), made ? "(new)" : "");
 */
export async function loadOrCreateKey(
  path: string,
  kind: KeyKind,
  options: KeyFileOptions = {},
): Promise<{ key: StoredKey; made: boolean }> {
  const existing = await readKey(path, kind, options);
  if (existing !== null) return { key: existing, made: false };
  const created = (options.now ?? Date.now)();
  const keyPair = generateKeyPair();
  const json: KeyFileJson = {
    lanchat: `${kind}-key`,
    version: 1,
    secretKey: toBase64(keyPair.secretKey),
    publicKey: toBase64(keyPair.publicKey),
    created,
  };
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written whole to a private temporary file, then linked into place: a reader never sees half
  // a key, and a link never replaces a file another process put there first.
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
      await file.sync();
    } finally {
      file.close();
    }
    try {
      await Deno.link(temporary, path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const winner = await readKey(path, kind, options);
      if (winner === null) throw error;
      return { key: winner, made: false };
    }
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
  return { key: { kind, keyPair, created, path }, made: true };
}

/** The key in `path`, or null when there is no file. Throws {@link KeyFileError} like loadOrCreateKey. */
export async function readKey(
  path: string,
  kind: KeyKind,
  options: KeyFileOptions = {},
): Promise<StoredKey | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new KeyFileError(
      `cannot read the ${kind} key ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
  if (options.checkMode ?? Deno.build.os !== "windows") {
    const mode = (await Deno.stat(path)).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      throw new KeyFileError(
        `the ${kind} key ${path} can be read by other users of this machine ` +
          `(mode ${(mode & 0o777).toString(8)}): it proves who you are, so keep it to yourself: ` +
          `chmod 600 '${path}'`,
      );
    }
  }
  const damaged = (why: string) =>
    new KeyFileError(
      `the ${kind} key ${path} is damaged (${why}). lanchat does not replace it, because the key ` +
        `is your identity on the servers you joined: restore it from a backup, or move it away ` +
        `to start with a new key (servers will then see a new device).`,
    );
  let json: Partial<KeyFileJson>;
  try {
    json = JSON.parse(text);
  } catch {
    throw damaged("not JSON");
  }
  if (json.lanchat !== `${kind}-key`) throw damaged(`it is not a lanchat ${kind} key`);
  if (json.version !== 1) throw damaged(`version ${json.version} is not one this lanchat reads`);
  let secretKey: Uint8Array, publicKey: Uint8Array;
  try {
    secretKey = fromBase64(String(json.secretKey));
    publicKey = fromBase64(String(json.publicKey));
  } catch {
    throw damaged("the keys are not BASE64");
  }
  if (secretKey.length !== 32) throw damaged("the secret key is not 32 bytes");
  const keyPair = keyPairFromSecret(secretKey);
  if (toBase64(keyPair.publicKey) !== toBase64(publicKey)) {
    throw damaged("the public key does not belong to the secret key");
  }
  const created = typeof json.created === "number" ? json.created : 0;
  return { kind, keyPair, created, path };
}
