/**
 * `lanchat history --db F --salvage NEW`: copies every message that can
 * still be read from a damaged history into a fresh one, keeping the ids (a
 * client resuming with `after` still lands in the right place).
 *
 * Owns: walking the messages table by id ranges, bisecting a range that fails
 * down to single ids and skipping those, checking each row before it is
 * copied, and the progress lines. It reads through SQLite's b-tree, so rows
 * reachable only through a destroyed interior page are lost; `sqlite3 F
 * .recover` scans raw pages and may find more.
 * Imports lib/store/history_sqlite.ts (to create NEW), lib/wire/errors.ts and
 * lib/wire/protocol.ts; must not import the server, room or sockets.
 */
import { DatabaseSync } from "node:sqlite";
import type { SQLOutputValue } from "node:sqlite";
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
}

/** Options of salvageHistory. */
export interface SalvageOptions {
  /** Called with a progress line every `progressEveryMs` of a long run. Default: none. */
  progress?: (line: string) => void;
  /** Default 2000. */
  progressEveryMs?: number;
  /** Rows read (and written) per query and transaction. Default 1000. */
  chunkSize?: number;
}

interface MessageRow {
  id: number;
  ts: number;
  from: string;
  to: string | null;
  kind: "text" | "action";
  text: string;
}

type Row = Record<string, SQLOutputValue>;

const applicationId = 0x4c4e4348;

/**
 * Copies what can be read of the history `source` into a new history at
 * `target`, which must not exist. Throws StorageError when `source` cannot be
 * opened as a lanchat history at all, or `target` exists.
 */
export function salvageHistory(
  source: string,
  target: string,
  options: SalvageOptions = {},
): SalvageReport {
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
    const walk = new SalvageWalk(from, source, options);
    const idRange = walk.idRange();
    const report: SalvageReport = { copied: 0, unreadable: 0, unreadableRanges: [], idRange };
    openSqliteHistory(target).close();
    const to = new DatabaseSync(target);
    try {
      const insert = to.prepare(
        `INSERT OR IGNORE INTO messages (id, ts, from_nick, to_nick, kind, text, from_key, to_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const write = (rows: MessageRow[]) => {
        to.exec("BEGIN IMMEDIATE");
        try {
          for (const row of rows) {
            let inserted = false;
            try {
              inserted = insert.run(
                row.id,
                row.ts,
                row.from,
                row.to,
                row.kind,
                row.text,
                nickKey(row.from),
                row.to === null ? null : nickKey(row.to),
              ).changes > 0;
            } catch {
              // A row the new file's constraints refuse is damage; the transaction goes on.
            }
            if (inserted) report.copied++;
            else skip(report, row.id, row.id);
          }
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
      if (idRange !== null) walk.copy(idRange[0], idRange[1], write, report);
      // Ids are never handed out twice: carry the old file's sequence over when it can be read.
      const lastHandedOut = Math.max(walk.sequence() ?? 0, idRange?.[1] ?? 0);
      to.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'messages'").run(
        lastHandedOut,
      );
      to.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      to.close();
    }
    return report;
  } finally {
    from.close();
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

  constructor(db: DatabaseSync, source: string, options: SalvageOptions) {
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
    return this.#number("SELECT seq AS n FROM sqlite_sequence WHERE name = 'messages'");
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
            `SELECT id, ts, from_nick, to_nick, kind, text FROM messages
             WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?`,
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
          const message = checkedRow(row, cursor, end);
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
    try {
      const value = this.#db.prepare(sql).get()?.n;
      return typeof value === "number" || typeof value === "bigint" ? Number(value) : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * The row as a message, or null when a field holds what no lanchat message
 * has, or its id is outside the range asked for (damage).
 */
function checkedRow(row: Row, low: number, high: number): MessageRow | null {
  const { id, ts, from_nick: from, to_nick: to, kind, text } = row;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < low || id > high) return null;
  if (typeof ts !== "number" || !Number.isFinite(ts)) return null;
  if (typeof from !== "string" || from.length === 0) return null;
  if (to !== null && (typeof to !== "string" || to.length === 0)) return null;
  if (kind !== "text" && kind !== "action") return null;
  if (typeof text !== "string") return null;
  return { id, ts, from, to, kind, text };
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
