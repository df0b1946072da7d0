/**
 * The reader worker: a Worker that answers a server's history reads (pages,
 * resume, search) and the integrity check over its own read-only connection
 * to the WAL database, so that a slow read never stalls the event loop that
 * carries the sockets. Started by lib/store/history_reader_client.ts.
 *
 * Owns: the messages between the server and its reader (ReaderMessage in,
 * ReaderReply out) and the worker's side of them: open, answer one call at a
 * time in the order received, close.
 * Imports only lib/store/history_reads.ts, lib/store/history_errors.ts, lib/wire/errors.ts,
 * lib/store/history.ts (types) and node:sqlite; must not import the writer, the
 * room or sockets. `deno compile` must embed this file (scripts/compile.ts).
 */
import { DatabaseSync } from "node:sqlite";
import { StorageError } from "../wire/errors.ts";
import { storageError } from "./history_errors.ts";
import { HistoryReads, quickCheck, structureCheck } from "./history_reads.ts";
import type { Page, PageQuery, ReadPoint, StoredMessage, UnreadCount, Viewer } from "./history.ts";

/** One read the worker answers, by name. */
export type ReaderCall =
  | { op: "page"; query: PageQuery }
  | { op: "after"; viewer: Viewer; afterId: number; limit: number }
  | { op: "search"; viewer: Viewer; query: string; limit: number; channel?: number }
  | { op: "check"; scope: CheckScope; maxProblems: number }
  | { op: "unread"; account: number; points: ReadPoint[] }
  | { op: "partners"; account: number };

/**
 * What a check covers. "structure": `PRAGMA quick_check(TABLE)` of every
 * b-tree (each table with its indexes, the index's shadow tables included):
 * about 1.1 s per GiB from the page cache, and it finds damaged pages.
 * "full": `PRAGMA quick_check` of the whole file, which adds the page
 * accounting and the full-text index's own check (re-reading every text):
 * about 16 s per GiB.
 */
export type CheckScope = "structure" | "full";

/** What each call answers. */
export interface ReaderResults {
  page: Page;
  after: StoredMessage[];
  search: StoredMessage[];
  /** Problems found by `PRAGMA quick_check`; empty when the file is sound. */
  check: string[];
  unread: UnreadCount[];
  partners: number[];
}

/** An error as it crosses the worker boundary. */
export interface ReaderFailure {
  name: string;
  message: string;
  /** The StorageError's hint, when it was one. */
  hint?: string;
}

/** From the server to its reader. `open` comes first and once. */
export type ReaderMessage =
  | { kind: "open"; path: string; shortSearchScanRows?: number; busyTimeoutMs: number }
  | { kind: "call"; id: number; call: ReaderCall }
  | { kind: "close" };

/** From the reader to the server. */
export type ReaderReply =
  | { kind: "opened" }
  | { kind: "failed"; error: ReaderFailure }
  | { kind: "answer"; id: number; value: ReaderResults[ReaderCall["op"]] }
  | { kind: "error"; id: number; error: ReaderFailure }
  | { kind: "closed" };

/** The worker's side of its message port (`self` inside a Worker). */
export interface ReaderPort {
  postMessage(reply: ReaderReply): void;
  onmessage: ((event: MessageEvent<ReaderMessage>) => void) | null;
  close(): void;
}

/** Answers ReaderMessages on `port` until `close`. */
export function serveReads(port: ReaderPort): void {
  let db: DatabaseSync | undefined;
  let reads: HistoryReads | undefined;
  port.onmessage = ({ data: message }) => {
    switch (message.kind) {
      case "open":
        try {
          db = new DatabaseSync(message.path, { readOnly: true });
          db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(message.busyTimeoutMs))}`);
          const options = message.shortSearchScanRows === undefined
            ? {}
            : { shortSearchScanRows: message.shortSearchScanRows };
          reads = new HistoryReads(db, message.path, options);
          port.postMessage({ kind: "opened" });
        } catch (error) {
          port.postMessage({ kind: "failed", error: failure(storageError(message.path, error)) });
        }
        return;
      case "call":
        if (db === undefined || reads === undefined) {
          port.postMessage({
            kind: "error",
            id: message.id,
            error: { name: "Error", message: "history reader: call before open" },
          });
          return;
        }
        try {
          port.postMessage({
            kind: "answer",
            id: message.id,
            value: answer(db, reads, message.call),
          });
        } catch (error) {
          port.postMessage({ kind: "error", id: message.id, error: failure(error) });
        }
        return;
      case "close":
        reads?.close();
        db?.close();
        port.postMessage({ kind: "closed" });
        port.close();
        return;
    }
  };
}

function answer(
  db: DatabaseSync,
  reads: HistoryReads,
  call: ReaderCall,
): ReaderResults[ReaderCall["op"]] {
  switch (call.op) {
    case "page":
      return reads.page(call.query);
    case "after":
      return reads.after(call.viewer, call.afterId, call.limit);
    case "search":
      return reads.search(call.viewer, call.query, call.limit, call.channel);
    case "unread":
      return reads.unread(call.account, call.points);
    case "partners":
      return reads.directPartners(call.account);
    case "check":
      return call.scope === "full"
        ? quickCheck(db, call.maxProblems)
        : structureCheck(db, call.maxProblems);
  }
}

function failure(error: unknown): ReaderFailure {
  if (error instanceof StorageError) {
    return { name: error.name, message: error.message, hint: error.hint };
  }
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}

if (import.meta.main) serveReads(self as unknown as ReaderPort);
