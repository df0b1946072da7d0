/**
 * The read queries of a lanchat history file, over one node:sqlite
 * connection: pages, resume (`after`), substring search, the operator's
 * `lanchat history` query, and `PRAGMA quick_check`.
 *
 * Owns: the SQL of every read and the case folding of short searches. Used
 * on the main thread (":memory:", `lanchat history`) and inside the reader
 * worker (lib/store/history_reader_worker.ts) for a server's database file.
 * Imports only lib/store/history.ts (types), lib/wire/protocol.ts, lib/store/history_errors.ts
 * and node:sqlite; must not import the writer, the room or sockets.
 */
import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { encodeBody, nickKey } from "../wire/protocol.ts";
import type { FileInfo } from "../wire/protocol.ts";
import { storageError } from "./history_errors.ts";
import { maxCounted } from "./history.ts";
import type { Page, PageQuery, ReadPoint, StoredMessage, UnreadCount, Viewer } from "./history.ts";

/** What `lanchat history` asks for: every condition is optional, all must hold. */
export interface OperatorQuery {
  /** Only messages with `ts >= sinceTs` (ms). */
  sinceTs?: number;
  /** Only messages with `ts < untilTs` (ms). */
  untilTs?: number;
  /**
   * Only the messages of this nick: public ones it sent, and private ones of
   * the account that owns it now (sent or received, under any nick the
   * account used); when no account owns it, the private ones sent or received
   * under it without an account (by guests, or stored before accounts
   * existed and never claimed). PROTOCOL.md section 8.7.
   */
  involving?: string;
  /** Only messages whose text contains this, case-insensitively. */
  text?: string;
  /** Only the public messages of this channel (0: `#general`, neither private nor in a channel). */
  channel?: number;
  /** Newest this many matches, returned oldest first. */
  limit: number;
}

/** Options of HistoryReads. */
export interface HistoryReadsOptions {
  /** Searches of 1-2 characters scan at most this many newest visible messages. Default 50,000. */
  shortSearchScanRows?: number;
}

type Row = Record<string, SQLOutputValue>;

const columns = "m.id, m.ts, m.from_nick, m.to_nick, m.kind, m.text, m.channel_id, m.file";
/**
 * Public in `#general` or in a channel the viewer is in (`?2`: a JSON array of channel ids), or
 * private and sent or received by the viewer's account (`?1`; never for a guest: -1).
 */
const visibleSql = `((m.to_key IS NULL AND (m.channel_id IS NULL
    OR m.channel_id IN (SELECT value FROM json_each(?2))))
  OR (m.to_key IS NOT NULL AND (m.from_account = ?1 OR m.to_account = ?1)))`;
/** What version 1 showed: `#general` and the viewer's private messages (`?1`: the account). */
const generalAndPrivateSql = `((m.to_key IS NULL AND m.channel_id IS NULL)
  OR (m.to_key IS NOT NULL AND (m.from_account = ?1 OR m.to_account = ?1)))`;
const noUpperBound = Number.MAX_SAFE_INTEGER;

/**
 * Reads over `db` (the caller opens and closes it). Every statement runs to
 * completion (`all`, `get`), so none keeps a read transaction open: each read
 * sees every commit that finished before it started (a WAL snapshot per
 * statement).
 */
