/**
 * One writer per history file: an exclusive OS lock on a lock file beside
 * the database (`history.db.lock`), held for the life of the writer. The OS
 * releases it when the process ends in any way, so a `kill -9` leaves no
 * stale lock behind; the file's content (the owner's PID and start time) is
 * only read to name the owner in the refusal.
 *
 * Owns: the lock file's name, content and locking. Imports only
 * lib/wire/errors.ts and lib/store/history_errors.ts; must not import the store itself.
 */
import { StorageError } from "../wire/errors.ts";
import { readOnlyHint } from "./history_errors.ts";

/** What the owner writes into the lock file. */
interface LockOwner {
  pid: number;
  /** When the owner took the lock, ms since the epoch. */
  startedAt: number;
}

/** The lock file of the history at `dbPath`. */
export function lockPathFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

/** A held lock; `release` gives it back. */
export class HistoryLock {
  readonly path: string;
  #file: Deno.FsFile | undefined;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Takes the lock of the history at `dbPath`, or throws StorageError naming
   * the process that holds it ("... is in use by another lanchat serve (PID
   * 1234, started 14:02)"), or saying why the lock file cannot be made.
   * The lock is the OS's (flock on Unix, LockFileEx on Windows): it does not
   * work on every network file system; keep a history on a local disk.
   */
  static acquire(dbPath: string, now: () => number = Date.now): HistoryLock {
    const path = lockPathFor(dbPath);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, create: true });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StorageError(
        `cannot open the lock file ${path} beside the history (${reason})`,
        error instanceof Deno.errors.PermissionDenied || /read-only/i.test(reason)
          ? readOnlyHint
          : "lanchat must be able to create files in the folder of --db; check it, or pass --db PATH",
        { cause: error },
      );
    }
    let locked: boolean;
    try {
      locked = file.tryLockSync(true);
    } catch (error) {
      file.close();
      throw new StorageError(
        `cannot lock ${path} (${error instanceof Error ? error.message : String(error)})`,
        "keep the history on a local disk that supports file locks, or pass --db PATH",
        { cause: error },
      );
    }
    if (!locked) {
      const owner = readOwner(file);
      file.close();
      throw new StorageError(
        `${dbPath} is in use by another lanchat serve (${describeOwner(owner, now())})`,
        "stop it, or pass --db PATH to use another file",
      );
    }
    try {
      const owner: LockOwner = { pid: Deno.pid, startedAt: now() };
      const bytes = new TextEncoder().encode(`${JSON.stringify(owner)}\n`);
      file.truncateSync(0);
      file.seekSync(0, Deno.SeekMode.Start);
      for (let written = 0; written < bytes.length;) {
        written += file.writeSync(bytes.subarray(written));
      }
    } catch {
      // The lock is what counts; the owner's details only help the next refusal.
    }
    return new HistoryLock(path, file);
  }

  /** Gives the lock back (the file stays: deleting it could let two owners in). */
  release(): void {
    const file = this.#file;
    this.#file = undefined;
    if (file === undefined) return;
    try {
      file.unlockSync();
    } finally {
      file.close();
    }
  }
}

function readOwner(file: Deno.FsFile): LockOwner | undefined {
  try {
    const buffer = new Uint8Array(256);
    file.seekSync(0, Deno.SeekMode.Start);
    const read = file.readSync(buffer) ?? 0;
    const value: unknown = JSON.parse(new TextDecoder().decode(buffer.subarray(0, read)));
    if (typeof value !== "object" || value === null) return undefined;
    const { pid, startedAt } = value as Record<string, unknown>;
    return typeof pid === "number" && typeof startedAt === "number"
      ? { pid, startedAt }
      : undefined;
  } catch {
    return undefined; // written at this very moment, or not by lanchat
  }
}

/** "PID 1234, started 14:02", with the date when it was not today. */
function describeOwner(owner: LockOwner | undefined, now: number): string {
  if (owner === undefined) return "its PID is unknown";
  const started = new Date(owner.startedAt);
  const pad = (value: number) => String(value).padStart(2, "0");
  const time = `${pad(started.getHours())}:${pad(started.getMinutes())}`;
  const sameDay = new Date(now).toDateString() === started.toDateString();
  const date = `${started.getFullYear()}-${pad(started.getMonth() + 1)}-${pad(started.getDate())}`;
  return `PID ${owner.pid}, started ${sameDay ? time : `${date} ${time}`}`;
}
