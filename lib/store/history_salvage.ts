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
 * back released, and no new account ever gets the id of an old one. From a
 * history of schema 3 or later it copies the channels (ids kept), their
 * members and name skeletons, and each message's channel: a message of a
 * channel never lands in `#general` of the copy (PROTOCOL.md section 9.2). A
 * channel that messages name but whose row is lost comes back as
 * `#recovered-<id>` with the members that could be read, and no new channel
 * ever gets the id of an old one. It reads
 * through SQLite's b-tree, so rows reachable only through a destroyed
 * interior page are lost; `sqlite3 F .recover` scans raw pages and may find more.
 * Imports lib/store/history_sqlite.ts (to create NEW), lib/store/channels.ts,
 * lib/wire/errors.ts and lib/wire/protocol.ts; must not import the server, room or sockets.
 */
import { DatabaseSync } from "node:sqlite";
import type { SQLOutputValue, StatementSync } from "node:sqlite";
import { StorageError } from "../wire/errors.ts";
import { openSqliteHistory, schemaVersion } from "./history_sqlite.ts";
import { channelNameProblem, maxTopicLength, nickKey } from "../wire/protocol.ts";
import { channelKey } from "./channels.ts";

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
  /** Channels copied with their ids (0 from a history older than channels); recovered ones not included. */
  channels: number;
  /** Channel memberships copied (those of recovered channels included). */
  channelMembers: number;
  /**
   * Rows of channels, their members and name skeletons that could not be
   * read, or held values no lanchat channel has, or memberships of a channel
   * or an account that is not in the copy (a table that cannot be read at all
   * counts 1).
   */
  channelRowsUnreadable: number;
  /**
   * Channels named by copied messages whose own row was lost: they are in the
   * copy under these names (`#recovered-<id>`), with the members that could
   * be read, so their messages stay in their channel and out of `#general`.
   */
  channelsRecovered: string[];
}

/** Options of salvageHistory. */
export interface SalvageOptions {
  /** Called with a progress line every `progressEveryMs` of a long run. Default: none. */
  progress?: (line: string) => void;
  /** Default 2000. */
  progressEveryMs?: number;
  /** Rows read (and written) per query and transaction. Default 1000. */
  chunkSize?: number;
  /**
   * The time (ms) an account restored released is marked released at, and a
   * membership read only from the index by account is marked joined at. Default Date.now.
   */
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
  /** The channel of a public message; null: `#general` (and every private message). */
  channel: number | null;
  /** A file message's file (its JSON) and SHA-256; null for a text message. */
  file: string | null;
  fileSha256: string | null;
}

type Row = Record<string, SQLOutputValue>;

const applicationId = 0x4c4e4348;

