/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * What the page remembers in this browser (localStorage, per origin): the
 * nick last joined with, that the room at this origin had a password, and
 * the key its server proved the first time (issue #14).
 *
 * Owns: the storage keys and surviving disabled or full storage (then the
 * page simply asks again). Never stores the room password or a key.
 */

/** Where the chosen nick is remembered. */
const nickStorageKey = "lanchat.nick";
/** Set once this browser joined this origin's room with its password. */
const passwordMarkKey = "lanchat.roomHadPassword";
/** The fingerprint of the key this origin's server proved the first time. */
const serverKeyKey = "lanchat.serverKey";

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
