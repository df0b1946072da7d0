/**
 * The SQLite message store (node:sqlite): the `History` behind
 * `lanchat serve --db PATH`, and the reader behind `lanchat history`.
 *
 * Owns: opening a history file (one writer per file, lib/store/history_lock.ts),
 * its schema and forward migrations, durable group commit of appends, the
 * room left for new messages (lib/store/history_space.ts), retention (`prune`),
 * the integrity check at start, opening an existing file in place for the
 * operator's tools beside a running server (openHistoryFile, no lock), and
 * where reads run: for a server's database file in the reader worker
 * (lib/store/history_reader_client.ts), so that no read stalls the event
 * loop; for ":memory:" and read-only opens on this thread.
 * The read SQL is lib/store/history_reads.ts.
 * Imports only lib/history*.ts, lib/wire/protocol.ts and lib/wire/errors.ts (plus
 * node:sqlite, node:path and node:url); must not import the room, sessions or sockets.
 */
import { DatabaseSync } from "node:sqlite";
import type { StatementSync } from "node:sqlite";
import { basename, dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { StorageError } from "../wire/errors.ts";
import { readOnlyHint, storageError } from "./history_errors.ts";
import { HistoryLock } from "./history_lock.ts";
import { ReaderWorker } from "./history_reader_client.ts";
import { HistoryReads } from "./history_reads.ts";
import type { OperatorQuery } from "./history_reads.ts";
import { estimateStoredBytes, SpaceGuard } from "./history_space.ts";
import { nickKey } from "../wire/protocol.ts";
import type {
  History,
  NewMessage,
  Page,
  PageQuery,
  ReadPoint,
  StoredMessage,
  UnreadCount,
  Viewer,
} from "./history.ts";
import { SqliteAccounts } from "./accounts_sqlite.ts";
import { SqliteChannels } from "./channels_sqlite.ts";
import { SqliteReadMarks } from "./read_marks.ts";

export type { OperatorQuery } from "./history_reads.ts";
export { HistoryBusyError, HistoryFullError } from "./history_errors.ts";

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
  {
    version: 2,
    description: "accounts and device keys (issue #14); private messages belong to accounts",
    // Private messages of version 1 belong to nicks: they are marked `unclaimed` and go to the
    // account that first owns their nick (lib/store/accounts_sqlite.ts, claimUnclaimed).
    sql: `
      CREATE TABLE accounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        nick TEXT NOT NULL,
        nick_key TEXT UNIQUE,
        created INTEGER NOT NULL,
        released INTEGER,
        CHECK ((nick_key IS NULL) = (released IS NOT NULL))
      );
      CREATE TABLE account_skeletons (
        skeleton TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES accounts (id),
        PRIMARY KEY (skeleton, account_id)
      ) WITHOUT ROWID;
      CREATE INDEX account_skeletons_by_account ON account_skeletons (account_id);
      CREATE TABLE devices (
        public_key BLOB PRIMARY KEY CHECK (length(public_key) = 32),
        account_id INTEGER NOT NULL REFERENCES accounts (id),
        added INTEGER NOT NULL,
        seen INTEGER
      );
      CREATE INDEX devices_by_account ON devices (account_id);
      ALTER TABLE messages ADD COLUMN from_account INTEGER;
      ALTER TABLE messages ADD COLUMN to_account INTEGER;
      ALTER TABLE messages ADD COLUMN unclaimed INTEGER NOT NULL DEFAULT 0;
      UPDATE messages SET unclaimed = 1 WHERE to_key IS NOT NULL;
      CREATE INDEX messages_unclaimed_from ON messages (from_key) WHERE unclaimed = 1;
      CREATE INDEX messages_unclaimed_to ON messages (to_key) WHERE unclaimed = 1;
      CREATE INDEX messages_by_accounts
        ON messages (min(from_account, to_account), max(from_account, to_account), id)
        WHERE to_key IS NOT NULL;
      CREATE INDEX messages_to_account ON messages (to_account, id) WHERE to_account IS NOT NULL;
      CREATE INDEX messages_from_account ON messages (from_account, id)
        WHERE to_key IS NOT NULL AND from_account IS NOT NULL;
    `,
  },
  {
    version: 3,
    description: "channels and their members (issue #15); a message's channel (NULL: #general)",
    sql: `
      CREATE TABLE channels (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL DEFAULT '',
        created INTEGER NOT NULL
      );
      CREATE TABLE channel_skeletons (
        skeleton TEXT NOT NULL,
        channel_id INTEGER NOT NULL REFERENCES channels (id),
        PRIMARY KEY (skeleton, channel_id)
      ) WITHOUT ROWID;
      CREATE TABLE channel_members (
        channel_id INTEGER NOT NULL REFERENCES channels (id),
        account_id INTEGER NOT NULL REFERENCES accounts (id),
        joined INTEGER NOT NULL,
        PRIMARY KEY (channel_id, account_id)
      ) WITHOUT ROWID;
      CREATE INDEX channel_members_by_account ON channel_members (account_id, channel_id);
      ALTER TABLE messages ADD COLUMN channel_id INTEGER;
      CREATE INDEX messages_by_channel ON messages (channel_id, id) WHERE channel_id IS NOT NULL;
    `,
  },
  {
    version: 4,
    description: "read marks and notification settings per account and conversation; mentions",
    sql: `
      CREATE TABLE read_marks (
        account_id INTEGER NOT NULL REFERENCES accounts (id),
        conversation TEXT NOT NULL,
        read_id INTEGER NOT NULL DEFAULT 0,
        notify TEXT NOT NULL DEFAULT 'all' CHECK (notify IN ('all', 'mentions', 'muted')),
        PRIMARY KEY (account_id, conversation)
      ) WITHOUT ROWID;
      ALTER TABLE messages ADD COLUMN mentions TEXT;
      ALTER TABLE messages ADD COLUMN mentions_everyone INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 5,
    description: "file messages: the file's name, size, type and SHA-256 (its bytes are on disk)",
    sql: `
      ALTER TABLE messages ADD COLUMN file TEXT;
      ALTER TABLE messages ADD COLUMN file_sha256 TEXT;
      CREATE INDEX messages_by_file ON messages (file_sha256) WHERE file_sha256 IS NOT NULL;
    `,
  },
];

/** Schema version written by this code (`PRAGMA user_version`). */
export const schemaVersion: number = migrations.at(-1)?.version ?? 0;

/** Options of openSqliteHistory. */
export interface SqliteHistoryOptions {
  /** Open for reading only (`lanchat history`): never creates, migrates nor locks. Default false. */
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
  /** How long to wait for another connection's lock, in ms (`PRAGMA busy_timeout`). Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Id of the first message of a new database. Default: `Date.now() * 1000`
   * for ":memory:" (a restarted in-memory server hands out ids above any it
   * gave before, as MemoryHistory does), 1 for a file.
   */
  firstId?: number;
  /** Searches of 1-2 characters scan at most this many newest visible messages. Default 50,000. */
  shortSearchScanRows?: number;
  /**
   * Size limit of the file (`--max-db-mib`), in bytes. A message that would
   * take the history near it is refused with HistoryFullError ("reached its
   * size limit"), and SQLite itself never grows the file past it
   * (`PRAGMA max_page_count`). Stored messages are kept. The `-wal` file
   * beside it adds a few MiB. Default: no limit.
   */
  maxSizeBytes?: number;
  /**
   * Free-space floor (`--min-free-mib`), in bytes: new messages are refused
   * with HistoryFullError while the file system holding the file has less
   * free. Looked at every `freeSpaceCheckMs`. Ignored for ":memory:".
   * Default: no floor (`lanchat serve` passes 256 MiB).
   */
  minFreeBytes?: number;
  /** How often the free space is looked at, in ms. Default 2000. */
  freeSpaceCheckMs?: number;
  /**
   * Reads of a writable database file (`page`, `after`, `search`) run in a
   * Worker with its own read-only connection. Default true; false answers
   * them on this thread. ":memory:" cannot be shared with a worker and
   * read-only opens (`lanchat history`) need none: both read on this thread.
   */
  readInWorker?: boolean;
  /** Most pages and searches waiting for the reader; more are refused with HistoryBusyError. Default 256. */
  maxQueuedReads?: number;
  /**
   * Deadline of one read in the worker, in ms, waiting and again running: past
   * it, a waiting read is refused with HistoryBusyError, and a running one
   * fails with StorageError and its worker is replaced. Default 10,000.
   */
  readTimeoutMs?: number;
  /** The reader worker's module (tests wrap it to make it misbehave). Default lib/store/history_reader_worker.ts. */
  readerWorkerUrl?: URL;
  /** Lines for the operator: size limit reached or cleared, reader replaced, integrity check. */
  log?: (line: string) => void;
}

/** Options of SqliteHistory.checkIntegrity. */
export interface IntegrityCheckOptions {
  /**
   * How long the check may hold up the start, in ms. Default 3000. The
   * structure of every b-tree is checked first (about 1.1 s per GiB); what
   * is not done by then goes on in the background, and so does the full
   * `PRAGMA quick_check` (about 16 s per GiB); a problem found there is
   * logged loudly.
   */
  waitMs?: number;
}

interface PendingAppend {
  message: NewMessage;
  resolve: (stored: StoredMessage) => void;
  reject: (error: StorageError) => void;
}

/** Messages in a SQLite file (or ":memory:"); open one with openSqliteHistory. */
export class SqliteHistory implements History {
  readonly path: string;
  #db: DatabaseSync;
  #reads: HistoryReads;
  #reader: ReaderWorker | undefined;
  #lock: HistoryLock | undefined;
  #space: SpaceGuard | undefined;
  #log: (line: string) => void;
  #readOnly: boolean;
  #maxBatchSize: number;
  #batchDelayMs: number;
  #pending: PendingAppend[] = [];
  #pendingBytes = 0;
  #cancelFlush: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #statements = new Map<string, StatementSync>();
  /** Newest id, kept here: this process is the only writer (the lock says so). */
  #lastId = 0;
  #checker: ReaderWorker | undefined;
  #accounts: SqliteAccounts | undefined;
  #channels: SqliteChannels | undefined;
  #readMarks: SqliteReadMarks | undefined;
  #backgroundCheck: Promise<void> | undefined;

  /** Use openSqliteHistory, which locks, configures and migrates `db` first. */
  constructor(
    db: DatabaseSync,
    path: string,
    options: SqliteHistoryOptions = {},
    lock?: HistoryLock,
  ) {
    this.#db = db;
    this.path = path;
    this.#lock = lock;
    this.#readOnly = options.readOnly ?? false;
    this.#maxBatchSize = Math.max(1, options.maxBatchSize ?? 256);
    this.#batchDelayMs = options.batchDelayMs ?? 0;
    this.#log = options.log ?? (() => {});
    this.#reads = new HistoryReads(
      db,
      path,
      options.shortSearchScanRows === undefined
        ? {}
        : { shortSearchScanRows: options.shortSearchScanRows },
    );
    const inMemory = path === ":memory:";
    if (!this.#readOnly) {
      this.#lastId = this.#reads.lastId();
      if (!inMemory && (options.readInWorker ?? true)) {
        this.#reader = new ReaderWorker({
          path,
          ...(options.shortSearchScanRows === undefined
            ? {}
            : { shortSearchScanRows: options.shortSearchScanRows }),
          busyTimeoutMs: options.busyTimeoutMs ?? 5000,
          ...(options.maxQueuedReads === undefined ? {} : { maxQueued: options.maxQueuedReads }),
          ...(options.readTimeoutMs === undefined ? {} : { timeoutMs: options.readTimeoutMs }),
          ...(options.readerWorkerUrl === undefined ? {} : { workerUrl: options.readerWorkerUrl }),
          log: this.#log,
        });
      }
      const minFreeBytes = inMemory ? undefined : options.minFreeBytes;
      if (options.maxSizeBytes !== undefined || minFreeBytes !== undefined) {
        this.#space = new SpaceGuard(path, () => this.#usedBytes(), {
          ...(options.maxSizeBytes === undefined ? {} : { maxSizeBytes: options.maxSizeBytes }),
          ...(minFreeBytes === undefined ? {} : { minFreeBytes }),
          ...(options.freeSpaceCheckMs === undefined
            ? {}
            : { freeSpaceCheckMs: options.freeSpaceCheckMs }),
          log: this.#log,
        });
      }
    }
  }

  /** The accounts kept in this file, over the writer's connection (PROTOCOL.md section 8). */
  get accounts(): SqliteAccounts {
    this.#accounts ??= new SqliteAccounts(this.#db, this.path);
    return this.#accounts;
  }

  /** The read marks kept in this file, over the writer's connection (PROTOCOL.md section 9.5). */
  get readMarks(): SqliteReadMarks {
    this.#readMarks ??= new SqliteReadMarks(this.#db, this.path);
    return this.#readMarks;
  }

  /** The channels kept in this file, over the writer's connection (PROTOCOL.md section 9). */
  get channels(): SqliteChannels {
    this.#channels ??= new SqliteChannels(this.#db, this.path);
    return this.#channels;
  }

  /** True when reads run in the reader worker (a writable database file). */
  get readsInWorker(): boolean {
    return this.#reader !== undefined;
  }

  /** Starts the reader worker now rather than at the first read (a few tens of ms). */
  warmUp(): void {
    this.#reader?.warmUp();
  }

  /** The reader worker's queue and how often it was replaced (undefined when reads run here). */
  readerStats(): { queued: number; running: boolean; restarts: number } | undefined {
    return this.#reader?.stats();
  }

  append(message: NewMessage): Promise<StoredMessage> {
    if (this.#closed || this.#readOnly) {
      const [why, hint] = this.#closed
        ? ["the history is closed", "the server is shutting down; send it again once it is back"]
        : ["the history was opened read-only", "open it without readOnly to save messages"];
      return Promise.reject(new StorageError(`cannot save a message: ${why}`, hint));
    }
    // The text's UTF-8 length, from its canonical BASE64 without encoding it again.
    const addedBytes = estimateStoredBytes(Math.ceil(message.body.length * 3 / 4));
    const refusal = this.#space?.check(this.#pendingBytes, addedBytes) ?? null;
    if (refusal !== null) return Promise.reject(refusal);
    this.#pendingBytes += addedBytes;
    const { promise, resolve, reject } = Promise.withResolvers<StoredMessage>();
    this.#pending.push({ message, resolve, reject });
    if (this.#pending.length >= this.#maxBatchSize) this.#flush();
    else if (this.#cancelFlush === undefined) this.#scheduleFlush();
    return promise;
  }

  /** Id of the newest message: kept in memory by the writer, read from the file when read-only. */
  lastId(): number {
    if (this.#readOnly) {
      this.#assertOpen();
      return this.#reads.lastId();
    }
    return this.#lastId;
  }

  page(query: PageQuery): Promise<Page> {
    if (this.#reader !== undefined) {
      return this.#reader.request({ op: "page", query }, { refusable: true });
    }
    return settle(() => this.pageNow(query));
  }

  after(viewer: Viewer, afterId: number, limit: number): Promise<StoredMessage[]> {
    if (this.#reader !== undefined) {
      return this.#reader.request({ op: "after", viewer, afterId, limit }, { refusable: false });
    }
    return settle(() => this.afterNow(viewer, afterId, limit));
  }

  /**
   * Queries of 3 or more characters use the trigram index (whole history);
   * shorter ones scan the newest `shortSearchScanRows` visible messages.
   */
  search(
    viewer: Viewer,
    query: string,
    limit: number,
    channel?: number,
  ): Promise<StoredMessage[]> {
    if (this.#reader !== undefined) {
      return this.#reader.request(
        { op: "search", viewer, query, limit, ...(channel === undefined ? {} : { channel }) },
        { refusable: true },
      );
    }
    return settle(() => this.searchNow(viewer, query, limit, channel));
  }

  unread(account: number, points: ReadPoint[]): Promise<UnreadCount[]> {
    if (this.#reader !== undefined) {
      return this.#reader.request({ op: "unread", account, points }, { refusable: false });
    }
    return settle(() => {
      this.#assertOpen();
      return this.#reads.unread(account, points);
    });
  }

  directPartners(account: number): Promise<number[]> {
    if (this.#reader !== undefined) {
      return this.#reader.request({ op: "partners", account }, { refusable: false });
    }
    return settle(() => {
      this.#assertOpen();
      return this.#reads.directPartners(account);
    });
  }

  /** A lookup by id on this thread's connection: as cheap as the append beside it. */
  fileMessage(viewer: Viewer, id: number): Promise<StoredMessage | null> {
    return settle(() => {
      this.#assertOpen();
      return this.#reads.fileMessage(viewer, id);
    });
  }

  fileReferenced(sha256: string): Promise<boolean> {
    return settle(() => {
      this.#assertOpen();
      return this.#reads.fileReferenced(sha256);
    });
  }

  /** {@link page}, answered synchronously on this thread (the writer's connection). */
  pageNow(query: PageQuery): Page {
    this.#assertOpen();
    return this.#reads.page(query);
  }

  /** {@link after}, answered synchronously on this thread (the writer's connection). */
  afterNow(viewer: Viewer, afterId: number, limit: number): StoredMessage[] {
    this.#assertOpen();
    return this.#reads.after(viewer, afterId, limit);
  }

  /** {@link search}, answered synchronously on this thread (the writer's connection). */
  searchNow(viewer: Viewer, query: string, limit: number, channel?: number): StoredMessage[] {
    this.#assertOpen();
    return this.#reads.search(viewer, query, limit, channel);
  }

  /**
   * Operator view for `lanchat history`: ignores private-message visibility
   * (whoever can read the file can read every message in it).
   */
  query(query: OperatorQuery): StoredMessage[] {
    this.#assertOpen();
    return this.#reads.query(query);
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
    if (!this.#closed && deleted > 0) {
      this.#lastId = this.#reads.lastId();
      this.#space?.refresh();
    }
    return deleted;
  }

  /**
   * Checks the file (`lanchat serve` at start; see IntegrityCheckOptions) in a
   * worker of its own. Rejects with StorageError, saying how to restore or
   * salvage, when damage is found within `waitMs`; later findings go to the
   * log. Nothing to check for ":memory:".
   */
  async checkIntegrity(options: IntegrityCheckOptions = {}): Promise<void> {
    if (this.path === ":memory:" || this.#closed || this.#checker !== undefined) return;
    const waitMs = options.waitMs ?? 3000;
    const checker = new ReaderWorker({ path: this.path, timeoutMs: 24 * 60 * 60 * 1000 });
    this.#checker = checker;
    const startedAt = performance.now();
    const structure = checker.request(
      { op: "check", scope: "structure", maxProblems: 10 },
      { refusable: false },
    );
    structure.catch(() => {}); // awaited below or in the background
    let timer: ReturnType<typeof setTimeout> | undefined;
    const early = await Promise.race([
      structure,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), waitMs)),
    ]).finally(() => clearTimeout(timer)).catch(() => undefined);
    if (early !== undefined && early.length > 0) {
      this.#checker = undefined;
      await checker.close();
      throw damagedError(this.path, early);
    }
    if (early === undefined) {
      this.#log(
        `history: checking ${this.path} in the background (${
          fileMib(this.path)
        } MiB take longer than ${waitMs / 1000} s); serving meanwhile`,
      );
    }
    this.#backgroundCheck = (async () => {
      try {
        const structural = early ?? await structure;
        const problems = structural.length > 0 ? structural : await checker.request(
          { op: "check", scope: "full", maxProblems: 10 },
          { refusable: false },
        );
        if (problems.length > 0) {
          const error = damagedError(this.path, problems);
          this.#log(
            `history: WARNING: ${error.message}. Messages may be missing or fail to load.
` +
              `  Stop the server, then ${error.hint}`,
          );
        } else if (early === undefined) {
          this.#log(
            `history: ${this.path} checked, no problems (${
              ((performance.now() - startedAt) / 1000).toFixed(1)
            } s)`,
          );
        }
      } catch (error) {
        if (!this.#closed) {
          this.#log(
            `history: could not check ${this.path}: ${
              error instanceof Error ? error.message : String(error)
            }`,
          );
        }
      } finally {
        if (this.#checker === checker) this.#checker = undefined;
        await checker.close();
      }
    })();
  }

  /**
   * Commits the pending batch, stops the reader and the integrity check, then
   * closes the file and releases its lock. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#flush();
    this.#closed = true;
    this.#closing = (async () => {
      try {
        await this.#checker?.close();
        await this.#backgroundCheck;
        await this.#reader?.close();
      } finally {
        this.#statements.clear();
        this.#reads.close();
        this.#db.close();
        this.#lock?.release();
      }
    })();
    return this.#closing;
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
    const batchBytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (batch.length === 0) return;
    let stored: StoredMessage[];
    try {
      stored = this.#write(() => batch.map(({ message }) => this.#insert(message)));
    } catch (error) {
      const failure = this.#space?.explainFull(error, batchBytes) ??
        (error instanceof StorageError ? error : storageError(this.path, error));
      for (const { reject } of batch) reject(failure);
      return;
    }
    this.#lastId = stored.at(-1)!.id;
    this.#space?.refresh();
    batch.forEach(({ resolve }, index) => resolve(stored[index]!));
  }

  #insert(message: NewMessage): StoredMessage {
    const { lastInsertRowid } = this.#statement(
      `INSERT INTO messages (ts, from_nick, to_nick, kind, text, from_key, to_key,
         from_account, to_account, channel_id, mentions, mentions_everyone, file, file_sha256)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      message.ts,
      message.from,
      message.to,
      message.kind,
      message.text,
      nickKey(message.from),
      message.to === null ? null : nickKey(message.to),
      message.fromAccount ?? null,
      message.to === null ? null : message.toAccount ?? null,
      message.to === null && (message.channel ?? 0) !== 0 ? message.channel ?? null : null,
      (message.mentions ?? []).length === 0 ? null : `,${message.mentions!.join(",")},`,
      message.mentionsEveryone === true ? 1 : 0,
      message.file === undefined ? null : JSON.stringify(message.file),
      message.file?.sha256 ?? null,
    );
    return { ...message, channel: message.channel ?? 0, id: Number(lastInsertRowid) };
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

  /** Bytes of the pages in use: the file's pages less its free list (after a commit or prune). */
  #usedBytes(): number {
    const row = this.#statement(
      "SELECT page_count - freelist_count AS pages, page_size AS size " +
        "FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
    ).get();
    return Number(row?.pages ?? 0) * Number(row?.size ?? 0);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("SqliteHistory: read after close()");
  }
}

