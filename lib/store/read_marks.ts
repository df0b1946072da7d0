/**
 * How far each account has read each conversation, and how it wants to be
 * told about it (PROTOCOL.md section 9.5): the `ReadMarks` interface, an
 * in-memory implementation and the SQLite one (table `read_marks` of schema 4).
 *
 * Owns: the highest message id read per account and conversation (a mark
 * never goes back) and the notification level. Conversations are named as
 * lib/store/history.ts ReadPoint says (`c<id>`, `d<account>`).
 * Imports only lib/store/history_errors.ts and node:sqlite (types); must not import the room or sockets.
 */
import type { DatabaseSync } from "node:sqlite";
import { Statements } from "./sqlite_statements.ts";

/** How a person wants to be told of a conversation. */
export type NotifyLevel = "all" | "mentions" | "muted";

/** The levels, for checking what a client sends. */
export const notifyLevels: readonly NotifyLevel[] = ["all", "mentions", "muted"];

/** One conversation's mark. */
export interface ReadMark {
  conversation: string;
  /** The newest message id read (0: none). */
  read: number;
  notify: NotifyLevel;
}

/** Where marks are kept. Synchronous and cheap (a primary-key write or an account's rows). */
export interface ReadMarks {
  /** Every mark of `account`. */
  of(account: number): ReadMark[];
  /** Marks `conversation` read up to `id` (never lower than before); returns the mark kept. */
  markRead(account: number, conversation: string, id: number): number;
  setNotify(account: number, conversation: string, level: NotifyLevel): void;
}

/** Marks in memory: for tests and servers whose history is in memory. */
export class MemoryReadMarks implements ReadMarks {
  #marks = new Map<number, Map<string, ReadMark>>();

  of(account: number): ReadMark[] {
    return [...this.#marks.get(account)?.values() ?? []].map((mark) => ({ ...mark }));
  }

  markRead(account: number, conversation: string, id: number): number {
    const mark = this.#mark(account, conversation);
    mark.read = Math.max(mark.read, id);
    return mark.read;
  }

  setNotify(account: number, conversation: string, level: NotifyLevel): void {
    this.#mark(account, conversation).notify = level;
  }

  #mark(account: number, conversation: string): ReadMark {
    let marks = this.#marks.get(account);
    if (marks === undefined) this.#marks.set(account, marks = new Map());
    let mark = marks.get(conversation);
    if (mark === undefined) {
      marks.set(conversation, mark = { conversation, read: 0, notify: "all" });
    }
    return mark;
  }
}

/** Marks in a history file (the caller opens, migrates and closes it). */
export class SqliteReadMarks implements ReadMarks {
  readonly #sql: Statements;

  constructor(db: DatabaseSync, path: string) {
    this.#sql = new Statements(db, path);
  }

  of(account: number): ReadMark[] {
    return this.#sql.write(() =>
      this.#sql.prepared(
        "SELECT conversation, read_id, notify FROM read_marks WHERE account_id = ?",
      ).all(account).map((row) => ({
        conversation: String(row.conversation),
        read: Number(row.read_id),
        notify: notifyLevels.find((level) => level === row.notify) ?? "all",
      }))
    );
  }

  markRead(account: number, conversation: string, id: number): number {
    return this.#sql.write(() => {
      this.#sql.prepared(
        `INSERT INTO read_marks (account_id, conversation, read_id) VALUES (?, ?, ?)
         ON CONFLICT (account_id, conversation) DO UPDATE SET read_id = max(read_id, excluded.read_id)`,
      ).run(account, conversation, id);
      return Number(
        this.#sql.prepared(
          "SELECT read_id FROM read_marks WHERE account_id = ? AND conversation = ?",
        ).get(account, conversation)?.read_id ?? id,
      );
    });
  }

  setNotify(account: number, conversation: string, level: NotifyLevel): void {
    this.#sql.write(() =>
      this.#sql.prepared(
        `INSERT INTO read_marks (account_id, conversation, notify) VALUES (?, ?, ?)
         ON CONFLICT (account_id, conversation) DO UPDATE SET notify = excluded.notify`,
      ).run(account, conversation, level)
    );
  }
}
