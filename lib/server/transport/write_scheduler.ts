/**
 * When the sessions' writers run: a server-wide pace of socket writes,
 * spread evenly over time.
 *
 * Owns: the coalescing of output. A socket write costs about the same whether
 * it carries one message or twenty (on loopback ~11 us of one core, half of
 * it in the kernel), so in a busy room the writes, not the messages, fill the
 * CPU. Writers that have something queued wait in one line (first come,
 * first written) and leave it at up to `writesPerSecond` (a token bucket
 * holding `burstMs` worth): a quiet room never waits (a message to 50
 * members is 50 writes, inside the burst, written in the same turn), and a
 * busy room of 1,000 members writes each socket about every
 * 1,000 / 50,000 s = 20 ms with everything that arrived meanwhile.
 *
 * Why a line and not cycles (issue #17): the scheduler used to write every
 * waiting connection in one cycle, then wait. At 1,000 clients x 0.2 msg/s
 * a cycle's 1,000 writes took 12 ms to leave (measured from the cycle's start
 * to the last write's completion), so a message waited for the next cycle
 * (up to 20 ms) and then for its place in it (up to 12 ms): p99 31-46 ms,
 * max 57-129 ms. Spread out, a message waits only for its connection's turn:
 * p99 23 ms, max 32-40 ms, at the same CPU. Knows nothing of sockets or the
 * room: it calls functions.
 */

/** Starts one write of everything a connection has queued (a session's writer). Never throws. */
export type Flush = () => void;

/** Options of a WriteScheduler. */
export interface WriteSchedulerOptions {
  /** Socket writes per second before the writers coalesce over longer waits. Default 50,000. */
  writesPerSecond?: number;
  /**
   * Longest wait in line, however many wait: with more than
   * `writesPerSecond * maxWaitMs / 1000` writers waiting, the pace rises to
   * empty the line in this time. Default 20 ms.
   */
  maxWaitMs?: number;
  /** Writes that may run at once after a quiet while, in ms of the pace. Default 5 ms. */
  burstMs?: number;
}

/** Smallest wait of the pace's timer (Deno's timers do not fire sooner). */
const timerGranularityMs = 1;
/** Written flushes kept at the head of the line before it is compacted. */
const compactAfter = 1024;

/** Paces the writers of every connection of one server. */
export class WriteScheduler {
  readonly #writesPerMs: number;
  readonly #maxWaitMs: number;
  readonly #burst: number;
  /** The line: flushes from index #head on wait, in the order asked. */
  #line: Flush[] = [];
  #head = 0;
  #pumpScheduled = false;
  #tokens: number;
  #refilledAt = performance.now();
  /**
   * The pace now: writesPerSecond, raised while a long line empties. A
   * raised pace holds until the writers that were waiting when it was raised
   * have written (index #paceUntil of the line), so the last of them also
   * waits at most maxWaitMs; then it is worked out afresh.
   */
  #pace: number;
  #paceUntil = 0;

  constructor(options: WriteSchedulerOptions = {}) {
    const writesPerSecond = options.writesPerSecond ?? 50_000;
    if (!(writesPerSecond > 0)) throw new RangeError("writesPerSecond must be above 0");
    this.#writesPerMs = writesPerSecond / 1000;
    this.#maxWaitMs = options.maxWaitMs ?? 20;
    this.#burst = Math.max(1, Math.round(this.#writesPerMs * (options.burstMs ?? 5)));
    this.#tokens = this.#burst;
    this.#pace = this.#writesPerMs;
  }

  /** Runs `flush` in its turn. A caller asks once until its flush has run. */
  request(flush: Flush): void {
    this.#line.push(flush);
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    this.#refill();
    // On a microtask: everything delivered by the current task is queued before its write.
    if (this.#tokens >= 1) queueMicrotask(this.#pump);
    else setTimeout(this.#pump, this.#msUntilNextWrite());
  }

  #refill(): void {
    const now = performance.now();
    const waiting = this.#line.length - this.#head;
    const needed = waiting / this.#maxWaitMs;
    if (this.#head >= this.#paceUntil) this.#pace = this.#writesPerMs;
    if (needed > this.#pace) {
      this.#pace = needed;
      this.#paceUntil = this.#line.length;
    }
    const cap = Math.max(this.#burst, this.#pace * timerGranularityMs);
    this.#tokens = Math.min(cap, this.#tokens + (now - this.#refilledAt) * this.#pace);
    this.#refilledAt = now;
  }

  #msUntilNextWrite(): number {
    return Math.max(timerGranularityMs, (1 - this.#tokens) / this.#pace);
  }

  readonly #pump = (): void => {
    this.#pumpScheduled = false;
    this.#refill();
    const line = this.#line;
    let count = Math.min(Math.floor(this.#tokens), line.length - this.#head);
    this.#tokens -= count;
    // Bounded: `count` flushes.
    while (count-- > 0) {
      const flush = line[this.#head]!;
      line[this.#head++] = written;
      flush();
    }
    if (this.#head === line.length) {
      this.#line = [];
      this.#head = 0;
      this.#paceUntil = 0;
      return;
    }
    if (this.#head > compactAfter && this.#head * 2 > line.length) {
      this.#line = line.slice(this.#head);
      this.#paceUntil = Math.max(0, this.#paceUntil - this.#head);
      this.#head = 0;
    }
    this.#pumpScheduled = true;
    setTimeout(this.#pump, this.#msUntilNextWrite());
  };
}

/** Stands in the line for a flush already run (frees the session it closed over). */
const written: Flush = () => {};