/**
 * Opens (creating it and its folders when missing, unless `readOnly`) the
 * history at `path`, or an in-memory one for ":memory:", and brings its schema
 * up to date. Throws StorageError, with a `hint` for the operator, for a file
 * that is corrupt, not lanchat's, from a newer lanchat, read-only or
 * unreachable. `readOnly` reads a file on read-only media too (openForReading).
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
  // Before the file is touched: a second server must not migrate nor write it.
  const lock = !inMemory && !readOnly ? HistoryLock.acquire(path) : undefined;
  let db: DatabaseSync;
  try {
    // A new history is its owner's alone (private messages are in it): made with mode 0600, which
    // SQLite gives its -wal and -shm files too. An existing file keeps the mode it has.
    if (!inMemory && !readOnly && !exists(path)) createPrivateFile(path);
    db = readOnly && !inMemory ? openForReading(path) : new DatabaseSync(path, { readOnly });
  } catch (error) {
    lock?.release();
    throw storageError(path, error);
  }
  try {
    configure(db, path, inMemory, options);
    return new SqliteHistory(db, path, options, lock);
  } catch (error) {
    db.close();
    lock?.release();
    throw error instanceof StorageError ? error : storageError(path, error);
  }
}

/**
 * The history of `lanchat serve`: openSqliteHistory, then the reader worker
 * started and the file checked (SqliteHistory.checkIntegrity, bounded by
 * `waitMs`). Throws StorageError for a file that is in use by another
 * server, damaged, or cannot be opened.
 */
