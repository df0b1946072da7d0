/**
 * `lanchat history --db F --salvage NEW`: copies every message that can
 * still be read from a damaged history into a fresh one, keeping the ids (a
 * client resuming with `after` still lands in the right place).
 *
 * Owns: walking the messages table by id ranges, bisecting a range that fails
 * down to single ids and skipping those, checking each row before it is
 * copied, and the progress lines. From a history of schema 2 or later it
 * copies the accounts, their devices and nick skeletons, and each private
 * message's accounts the same way, so the copy shows a private message to
 * the same two accounts as the original and to nobody else (PROTOCOL.md
 * section 8.7): an account that messages name but whose row is lost comes
 * back released, and no new account ever gets the id of an old one. It reads
 * through SQLite's b-tree, so rows reachable only through a destroyed
 * interior page are lost; `sqlite3 F .recover` scans raw pages and may find more.
 * Imports lib/store/history_sqlite.ts (to create NEW), lib/wire/errors.ts and
 * lib/wire/protocol.ts; must not import the server, room or sockets.
 */
import { DatabaseSync } from "node:sqlite";
import type { SQLOutputValue, StatementSync } from "node:sqlite";
import { StorageError } from "../wire/errors.ts";
import { openSqliteHistory, schemaVersion } from "./history_sqlite.ts";
import { nickKey } from "../wire/protocol.ts";

/** What a salvage did. */
export interface SalvageReport {
  /** Messages written into the new file. */
  copied: number;
  /** Ids (or rows) that could not be read, or held values no lanchat message has. */
  unreadable: number;
  /** The unreadable ids as ranges, oldest first (at most 100 ranges kept). */
  unreadableRanges: Array<[number, number]>;
  /** Lowest and highest id looked at; null when not even that could be read. */
  idRange: [number, number] | null;
  /** Accounts copied, released ones included (0 from a history older than accounts). */
  accounts: number;
  /** Device keys copied. */
  devices: number;
  /**
   * Rows (or rowids) of accounts, devices and nick skeletons that could not be
   * read, or held values no lanchat account has, or devices of no copied
   * account (a table whose extent cannot be read at all counts 1).
   */
  accountRowsUnreadable: number;
  /**
   * Accounts named by copied private messages whose own row was lost: they
   * are in the copy as released accounts (their messages stay theirs).
   */
  accountsRestoredReleased: number;
}

/** Options of salvageHistory. */
export interface SalvageOptions {
  /** Called with a progress line every `progressEveryMs` of a long run. Default: none. */
  progress?: (line: string) => void;
  /** Default 2000. */
  progressEveryMs?: number;
  /** Rows read (and written) per query and transaction. Default 1000. */
  chunkSize?: number;
  /** The time (ms) an account restored released is marked released at. Default Date.now. */
  now?: () => number;
}

interface MessageRow {
  id: number;
  ts: number;
  from: string;
  to: string | null;
  kind: "text" | "action";
  text: string;
  fromAccount: number | null;
  toAccount: number | null;
  /** 1 for a private message stored before accounts that no account has claimed yet. */
  unclaimed: 0 | 1;
}

type Row = Record<string, SQLOutputValue>;

const applicationId = 0x4c4e4348;

/**
 * Copies what can be read of the history `source` into a new history at
 * `target`, which must not exist: messages, and from a history of schema 2 or
 * later its accounts, devices and nick skeletons (see the module comment).
 * Rejects with StorageError when `source` cannot be opened as a lanchat
 * history at all, or `target` exists or cannot be written.
 */
