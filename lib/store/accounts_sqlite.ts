/**
 * Accounts in a lanchat history file (schema version 2 of
 * lib/store/history_sqlite.ts): the server's `Accounts`, and what the
 * operator's `lanchat accounts` changes, on the file of a stopped or running
 * server (SQLite's locking lets both write; the running server notices
 * through `changedElsewhere`).
 *
 * Owns: the SQL of accounts, devices and skeletons, and the hand-over of
 * private messages stored before accounts existed (`unclaimed`) to the first
 * account that owns their nick.
 * Imports only lib/store/accounts.ts, lib/store/history_errors.ts, lib/wire/ and node:sqlite;
 * must not import the room, sessions or sockets.
 */
import type { DatabaseSync } from "node:sqlite";
import { nickKey } from "../wire/protocol.ts";
import { fingerprint } from "../wire/identity.ts";
import { type Row, Statements } from "./sqlite_statements.ts";
import type { Account, AccountListing, Accounts, Device } from "./accounts.ts";

/** What `release` and `removeDevice` did, for the operator's report. */
export interface OperatorChange {
  account: Account;
  /** Device keys removed. */
  devicesRemoved: number;
}

/** Accounts over a history file's connection (the caller opens, migrates and closes it). */
export class SqliteAccounts implements Accounts {
  readonly #sql: Statements;
  #dataVersion: number;

  constructor(db: DatabaseSync, path: string) {
    this.#sql = new Statements(db, path);
    this.#dataVersion = this.#readDataVersion();
  }

