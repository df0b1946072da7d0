/**
 * Room for new messages: the history's size limit (`--max-db-mib`) and the
 * free-space floor of the disk holding it (`--min-free-mib`). A message that
 * would cross either is refused with HistoryFullError before SQLite runs out
 * of room; nothing stored is ever deleted to make room (only `--keep-days`
 * deletes).
 *
 * Owns: the estimate of what a message adds to the file, when the free space
 * is looked at (at most every `freeSpaceCheckMs`), the refusal texts, and the
 * two operator log lines (the limit is reached; messages are taken again).
 * Imports only lib/store/history_errors.ts and node:fs / node:path; must not
 * import the store itself.
 */
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { HistoryFullError } from "./history_errors.ts";
import type { HistoryFullReason } from "./history_errors.ts";

/** Options of SpaceGuard. */
export interface SpaceGuardOptions {
  /** Refuse new messages before the file grows past this many bytes. Default: no limit. */
  maxSizeBytes?: number;
  /** Refuse new messages while the disk has less than this many bytes free. Default: no floor. */
  minFreeBytes?: number;
  /** Look at the free space at most this often, in ms. Default 2000. */
  freeSpaceCheckMs?: number;
  /** Operator log (the limit is reached; messages are taken again). Default: none. */
  log?: (line: string) => void;
}

const mib = 1024 * 1024;

/**
 * What a message of `textBytes` UTF-8 bytes adds to the file, generously: the
 * trigram index takes about three times the text, and a row has a fixed part
 * (measured: ~1.2 KB for a 300-byte message, ~320 bytes for an 80-byte one).
 */
export function estimateStoredBytes(textBytes: number): number {
  return 4 * textBytes + 256;
}

/**
 * Decides whether the history takes another message. `usedBytes` reads the
 * pages in use (the file's pages less its free list) and is called after each
 * commit or prune, never per message.
 */
export class SpaceGuard {
  readonly #dbPath: string;
  readonly #usedBytes: () => number;
  readonly #maxSizeBytes: number | undefined;
  readonly #minFreeBytes: number | undefined;
  readonly #freeSpaceCheckMs: number;
  readonly #log: (line: string) => void;
  #used = 0;
  #free = Infinity;
  #freeCheckedAt = -Infinity;
  #freeSpaceUnknown = false;
  #refusing: HistoryFullReason | undefined;

  constructor(dbPath: string, usedBytes: () => number, options: SpaceGuardOptions) {
    this.#dbPath = dbPath;
    this.#usedBytes = usedBytes;
    this.#maxSizeBytes = options.maxSizeBytes;
    this.#minFreeBytes = options.minFreeBytes !== undefined && options.minFreeBytes > 0
      ? options.minFreeBytes
      : undefined;
    this.#freeSpaceCheckMs = options.freeSpaceCheckMs ?? 2000;
    this.#log = options.log ?? (() => {});
    this.refresh();
  }

  /** The size limit SQLite enforces itself (`PRAGMA max_page_count`), in bytes, if any. */
  get hardLimitBytes(): number | undefined {
    return this.#maxSizeBytes;
  }

  /** Re-reads the pages in use: after a commit or a prune. */
  refresh(): void {
    this.#used = this.#usedBytes();
  }

  /**
   * Null when a message adding `addedBytes` (beside `pendingBytes` waiting
   * for the same commit) may be taken; otherwise the refusal.
   */
  check(pendingBytes: number, addedBytes: number): HistoryFullError | null {
    const refusal = this.#sizeRefusal(pendingBytes + addedBytes) ?? this.#freeSpaceRefusal();
    if (refusal === null && this.#refusing !== undefined) {
      this.#log(
        `history: taking new messages again (${this.#describeUse()}; ${this.#dbPath})`,
      );
      this.#refusing = undefined;
    } else if (refusal !== null && this.#refusing !== refusal.reason) {
      this.#log(`history: ${refusal.message}; ${refusal.hint}`);
      this.#refusing = refusal.reason;
    }
    return refusal;
  }

  /**
   * `error` (SQLite's "database or disk is full" for a batch estimated at
   * `batchBytes`) as the size-limit refusal, when a limit is set and the
   * batch would have reached it; undefined when the disk itself is full.
   */
  explainFull(error: unknown, batchBytes: number): HistoryFullError | undefined {
    const limit = this.#maxSizeBytes;
    if (limit === undefined) return undefined;
    const reason = error instanceof Error ? error.message : String(error);
    if (!/full/i.test(reason)) return undefined;
    this.refresh();
    if (this.#used + batchBytes < limit) return undefined;
    const refusal = this.#sizeLimitError(error);
    if (this.#refusing !== "size_limit") {
      this.#log(`history: ${refusal.message}; ${refusal.hint}`);
      this.#refusing = "size_limit";
    }
    return refusal;
  }

  #sizeRefusal(addedBytes: number): HistoryFullError | null {
    const limit = this.#maxSizeBytes;
    if (limit === undefined) return null;
    // Headroom for the index's merges and the batch's own pages, which SQLite
    // allocates before it frees: at most 8 MiB, an eighth of small limits.
    const headroom = Math.min(8 * mib, limit / 8);
    return this.#used + addedBytes <= limit - headroom ? null : this.#sizeLimitError();
  }

  #sizeLimitError(cause?: unknown): HistoryFullError {
    const limitMib = formatMib(this.#maxSizeBytes ?? 0);
    return new HistoryFullError(
      "size_limit",
      `the history ${this.#dbPath} reached its size limit (${
        formatMib(this.#used)
      } MiB used of --max-db-mib ${limitMib}): new messages are refused, stored ones are kept`,
      `raise --max-db-mib, or let --keep-days N delete messages older than N days ` +
        `(lanchat never deletes old messages by itself)`,
      cause === undefined ? undefined : { cause },
    );
  }

  #freeSpaceRefusal(): HistoryFullError | null {
    const floor = this.#minFreeBytes;
    if (floor === undefined || this.#freeSpaceUnknown) return null;
    const now = performance.now();
    if (now - this.#freeCheckedAt >= this.#freeSpaceCheckMs) {
      this.#freeCheckedAt = now;
      try {
        const stats = statfsSync(dirname(this.#dbPath));
        this.#free = Number(stats.bavail) * Number(stats.bsize);
      } catch (error) {
        this.#freeSpaceUnknown = true;
        this.#log(
          `history: cannot see the free disk space beside ${this.#dbPath} (${
            error instanceof Error ? error.message : String(error)
          }); --min-free-mib is not enforced`,
        );
        return null;
      }
    }
    if (this.#free >= floor) return null;
    return new HistoryFullError(
      "disk_space",
      `the disk holding ${this.#dbPath} has ${formatMib(this.#free)} MiB free, less than ` +
        `--min-free-mib ${formatMib(floor)}: new messages are refused, stored ones are kept`,
      "free disk space (messages are taken again within seconds), lower --min-free-mib, " +
        "or let --keep-days N delete messages older than N days",
    );
  }

  #describeUse(): string {
    const size = this.#maxSizeBytes === undefined
      ? `${formatMib(this.#used)} MiB used`
      : `${formatMib(this.#used)} MiB used of ${formatMib(this.#maxSizeBytes)}`;
    return this.#minFreeBytes === undefined || this.#free === Infinity
      ? size
      : `${size}, ${formatMib(this.#free)} MiB free on the disk`;
  }
}

function formatMib(bytes: number): string {
  const value = bytes / mib;
  return value >= 10 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, "");
}