export class HistoryReads {
  readonly path: string;
  #db: DatabaseSync;
  #shortSearchScanRows: number;
  #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(db: DatabaseSync, path: string, options: HistoryReadsOptions = {}) {
    this.#db = db;
    this.path = path;
    this.#shortSearchScanRows = options.shortSearchScanRows ?? 50_000;
  }

  /** Id of the newest stored message, 0 when there is none. */
  lastId(): number {
    const row = this.#read("SELECT coalesce(max(id), 0) AS id FROM messages", [])[0];
    return Number(row?.id ?? 0);
  }

  /** Newest `limit` visible messages older than `before`, oldest first. */
  page(query: PageQuery): Page {
    const before = query.before ?? noUpperBound;
    // `files` (section 10.5): the same conversations, file messages only.
    const files = query.filesOnly === true ? " AND m.file_sha256 IS NOT NULL" : "";
    const fetch = query.limit + 1;
    const partner = query.with;
    const rows = partner === undefined && query.channel !== undefined
      ? this.#read(
        query.channel === 0
          ? `SELECT ${columns} FROM messages m WHERE m.to_key IS NULL AND m.channel_id IS NULL
               AND m.id < ?1${files} ORDER BY m.id DESC LIMIT ?2`
          : `SELECT ${columns} FROM messages m WHERE m.channel_id = ?3 AND m.to_key IS NULL
               AND m.id < ?1${files} ORDER BY m.id DESC LIMIT ?2`,
        query.channel === 0 ? [before, fetch] : [before, fetch, query.channel],
      )
      : partner === undefined
      ? this.#read(
        `SELECT ${columns} FROM messages m WHERE ${generalAndPrivateSql} AND m.id < ?2${files}
         ORDER BY m.id DESC LIMIT ?3`,
        [viewerParam(query.viewer), before, fetch],
      )
      : "account" in partner
      ? this.#read(
        `SELECT ${columns} FROM messages m WHERE m.to_key IS NOT NULL
           AND min(m.from_account, m.to_account) = min(?1, ?2)
           AND max(m.from_account, m.to_account) = max(?1, ?2)
           AND m.id < ?3${files} ORDER BY m.id DESC LIMIT ?4`,
        [viewerParam(query.viewer), partner.account, before, fetch],
      )
      : this.#read(
        `SELECT ${columns} FROM messages m WHERE m.to_key IS NOT NULL AND m.id < ?3
           AND ((m.from_account = ?1 AND m.to_account IS NULL AND m.to_key = ?2)
             OR (m.to_account = ?1 AND m.from_account IS NULL AND m.from_key = ?2))${files}
           ORDER BY m.id DESC LIMIT ?4`,
        [viewerParam(query.viewer), nickKey(partner.guestNick), before, fetch],
      );
    const more = rows.length > query.limit;
    return { items: rows.slice(0, query.limit).map(toStored).reverse(), more };
  }

  /** See History.fileMessage: one lookup by id, visibility as for every read. */
  fileMessage(viewer: Viewer, id: number): StoredMessage | null {
    const row = this.#read(
      `SELECT ${columns} FROM messages m WHERE m.id = ?3 AND m.file_sha256 IS NOT NULL
         AND ${visibleSql}`,
      [viewerParam(viewer), channelsParam(viewer), id],
    )[0];
    return row === undefined ? null : toStored(row);
  }

  /** See History.fileReferenced (an index lookup). */
  fileReferenced(sha256: string): boolean {
    return this.#read("SELECT 1 AS found FROM messages WHERE file_sha256 = ? LIMIT 1", [sha256])
      .length > 0;
  }

  /** See History.unread: each count is one bounded query on the conversation's index. */
  unread(account: number, points: ReadPoint[]): UnreadCount[] {
    return points.map(({ conversation, read }) => {
      const id = Number(conversation.slice(1));
      const [where, params]: [string, SQLInputValue[]] = !conversation.startsWith("c")
        ? [
          `m.to_key IS NOT NULL AND min(m.from_account, m.to_account) = min(?1, ?2)
             AND max(m.from_account, m.to_account) = max(?1, ?2)`,
          [account, id],
        ]
        : id === 0
        ? ["m.to_key IS NULL AND m.channel_id IS NULL AND ?1 = ?1 AND ?2 = ?2", [account, id]]
        : ["m.channel_id = ?2 AND m.to_key IS NULL AND ?1 = ?1", [account, id]];
      const last = Number(
        this.#read(`SELECT coalesce(max(m.id), 0) AS id FROM messages m WHERE ${where}`, params)[0]
          ?.id ?? 0,
      );
      const direct = !conversation.startsWith("c");
      const row = this.#read(
        `SELECT count(*) AS unread, coalesce(sum(mentioned), 0) AS mentions FROM (
           SELECT (${
          direct
            ? "1"
            // CAST: a JS number may be bound as a REAL, which would print as "1.0".
            : "m.mentions_everyone = 1 OR instr(m.mentions, ',' || CAST(?1 AS INTEGER) || ',') > 0"
        }) AS mentioned
           FROM messages m WHERE ${where} AND m.id > ?3
             AND (m.from_account IS NULL OR m.from_account <> ?1)
           ORDER BY m.id LIMIT ?4)`,
        [...params, read, maxCounted],
      )[0];
      return {
        conversation,
        unread: Number(row?.unread ?? 0),
        mentions: Number(row?.mentions ?? 0),
        last,
      };
    });
  }

  /** See History.directPartners. */
  directPartners(account: number): number[] {
    return this.#read(
      `SELECT other FROM (
         SELECT CASE WHEN m.from_account = ?1 THEN m.to_account ELSE m.from_account END AS other,
           max(m.id) AS newest
         FROM messages m
         WHERE m.to_key IS NOT NULL AND (m.from_account = ?1 OR m.to_account = ?1)
         GROUP BY other)
       WHERE other IS NOT NULL AND other <> ?1 ORDER BY newest DESC LIMIT 200`,
      [account],
    ).map((row) => Number(row.other));
  }

  /** Visible messages with id > `afterId`, oldest first, at most `limit`. */
  after(viewer: Viewer, afterId: number, limit: number): StoredMessage[] {
    return this.#read(
      `SELECT ${columns} FROM messages m WHERE ${visibleSql} AND m.id > ?3 ORDER BY m.id LIMIT ?4`,
      [viewerParam(viewer), channelsParam(viewer), afterId, limit],
    ).map(toStored);
  }

  /**
   * Newest `limit` visible messages containing `query` case-insensitively,
   * oldest first. Queries of 3 or more characters use the trigram index
   * (whole history); shorter ones scan the newest `shortSearchScanRows`
   * visible messages in SQL (see shortSearchPatterns).
   */
  search(viewer: Viewer, query: string, limit: number, channel?: number): StoredMessage[] {
    const conditions = [
      `((m.to_key IS NULL AND (m.channel_id IS NULL
          OR m.channel_id IN (SELECT value FROM json_each(?))))
        OR (m.to_key IS NOT NULL AND (m.from_account = ? OR m.to_account = ?)))`,
    ];
    const params: SQLInputValue[] = [
      channelsParam(viewer),
      viewerParam(viewer),
      viewerParam(viewer),
    ];
    if (channel !== undefined) {
      conditions.push(
        channel === 0
          ? "(m.to_key IS NULL AND m.channel_id IS NULL)"
          : "(m.to_key IS NULL AND m.channel_id = ?)",
      );
      if (channel !== 0) params.push(channel);
    }
    return this.#find(
      conditions,
      params,
      query,
      limit,
      this.#shortSearchScanRows,
    );
  }

  /**
   * Operator view for `lanchat history`: no viewer, so every private message
   * can be shown (whoever can read the file can read every message in it);
   * `involving` picks a person's by account (see OperatorQuery).
   */
  query(query: OperatorQuery): StoredMessage[] {
    const conditions: string[] = [], params: SQLInputValue[] = [];
    if (query.sinceTs !== undefined) conditions.push("m.ts >= ?"), params.push(query.sinceTs);
    if (query.untilTs !== undefined) conditions.push("m.ts < ?"), params.push(query.untilTs);
    if (query.involving !== undefined) {
      const key = nickKey(query.involving);
      const owner = this.#read("SELECT id FROM accounts WHERE nick_key = ?", [key])[0];
      if (owner !== undefined) {
        const account = Number(owner.id);
        conditions.push(
          "(CASE WHEN m.to_key IS NULL THEN m.from_key = ? " +
            "ELSE m.from_account = ? OR m.to_account = ? END)",
        );
        params.push(key, account, account);
      } else {
        conditions.push(
          "(CASE WHEN m.to_key IS NULL THEN m.from_key = ? " +
            "ELSE (m.from_key = ? AND m.from_account IS NULL) " +
            "OR (m.to_key = ? AND m.to_account IS NULL) END)",
        );
        params.push(key, key, key);
      }
    }
    if (query.channel === 0) {
      conditions.push("(m.to_key IS NULL AND m.channel_id IS NULL)");
    } else if (query.channel !== undefined) {
      conditions.push("(m.to_key IS NULL AND m.channel_id = ?)"), params.push(query.channel);
    }
    return this.#find(conditions, params, query.text, query.limit, undefined);
  }

  /** Forgets the prepared statements; the owner closes the connection after. */
  close(): void {
    this.#closed = true;
    this.#statements.clear();
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
    const patterns = shortSearchPatterns(text);
    const matches = patterns.map(() => "m.text LIKE ? ESCAPE '\\'").join(" OR ");
    return this.#read(
      `SELECT * FROM (${recent}) AS m WHERE ${matches} ORDER BY m.id DESC LIMIT ?`,
      [...params, scanRows ?? -1, ...patterns, limit],
    ).map(toStored).reverse();
  }

  #read(sql: string, params: SQLInputValue[]): Row[] {
    if (this.#closed) throw new Error("HistoryReads: read after close()");
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
}

