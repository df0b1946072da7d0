/**
 * Where one file transfer stands, as progress bars read it.
 *
 * Owns: a transfer's {@link TransferProgress} (state, bytes done, bytes on
 * the wire, the problem), its speed smoothed over the last few seconds and the
 * time left, and telling listeners: at once for a new state, at most about 10
 * times a second while only bytes move (the last change is always told).
 * Pure: timers only. Imports lib/client/files/transfer_types.ts only.
 */
import type { TransferProgress, TransferState } from "./transfer_types.ts";

/** Shortest gap between two reports while only bytes move. */
const reportEveryMs = 100;
/** Speed samples are at least this far apart. */
const sampleEveryMs = 250;
/** The speed follows changes over about this long (exponential smoothing). */
const smoothingMs = 3000;

/** States after which nothing changes any more. */
const finalStates: ReadonlySet<TransferState> = new Set(["done", "failed", "cancelled"]);

/** The changeable parts of a progress. */
export interface ProgressChange {
  done?: number;
  total?: number;
  bytesOnWire?: number;
}

/**
 * Keeps one transfer's progress and tells its listeners.
 *
 * @example
 * const reporter = new ProgressReporter(size);
 * reporter.listen((progress) => draw(progress));
 * reporter.state("sending");
 * reporter.bytes({ done: 65_536 });
 */
export class ProgressReporter {
  #progress: TransferProgress;
  readonly #listeners: Array<(progress: TransferProgress) => void> = [];
  readonly #now: () => number;
  #toldAt = -Infinity;
  #trailing: ReturnType<typeof setTimeout> | null = null;
  /** The last speed sample: when, and `done` then; null until bytes move in this state. */
  #sample: { at: number; done: number } | null = null;

  constructor(total: number, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#progress = {
      state: "waiting",
      done: 0,
      total,
      bytesPerSecond: 0,
      secondsLeft: null,
      bytesOnWire: 0,
      problem: null,
    };
  }

  get progress(): TransferProgress {
    return this.#progress;
  }

  /** True once the transfer is done, failed or cancelled. */
  get final(): boolean {
    return finalStates.has(this.#progress.state);
  }

  listen(listener: (progress: TransferProgress) => void): void {
    this.#listeners.push(listener);
  }

  /** A new state (with any byte counts that change with it): told at once. Ignored once final. */
  state(state: TransferState, change: ProgressChange & { problem?: string } = {}): void {
    if (this.final) return;
    const moving = state === "sending" || state === "receiving";
    if (state !== this.#progress.state) {
      // Speed is measured while bytes flow in this state only, from where it starts.
      this.#sample = null;
      if (!moving) this.#progress = { ...this.#progress, bytesPerSecond: 0 };
    }
    this.#progress = {
      ...this.#progress,
      ...change,
      state,
      problem: change.problem ?? (state === "failed" ? "failed" : null),
    };
    this.#updateSpeed();
    this.#tell();
  }

  /** Bytes moved: told at most about every 100 ms (the last change always). */
  bytes(change: ProgressChange): void {
    if (this.final) return;
    this.#progress = { ...this.#progress, ...change };
    this.#updateSpeed();
    const waitMs = this.#toldAt + reportEveryMs - this.#now();
    if (waitMs <= 0) {
      this.#tell();
    } else {
      this.#trailing ??= setTimeout(() => {
        this.#trailing = null;
        this.#tell();
      }, waitMs);
    }
  }

  #updateSpeed(): void {
    const { state, done, total } = this.#progress;
    if (state !== "sending" && state !== "receiving") {
      this.#progress = { ...this.#progress, secondsLeft: null };
      return;
    }
    const now = this.#now();
    if (this.#sample === null) {
      this.#sample = { at: now, done };
      return;
    }
    const elapsedMs = now - this.#sample.at;
    if (elapsedMs < sampleEveryMs) return;
    const measured = Math.max(0, done - this.#sample.done) / (elapsedMs / 1000);
    const previous = this.#progress.bytesPerSecond;
    const weight = 1 - Math.exp(-elapsedMs / smoothingMs);
    const bytesPerSecond = previous === 0 ? measured : previous + weight * (measured - previous);
    this.#sample = { at: now, done };
    this.#progress = {
      ...this.#progress,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 && total > 0
        ? Math.max(0, (total - done) / bytesPerSecond)
        : null,
    };
  }

  #tell(): void {
    if (this.#trailing !== null) {
      clearTimeout(this.#trailing);
      this.#trailing = null;
    }
    this.#toldAt = this.#now();
    const progress = this.#progress;
    for (const listener of this.#listeners) {
      try {
        listener(progress);
      } catch {
        // A listener's trouble is its own: the transfer goes on.
      }
    }
  }
}