export async function salvageHistory(
  source: string,
  target: string,
  options: SalvageOptions = {},
): Promise<SalvageReport> {
  for (const path of [target, `${target}-wal`]) {
    if (exists(path)) {
      throw new StorageError(
        `${path} already exists`,
        "--salvage writes a new file: give it a path where there is no file yet",
      );
    }
  }
  if (!exists(source)) {
    throw new StorageError(`no history at ${source}`, "check the path given to --db");
  }
  const from = openSource(source);
  try {
    const hasAccounts = tablesOf(from).has("accounts");
    const walk = new SalvageWalk(from, source, options, hasAccounts);
    const idRange = walk.idRange();
    const report: SalvageReport = {
      copied: 0,
      unreadable: 0,
      unreadableRanges: [],
      idRange,
      accounts: 0,
      devices: 0,
      accountRowsUnreadable: 0,
      accountsRestoredReleased: 0,
    };
    // Made and migrated by the store, closed (its lock released) before it is filled.
    await openSqliteHistory(target, { readInWorker: false }).close();
    const to = new DatabaseSync(target);
    try {
      const inTransaction = (work: () => void) => {
        to.exec("BEGIN IMMEDIATE");
        try {
          work();
          to.exec("COMMIT");
        } catch (error) {
          if (to.isTransaction) to.exec("ROLLBACK");
          throw new StorageError(
            `cannot write ${target} (${error instanceof Error ? error.message : String(error)})`,
            "check the free disk space and the folder's permissions, then run --salvage again into a new path",
            { cause: error },
          );
        }
      };
      if (hasAccounts) {
        const accounts = new AccountsSalvage(from, to, options, report);
        inTransaction(() => accounts.copy());
      }
      const insert = to.prepare(
        `INSERT OR IGNORE INTO messages (id, ts, from_nick, to_nick, kind, text, from_key, to_key,
           from_account, to_account, unclaimed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const write = (rows: MessageRow[]) =>
        inTransaction(() => {
          for (const row of rows) {
            let inserted = false;
            try {
              const isPrivate = row.to !== null;
              inserted = insert.run(
                row.id,
                row.ts,
                row.from,
                row.to,
                row.kind,
                row.text,
                nickKey(row.from),
                row.to === null ? null : nickKey(row.to),
                row.fromAccount,
                isPrivate ? row.toAccount : null,
                isPrivate ? row.unclaimed : 0,
              ).changes > 0;
            } catch {
              // A row the new file's constraints refuse is damage; the transaction goes on.
            }
            if (inserted) report.copied++;
            else skip(report, row.id, row.id);
          }
        });
      if (idRange !== null) walk.copy(idRange[0], idRange[1], write, report);
      // Ids are never handed out twice: carry the old file's sequence over when it can be read.
      const lastHandedOut = Math.max(walk.sequence() ?? 0, idRange?.[1] ?? 0);
      to.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'messages'").run(
        lastHandedOut,
      );
      if (hasAccounts) {
        inTransaction(() => {
          report.accountsRestoredReleased = restoreNamedAccounts(to, (options.now ?? Date.now)());
          // A new account must never get the id of an old one: its private messages would be
          // the newcomer's. The accounts' sequence goes past every id the old file handed out.
          const lastAccount = sequenceOf(from, "accounts") ?? 0;
          to.prepare(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'accounts', 0 " +
              "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'accounts')",
          ).run();
          to.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'accounts'")
            .run(lastAccount);
        });
      }
      to.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      to.close();
    }
    return report;
  } finally {
    from.close();
  }
}

/**
 * Copies the accounts of `from` into the new history `to` (inside the
 * caller's transaction), ids kept: each readable, well-formed account row,
 * then the devices and nick skeletons of the copied accounts that own a nick
 * (a released account has none). A row that cannot be read or holds what no
 * lanchat account has is counted in `accountRowsUnreadable` and left out.
 */
class AccountsSalvage {
  #from: DatabaseSync;
  #to: DatabaseSync;
  #chunkSize: number;
  #report: SalvageReport;
  /** The copied accounts that own a nick, by id. */
  #owning = new Set<number>();

  constructor(
    from: DatabaseSync,
    to: DatabaseSync,
    options: SalvageOptions,
    report: SalvageReport,
  ) {
    this.#from = from;
    this.#to = to;
    this.#chunkSize = Math.max(1, options.chunkSize ?? 1000);
    this.#report = report;
  }

  copy(): void {
    const tables = tablesOf(this.#from);
    const insertAccount = this.#to.prepare(
      "INSERT OR IGNORE INTO accounts (id, nick, nick_key, created, released) VALUES (?, ?, ?, ?, ?)",
    );
    this.#walk(
      "accounts",
      "id, nick, nick_key, created, released",
      sequenceOf(this.#from, "accounts"),
      (row) => {
        const account = checkedAccount(row);
        if (account === null) return false;
        const inserted = insertAccount.run(
          account.id,
          account.nick,
          account.released === null ? nickKey(account.nick) : null,
          account.created,
          account.released,
        ).changes > 0;
        if (inserted) {
          this.#report.accounts++;
          if (account.released === null) this.#owning.add(account.id);
        }
        return inserted;
      },
    );
    if (tables.has("devices")) {
      const insertDevice = this.#to.prepare(
        "INSERT OR IGNORE INTO devices (public_key, account_id, added, seen) VALUES (?, ?, ?, ?)",
      );
      this.#walk("devices", "public_key, account_id, added, seen", undefined, (row) => {
        const device = checkedDevice(row);
        // A device of an account that was not copied, or was released, lets nobody in.
        if (device === null || !this.#owning.has(device.accountId)) return false;
        const inserted = insertDevice.run(
          device.publicKey,
          device.accountId,
          device.added,
          device.seen,
        ).changes > 0;
        if (inserted) this.#report.devices++;
        return inserted;
      });
    }
    if (tables.has("account_skeletons")) this.#copySkeletons();
  }

  /**
   * Calls `copyRow` with every row of `table` (a rowid table), by rowid
   * ranges, bisecting a range that cannot be read down to single rowids;
   * `copyRow` answers whether the row was good. `lastRowid` is where to look
   * up to when `max(rowid)` cannot be read.
   */
  #walk(
    table: string,
    columns: string,
    lastRowid: number | undefined,
    copyRow: (row: Row) => boolean,
  ): void {
    const low = numberOf(this.#from, `SELECT min(rowid) AS n FROM ${table}`) ?? 1;
    const high = numberOf(this.#from, `SELECT max(rowid) AS n FROM ${table}`) ?? lastRowid;
    if (high === undefined) {
      // Not even the ends of the table can be read, and nothing says how far it went.
      if (numberOf(this.#from, `SELECT count(*) AS n FROM ${table}`) !== 0) {
        this.#report.accountRowsUnreadable++;
      }
      return;
    }
    let select: StatementSync;
    try {
      select = this.#from.prepare(
        `SELECT rowid AS salvage_rowid, ${columns} FROM ${table}
         WHERE rowid >= ? AND rowid <= ? ORDER BY rowid LIMIT ?`,
      );
    } catch {
      this.#report.accountRowsUnreadable++; // its columns are not what schema 2 made
      return;
    }
    const ranges: Array<[number, number]> = [[low, high]];
    while (ranges.length > 0) {
      const [start, end] = ranges.pop()!;
      let cursor = start;
      while (cursor <= end) {
        let rows: Row[];
        try {
          rows = select.all(cursor, end, this.#chunkSize);
        } catch {
          if (cursor === end) {
            this.#report.accountRowsUnreadable++;
          } else {
            const middle = Math.floor((cursor + end) / 2);
            ranges.push([middle + 1, end], [cursor, middle]);
          }
          break;
        }
        let last = cursor;
        for (const row of rows) {
          if (!copyRow(row)) this.#report.accountRowsUnreadable++;
          const rowid = row.salvage_rowid;
          if (typeof rowid === "number" && rowid > last && rowid <= end) last = rowid;
        }
        if (rows.length < this.#chunkSize) break;
        cursor = last + 1; // always forward, whatever a damaged page returned
      }
    }
  }

  /** The nick skeletons of the copied accounts that own a nick: all at once, else account by account. */
  #copySkeletons(): void {
    const insert = this.#to.prepare(
      "INSERT OR IGNORE INTO account_skeletons (skeleton, account_id) VALUES (?, ?)",
    );
    const copyRows = (rows: Row[]) => {
      for (const row of rows) {
        const { skeleton, account_id: accountId } = row;
        if (typeof skeleton !== "string" || skeleton === "" || typeof accountId !== "number") {
          this.#report.accountRowsUnreadable++;
        } else if (this.#owning.has(accountId)) {
          insert.run(skeleton, accountId);
        }
      }
    };
    let all: Row[] | undefined;
    try {
      all = this.#from.prepare("SELECT skeleton, account_id FROM account_skeletons").all();
    } catch {
      // Damaged somewhere: each account's own are tried below (through the index by account).
    }
    if (all !== undefined) return copyRows(all);
    const byAccount = this.#from.prepare(
      "SELECT skeleton, account_id FROM account_skeletons WHERE account_id = ?",
    );
    for (const accountId of this.#owning) {
      try {
        copyRows(byAccount.all(accountId));
      } catch {
        this.#report.accountRowsUnreadable++;
      }
    }
  }
}

function openSource(source: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(source, { readOnly: true });
  } catch (error) {
    throw new StorageError(
      `cannot open ${source} (${error instanceof Error ? error.message : String(error)})`,
      "check the path and its permissions",
      { cause: error },
    );
  }
  try {
    const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
    const appId = Number(db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
    if (appId !== applicationId) {
      throw new StorageError(
        `${source} is not a lanchat history`,
        "--salvage copies lanchat histories only; check the path given to --db",
      );
    }
    if (version > schemaVersion) {
      throw new StorageError(
        `${source} was written by a newer lanchat (schema version ${version})`,
        "salvage it with that newer lanchat",
      );
    }
    // The schema (page 1) must name the table; its pages are tried one range at a time below,
    // so a damaged first leaf does not stop the walk.
    const table = db.prepare(
      "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
    )
      .get();
    if (table === undefined) throw new Error("no messages table in the schema");
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StorageError) throw error;
    throw new StorageError(
      `cannot read even the table of messages of ${source} (${
        error instanceof Error ? error.message : String(error)
      })`,
      "restore a backup; `sqlite3 FILE .recover` may still find rows in the damaged pages",
      { cause: error },
    );
  }
}

/** One pass over the source's messages; see the module comment. */
class SalvageWalk {
  #db: DatabaseSync;
  #source: string;
  #chunkSize: number;
  #progress: ((line: string) => void) | undefined;
  #progressEveryMs: number;
  #lastProgress = performance.now();
  #high = 0;
  #low = 0;
  #hasAccounts: boolean;

  /** `hasAccounts`: the source is of schema 2 or later (messages carry their accounts). */
  constructor(db: DatabaseSync, source: string, options: SalvageOptions, hasAccounts: boolean) {
    this.#hasAccounts = hasAccounts;
    this.#db = db;
    this.#source = source;
    this.#chunkSize = Math.max(1, options.chunkSize ?? 1000);
    this.#progress = options.progress;
    this.#progressEveryMs = options.progressEveryMs ?? 2000;
  }

  /** The ids to walk: min and max id, or 1 and the sequence when an end of the table is damaged. */
  idRange(): [number, number] | null {
    const low = this.#number("SELECT min(id) AS n FROM messages") ?? 1;
    const high = this.#number("SELECT max(id) AS n FROM messages") ?? this.sequence();
    if (high === undefined || high < low) return null;
    this.#low = low;
    this.#high = high;
    return [low, high];
  }

  /** The last id the old file handed out (`sqlite_sequence`), when readable. */
  sequence(): number | undefined {
    return sequenceOf(this.#db, "messages");
  }

  /** Copies the readable rows with `low <= id <= high`, through `write`, into `report`. */
  copy(low: number, high: number, write: (rows: MessageRow[]) => void, report: SalvageReport) {
    // An explicit stack instead of recursion: ranges still to copy, the next on top.
    const ranges: Array<[number, number]> = [[low, high]];
    while (ranges.length > 0) {
      const [start, end] = ranges.pop()!;
      let cursor = start;
      while (cursor <= end) {
        this.#report(cursor, report);
        let rows: Row[];
        try {
          rows = this.#db.prepare(
            `SELECT id, ts, from_nick, to_nick, kind, text${
              this.#hasAccounts ? ", from_account, to_account, unclaimed" : ""
            } FROM messages WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?`,
          ).all(cursor, end, this.#chunkSize);
        } catch {
          if (cursor === end) {
            skip(report, cursor, cursor);
          } else {
            const middle = Math.floor((cursor + end) / 2);
            ranges.push([middle + 1, end], [cursor, middle]);
          }
          break;
        }
        const good: MessageRow[] = [];
        let lastId = cursor - 1;
        for (const row of rows) {
          const message = checkedRow(row, cursor, end, this.#hasAccounts);
          if (message === null) {
            report.unreadable++;
            continue;
          }
          good.push(message);
          lastId = Math.max(lastId, message.id);
        }
        if (good.length > 0) write(good);
        if (rows.length < this.#chunkSize) break;
        cursor = Math.max(cursor + 1, lastId + 1); // always forward, whatever a damaged page returned
      }
    }
  }

  #report(cursor: number, report: SalvageReport): void {
    if (this.#progress === undefined) return;
    const now = performance.now();
    if (now - this.#lastProgress < this.#progressEveryMs) return;
    this.#lastProgress = now;
    const span = Math.max(1, this.#high - this.#low + 1);
    const percent = Math.min(100, Math.floor(((cursor - this.#low) / span) * 100));
    this.#progress(
      `salvage: ${percent}% of ${this.#source} (id ${cursor} of ${this.#high}): ` +
        `${report.copied} copied, ${report.unreadable} unreadable so far`,
    );
  }

  #number(sql: string): number | undefined {
    return numberOf(this.#db, sql);
  }
}

/**
 * The row as a message, or null when a field holds what no lanchat message
 * has, or its id is outside the range asked for (damage). `hasAccounts`: the
 * row has the columns of schema 2; without them, a private message is
 * `unclaimed` as the migration to schema 2 makes it (its nick's first owner gets it).
 */
function checkedRow(row: Row, low: number, high: number, hasAccounts: boolean): MessageRow | null {
  const { id, ts, from_nick: from, to_nick: to, kind, text } = row;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < low || id > high) return null;
  if (typeof ts !== "number" || !Number.isFinite(ts)) return null;
  if (typeof from !== "string" || from.length === 0) return null;
  if (to !== null && (typeof to !== "string" || to.length === 0)) return null;
  if (kind !== "text" && kind !== "action") return null;
  if (typeof text !== "string") return null;
  if (!hasAccounts) {
    return {
      id,
      ts,
      from,
      to,
      kind,
      text,
      fromAccount: null,
      toAccount: null,
      unclaimed: to === null ? 0 : 1,
    };
  }
  const { from_account: fromAccount, to_account: toAccount, unclaimed } = row;
  if (!isAccountId(fromAccount) || !isAccountId(toAccount)) return null;
  if (unclaimed !== 0 && unclaimed !== 1) return null;
  return { id, ts, from, to, kind, text, fromAccount, toAccount, unclaimed };
}

function isAccountId(value: SQLOutputValue | undefined): value is number | null {
  return value === null || (typeof value === "number" && Number.isSafeInteger(value) && value > 0);
}

/** The row as an account, or null when a field holds what no lanchat account has. */
function checkedAccount(
  row: Row,
): { id: number; nick: string; created: number; released: number | null } | null {
  const { id, nick, nick_key: key, created, released } = row;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) return null;
  if (typeof nick !== "string" || nick.length === 0) return null;
  if (typeof created !== "number" || !Number.isFinite(created)) return null;
  if (released !== null && (typeof released !== "number" || !Number.isFinite(released))) {
    return null;
  }
  // Owned and released at once, or neither: damage. The key is made again from the nick.
  if ((released === null) !== (typeof key === "string" && key === nickKey(nick))) return null;
  return { id, nick, created, released };
}

