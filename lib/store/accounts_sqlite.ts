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
import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import { nickKey } from "../wire/protocol.ts";
import { fingerprint } from "../wire/identity.ts";
import { storageError } from "./history_errors.ts";
import type { Account, AccountListing, Accounts, Device } from "./accounts.ts";

type Row = Record<string, SQLOutputValue>;

/** What `release` and `removeDevice` did, for the operator's report. */
export interface OperatorChange {
  account: Account;
  /** Device keys removed. */
  devicesRemoved: number;
}

/** Accounts over a history file's connection (the caller opens, migrates and closes it). */
export class SqliteAccounts implements Accounts {
  readonly #db: DatabaseSync;
  readonly #path: string;
  #statements = new Map<string, StatementSync>();
  #dataVersion: number;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#dataVersion = this.#readDataVersion();
  }

  forDevice(publicKey: Uint8Array): Account | null {
    const row = this.#get(
      `SELECT a.id, a.nick, a.created FROM devices d JOIN accounts a ON a.id = d.account_id
       WHERE d.public_key = ? AND a.released IS NULL`,
      publicKey,
    );
    return row === undefined ? null : toAccount(row);
  }

  owner(nick: string): Account | null {
    const row = this.#get(
      "SELECT id, nick, created FROM accounts WHERE nick_key = ?",
      nickKey(nick),
    );
    return row === undefined ? null : toAccount(row);
  }

  nickOf(id: number): string | null {
    const row = this.#get("SELECT nick FROM accounts WHERE id = ? AND released IS NULL", id);
    return row === undefined ? null : String(row.nick);
  }

  lookalikeOwner(skeletons: string[], except: number | null): Account | null {
    for (const skeleton of skeletons) {
      const row = this.#get(
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
    return this.#write(() => {
      const { lastInsertRowid } = this.#statement(
        "INSERT INTO accounts (nick, nick_key, created) VALUES (?, ?, ?)",
      ).run(nick, nickKey(nick), now);
      const id = Number(lastInsertRowid);
      this.#setSkeletons(id, skeletons);
      this.#statement("INSERT INTO devices (public_key, account_id, added) VALUES (?, ?, ?)")
        .run(publicKey, id, now);
      this.#claimUnclaimed(id, nick);
      return { id, nick, created: now };
    });
  }

  rename(accountId: number, nick: string, skeletons: string[]): Account {
    return this.#write(() => {
      this.#statement("UPDATE accounts SET nick = ?, nick_key = ? WHERE id = ?")
        .run(nick, nickKey(nick), accountId);
      this.#setSkeletons(accountId, skeletons);
      this.#claimUnclaimed(accountId, nick);
      const row = this.#get("SELECT id, nick, created FROM accounts WHERE id = ?", accountId);
      if (row === undefined) throw new Error(`no account ${accountId}`);
      return toAccount(row);
    });
  }

  addDevice(accountId: number, publicKey: Uint8Array, now: number): void {
    this.#write(() =>
      this.#statement("INSERT INTO devices (public_key, account_id, added) VALUES (?, ?, ?)")
        .run(publicKey, accountId, now)
    );
  }

  devices(accountId: number): Device[] {
    return this.#all(
      "SELECT public_key, account_id, added, seen FROM devices WHERE account_id = ? ORDER BY added, public_key",
      accountId,
    ).map(toDevice);
  }

  seen(publicKey: Uint8Array, now: number): void {
    this.#write(() =>
      this.#statement("UPDATE devices SET seen = ? WHERE public_key = ?").run(now, publicKey)
    );
  }

  count(): number {
    return Number(
      this.#get("SELECT count(*) AS n FROM accounts WHERE released IS NULL")?.n ?? 0,
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
    return Number(this.#get("PRAGMA data_version")?.data_version ?? 0);
  }

  // ---- the operator's view (`lanchat accounts`) ----------------------------------

  /** Every account, released ones too, oldest first, with its devices. */
  list(): AccountListing[] {
    const devices = this.#all(
      "SELECT public_key, account_id, added, seen FROM devices ORDER BY added, public_key",
    ).map(toDevice);
    return this.#all("SELECT id, nick, created, released FROM accounts ORDER BY id").map((row) => {
      const account = toAccount(row);
      return {
        ...account,
        released: row.released === null ? null : Number(row.released),
        devices: devices.filter((device) => device.accountId === account.id),
      };
    });
  }

  /**
   * Frees `nick`: its account keeps its history (out of reach of whoever
   * claims the nick next) but loses the nick and every device. Null when no
   * account owns the nick.
   */
  release(nick: string, now: number): OperatorChange | null {
    return this.#write(() => {
      const account = this.owner(nick);
      if (account === null) return null;
      const { changes } = this.#statement("DELETE FROM devices WHERE account_id = ?").run(
        account.id,
      );
      this.#statement("DELETE FROM account_skeletons WHERE account_id = ?").run(account.id);
      this.#statement("UPDATE accounts SET nick_key = NULL, released = ? WHERE id = ?")
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
    return this.#write(() => {
      const matches = this.#all(
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
      this.#statement("DELETE FROM devices WHERE public_key = ?").run(device.publicKey);
      const row = this.#get(
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
    this.#statement("DELETE FROM account_skeletons WHERE account_id = ?").run(accountId);
    const insert = this.#statement(
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
    this.#statement(
      "UPDATE messages SET from_account = ? WHERE unclaimed = 1 AND from_account IS NULL AND from_key = ?",
    ).run(accountId, key);
    this.#statement(
      "UPDATE messages SET to_account = ? WHERE unclaimed = 1 AND to_account IS NULL AND to_key = ?",
    ).run(accountId, key);
  }

  #write<T>(work: () => T): T {
    const outer = this.#db.isTransaction;
    try {
      if (!outer) this.#db.exec("BEGIN IMMEDIATE");
      const result = work();
      if (!outer) this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (!outer) {
        try {
          if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        } catch { /* SQLite already rolled back */ }
      }
      // node:sqlite's errors carry `errcode`; the operator's mistakes (plain Errors) pass as they are.
      if (error instanceof Error && !("errcode" in error)) throw error;
      throw storageError(this.#path, error);
    }
  }

  #get(sql: string, ...params: (string | number | Uint8Array)[]): Row | undefined {
    try {
      return this.#statement(sql).get(...params);
    } catch (error) {
      throw storageError(this.#path, error);
    }
  }

  #all(sql: string, ...params: (string | number | Uint8Array)[]): Row[] {
    try {
      return this.#statement(sql).all(...params);
    } catch (error) {
      throw storageError(this.#path, error);
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
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
