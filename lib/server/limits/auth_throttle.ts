/**
 * Password guessing in a room with a password: failed handshakes per
 * address, slowing an address down and then refusing it for a while, and the
 * operator's log of failures as a summary instead of one line each.
 *
 * Owns: the failure counts (a bounded map), the delay and block rules, and
 * the summary. Before this, one address could try 393 passwords a second and
 * each attempt logged a line. Pure apart from calling `log`: time comes in as
 * an argument (performance.now() ms). Imports lib/server/summary_log.ts only.
 */
import { SummaryLog } from "../summary_log.ts";

/** Limits of an AuthThrottle. Every field documents its default. */
export interface AuthThrottleLimits {
  /** Failed handshakes from one address after which its handshakes are answered slowly. Default 3. */
  slowAfter: number;
  /**
   * Failed handshakes from one address within `windowMs` after which it is
   * refused for `blockMs` (flag `--max-auth-failures`). Default 10.
   */
  maxFailures: number;
  /** How far back failures count. Default 10 minutes. */
  windowMs: number;
  /** How long an address is refused once it reached maxFailures. Default 10 minutes. */
  blockMs: number;
  /** Longest delay before answering a slowed address's handshake. Default 4 s. */
  maxDelayMs: number;
}

/** The defaults of AuthThrottleLimits. */
export const defaultAuthThrottleLimits: AuthThrottleLimits = {
  slowAfter: 3,
  maxFailures: 10,
  windowMs: 10 * 60_000,
  blockMs: 10 * 60_000,
  maxDelayMs: 4000,
};

interface FailureRecord {
  /** Times of the failures within the window, oldest first (at most maxFailures). */
  failures: number[];
  blockedUntil: number;
}

/** Addresses remembered at most; the oldest are forgotten first. */
const maxAddresses = 4096;

/** Failed handshakes of one server. */
export class AuthThrottle {
  readonly limits: AuthThrottleLimits;
  readonly #records = new Map<string, FailureRecord>();
  /** Handshakes being checked now, per address (bounded by the connections open). */
  readonly #inFlight = new Map<string, number>();
  readonly #log: (line: string) => void;
  readonly #summary: SummaryLog;

  constructor(
    options: { limits?: Partial<AuthThrottleLimits>; log?: (line: string) => void; now?: number } =
      {},
  ) {
    this.limits = { ...defaultAuthThrottleLimits, ...options.limits };
    this.#log = options.log ?? (() => {});
    this.#summary = new SummaryLog(this.#log, "wrong room passwords", {
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /** Ms before `ip` may try again (0: now). */
  blockedFor(ip: string, now: number): number {
    const record = this.#records.get(ip);
    return record === undefined ? 0 : Math.max(0, record.blockedUntil - now);
  }

  /** How long to wait before answering `ip`'s handshake (0 for an address without failures). */
  delayFor(ip: string, now: number): number {
    return this.#delay(this.#recent(ip, now));
  }

  /**
   * A handshake from `ip` is about to be checked. Guesses still in flight
   * count as failures until they are decided, so guesses sent in parallel
   * cannot pass the limit: refused (`refusedMs` > 0) while the address is
   * blocked, or while its failures and its guesses in flight reach
   * maxFailures; otherwise counted in flight, with the delay to wait first.
   * Call finish(ip) once it is decided, whatever the outcome.
   */
  begin(ip: string, now: number): { refusedMs: number; delayMs: number; blocked: boolean } {
    const blockedMs = this.blockedFor(ip, now);
    if (blockedMs > 0) return { refusedMs: blockedMs, delayMs: 0, blocked: true };
    const pending = this.#inFlight.get(ip) ?? 0;
    const count = this.#recent(ip, now) + pending;
    if (count >= this.limits.maxFailures) {
      return { refusedMs: this.limits.maxDelayMs, delayMs: 0, blocked: false };
    }
    this.#inFlight.set(ip, pending + 1);
    return { refusedMs: 0, delayMs: this.#delay(count), blocked: false };
  }

  /** The handshake counted by begin() is decided (failed() or succeeded() was called, or it closed). */
  finish(ip: string): void {
    const pending = (this.#inFlight.get(ip) ?? 0) - 1;
    if (pending > 0) this.#inFlight.set(ip, pending);
    else this.#inFlight.delete(ip);
  }

  #delay(count: number): number {
    if (count < this.limits.slowAfter) return 0;
    return Math.min(this.limits.maxDelayMs, 250 * 2 ** (count - this.limits.slowAfter));
  }

  /** Records a failed handshake from `ip`; the log sums them up (lib/server/summary_log.ts). */
  failed(ip: string, now: number): void {
    let record = this.#records.get(ip);
    if (record === undefined) {
      if (this.#records.size >= maxAddresses) {
        const oldest = this.#records.keys().next().value;
        if (oldest !== undefined) this.#records.delete(oldest);
      }
      record = { failures: [], blockedUntil: 0 };
    }
    // Most recently failed last: the map's order is the eviction order.
    this.#records.delete(ip);
    this.#records.set(ip, record);
    this.#trim(record, now);
    record.failures.push(now);
    if (record.failures.length >= this.limits.maxFailures && record.blockedUntil <= now) {
      record.blockedUntil = now + this.limits.blockMs;
      record.failures = [];
      this.#log(
        `${ip}: ${this.limits.maxFailures} wrong room passwords; refusing it for ` +
          `${Math.round(this.limits.blockMs / 60_000)} min`,
      );
    }
    this.#summary.note(ip, `${ip}: wrong room password`);
  }

  /** A successful handshake: the address's failures are forgiven. */
  succeeded(ip: string): void {
    const record = this.#records.get(ip);
    if (record !== undefined && record.blockedUntil === 0) this.#records.delete(ip);
  }

  /** Called about once a second: logs the summary of the last minute's failures, if any. */
  tick(now: number): void {
    this.#summary.tick(now);
  }

  #recent(ip: string, now: number): number {
    const record = this.#records.get(ip);
    if (record === undefined) return 0;
    this.#trim(record, now);
    return record.failures.length;
  }

  #trim(record: FailureRecord, now: number): void {
    const since = now - this.limits.windowMs;
    while (record.failures.length > 0 && record.failures[0]! < since) record.failures.shift();
    if (record.blockedUntil !== 0 && record.blockedUntil <= now) record.blockedUntil = 0;
  }
}