/** The row as a device, or null when a field holds what no lanchat device has. */
function checkedDevice(
  row: Row,
): { publicKey: Uint8Array; accountId: number; added: number; seen: number | null } | null {
  const { public_key: publicKey, account_id: accountId, added, seen } = row;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return null;
  if (typeof accountId !== "number" || !Number.isSafeInteger(accountId)) return null;
  if (typeof added !== "number" || !Number.isFinite(added)) return null;
  if (seen !== null && (typeof seen !== "number" || !Number.isFinite(seen))) return null;
  return { publicKey, accountId, added, seen };
}

/**
 * Gives every account that copied private messages name but whose own row
 * was lost a row again, released (no nick, no device), under the nick of its
 * latest message: its messages stay its own and out of reach of a newcomer,
 * and `lanchat accounts` lists it. Returns how many were restored.
 */
function restoreNamedAccounts(to: DatabaseSync, now: number): number {
  const { changes } = to.prepare(
    `WITH named AS (
       SELECT from_account AS account, from_nick AS nick, ts, id FROM messages
       WHERE from_account IS NOT NULL
       UNION ALL
       SELECT to_account, to_nick, ts, id FROM messages WHERE to_account IS NOT NULL
     ),
     latest AS (SELECT account, nick, max(id) FROM named GROUP BY account),
     first AS (SELECT account, min(ts) AS created FROM named GROUP BY account)
     INSERT INTO accounts (id, nick, nick_key, created, released)
     SELECT latest.account, latest.nick, NULL, first.created, ?
     FROM latest JOIN first USING (account)
     WHERE latest.account NOT IN (SELECT id FROM accounts)`,
  ).run(now);
  return Number(changes);
}