  forDevice(publicKey: Uint8Array): Account | null {
    const row = this.#sql.get(
      `SELECT a.id, a.nick, a.created FROM devices d JOIN accounts a ON a.id = d.account_id
       WHERE d.public_key = ? AND a.released IS NULL`,
      publicKey,
    );
    return row === undefined ? null : toAccount(row);
  }

  owner(nick: string): Account | null {
    const row = this.#sql.get(
      "SELECT id, nick, created FROM accounts WHERE nick_key = ?",
      nickKey(nick),
    );
    return row === undefined ? null : toAccount(row);
  }

  nickOf(id: number): string | null {
    const row = this.#sql.get("SELECT nick FROM accounts WHERE id = ? AND released IS NULL", id);
    return row === undefined ? null : String(row.nick);
  }

  lookalikeOwner(skeletons: string[], except: number | null): Account | null {
    for (const skeleton of skeletons) {
      const row = this.#sql.get(
        `SELECT a.id, a.nick, a.created FROM account_skeletons s JOIN accounts a ON a.id = s.account_id
         WHERE s.skeleton = ? AND a.id <> ? AND a.released IS NULL LIMIT 1`,
        skeleton,
        except ?? -1,
      );
      if (row !== undefined) return toAccount(row);
    }
    return null;
  }

  claim(nick: string, skeletons: string[], publicKey: Uint8Array, now: number): Account {
    return this.#sql.write(() => {
      const { lastInsertRowid } = this.#sql.prepared(
        "INSERT INTO accounts (nick, nick_key, created) VALUES (?, ?, ?)",
      ).run(nick, nickKey(nick), now);
      const id = Number(lastInsertRowid);
      this.#setSkeletons(id, skeletons);
      this.#sql.prepared("INSERT INTO devices (public_key, account_id, added) VALUES (?, ?, ?)")
        .run(publicKey, id, now);
      this.#claimUnclaimed(id, nick);
      return { id, nick, created: now };
    });
  }

  rename(accountId: number, nick: string, skeletons: string[]): Account {
    return this.#sql.write(() => {
      this.#sql.prepared("UPDATE accounts SET nick = ?, nick_key = ? WHERE id = ?")
        .run(nick, nickKey(nick), accountId);
      this.#setSkeletons(accountId, skeletons);
      this.#claimUnclaimed(accountId, nick);
      const row = this.#sql.get("SELECT id, nick, created FROM accounts WHERE id = ?", accountId);
      if (row === undefined) throw new Error(`no account ${accountId}`);
      return toAccount(row);
    });
  }

  addDevice(accountId: number, publicKey: Uint8Array, now: number): void {
    this.#sql.write(() =>
      this.#sql.prepared("INSERT INTO devices (public_key, account_id, added) VALUES (?, ?, ?)")
        .run(publicKey, accountId, now)
    );
  }

  devices(accountId: number): Device[] {
    return this.#sql.all(
      "SELECT public_key, account_id, added, seen FROM devices WHERE account_id = ? ORDER BY added, public_key",
      accountId,
    ).map(toDevice);
  }

  seen(publicKey: Uint8Array, now: number): void {
    this.#sql.write(() =>
      this.#sql.prepared("UPDATE devices SET seen = ? WHERE public_key = ?").run(now, publicKey)
    );
  }

  count(): number {
    return Number(
      this.#sql.get("SELECT count(*) AS n FROM accounts WHERE released IS NULL")?.n ?? 0,
    );
  }

  changedElsewhere(): boolean {
    const version = this.#readDataVersion();
    const changed = version !== this.#dataVersion;
    this.#dataVersion = version;
    return changed;
  }

  /** `PRAGMA data_version`: it changes when another connection commits to the file. */
  #readDataVersion(): number {
    return Number(this.#sql.get("PRAGMA data_version")?.data_version ?? 0);
  }

  // ---- the operator's view (`lanchat accounts`) ----------------------------------

  /** Every account, released ones too, oldest first, with its devices. */
  list(): AccountListing[] {
    const devices = this.#sql.all(
      "SELECT public_key, account_id, added, seen FROM devices ORDER BY added, public_key",
    ).map(toDevice);
    return this.#sql.all("SELECT id, nick, created, released FROM accounts ORDER BY id").map(
      (row) => {
        const account = toAccount(row);
        return {
          ...account,
          released: row.released === null ? null : Number(row.released),
          devices: devices.filter((device) => device.accountId === account.id),
        };
      },
    );
  }

  /**
   * Frees `nick`: its account keeps its history (out of reach of whoever
   * claims the nick next) but loses the nick and every device. Null when no
   * account owns the nick.
   */
  release(nick: string, now: number): OperatorChange | null {
    return this.#sql.write(() => {
      const account = this.owner(nick);
      if (account === null) return null;
      const { changes } = this.#sql.prepared("DELETE FROM devices WHERE account_id = ?").run(
        account.id,
      );
      this.#sql.prepared("DELETE FROM account_skeletons WHERE account_id = ?").run(account.id);
      this.#sql.prepared("UPDATE accounts SET nick_key = NULL, released = ? WHERE id = ?")
        .run(now, account.id);
      return { account, devicesRemoved: Number(changes) };
    });
  }

  /**
   * Removes the device whose fingerprint is `printed` (the whole
   * `SHA256:...`, or a prefix of at least 8 characters after `SHA256:` that
   * only one device has). Returns what was removed; throws an Error saying
   * why when no device, or more than one, matches.
   */
  removeDevice(printed: string): OperatorChange & { device: Device } {
    // "sha256:" as some tools print it; the hash itself is BASE64, where case matters.
    const hash = printed.trim().replace(/^sha256:/i, "");
    const wanted = `SHA256:${hash}`;
    if (wanted.length < "SHA256:".length + 8) {
      throw new Error(
        `'${printed}' is too short to name one device: give at least 8 characters after SHA256:`,
      );
    }
    return this.#sql.write(() => {
      const matches = this.#sql.all(
        "SELECT public_key, account_id, added, seen FROM devices",
      ).map(toDevice).filter((device) => fingerprint(device.publicKey).startsWith(wanted));
      if (matches.length === 0) {
        throw new Error(
          wanted.length === "SHA256:".length + 43 // a whole one: 43 BASE64 characters
            ? `no device has the fingerprint ${wanted}`
            : `no device has a fingerprint starting with ${wanted}`,
        );
      }
      if (matches.length > 1) {
        throw new Error(
          `${matches.length} devices have fingerprints starting with ${wanted}; give more of it`,
        );
      }
      const device = matches[0]!;
      this.#sql.prepared("DELETE FROM devices WHERE public_key = ?").run(device.publicKey);
      const row = this.#sql.get(
        "SELECT id, nick, created FROM accounts WHERE id = ?",
        device.accountId,
      );
      if (row === undefined) throw new Error(`the device's account ${device.accountId} is gone`);
      return { account: toAccount(row), devicesRemoved: 1, device };
    });
  }

  /** Whether device `publicKey` still belongs to `accountId` (the operator may have removed it). */
  holds(accountId: number, publicKey: Uint8Array): boolean {
    return this.forDevice(publicKey)?.id === accountId;
  }

  #setSkeletons(accountId: number, skeletons: string[]): void {
    this.#sql.prepared("DELETE FROM account_skeletons WHERE account_id = ?").run(accountId);
    const insert = this.#sql.prepared(
      "INSERT OR IGNORE INTO account_skeletons (skeleton, account_id) VALUES (?, ?)",
    );
    for (const skeleton of skeletons) insert.run(skeleton, accountId);
  }

  /**
   * Private messages stored before accounts existed belong to their nicks:
   * the first account to own such a nick gets them (PROTOCOL.md section 8.7).
   */
  #claimUnclaimed(accountId: number, nick: string): void {
    const key = nickKey(nick);
    this.#sql.prepared(
      "UPDATE messages SET from_account = ? WHERE unclaimed = 1 AND from_account IS NULL AND from_key = ?",
    ).run(accountId, key);
    this.#sql.prepared(
      "UPDATE messages SET to_account = ? WHERE unclaimed = 1 AND to_account IS NULL AND to_key = ?",
    ).run(accountId, key);
  }
}

function toAccount(row: Row): Account {
  return { id: Number(row.id), nick: String(row.nick), created: Number(row.created) };
}

function toDevice(row: Row): Device {
  const key = row.public_key;
  return {
    publicKey: key instanceof Uint8Array ? new Uint8Array(key) : new Uint8Array(0),
    accountId: Number(row.account_id),
    added: Number(row.added),
    seen: row.seen === null ? null : Number(row.seen),
  };
}