export async function openServerHistory(
  path: string,
  options: SqliteHistoryOptions & IntegrityCheckOptions = {},
): Promise<SqliteHistory> {
  const history = openSqliteHistory(path, options);
  try {
    history.warmUp();
    await history.checkIntegrity(options.waitMs === undefined ? {} : { waitMs: options.waitMs });
    return history;
  } catch (error) {
    await history.close();
    throw error;
  }
}

/** Makes an empty file that only its owner may read or write (a new, empty SQLite database). */
function createPrivateFile(path: string): void {
  try {
    Deno.openSync(path, { write: true, createNew: true, mode: 0o600 }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/** Where `--salvage` suggests copying a damaged `path`: `history.db` -> `history-salvaged.db`. */
export function salvagePathFor(path: string): string {
  return path.endsWith(".db") ? `${path.slice(0, -3)}-salvaged.db` : `${path}.salvaged`;
}

/** SQLite's result code for a file it cannot open (or a -shm / -wal it cannot create). */
const sqliteCantOpen = 14;

/**
 * Opens `path` for reading only, also on read-only media (a mounted backup,
 * a read-only bind mount or share). A WAL database needs its `-shm` file
 * (and `-wal`) beside it even to read, and where they do not exist and cannot
 * be created, SQLite fails with "unable to open database file". Then:
 * - no `-shm` and no (or an empty) `-wal`: no connection has the file open
 *   and every message is in the file itself, so it is opened `immutable`
 *   (SQLite reads it as it is: no lock, no -shm, no -wal);
 * - a `-wal` with content but no `-shm` (a server stopped by a crash, then
 *   copied): those messages cannot be read without writing the `-shm`, so a
 *   StorageError says to copy the files to a writable folder.
 * With `-wal` and `-shm` both there (even read-only), SQLite reads them itself.
 */
function openForReading(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.prepare("PRAGMA user_version").get(); // SQLite opens the file at the first read
    return db;
  } catch (error) {
    db.close();
    if ((error as { errcode?: unknown }).errcode !== sqliteCantOpen) throw error;
    // With a -shm there, SQLite could read (it needs no write for that): something else failed.
    if (fileSize(`${path}-shm`) !== undefined) throw error;
    if ((fileSize(`${path}-wal`) ?? 0) > 0) {
      const folder = dirname(path);
      throw new StorageError(
        `${path} cannot be read in place: its last messages are in ${path}-wal, which SQLite ` +
          `reads only with a ${path}-shm file beside it, and none can be made in ${folder}`,
        `copy both to a writable folder and read the copy, e.g. ` +
          `cp ${shellWord(path)} ${shellWord(`${path}-wal`)} /tmp/ then --db ${
            shellWord(`/tmp/${basename(path)}`)
          }`,
        { cause: error },
      );
    }
    const immutable = pathToFileURL(path);
    immutable.search = "?immutable=1";
    const copy = new DatabaseSync(immutable, { readOnly: true });
    try {
      copy.prepare("PRAGMA user_version").get();
      return copy;
    } catch {
      copy.close();
      throw error; // Not a read-only medium after all: say what the first open said.
    }
  }
}

/** The size of the file at `path` in bytes, or undefined when there is none. */
function fileSize(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch {
    return undefined;
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
  const version = checkHistoryFile(db, path, { current: readOnly });
  if (readOnly) return;
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

/**
 * Reads the schema version of `db` (the first read: it fails on a file that
 * is not SQLite) and checks that this lanchat may use the file: throws
 * StorageError for a SQLite file that is not a lanchat history, or one from a
 * newer lanchat; with `current`, also for an empty file or an older schema
 * (`upgradeHint` says what to do then), since only the server migrates.
 */
function checkHistoryFile(
  db: DatabaseSync,
  path: string,
  options: { current: boolean; upgradeHint?: string },
): number {
  const version = pragmaNumber(db, "user_version");
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
  if (options.current && version < schemaVersion) {
    throw new StorageError(
      version === 0
        ? `${path} holds no lanchat history`
        : `${path} has an older schema (version ${version}; this lanchat reads version ${schemaVersion})`,
      options.upgradeHint ??
        "start the server once with --db set to this file (the serve command) to create or upgrade it",
    );
  }
  return version;
}

/** Options of openHistoryFile. */
export interface HistoryFileOptions {
  /** Open for reading only (a file on read-only media too, as `lanchat history`). Default false. */
  readOnly?: boolean;
  /** How long to wait for the server's write lock, in ms (`PRAGMA busy_timeout`). Default 5000. */
  busyTimeoutMs?: number;
  /**
   * The hint of the StorageError for a file of an older schema. Default: start
   * the server once with --db set to the file.
   */
  upgradeHint?: string;
}

/**
 * Opens the existing history file at `path` as one more SQLite connection,
 * beside a running server or without one, for an operator's tool that reads
 * or changes it in place (`lanchat accounts`). Unlike openSqliteHistory it
 * never creates the file, never migrates it and takes no lock: the server may
 * hold that lock, and SQLite's own locking orders the writes (a write waits
 * up to `busyTimeoutMs` for the server's). Throws StorageError for a missing
 * file, one that is not a lanchat history, and one whose schema is not
 * exactly {@link schemaVersion}: an older one is upgraded only by the server
 * (`upgradeHint`), a newer one needs a newer lanchat. The caller closes it.
 *
 * @example
 * const db = openHistoryFile(path);
 * try { new SqliteAccounts(db, path).list(); } finally { db.close(); }
 */
export function openHistoryFile(path: string, options: HistoryFileOptions = {}): DatabaseSync {
  if (path === ":memory:" || !exists(path)) {
    throw new StorageError(`no history at ${path}`, "check the path, or pass --db PATH");
  }
  let db: DatabaseSync;
  try {
    db = options.readOnly ? openForReading(path) : openReadWrite(path);
  } catch (error) {
    throw storageError(path, error);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    checkHistoryFile(db, path, {
      current: true,
      ...(options.upgradeHint === undefined ? {} : { upgradeHint: options.upgradeHint }),
    });
    return db;
  } catch (error) {
    db.close();
    throw error instanceof StorageError ? error : storageError(path, error);
  }
}

/** Opens the existing database `path` to read and write; SQLite's `mode=rw` never creates it. */
function openReadWrite(path: string): DatabaseSync {
  const url = pathToFileURL(path);
  url.search = "?mode=rw";
  const db = new DatabaseSync(url);
  try {
    db.prepare("PRAGMA user_version").get(); // SQLite opens the file at the first read
    return db;
  } catch (error) {
    db.close();
    throw error;
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

function damagedError(path: string, problems: string[]): StorageError {
  const shown = problems.slice(0, 3).join("; ");
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
  const copy = salvagePathFor(path);
  return new StorageError(
    `${path} is damaged (integrity check: ${shown}${more})`,
    `restore it from a backup, or copy what can still be read into a new file and serve that one: ` +
      `run the history command with --db ${shellWord(path)} --salvage ${shellWord(copy)}, ` +
      `then the serve command with --db ${shellWord(copy)}`,
  );
}

/** `word` as one shell word, quoted only when it needs to be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function fileMib(path: string): string {
  try {
    return (Deno.statSync(path).size / (1024 * 1024)).toFixed(0);
  } catch {
    return "?";
  }
}

function settle<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (error) {
    return Promise.reject(error);
  }
}
