/**
 * The server's rates for what costs it the most per request: searches,
 * history pages (both read the store) and stored text (it fills the disk).
 *
 * Owns: the defaults, the buckets per address and per nick, and how a limit
 * reads in an error message. A request must find room in both of its
 * buckets, so a person cannot get more by renaming, nor several people behind
 * one address more than the address's share. Imports lib/server/limits/token_buckets.ts and
 * ip_networks.ts only.
 */
import { TokenBuckets } from "./token_buckets.ts";
import { attemptKey } from "./ip_networks.ts";

/** The rates, per address and per nick. Every field documents its default. */
export interface RequestRates {
  /** Searches per minute. Default 60 (flag `--searches-per-minute`). */
  searchesPerMinute: number;
  /** Searches at once before the rate applies. Default 10. */
  searchBurst: number;
  /** History pages per minute. Default 600 (flag `--history-pages-per-minute`). */
  historyPagesPerMinute: number;
  /** History pages at once before the rate applies. Default 60. */
  historyBurst: number;
  /**
   * Message text stored per minute, in KiB. Default 1024 (flag
   * `--text-kib-per-minute`): a person pasting a 40 KB log every few seconds
   * all day is under it; the 19 MB/s of a script filling the disk is not.
   */
  textKibPerMinute: number;
  /** Text in KiB that may be sent at once before the rate applies. Default 2048. */
  textBurstKib: number;
  /**
   * Signatures checked (a `hello` with a key, about 1.2 ms) or made (a `prove`, about 0.4 ms) for
   * one address per second (flag `--key-checks-per-second`), after twice as many at once. Default
   * 10: a client needs one or two per connection, and a script that reconnects to make the server
   * verify garbage cannot take more than about 1% of a core per address. An IPv6 address counts as
   * its /64.
   */
  keyChecksPerSecond: number;
}

/** The defaults of RequestRates. */
export const defaultRequestRates: RequestRates = {
  searchesPerMinute: 60,
  searchBurst: 10,
  historyPagesPerMinute: 600,
  historyBurst: 60,
  textKibPerMinute: 1024,
  textBurstKib: 2048,
  keyChecksPerSecond: 10,
};

/** Two buckets (address and nick) for one kind of request. */
class PairedBuckets {
  readonly #byAddress: TokenBuckets;
  readonly #byNick: TokenBuckets;

  constructor(burst: number, perMinute: number) {
    const rate = { burst, perSecond: perMinute / 60 };
    this.#byAddress = new TokenBuckets(rate);
    this.#byNick = new TokenBuckets(rate);
  }

  /** 0 and the cost taken from both buckets, or the ms to wait (nothing taken). */
  take(address: string, nick: string, cost: number, now: number): number {
    const waitMs = Math.max(
      this.#byAddress.waitFor(address, cost, now),
      this.#byNick.waitFor(nick, cost, now),
    );
    if (waitMs > 0) return waitMs;
    this.#byAddress.take(address, cost, now);
    this.#byNick.take(nick, cost, now);
    return 0;
  }
}

/** Rates of one server, shared by all its sessions. Time is performance.now() ms. */
export class RequestLimits {
  readonly rates: RequestRates;
  readonly #searches: PairedBuckets;
  readonly #historyPages: PairedBuckets;
  readonly #textBytes: PairedBuckets;
  readonly #keyChecks: TokenBuckets;

  constructor(rates: Partial<RequestRates> = {}) {
    this.rates = { ...defaultRequestRates, ...rates };
    const { searchBurst, searchesPerMinute, historyBurst, historyPagesPerMinute } = this.rates;
    this.#searches = new PairedBuckets(searchBurst, searchesPerMinute);
    this.#historyPages = new PairedBuckets(historyBurst, historyPagesPerMinute);
    this.#textBytes = new PairedBuckets(
      this.rates.textBurstKib * 1024,
      this.rates.textKibPerMinute * 1024,
    );
    this.#keyChecks = new TokenBuckets({
      burst: 2 * this.rates.keyChecksPerSecond,
      perSecond: this.rates.keyChecksPerSecond,
    });
  }

  /** A signature to check or make for `address`: 0 when allowed now, else the ms to wait. */
  keyCheck(address: string, now: number): number {
    return this.#keyChecks.take(attemptKey(address), 1, now);
  }

  /** A search by `nick` from `address`: 0 when allowed now, else the ms to wait. */
  search(address: string, nick: string, now: number): number {
    return this.#searches.take(address, nick, 1, now);
  }

  /** A history page: 0 when allowed now, else the ms to wait. */
  historyPage(address: string, nick: string, now: number): number {
    return this.#historyPages.take(address, nick, 1, now);
  }

  /** `bytes` of message text to store: 0 when allowed now, else the ms to wait. */
  text(address: string, nick: string, bytes: number, now: number): number {
    return this.#textBytes.take(address, nick, bytes, now);
  }

  /** "60 a minute", for error messages. */
  get searchLimitText(): string {
    return `${this.rates.searchesPerMinute} a minute`;
  }

  get historyLimitText(): string {
    return `${this.rates.historyPagesPerMinute} a minute`;
  }

  get textLimitText(): string {
    return `${this.rates.textKibPerMinute} KiB of text a minute`;
  }
}
