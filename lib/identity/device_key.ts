/**
 * Where the keys live, and `lanchat whoami` (issue #14).
 *
 * Owns: the device key's path (`device_key.json` in lanchat's data folder,
 * beside the history), the server key's path (`server_key.json` beside the
 * server's history) and what `whoami` prints. The key itself is made the
 * first time it is needed (key_file.ts): nothing to type. Imports
 * lib/identity/, lib/wire/identity.ts and lib/cli/data_dir.ts.
 */
import { posix, win32 } from "node:path";
import { currentDataDirEnv, type DataDirEnv, dataDirFor } from "../cli/data_dir.ts";
import { fingerprint } from "../wire/identity.ts";
import { KeyFileError, loadOrCreateKey } from "./key_file.ts";

/**
 * `device_key.json` in lanchat's data folder. Throws like dataDirFor.
 *
 * @example
 * deviceKeyPathFor("linux", { HOME: "/home/ana" }); // "/home/ana/.local/share/lanchat/device_key.json"
 */
export function deviceKeyPathFor(os: string, env: DataDirEnv): string {
  return (os === "windows" ? win32 : posix).join(dataDirFor(os, env), "device_key.json");
}

/** The device key's path on this machine (needs `--allow-env`). */
export function defaultDeviceKeyPath(): string {
  return deviceKeyPathFor(Deno.build.os, currentDataDirEnv());
}

/** Options of {@link runWhoami}, as the flags of `lanchat whoami`. */
export interface WhoamiOptions {
  /** One JSON object instead of lines. */
  json?: boolean;
  /** The key file. Default: {@link defaultDeviceKeyPath}. */
  keyPath?: string;
}

/**
 * `lanchat whoami`: where this device's key is and its fingerprint, making
 * the key if there is none yet. Returns the exit code: 0, or 1 when the key
 * file cannot be used (the message says what to do).
 */
export async function runWhoami(
  options: WhoamiOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  let path: string;
  try {
    path = options.keyPath ?? defaultDeviceKeyPath();
  } catch (error) {
    err(error instanceof Error ? error.message : String(error));
    return 1;
  }
  try {
    const { key, made } = await loadOrCreateKey(path, "device");
    const print = fingerprint(key.keyPair.publicKey);
    if (options.json === true) {
      out(JSON.stringify({
        fingerprint: print,
        path,
        created: new Date(key.created).toISOString(),
        made,
      }));
      return 0;
    }
    out(`this device: ${print}`);
    out(`key: ${path}${made ? " (made just now)" : ""}`);
    if (!made) out(`made: ${new Date(key.created).toLocaleString()}`);
    out(
      "Its secret half stays on this machine (readable by you only). `lanchat join` proves it to " +
        "servers, which keep your nick for it; /link there adds another device to your nick, " +
        "/whois NICK shows a nick's device fingerprints.",
    );
    return 0;
  } catch (error) {
    if (error instanceof KeyFileError) {
      err(error.message);
      return 1;
    }
    throw error;
  }
}

/**
 * Where `lanchat serve` keeps its own key: `server_key.json` beside its
 * history (a server is its history), or in lanchat's data folder for a
 * history in memory (a restart must not look like another server to the
 * clients that know it). Throws like dataDirFor.
 *
 * @example
 * serverKeyPathFor("/srv/lanchat/history.db", "linux", {}); // "/srv/lanchat/server_key.json"
 */
export function serverKeyPathFor(dbPath: string, os: string, env: DataDirEnv): string {
  const path = os === "windows" ? win32 : posix;
  if (dbPath === ":memory:") return path.join(dataDirFor(os, env), "server_key.json");
  return path.join(path.dirname(dbPath), "server_key.json");
}

/** {@link serverKeyPathFor} on this machine (needs `--allow-env`). */
export function defaultServerKeyPath(dbPath: string): string {
  return serverKeyPathFor(dbPath, Deno.build.os, currentDataDirEnv());
}
