/**
 * The SQLite message store (node:sqlite): the `History` behind
 * `lanchat serve --db PATH`, and the reader behind `lanchat history`.
 *
 * Owns: the database file's schema and its forward migrations, durable group
 * commit of appends, trigram full-text search, retention (`prune`), the
 * operator query of `lanchat history`, and turning SQLite failures into
 * StorageError with a hint for the operator.
 * Imports only lib/history.ts, lib/protocol.ts and lib/errors.ts (plus
 * node:sqlite and node:path); must not import the room, sessions or sockets.
 */
import { DatabaseSync } from "node:sqlite";
import type { SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { StorageError } from "./errors.ts";
import { encodeBody, nickKey } from "./protocol.ts";
import type { History, NewMessage, Page, PageQuery, StoredMessage } from "./history.ts";

/** `PRAGMA application_id` of a lanchat history file ("LNCH"). */
const applicationId = 0x4c4e4348;

/** One forward step of the schema; `version` is what `PRAGMA user_version` holds after it. */
interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Every schema step, oldest first. Never edit a released step: add one.
 * Ids are the rowids; AUTOINCREMENT keeps them from ever being reused after
 * `prune`. The FTS index is external-content (the text is stored once) and the
 * triggers keep it in step with every insert and delete.
 */
const migrations: readonly Migration[] = [
  {
    version: 1,
    description: "messages, time and conversation indexes, trigram full-text index",
    sql: `
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        from_nick TEXT NOT NULL,
        to_nick TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'action')),
        text TEXT NOT NULL,
        from_key TEXT NOT NULL,
        to_key TEXT,
        CHECK ((to_nick IS NULL) = (to_key IS NULL))
      );
      CREATE INDEX messages_by_ts ON messages (ts);
      CREATE INDEX messages_by_conversation
        ON messages (min(from_key, to_key), max(from_key, to_key), id)
        WHERE to_key IS NOT NULL;
      CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content = 'messages', content_rowid = 'id',
        tokenize = 'trigram case_sensitive 0'
      );
      CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
      END;
      PRAGMA application_id = ${applicationId};
    `,
  },
];

/** Schema version written by this code (`PRAGMA user_version`). */
export const schemaVersion: number = migrations.at(-1)?.version ?? 0;

/** Options of openSqliteHistory. */
export interface SqliteHistoryOptions {
  /** Open for reading only (`lanchat history`): never creates nor migrates. Default false. */
  readOnly?: boolean;
  /**
   * `PRAGMA synchronous` in WAL mode. Default "full". With either value a
   * COMMIT has handed the batch to the OS before `append` resolves, so a
   * `kill -9` of the process loses nothing that resolved; "full" also fsyncs
   * the WAL at every commit, so a power cut or OS crash loses nothing either.
   * Group commit pays that fsync once per batch, not once per message.
   */
  synchronous?: "full" | "normal";
  /** Most messages written in one transaction. Default 256. */
  maxBatchSize?: number;
  /**
   * How long a batch waits for more appends before it commits, in ms.
   * Default 0: on a microtask, at the end of the current turn of the event loop.
   */
  batchDelayMs?: number;
  /** How long to wait for another process's lock, in ms (`PRAGMA busy_timeout`). Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Id of the first message of a new database. Default: `Date.now() * 1000`
   * for ":memory:" (a restarted in-memory server hands out ids above any it
   * gave before, as MemoryHistory does), 1 for a file.
   */
  firstId?: number;
  /** Searches of 1-2 characters scan at most this many newest visible messages. Default 50,000. */
  shortSearchScanRows?: number;
  /** Refuse to grow the file past this many bytes (`PRAGMA max_page_count`): appends then fail as on a full disk. Default: no limit. */
  maxSizeBytes?: number;
}

/** What `lanchat history` asks for: every condition is optional, all must hold. */
export interface OperatorQuery {
  /** Only messages with `ts >= sinceTs` (ms). */
  sinceTs?: number;
  /** Only messages with `ts < untilTs` (ms). */
  untilTs?: number;
  /** Only messages from or to this nick, public and private. */
  involving?: string;
  /** Only messages whose text contains this, case-insensitively. */
  text?: string;
  /** Newest this many matches, returned oldest first. */
  limit: number;
}

interface PendingAppend {
  message: NewMessage;
  resolve: (stored: StoredMessage) => void;
  reject: (error: StorageError) => void;
}

type Row = Record<string, SQLOutputValue>;

const columns = "m.id, m.ts, m.from_nick, m.to_nick, m.kind, m.text";
const visibleSql = "(m.to_key IS NULL OR m.from_key = ? OR m.to_key = ?)";
const noUpperBound = Number.MAX_SAFE_INTEGER;

/** Messages in a SQLite file (or ":memory:"); open one with openSqliteHistory. */
export class SqliteHistory implements History {
  readonly path: string;
  #db: DatabaseSync;
  #readOnly: boolean;
  #maxBatchSize: number;
  #batchDelayMs: number;
  #shortSearchScanRows: number;
  #pending: PendingAppend[] = [];
  #cancelFlush: (() => void) | undefined;
  #closed = false;
  #statements = new Map<string, StatementSync>();

  /** Use openSqliteHistory, which configures and migrates `db` first. */
  constructor(db: DatabaseSync, path: string, options: SqliteHistoryOptions = {}) {
    this.#db = db;
    this.path = path;
    this.#readOnly = options.readOnly ?? false;
    this.#maxBatchSize = Math.max(1, options.maxBatchSize ?? 256);
    this.#batchDelayMs = options.batchDelayMs ?? 0;
    this.#shortSearchScanRows = options.shortSearchScanRows ?? 50_000;
  }

  append(message: NewMessage): Promise<StoredMessage> {
    if (this.#closed || this.#readOnly) {
      const [why, hint] = this.#closed
        ? ["the history is closed", "the server is shutting down; send it again once it is back"]
        : ["the history was opened read-only", "open it without readOnly to save messages"];
      return Promise.reject(new StorageError(`cannot save a message: ${why}`, hint));
    }
    const { promise, resolve, reject } = Promise.withResolvers<StoredMessage>();
    this.#pending.push({ message, resolve, reject });
    if (this.#pending.length >= this.#maxBatchSize) this.#flush();
    else if (this.#cancelFlush === undefined) this.#scheduleFlush();
    return promise;
  }

  lastId(): number {
    const row = this.#read("SELECT coalesce(max(id), 0) AS id FROM messages", [])[0];
    return Number(row?.id ?? 0);
  }

  page(query: PageQuery): Page {
    const before = query.before ?? noUpperBound;
    const fetch = query.limit + 1;
    const rows = query.with === undefined
      ? this.#read(
        `SELECT ${columns} FROM messages m WHERE m.id < ? AND ${visibleSql}
         ORDER BY m.id DESC LIMIT ?`,
        [before, ...this.#viewerParams(query.viewer), fetch],
      )
      : this.#read(
        `SELECT ${columns} FROM messages m WHERE m.to_key IS NOT NULL
           AND min(m.from_key, m.to_key) = min(?1, ?2) AND max(m.from_key, m.to_key) = max(?1, ?2)
           AND m.id < ?3 ORDER BY m.id DESC LIMIT ?4`,
        [nickKey(query.viewer), nickKey(query.with), before, fetch],
      );
    const more = rows.length > query.limit;
    return { items: rows.slice(0, query.limit).map(toStored).reverse(), more };
  }

  after(viewer: string, afterId: number, limit: number): StoredMessage[] {
    return this.#read(
      `SELECT ${columns} FROM messages m WHERE m.id > ? AND ${visibleSql} ORDER BY m.id LIMIT ?`,
      [afterId, ...this.#viewerParams(viewer), limit],
    ).map(toStored);
  }

  /**
   * Queries of 3 or more characters use the trigram index (whole history);
   * shorter ones scan the newest `shortSearchScanRows` visible messages.
   */
  search(viewer: string, query: string, limit: number): StoredMessage[] {
    return this.#find(
      [visibleSql],
      this.#viewerParams(viewer),
      query,
      limit,
      this.#shortSearchScanRows,
    );
  }

  /**
   * Operator view for `lanchat history`: ignores private-message visibility
   * (whoever can read the file can read every message in it).
   */
  query(query: OperatorQuery): StoredMessage[] {
    const conditions: string[] = [], params: SQLInputValue[] = [];
    if (query.sinceTs !== undefined) conditions.push("m.ts >= ?"), params.push(query.sinceTs);
    if (query.untilTs !== undefined) conditions.push("m.ts < ?"), params.push(query.untilTs);
    if (query.involving !== undefined) {
      const key = nickKey(query.involving);
      conditions.push("(m.from_key = ? OR m.to_key = ?)"), params.push(key, key);
    }
    return this.#find(conditions, params, query.text, query.limit, undefined);
  }

  /**
   * Deletes messages with `ts < olderThanTs` (retention, `--keep-days`), in
   * transactions of `batchSize` rows (default 500) with a turn of the event
   * loop between them so appends and reads go on. Resolves with the count.
   */
  async prune(olderThanTs: number, options: { batchSize?: number } = {}): Promise<number> {
    const batchSize = Math.max(1, options.batchSize ?? 500);
    let deleted = 0;
    while (!this.#closed) {
      const changes = this.#write(() =>
        this.#statement(
          "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE ts < ? ORDER BY ts LIMIT ?)",
        ).run(olderThanTs, batchSize).changes
      );
      deleted += Number(changes);
      if (changes < batchSize) break;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return deleted;
  }

  /** Commits the pending batch, then closes the file. Calling it again does nothing. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#flush();
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
    return Promise.resolve();
  }

  /**
   * A delay of 0 commits on a microtask: after every read that this turn of
   * the event loop handed over has appended what it had (they are all
   * resolved before any of their continuations run), and before anything
   * else. setImmediate, as before, waited behind the write completions of a
   * busy room: a message took 0.25 ms (p99 1.26 ms) from its read to being
   * stored at 50 clients and 100 msg/s, 0.17 ms (p99 ~0.85 ms) on a
   * microtask, with the same batching for a database file. Deno's
   * `setTimeout(0)` would wait ~2 ms, capping one awaiting sender at ~450/s.
   */
  #scheduleFlush(): void {
    if (this.#batchDelayMs <= 0) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) this.#flush();
      });
      this.#cancelFlush = () => cancelled = true;
    } else {
      const timer = setTimeout(() => this.#flush(), this.#batchDelayMs);
      this.#cancelFlush = () => clearTimeout(timer);
    }
  }

  #flush(): void {
    this.#cancelFlush?.();
    this.#cancelFlush = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let stored: StoredMessage[];
    try {
      stored = this.#write(() => batch.map(({ message }) => this.#insert(message)));
    } catch (error) {
      const failure = error instanceof StorageError ? error : storageError(this.path, error);
      for (const { reject } of batch) reject(failure);
      return;
    }
    batch.forEach(({ resolve }, index) => resolve(stored[index]!));
  }

  #insert(message: NewMessage): StoredMessage {
    const { lastInsertRowid } = this.#statement(
      `INSERT INTO messages (ts, from_nick, to_nick, kind, text, from_key, to_key)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      message.ts,
      message.from,
      message.to,
      message.kind,
      message.text,
      nickKey(message.from),
      message.to === null ? null : nickKey(message.to),
    );
    return { ...message, id: Number(lastInsertRowid) };
  }

  /** Runs `work` in one write transaction; rolls back (nothing stored is touched) when it fails. */
  #write<T>(work: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      } catch { /* SQLite already rolled back */ }
      throw storageError(this.path, error);
    }
  }

  #read(sql: string, params: SQLInputValue[]): Row[] {
    if (this.#closed) throw new Error("SqliteHistory: read after close()");
    try {
      return this.#statement(sql).all(...params);
    } catch (error) {
      throw storageError(this.path, error);
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

  #viewerParams(viewer: string): [string, string] {
    const key = nickKey(viewer);
    return [key, key];
  }

  /**
   * Newest `limit` messages meeting `conditions` (SQL over alias `m`) whose
   * text contains `text` case-insensitively, oldest first. `scanRows` bounds
   * the scan of a short (1-2 character) text; undefined scans everything.
   */
  #find(
    conditions: string[],
    params: SQLInputValue[],
    text: string | undefined,
    limit: number,
    scanRows: number | undefined,
  ): StoredMessage[] {
    if (limit <= 0) return [];
    const where = conditions.length === 0 ? "1" : conditions.join(" AND ");
    if (text !== undefined && [...text].length >= 3) {
      return this.#read(
        `SELECT ${columns} FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
         WHERE messages_fts MATCH ? AND ${where} ORDER BY messages_fts.rowid DESC LIMIT ?`,
        [ftsPhrase(text), ...params, limit],
      ).map(toStored).reverse();
    }
    const recent = `SELECT ${columns} FROM messages m WHERE ${where} ORDER BY m.id DESC LIMIT ?`;
    if (text === undefined) return this.#read(recent, [...params, limit]).map(toStored).reverse();
    const scanLimit = scanRows ?? -1;
    if (likeFoldsCase(text)) {
      const like = `%${text.replace(/[\\%_]/g, "\\$&")}%`;
      return this.#read(
        `SELECT * FROM (${recent}) AS m WHERE m.text LIKE ? ESCAPE '\\' ORDER BY m.id DESC LIMIT ?`,
        [...params, scanLimit, like, limit],
      ).map(toStored).reverse();
    }
    // A cased non-ASCII needle ("É"): SQLite's LIKE folds ASCII only, so fold in JS.
    const needle = text.toLowerCase();
    const found: StoredMessage[] = [];
    if (this.#closed) throw new Error("SqliteHistory: read after close()");
    try {
      for (const row of this.#statement(recent).iterate(...params, scanLimit)) {
        if (String(row.text).toLowerCase().includes(needle)) found.push(toStored(row));
        if (found.length === limit) break;
      }
    } catch (error) {
      throw storageError(this.path, error);
    }
    return found.reverse();
  }
}

/**
 * Opens (creating it and its folders when missing, unless `readOnly`) the
 * history at `path`, or an in-memory one for ":memory:", and brings its schema
 * up to date. Throws StorageError, with a `hint` for the operator, for a file
 * that is corrupt, not lanchat's, from a newer lanchat, read-only or
 * unreachable.
 *
 * @example
 * const history = openSqliteHistory(defaultDbPath());
 * const stored = await history.append({ ts: Date.now(), from: "ana", to: null, kind: "text", text, body });
 */
export function openSqliteHistory(path: string, options: SqliteHistoryOptions = {}): SqliteHistory {
  const inMemory = path === ":memory:";
  const readOnly = options.readOnly ?? false;
  if (!inMemory && readOnly && !exists(path)) {
    throw new StorageError(`no history at ${path}`, "check the path, or pass --db PATH");
  }
  if (!inMemory && !readOnly) createParentFolder(path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly });
  } catch (error) {
    throw storageError(path, error);
  }
  try {
    configure(db, path, inMemory, options);
    return new SqliteHistory(db, path, options);
  } catch (error) {
    db.close();
    throw error instanceof StorageError ? error : storageError(path, error);
  }
}

function configure(
  db: DatabaseSync,
  path: string,
  inMemory: boolean,
  options: SqliteHistoryOptions,
) {
  const readOnly = options.readOnly ?? false;
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  const version = pragmaNumber(db, "user_version"); // the first read: fails on a file that is not SQLite
  const appId = pragmaNumber(db, "application_id");
  if (version > schemaVersion) {
    throw new StorageError(
      `${path} was written by a newer lanchat (schema version ${version}; this lanchat knows up to ${schemaVersion})`,
      "upgrade lanchat, or pass --db PATH to use another file",
    );
  }
  const hasTables = Number(db.prepare("SELECT count(*) AS n FROM sqlite_master").get()?.n ?? 0) > 0;
  if ((version > 0 && appId !== applicationId) || (version === 0 && hasTables)) {
    throw new StorageError(
      `${path} is a SQLite database, but not a lanchat history`,
      "pass --db PATH to a file of lanchat's own (a new path is created)",
    );
  }
  if (readOnly) {
    if (version < schemaVersion) {
      throw new StorageError(
        `${path} ${version === 0 ? "holds no lanchat history" : "has an older schema"}`,
        "start `lanchat serve --db PATH` on it once to create or upgrade it",
      );
    }
    return;
  }
  if (!inMemory) {
    const mode = db.prepare("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (mode !== "wal") {
      throw new StorageError(`${path} cannot use WAL mode (${mode})`, readOnlyHint);
    }
  }
  db.exec(`PRAGMA synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
  for (const step of migrations.filter((migration) => migration.version > version)) {
    runInTransaction(db, `${step.sql}; PRAGMA user_version = ${step.version};`);
  }
  // Write probe: a file the OS opened read-only only fails at the first write.
  runInTransaction(db, `PRAGMA user_version = ${schemaVersion};`);
  const hasSequence = db.prepare("SELECT 1 FROM sqlite_sequence WHERE name = 'messages'").get();
  if (hasSequence === undefined) {
    const firstId = options.firstId ?? (inMemory ? Date.now() * 1000 : 1);
    db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)").run(firstId - 1);
  }
  if (options.maxSizeBytes !== undefined) {
    const pageSize = pragmaNumber(db, "page_size");
    db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxSizeBytes / pageSize))}`);
  }
}

function runInTransaction(db: DatabaseSync, sql: string): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(sql);
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function pragmaNumber(db: DatabaseSync, name: string): number {
  return Number(db.prepare(`PRAGMA ${name}`).get()?.[name] ?? 0);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw storageError(path, error);
  }
}

function createParentFolder(path: string): void {
  const folder = dirname(path);
  try {
    Deno.mkdirSync(folder, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StorageError(
      `cannot create the folder ${folder} for ${path} (${reason})`,
      "create it yourself, or pass --db PATH to a writable place",
      { cause: error },
    );
  }
}

const readOnlyHint =
  "give lanchat write permission on the file and its folder (the -wal and -shm files beside it too), or pass --db PATH to a writable place";

/** Turns a SQLite or file-system failure about `path` into a StorageError a person can act on. */
function storageError(path: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const sqliteSays = reason.replaceAll(path, ""); // a folder named "locked" must not look like a lock
  const [message, hint] = /not a database|malformed|corrupt/i.test(sqliteSays)
    ? [
      `${path} is not a lanchat history or is damaged`,
      `move it aside (mv ${path} ${path}.bad) and start again, or pass --db PATH`,
    ]
    : /readonly|read-only|permission denied/i.test(sqliteSays)
    ? [`${path} is read-only`, readOnlyHint]
    : /full/i.test(sqliteSays)
    ? [
      `no space left to save messages in ${path}`,
      "free some disk space; lanchat saves again once there is room",
    ]
    : /locked|busy/i.test(sqliteSays)
    ? [
      `${path} is locked by another program`,
      "stop the other lanchat serve using this file, or pass --db PATH",
    ]
    : /unable to open/i.test(sqliteSays)
    ? [
      `cannot open ${path}`,
      "lanchat must be able to read and write the file and to create files beside it " +
      "(-wal, -shm) in its folder: check the permissions, or pass --db PATH",
    ]
    : [
      `the history in ${path} failed`,
      "check the disk and the file; pass --db PATH to use another file",
    ];
  return new StorageError(`${message} (${reason})`, hint, { cause: error });
}

/** `text` as one FTS5 string: a phrase matched as a substring by the trigram tokenizer. */
function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** True when SQLite's ASCII-only LIKE folds `text` as JS toLowerCase would: no cased non-ASCII letter. */
function likeFoldsCase(text: string): boolean {
  for (const char of text) {
    if (char > "\x7f" && char.toLowerCase() !== char.toUpperCase()) return false;
  }
  return true;
}

function toStored(row: Row): StoredMessage {
  const text = String(row.text);
  return {
    id: Number(row.id),
    ts: Number(row.ts),
    from: String(row.from_nick),
    to: row.to_nick === null || row.to_nick === undefined ? null : String(row.to_nick),
    kind: row.kind === "action" ? "action" : "text",
    text,
    body: encodeBody(text),
  };
}
