/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * What the page remembers in this browser (localStorage, per origin): the
 * nick last joined with, that the room at this origin had a password, the
 * key its server proved the first time, and this browser's device key
 * (issue #14, PROTOCOL.md section 8).
 *
 * Owns: the storage keys, the device key's stored form, and surviving
 * disabled or full storage (then the page simply asks again, and a device
 * key lasts as long as the page). Never stores the room password. Imports
 * lib/wire/identity.ts and lib/wire/base64.ts only.
 */
import { generateKeyPair, type KeyPair, keyPairFromSecret } from "../../wire/identity.ts";
import { fromBase64, toBase64 } from "../../wire/base64.ts";

/** Where the chosen nick is remembered. */
const nickStorageKey = "lanchat.nick";
/** Set once this browser joined this origin's room with its password. */
const passwordMarkKey = "lanchat.roomHadPassword";
/** The fingerprint of the key this origin's server proved the first time. */
const serverKeyKey = "lanchat.serverKey";
/** This browser's device key: JSON `{ "version": 1, "secretKey": BASE64 of the 32-byte seed }`. */
const deviceKeyKey = "lanchat.deviceKey";

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // Storage disabled: nothing remembered.
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage disabled or full: nothing to remember with.
  }
}

/** The nick this browser joined with last, or "". */
export function storedNick(): string {
  return read(nickStorageKey) ?? "";
}

export function storeNick(nick: string): void {
  write(nickStorageKey, nick);
}

/**
 * Whether this browser joined the room at this origin with its password.
 * Once it has, a greeting that does not ask for the password is refused
 * (issue #12: a man in the middle could send it).
 */
export function roomHadPassword(): boolean {
  return read(passwordMarkKey) === "yes";
}

export function markRoomPassword(had: boolean): void {
  write(passwordMarkKey, had ? "yes" : null);
}

/** The fingerprint of the key this origin's server proved before, or null. */
export function knownServerKey(): string | null {
  return read(serverKeyKey);
}

/** Remembers the server's key (`null`: forgets it, when its operator says it changed). */
export function storeServerKey(fingerprint: string | null): void {
  write(serverKeyKey, fingerprint);
}

/** This browser's device key, and what the person should know about how it was had. */
export interface DeviceKeyLoad {
  key: KeyPair;
  /**
   * Null when the stored key was read (or one was made and stored on first
   * use); otherwise a sentence for the log: the stored value was damaged and
   * a new key replaced it, or the browser keeps nothing and the key lasts as
   * long as this page.
   */
  problem: string | null;
}

/** The secret seed of a stored device key, or null when `stored` is not one. */
function parseDeviceKey(stored: string): Uint8Array | null {
  try {
    const value: unknown = JSON.parse(stored);
    if (typeof value !== "object" || value === null) return null;
    const { version, secretKey } = value as Record<string, unknown>;
    if (version !== 1 || typeof secretKey !== "string") return null;
    const seed = fromBase64(secretKey);
    return seed.length === 32 ? seed : null;
  } catch {
    return null; // Not JSON, or not BASE64.
  }
}

/**
 * This browser's device key (PROTOCOL.md section 8): read from storage, or
 * made silently on first use and stored, so every tab of this profile on
 * this origin joins as the same person. A damaged stored value is replaced
 * by a new key (the old account can no longer be joined from here without a
 * code); the returned `problem` says so.
 *
 * @example
 * const { key, problem } = loadDeviceKey();
 * if (problem !== null) notice(problem);
 */
export function loadDeviceKey(): DeviceKeyLoad {
  const stored = read(deviceKeyKey);
  if (stored !== null) {
    const seed = parseDeviceKey(stored);
    if (seed !== null) return { key: keyPairFromSecret(seed), problem: null };
  }
  const made = generateKeyPair();
  write(deviceKeyKey, JSON.stringify({ version: 1, secretKey: toBase64(made.secretKey) }));
  // Another tab may have made one at the same moment: whichever was stored last is the one.
  const kept = read(deviceKeyKey);
  const seed = kept === null ? null : parseDeviceKey(kept);
  if (seed === null) {
    return {
      key: made,
      problem: "This browser does not let the page keep its device key: this page joins as a " +
        "new device, and another tab or a reload will not be the same person.",
    };
  }
  const key = keyPairFromSecret(seed);
  return {
    key,
    problem: stored === null ? null : "This browser's device key was damaged, so the page made " +
      "a new one. To join under a nick you had, use a code from one of your other devices " +
      "(Add a device there).",
  };
}
