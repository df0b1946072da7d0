/**
 * Errors of the SQLite message store, and the one place that turns a SQLite
 * or file-system failure into a StorageError a person can act on.
 *
 * Owns: storageError (the operator's message and hint for each failure),
 * HistoryFullError (the size limit or the free-space floor refuses a message),
 * HistoryBusyError (the reader's queue is full: `rate_limited` with a wait).
 * Imports only lib/wire/errors.ts; must not import the store, the room or sockets
 * (the reader worker imports it too).
 */
import { ProtocolError, StorageError } from "../wire/errors.ts";

/**
 * The reader of a database file has more requests waiting than it takes
 * (`SqliteHistoryOptions.maxQueuedReads`), or a request waited longer than its
 * deadline before it could start. A ProtocolError with code `rate_limited` and
 * `waitMs` (the estimated time for the queue to drain), so a session that
 * reports ProtocolErrors as they are answers `rate_limited` with that wait.
 */
export class HistoryBusyError extends ProtocolError {
  override name = "HistoryBusyError";

  constructor(waitMs: number) {
    const wait = Math.max(100, Math.ceil(waitMs / 100) * 100);
    super(
      "rate_limited",
      `the server is busy answering other history requests; try again in ${
        (wait / 1000).toFixed(1)
      } s`,
      { waitMs: wait },
    );
  }
}

/** Why a HistoryFullError refused a message. */
export type HistoryFullReason = "size_limit" | "disk_space";

/**
 * A message was refused because the history reached its size limit
 * (`--max-db-mib`) or the disk holding it has less free space than
 * `--min-free-mib`. Nothing stored is touched; messages are taken again as
 * soon as there is room. `message` and `hint` are for the operator (they name
 * the file); `publicMessage` is what a chat client may be told.
 */
export class HistoryFullError extends StorageError {
  override name = "HistoryFullError";
  readonly reason: HistoryFullReason;
  readonly publicMessage: string;

  constructor(reason: HistoryFullReason, message: string, hint: string, options?: ErrorOptions) {
    super(message, hint, options);
    this.reason = reason;
    this.publicMessage = reason === "size_limit"
      ? "the server's chat history is full, so your message was not sent; tell the server's operator"
      : "the server is almost out of disk space, so your message was not sent; tell the server's operator";
  }
}

/** The hint for a file or folder lanchat may not write. */
export const readOnlyHint =
  "give lanchat write permission on the file and its folder (the -wal and -shm files beside it too), or pass --db PATH to a writable place";

/** Turns a SQLite or file-system failure about `path` into a StorageError a person can act on. */
export function storageError(path: string, error: unknown): StorageError {
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
      "stop the other program using this file, or pass --db PATH",
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
