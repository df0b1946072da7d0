/**
 * Operator log lines for things a flood repeats (refused connections, wrong
 * room passwords): the first one of each address is logged as it happens,
 * the rest are counted and summed up once a minute, so a flood cannot fill
 * the log or the terminal.
 *
 * Owns: the counting and the summary line. The map of addresses is bounded.
 * Pure apart from calling `log`: time comes in with tick(). Imports nothing.
 */

/** Addresses counted at most per period; beyond that only the total grows. */
const maxKeys = 1024;

/** One kind of repeated event, e.g. "refused connections". */
export class SummaryLog {
  readonly #log: (line: string) => void;
  readonly #what: string;
  readonly #periodMs: number;
  #counts = new Map<string, number>();
  #uncounted = 0;
  #periodStart: number;

  /** `what`: the events' name in the summary ("wrong room passwords"). */
  constructor(
    log: (line: string) => void,
    what: string,
    options: { periodMs?: number; now?: number } = {},
  ) {
    this.#log = log;
    this.#what = what;
    this.#periodMs = options.periodMs ?? 60_000;
    this.#periodStart = options.now ?? 0;
  }

  /** Logs `line` when `key` is new this period (saying further ones are summed up), else counts it. */
  note(key: string, line: string): void {
    const count = this.#counts.get(key);
    if (count !== undefined) {
      this.#counts.set(key, count + 1);
      return;
    }
    if (this.#counts.size >= maxKeys) {
      this.#uncounted++;
      return;
    }
    this.#counts.set(key, 1);
    this.#log(`${line} (more like it are summed up each minute)`);
  }

  /** Called about once a second: at the end of a period, logs the summary when something repeated. */
  tick(now: number): void {
    if (now - this.#periodStart < this.#periodMs) return;
    this.#periodStart = now;
    const counts = this.#counts;
    const uncounted = this.#uncounted;
    this.#counts = new Map();
    this.#uncounted = 0;
    let total = uncounted;
    for (const count of counts.values()) total += count;
    // The first of each address was logged already: a lone one needs no summary.
    if (total <= counts.size) return;
    const most = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([key, count]) => `${key} x${count}`).join(", ");
    const sources = counts.size + (uncounted > 0 ? "+" : "");
    this.#log(
      `${this.#what} in the last ${Math.round(this.#periodMs / 1000)} s: ${total} from ` +
        `${sources} address${counts.size === 1 && uncounted === 0 ? "" : "es"} (most: ${most})`,
    );
  }
}
