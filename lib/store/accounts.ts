/**
 * Accounts and their device keys (PROTOCOL.md section 8): the `Accounts`
 * interface the room uses, and an in-memory implementation.
 *
 * Owns: which account owns which nick (first claim wins), which device keys
 * belong to which account, the skeletons of owned nicks (given by the
 * caller: the store does not compute look-alikes), and what the operator may
 * change (`lanchat accounts`). The rules of who may claim what are the
 * room's (lib/server/room.ts); this module keeps the facts.
 * Imports only lib/wire/protocol.ts and lib/wire/identity.ts; must not import the
 * room, sessions or sockets. The SQLite implementation is lib/store/accounts_sqlite.ts.
 */
import { nickKey } from "../wire/protocol.ts";
import { fingerprint } from "../wire/identity.ts";

/** An account: a person, known by the device keys that share its nick. */
export interface Account {
  id: number;
  /** The nick it owns, as it was claimed or last renamed. */
  nick: string;
  /** When it was made (ms). */
  created: number;
}

/** One device key of an account. */
export interface Device {
  publicKey: Uint8Array;
  accountId: number;
  /** When it was added (ms). */
  added: number;
  /** When it last joined or left (ms), or null when never since it was added. */
  seen: number | null;
}

/** An account with its devices, as `lanchat accounts` lists it. */
export interface AccountListing extends Account {
  devices: Device[];
  /** When it was released (ms), or null while it owns its nick. */
  released: number | null;
}

/**
 * Where accounts are kept. Every call is synchronous and cheap (an indexed
 * lookup): the room calls them on `hello`, `nick` and `whois`.
 */
export interface Accounts {
  /** The account holding device `publicKey`, or null. */
  forDevice(publicKey: Uint8Array): Account | null;
  /** The account owning `nick` (compared as nicks are), or null. */
  owner(nick: string): Account | null;
  /** The nick of account `id`, or null when there is no such account or it was released. */
  nickOf(id: number): string | null;
  /** An account other than `except` whose nick has one of `skeletons`, or null. */
  lookalikeOwner(skeletons: string[], except: number | null): Account | null;
  /**
   * Makes an account owning `nick` (whose look-alike forms are `skeletons`)
   * with one device. Private messages stored before accounts existed that
   * were from or to `nick` become the new account's.
   */
  claim(nick: string, skeletons: string[], publicKey: Uint8Array, now: number): Account;
  /** Moves `accountId` to `nick`: the old nick is free from then on. */
  rename(accountId: number, nick: string, skeletons: string[]): Account;
  /** Adds device `publicKey` to `accountId`. */
  addDevice(accountId: number, publicKey: Uint8Array, now: number): void;
  /** The devices of `accountId`, oldest first. */
  devices(accountId: number): Device[];
  /** Notes that device `publicKey` was online at `now`. */
  seen(publicKey: Uint8Array, now: number): void;
  /** How many accounts own a nick (released ones not counted). */
  count(): number;
  /**
   * True when another process (the operator's `lanchat accounts`) changed
   * the accounts since the last call (or since this object was made).
   */
  changedElsewhere(): boolean;
}

/** Accounts in memory: for tests and servers whose history is in memory. */
export class MemoryAccounts implements Accounts {
  #accounts = new Map<number, Account>();
  #byNick = new Map<string, Account>();
  #skeletons = new Map<number, string[]>();
  #devices = new Map<string, Device>();
  #nextId = 1;

  forDevice(publicKey: Uint8Array): Account | null {
    const device = this.#devices.get(fingerprint(publicKey));
    return device === undefined ? null : this.#accounts.get(device.accountId) ?? null;
  }

  owner(nick: string): Account | null {
    return this.#byNick.get(nickKey(nick)) ?? null;
  }

  nickOf(id: number): string | null {
    return this.#accounts.get(id)?.nick ?? null;
  }

  lookalikeOwner(skeletons: string[], except: number | null): Account | null {
    for (const [id, owned] of this.#skeletons) {
      if (id === except) continue;
      if (owned.some((skeleton) => skeletons.includes(skeleton))) {
        return this.#accounts.get(id) ?? null;
      }
    }
    return null;
  }

  claim(nick: string, skeletons: string[], publicKey: Uint8Array, now: number): Account {
    const account: Account = { id: this.#nextId++, nick, created: now };
    this.#accounts.set(account.id, account);
    this.#byNick.set(nickKey(nick), account);
    this.#skeletons.set(account.id, skeletons);
    this.addDevice(account.id, publicKey, now);
    return { ...account };
  }

  rename(accountId: number, nick: string, skeletons: string[]): Account {
    const account = this.#accounts.get(accountId);
    if (account === undefined) throw new Error(`no account ${accountId}`);
    this.#byNick.delete(nickKey(account.nick));
    account.nick = nick;
    this.#byNick.set(nickKey(nick), account);
    this.#skeletons.set(accountId, skeletons);
    return { ...account };
  }

  addDevice(accountId: number, publicKey: Uint8Array, now: number): void {
    this.#devices.set(fingerprint(publicKey), {
      publicKey: publicKey.slice(),
      accountId,
      added: now,
      seen: null,
    });
  }

  devices(accountId: number): Device[] {
    return [...this.#devices.values()].filter((device) => device.accountId === accountId);
  }

  seen(publicKey: Uint8Array, now: number): void {
    const device = this.#devices.get(fingerprint(publicKey));
    if (device !== undefined) device.seen = now;
  }

  count(): number {
    return this.#accounts.size;
  }

  changedElsewhere(): boolean {
    return false;
  }
}