/** The names of the tables of `db` (an empty set when its schema cannot be read). */
function tablesOf(db: DatabaseSync): Set<string> {
  try {
    return new Set(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
        .map((row) => String(row.name)),
    );
  } catch {
    return new Set();
  }
}

/** The last id the table `name` handed out (`sqlite_sequence`), when readable. */
function sequenceOf(db: DatabaseSync, name: string): number | undefined {
  try {
    const value = db.prepare("SELECT seq AS n FROM sqlite_sequence WHERE name = ?").get(name)?.n;
    return typeof value === "number" || typeof value === "bigint" ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

/** The number `sql` answers in column `n`, or undefined when it cannot be read. */
function numberOf(db: DatabaseSync, sql: string): number | undefined {
  try {
    const value = db.prepare(sql).get()?.n;
    return typeof value === "number" || typeof value === "bigint" ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

function skip(report: SalvageReport, first: number, last: number): void {
  report.unreadable += last - first + 1;
  const previous = report.unreadableRanges.at(-1);
  if (previous !== undefined && previous[1] + 1 >= first) {
    previous[1] = Math.max(previous[1], last);
  } else if (report.unreadableRanges.length < 100) {
    report.unreadableRanges.push([first, last]);
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new StorageError(
      `cannot look at ${path} (${error instanceof Error ? error.message : String(error)})`,
      "check the path and its permissions",
      { cause: error },
    );
  }
}
