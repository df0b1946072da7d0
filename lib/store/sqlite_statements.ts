/**
 * Prepared statements over one node:sqlite connection, and the write
 * transaction the small stores share (accounts, channels, read marks).
 *
 * Owns: caching each statement by its SQL, turning SQLite's failures into
 * StorageErrors that say what to do (lib/store/history_errors.ts), and
 * running a write in one `BEGIN IMMEDIATE` transaction (or inside the one
 * already open), rolled back when it fails. Imports only lib/store/history_errors.ts
 * and node:sqlite; must not import the room, sessions or sockets.
 */
import type {
  DatabaseSync,
  SQLInputValue,
  SQLOutputValue,
  StatementResultingChanges,
  StatementSync,
} from "node:sqlite";
import { storageError } from "./history_errors.ts";

/** One row as node:sqlite returns it. */
export type Row = Record<string, SQLOutputValue>;

/** The statements of one connection to the history file at `path`. */
export class Statements {
  readonly #db: DatabaseSync;
  readonly #path: string;
  #cache = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /** The first row of `sql`, or undefined. */
  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#run(() => this.#statement(sql).get(...params));
  }

  /** Every row of `sql`. */
  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#run(() => this.#statement(sql).all(...params));
  }

  /** The prepared statement of `sql` (run it inside {@link write}, which maps its failures). */
  prepared(sql: string): StatementSync {
    return this.#run(() => this.#statement(sql));
  }

  /** Runs `sql` (a write: call it inside {@link write}, or alone for one statement). */
  run(sql: string, ...params: SQLInputValue[]): StatementResultingChanges {
    return this.#run(() => this.#statement(sql).run(...params));
  }

  /**
   * Runs `work` in one write transaction, or inside the one already open;
   * rolls back when it throws. SQLite's errors become StorageErrors; other
   * Errors (a caller's refusal, such as an ambiguous fingerprint) pass as they are.
   */
  write<T>(work: () => T): T {
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
      throw this.#failure(error);
    }
  }

  #run<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /** node:sqlite's errors carry `errcode`; anything else is the caller's and passes as it is. */
  #failure(error: unknown): unknown {
    if (error instanceof Error && !("errcode" in error) && !("code" in error)) return error;
    return storageError(this.#path, error);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#cache.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}
