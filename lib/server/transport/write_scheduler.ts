/**
 * When the sessions' writers run: one flush cycle for every connection with
 * something queued, paced by a server-wide budget of socket writes.
 *
 * Owns: the coalescing window. A socket write costs about the same whether it
 * carries one message or twenty (on loopback ~7 us, nearly all of it in the
 * kernel), so in a busy room the writes, not the messages, fill the CPU.
 * Each cycle writes every waiting connection once; the next cycle starts no
 * sooner than the budget allows for the writes just made
 * (`writes / writesPerSecond`, at most `maxWaitMs`). A quiet room never waits:
 * 50 writes at 50,000/s allow the next cycle 1 ms later, and a message that
 * arrives after that goes out at once. A room of 1,000 busy members writes
 * each socket every 20 ms with everything that arrived meanwhile, instead of
 * once per message: at 1,000 clients x 0.2 msg/s that halved the server's CPU
 * (`deno task bench`). Knows nothing of sockets or the room: it calls
 * functions.
 */

/** Starts one write of everything a connection has queued (a session's writer). Never throws. */
export type Flush = () => void;

/** Options of a WriteScheduler. */
export interface WriteSchedulerOptions {
  /** Socket writes per second before the writers coalesce over longer windows. Default 50,000. */
  writesPerSecond?: number;
  /** Longest wait between two cycles, however many writes the last one made. Default 20 ms. */
  maxWaitMs?: number;
}

/** Paces the writers of every connection of one server. */
export class WriteScheduler {
  readonly #msPerWrite: number;
  readonly #maxWaitMs: number;
  #waiting: Flush[] = [];
  #cycleScheduled = false;
  /** performance.now() before which the next cycle does not start. */
  #nextCycleAt = 0;

  constructor(options: WriteSchedulerOptions = {}) {
    const writesPerSecond = options.writesPerSecond ?? 50_000;
    if (!(writesPerSecond > 0)) throw new RangeError("writesPerSecond must be above 0");
    this.#msPerWrite = 1000 / writesPerSecond;
    this.#maxWaitMs = options.maxWaitMs ?? 20;
  }

  /** Runs `flush` in the next cycle. A caller asks once until its flush has run. */
  request(flush: Flush): void {
    this.#waiting.push(flush);
    if (this.#cycleScheduled) return;
    this.#cycleScheduled = true;
    const waitMs = this.#nextCycleAt - performance.now();
    // On a microtask: everything delivered by the current task joins the cycle.
    if (waitMs <= 0) queueMicrotask(this.#cycle);
    else setTimeout(this.#cycle, waitMs);
  }

  readonly #cycle = (): void => {
    this.#cycleScheduled = false;
    const flushes = this.#waiting;
    this.#waiting = [];
    const startedAt = performance.now();
    for (const flush of flushes) flush();
    this.#nextCycleAt = startedAt +
      Math.min(this.#maxWaitMs, flushes.length * this.#msPerWrite);
  };
}