/**
 * Copies what can be read of the history `source` into a new history at
 * `target`, which must not exist: messages, from a history of schema 2 or
 * later its accounts, devices and nick skeletons, and from one of schema 3 or
 * later its channels, their members and each message's channel (see the
 * module comment).
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
    const tables = tablesOf(from);
    const hasAccounts = tables.has("accounts");
    // Read the channel of every message whenever the file may have it: a message read without it
    // would land in #general. Should the column be unreadable, its rows are skipped instead.
    const hasChannels = tables.has("channels") || schemaVersionOf(from) >= 3 ||
      columnsOf(from, "messages").has("channel_id");
    // Files (schema 5): a file message keeps its file, so its bytes stay referred to.
    const hasFiles = columnsOf(from, "messages").has("file_sha256");
    const walk = new SalvageWalk(from, source, options, { hasAccounts, hasChannels, hasFiles });
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
      channels: 0,
      channelMembers: 0,
      channelRowsUnreadable: 0,
      channelsRecovered: [],
    };
    const now = options.now ?? Date.now;
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
      const channels = hasChannels ? new ChannelsSalvage(from, to, options, report) : undefined;
      if (channels !== undefined && tables.has("channels")) {
        inTransaction(() => channels.copyChannels());
      }
      const insert = to.prepare(
        `INSERT OR IGNORE INTO messages (id, ts, from_nick, to_nick, kind, text, from_key, to_key,
           from_account, to_account, unclaimed, channel_id, file, file_sha256)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
                row.channel, // null only when it was null in the old file (checkedRow)
                row.file,
                row.fileSha256,
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
          report.accountsRestoredReleased = restoreNamedAccounts(to, now());
          // A new account must never get the id of an old one: its private messages would be
          // the newcomer's. The accounts' sequence goes past every id the old file handed out.
          keepSequencePast(to, "accounts", sequenceOf(from, "accounts") ?? 0);
        });
      }
      if (channels !== undefined) {
        inTransaction(() => {
          channels.recoverNamedChannels();
          channels.copyMembers(now());
          channels.copySkeletons();
          // A new channel must never get the id of an old one: the old one's messages would be
          // in it. Recovered channels keep their ids, so the sequence is past them too.
          keepSequencePast(to, "channels", sequenceOf(from, "channels") ?? 0);
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

  #walk(
    table: string,
    columns: string,
    lastRowid: number | undefined,
    copyRow: (row: Row) => boolean,
  ): void {
    walkRowids(this.#from, table, columns, lastRowid, this.#chunkSize, copyRow, () => {
      this.#report.accountRowsUnreadable++;
    });
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

/**
 * Copies the channels of `from` into the new history `to` (each step inside
 * the caller's transaction), ids kept: first the readable, well-formed
 * channel rows; after the messages, a `#recovered-<id>` channel for each
 * channel that copied messages name but that was not copied; then the
 * memberships of the channels in the copy by the accounts in the copy, and
 * the name skeletons of the copied channels. A row that cannot be read, holds
 * what no lanchat channel has, or names a channel or account not in the copy
 * is counted in `channelRowsUnreadable` and left out.
 */
class ChannelsSalvage {
  #from: DatabaseSync;
  #to: DatabaseSync;
  #chunkSize: number;
  #report: SalvageReport;
  /** The channels copied from their own rows, by id (recovered ones are not: their names are new). */
  #copied = new Set<number>();

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

  /** The channel rows, by rowid ranges (see walkRowids). */
  copyChannels(): void {
    const insert = this.#to.prepare(
      "INSERT OR IGNORE INTO channels (id, name, name_key, topic, created) VALUES (?, ?, ?, ?, ?)",
    );
    walkRowids(
      this.#from,
      "channels",
      "id, name, name_key, topic, created",
      sequenceOf(this.#from, "channels"),
      this.#chunkSize,
      (row) => {
        const channel = checkedChannel(row);
        if (channel === null) return false;
        // A name another row already took (damage) is left out; its messages get a recovered one.
        const inserted = insert.run(
          channel.id,
          channel.name,
          channelKey(channel.name),
          channel.topic,
          channel.created,
        ).changes > 0;
        if (inserted) {
          this.#report.channels++;
          this.#copied.add(channel.id);
        }
        return inserted;
      },
      () => this.#report.channelRowsUnreadable++,
    );
  }