/**
 * `PRAGMA quick_check` of the whole of `db`: the problems it reports (at most
 * `maxProblems`), or none when the file is sound. Besides every b-tree it runs
 * the full-text index's own check, which re-reads every text: about 16 s per
 * GiB. A file too damaged to check at all is one problem.
 */
export function quickCheck(db: DatabaseSync, maxProblems = 10): string[] {
  return pragmaProblems(db, `PRAGMA quick_check(${Math.max(1, Math.trunc(maxProblems))})`);
}

/**
 * `PRAGMA quick_check(TABLE)` of every table stored in `db` (each checks the
 * table's b-tree and its indexes' b-trees), the full-text index's shadow
 * tables included: every page that holds data is read and its structure
 * checked, without the full-text index's semantic check. About 1.1 s per GiB
 * from the page cache; finds overwritten or truncated pages. At most
 * `maxProblems` problems, each prefixed with its table.
 */
export function structureCheck(db: DatabaseSync, maxProblems = 10): string[] {
  let tables: string[];
  try {
    tables = db.prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND rootpage > 0 ORDER BY rootpage",
    ).all().map((row) => String(row.name));
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
  const problems: string[] = [];
  for (const table of ["sqlite_schema", ...tables]) {
    const quoted = `"${table.replaceAll('"', '""')}"`;
    for (const problem of pragmaProblems(db, `PRAGMA quick_check(${quoted})`)) {
      problems.push(`${table}: ${problem}`);
      if (problems.length >= maxProblems) return problems;
    }
  }
  return problems;
}

