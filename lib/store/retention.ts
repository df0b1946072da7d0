/**
 * `--keep-days N`: deletes messages older than N days at start and once a day.
 *
 * Owns: the pruning schedule. The deleting itself (small batches that never
 * stall the chat) is SqliteHistory.prune.
 */
import type { SqliteHistory } from "./history_sqlite.ts";

const dayMs = 24 * 60 * 60 * 1000;

/** A running retention schedule. */
export interface Retention {
  /** Resolves when the prune at start has finished. */
  readonly firstPrune: Promise<number>;
  /** Stops the daily prune. */
  stop(): void;
}

/**
 * Prunes `history` to the last `keepDays` days now and then every `everyMs`
 * (default one day). `now` defaults to Date.now.
 */
export function startRetention(
  history: SqliteHistory,
  keepDays: number,
  options: {
    log?: (line: string) => void;
    now?: () => number;
    everyMs?: number;
    /** Called after a prune that removed messages (the server then sweeps their files). */
    afterPrune?: () => unknown;
  } = {},
): Retention {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const prune = async () => {
    try {
      const removed = await history.prune(now() - keepDays * dayMs);
      if (removed > 0) {
        log(`retention: removed ${removed} messages older than ${keepDays} days`);
        await options.afterPrune?.();
      }
      return removed;
    } catch (error) {
      log(`retention: could not prune: ${error instanceof Error ? error.message : String(error)}`);
      return 0;
    }
  };
  const firstPrune = prune();
  const timer = setInterval(prune, options.everyMs ?? dayMs);
  return { firstPrune, stop: () => clearInterval(timer) };
}