  /**
   * Gives every channel that copied messages name but that is not in the copy
   * a row again, as `#recovered-<id>` (`-2`, `-3`... when a channel has that
   * name), made at its first message: its messages stay in it and out of
   * `#general`, and a new channel never takes its id. Nobody is in it yet.
   */
  recoverNamedChannels(): void {
    const lost = this.#to.prepare(
      `SELECT channel_id AS id, min(ts) AS created FROM messages
       WHERE channel_id IS NOT NULL AND channel_id NOT IN (SELECT id FROM channels)
       GROUP BY channel_id ORDER BY channel_id`,
    ).all();
    const taken = this.#to.prepare("SELECT 1 AS taken FROM channels WHERE name_key = ?");
    const insert = this.#to.prepare(
      "INSERT INTO channels (id, name, name_key, topic, created) VALUES (?, ?, ?, '', ?)",
    );
    for (const { id, created } of lost) {
      let name = `#recovered-${id}`;
      for (let suffix = 2; taken.get(channelKey(name)) !== undefined; suffix++) {
        name = `#recovered-${id}-${suffix}`;
      }
      insert.run(Number(id), name, channelKey(name), Number(created));
      this.#report.channelsRecovered.push(name);
    }
  }

  /**
   * The memberships of the channels in the copy (recovered ones included) by
   * the accounts in the copy: all at once, else channel by channel, and the
   * channels that fail that way from the index by account, which holds no
   * join time (`now` is used).
   */
  copyMembers(now: number): void {
    const channels = new Set(
      this.#to.prepare("SELECT id FROM channels").all().map((row) => Number(row.id)),
    );
    const accounts = new Set(
      this.#to.prepare("SELECT id FROM accounts").all().map((row) => Number(row.id)),
    );
    const insert = this.#to.prepare(
      "INSERT OR IGNORE INTO channel_members (channel_id, account_id, joined) VALUES (?, ?, ?)",
    );
    const copyRows = (rows: Row[]) => {
      for (const row of rows) {
        const { channel_id: channelId, account_id: accountId, joined } = row;
        if (
          typeof channelId !== "number" || !channels.has(channelId) ||
          typeof accountId !== "number" || !accounts.has(accountId) ||
          typeof joined !== "number" || !Number.isFinite(joined)
        ) {
          this.#report.channelRowsUnreadable++;
        } else if (insert.run(channelId, accountId, joined).changes > 0) {
          this.#report.channelMembers++;
        }
      }
    };
    const columns = "channel_id, account_id, joined";
    const all = readAll(this.#from, `SELECT ${columns} FROM channel_members`);
    if (all !== undefined) return copyRows(all);
    // Damaged somewhere: each channel's own are tried (a seek in the table's b-tree)...
    const failed = new Set<number>();
    for (const channelId of channels) {
      const rows = readAll(
        this.#from,
        `SELECT ${columns} FROM channel_members WHERE channel_id = ?`,
        channelId,
      );
      if (rows === undefined) failed.add(channelId);
      else copyRows(rows);
    }
    if (failed.size === 0) return;
    // ...and for those that fail, each account's from the index (a b-tree of its own).
    for (const accountId of accounts) {
      const rows = readAll(
        this.#from,
        `SELECT channel_id, account_id FROM channel_members INDEXED BY channel_members_by_account
         WHERE account_id = ?`,
        accountId,
      );
      if (rows === undefined) {
        this.#report.channelRowsUnreadable++;
        if (!tablesOf(this.#from, "index").has("channel_members_by_account")) return;
        continue;
      }
      copyRows(
        rows.filter((row) => failed.has(Number(row.channel_id))).map((row) => ({
          ...row,
          joined: now,
        })),
      );
    }
  }

  /**
   * The name skeletons (look-alike keys) of the channels copied from their own
   * rows, as far as the table can be read in order (a recovered channel has a
   * new name, so its old name's skeletons are not its own).
   */
  copySkeletons(): void {
    const insert = this.#to.prepare(
      "INSERT OR IGNORE INTO channel_skeletons (skeleton, channel_id) VALUES (?, ?)",
    );
    let rows: Iterable<Row>;
    try {
      rows = this.#from.prepare("SELECT skeleton, channel_id FROM channel_skeletons").iterate();
    } catch {
      this.#report.channelRowsUnreadable++;
      return;
    }
    try {
      for (const { skeleton, channel_id: channelId } of rows) {
        if (typeof skeleton !== "string" || skeleton === "" || typeof channelId !== "number") {
          this.#report.channelRowsUnreadable++;
        } else if (this.#copied.has(channelId)) {
          insert.run(skeleton, channelId);
        }
      }
    } catch {
      this.#report.channelRowsUnreadable++; // the rows after a damaged page are lost
    }
  }
}