function pragmaProblems(db: DatabaseSync, sql: string): string[] {
  try {
    const problems = db.prepare(sql).all().map((row) => String(Object.values(row)[0]));
    return problems.length === 1 && problems[0] === "ok" ? [] : problems;
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

/**
 * LIKE patterns (with `\` as escape) that together match, in SQL, the texts
 * containing `text` in any case, as `toLowerCase()` of both would.
 *
 * SQLite's LIKE folds ASCII only, so each cased non-ASCII character of the
 * needle is expanded into its case variants: every single character whose
 * lower case is its lower case ("é" -> é, É; "ß" -> ß, ẞ; "ω" -> ω, Ω and the
 * ohm sign), plus its own lower- and upper-case strings when they fold back
 * to it ("İ" -> i̇). The patterns are the product of the variants: at most a
 * handful for the 1-2 characters that take this path (3 or more use the
 * trigram index). Where JavaScript's context-sensitive lower case differs,
 * the letter wins over its position: "σ" finds a word-final "Σ", which
 * `toLowerCase` would have turned into "ς".
 */
export function shortSearchPatterns(text: string): string[] {
  let variants = [""];
  for (const char of text) {
    const forms = char > "\x7f" && char.toLowerCase() !== char.toUpperCase()
      ? caseVariants(char)
      : [char];
    variants = variants.flatMap((start) => forms.map((form) => start + form));
  }
  return variants.map((variant) => `%${variant.replace(/[\\%_]/g, "\\$&")}%`);
}

/** Single characters that lower-case to a given string, for the cased ones (built on first use). */
let upperFormsByLower: Map<string, string[]> | undefined;

function caseVariants(char: string): string[] {
  upperFormsByLower ??= buildUpperForms();
  const lower = char.toLowerCase();
  const candidates = new Set([
    char,
    lower,
    char.toUpperCase(),
    ...(upperFormsByLower.get(lower) ?? []),
  ]);
  return [...candidates].filter((candidate) => candidate.toLowerCase() === lower);
}

/** Every code point above ASCII whose lower case differs from itself, by that lower case (~15 ms). */
function buildUpperForms(): Map<string, string[]> {
  const forms = new Map<string, string[]>();
  for (let codePoint = 0x80; codePoint <= 0x1ffff; codePoint++) {
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
    const char = String.fromCodePoint(codePoint);
    const lower = char.toLowerCase();
    if (lower === char) continue;
    const known = forms.get(lower);
    if (known === undefined) forms.set(lower, [char]);
    else known.push(char);
  }
  return forms;
}

/** The viewer's channels besides `#general`, as the JSON array {@link visibleSql} reads. */
function channelsParam(viewer: Viewer): string {
  return JSON.stringify(viewer.channels ?? []);
}

/** The `file` column: the JSON of a FileInfo, written by the server (undefined if unreadable). */
function parseFile(json: string): FileInfo | undefined {
  try {
    const value = JSON.parse(json) as Partial<FileInfo>;
    if (
      typeof value.name !== "string" || typeof value.size !== "number" ||
      typeof value.mime !== "string" || typeof value.sha256 !== "string"
    ) return undefined;
    return { name: value.name, size: value.size, mime: value.mime, sha256: value.sha256 };
  } catch {
    return undefined;
  }
}

/** The viewer's account for {@link visibleSql}; -1 (no account has it) for a guest. */
function viewerParam(viewer: Viewer): number {
  return viewer.account ?? -1;
}

/** `text` as one FTS5 string: a phrase matched as a substring by the trigram tokenizer. */
function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

function toStored(row: Row): StoredMessage {
  const text = String(row.text);
  const file = typeof row.file === "string" ? parseFile(row.file) : undefined;
  return {
    ...(file === undefined ? {} : { file }),
    id: Number(row.id),
    ts: Number(row.ts),
    from: String(row.from_nick),
    to: row.to_nick === null || row.to_nick === undefined ? null : String(row.to_nick),
    channel: row.channel_id === null || row.channel_id === undefined ? 0 : Number(row.channel_id),
    kind: row.kind === "action" ? "action" : "text",
    text,
    body: encodeBody(text),
  };
}