/**
 * Calls `copyRow` with every row of `table` (a rowid table) of `from`, by
 * rowid ranges of `chunkSize` rows, bisecting a range that cannot be read down
 * to single rowids; `copyRow` answers whether the row was good, and
 * `unreadable` is called for each bad row, each rowid that cannot be read, and
 * once for a table whose extent or columns cannot be read. `lastRowid` is
 * where to look up to when `max(rowid)` cannot be read.
 */
function walkRowids(
  from: DatabaseSync,
  table: string,
  columns: string,
  lastRowid: number | undefined,
  chunkSize: number,
  copyRow: (row: Row) => boolean,
  unreadable: () => void,
): void {
  const low = numberOf(from, `SELECT min(rowid) AS n FROM ${table}`) ?? 1;
  const high = numberOf(from, `SELECT max(rowid) AS n FROM ${table}`) ?? lastRowid;
  if (high === undefined) {
    // Not even the ends of the table can be read, and nothing says how far it went.
    if (numberOf(from, `SELECT count(*) AS n FROM ${table}`) !== 0) unreadable();
    return;
  }
  let select: StatementSync;
  try {
    select = from.prepare(
      `SELECT rowid AS salvage_rowid, ${columns} FROM ${table}
       WHERE rowid >= ? AND rowid <= ? ORDER BY rowid LIMIT ?`,
    );
  } catch {
    unreadable(); // its columns are not what the schema made
    return;
  }
  const ranges: Array<[number, number]> = [[low, high]];
  while (ranges.length > 0) {
    const [start, end] = ranges.pop()!;
    let cursor = start;
    while (cursor <= end) {
      let rows: Row[];
      try {
        rows = select.all(cursor, end, chunkSize);
      } catch {
        if (cursor === end) {
          unreadable();
        } else {
          const middle = Math.floor((cursor + end) / 2);
          ranges.push([middle + 1, end], [cursor, middle]);
        }
        break;
      }
      let last = cursor;
      for (const row of rows) {
        if (!copyRow(row)) unreadable();
        const rowid = row.salvage_rowid;
        if (typeof rowid === "number" && rowid > last && rowid <= end) last = rowid;
      }
      if (rows.length < chunkSize) break;
      cursor = last + 1; // always forward, whatever a damaged page returned
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

/** What the source's messages carry besides the columns of schema 1. */
interface SourceSchema {
  /** Their accounts (schema 2 or later). */
  hasAccounts: boolean;
  /** Their channel (schema 3 or later). */
  hasChannels: boolean;
  /** Their file (schema 5 or later). */
  hasFiles: boolean;
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
  #schema: SourceSchema;

  constructor(db: DatabaseSync, source: string, options: SalvageOptions, schema: SourceSchema) {
    this.#schema = schema;
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
              this.#schema.hasAccounts ? ", from_account, to_account, unclaimed" : ""
            }${this.#schema.hasChannels ? ", channel_id" : ""}${
              this.#schema.hasFiles ? ", file, file_sha256" : ""
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
          const message = checkedRow(row, cursor, end, this.#schema);
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
 * has, or its id is outside the range asked for (damage). Without the columns
 * of schema 2 (`schema.hasAccounts`), a private message is `unclaimed` as the
 * migration to schema 2 makes it (its nick's first owner gets it). With those
 * of schema 3 (`schema.hasChannels`), its channel is kept as it is: a value
 * that is not a channel id, or a channel on a private message, is damage, so
 * the row is left out rather than put in `#general`.
 */
function checkedRow(
  row: Row,
  low: number,
  high: number,
  schema: SourceSchema,
): MessageRow | null {
  const { id, ts, from_nick: from, to_nick: to, kind, text } = row;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < low || id > high) return null;
  if (typeof ts !== "number" || !Number.isFinite(ts)) return null;
  if (typeof from !== "string" || from.length === 0) return null;
  if (to !== null && (typeof to !== "string" || to.length === 0)) return null;
  if (kind !== "text" && kind !== "action") return null;
  if (typeof text !== "string") return null;
  let channel: number | null = null;
  if (schema.hasChannels) {
    const value = row.channel_id;
    if (value !== null && (!isRowId(value) || to !== null)) return null;
    channel = value;
  }
  const files = { file: null as string | null, fileSha256: null as string | null };
  if (schema.hasFiles) {
    const { file, file_sha256: sha256 } = row;
    // Both or neither; a hash that is not one is damage.
    if ((file === null) !== (sha256 === null)) return null;
    if (file !== null) {
      if (typeof file !== "string" || typeof sha256 !== "string") return null;
      if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
      files.file = file;
      files.fileSha256 = sha256;
    }
  }
  if (!schema.hasAccounts) {
    return {
      ...files,
      id,
      ts,
      from,
      to,
      kind,
      text,
      fromAccount: null,
      toAccount: null,
      unclaimed: to === null ? 0 : 1,
      channel,
    };
  }
  const { from_account: fromAccount, to_account: toAccount, unclaimed } = row;
  if (!isRowId(fromAccount) && fromAccount !== null) return null;
  if (!isRowId(toAccount) && toAccount !== null) return null;
  if (unclaimed !== 0 && unclaimed !== 1) return null;
  return { id, ts, from, to, kind, text, fromAccount, toAccount, unclaimed, channel, ...files };
}

/** True for an id of an account or a channel: a whole number from 1. */
function isRowId(value: SQLOutputValue | undefined): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
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

/** The row as a channel, or null when a field holds what no lanchat channel has. */
function checkedChannel(
  row: Row,
): { id: number; name: string; topic: string; created: number } | null {
  const { id, name, name_key: key, topic, created } = row;
  if (!isRowId(id)) return null;
  if (typeof name !== "string" || channelNameProblem(name) !== null) return null;
  // The key is made again from the name; one that does not match it is damage.
  if (key !== channelKey(name)) return null;
  if (typeof topic !== "string" || [...topic].length > maxTopicLength) return null;
  if (typeof created !== "number" || !Number.isFinite(created)) return null;
  return { id, name, topic, created };
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

/** The names of the tables (or indexes) of `db` (an empty set when its schema cannot be read). */
function tablesOf(db: DatabaseSync, type: "table" | "index" = "table"): Set<string> {
  try {
    return new Set(
      db.prepare("SELECT name FROM sqlite_master WHERE type = ?").all(type)
        .map((row) => String(row.name)),
    );
  } catch {
    return new Set();
  }
}

/** The names of the columns of `table` in the schema of `db` (empty when it cannot be read). */
function columnsOf(db: DatabaseSync, table: string): Set<string> {
  try {
    return new Set(
      db.prepare("SELECT name FROM pragma_table_info(?)").all(table).map((row) => String(row.name)),
    );
  } catch {
    return new Set();
  }
}

/** `PRAGMA user_version` of `db` (openSource has read it once already). */
function schemaVersionOf(db: DatabaseSync): number {
  return numberOf(db, "SELECT user_version AS n FROM pragma_user_version") ?? 0;
}

/** The rows `sql` answers, or undefined when they cannot all be read. */
function readAll(db: DatabaseSync, sql: string, ...params: number[]): Row[] | undefined {
  try {
    return db.prepare(sql).all(...params);
  } catch {
    return undefined;
  }
}

/** Moves the sequence of table `name` in `db` to `lastId` when it is behind (making it if missing). */
function keepSequencePast(db: DatabaseSync, name: string, lastId: number): void {
  db.prepare(
    "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0 " +
      "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
  ).run(name, name);
  db.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?").run(lastId, name);
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
