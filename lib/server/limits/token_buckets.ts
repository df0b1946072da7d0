/**
 * Token buckets by key (an address, a nick): the arithmetic behind every
 * "so much per minute" limit of the server (searches, history pages, stored
 * text bytes).
 *
 * Owns: refilling, taking, telling how long to wait, and forgetting idle keys
 * so that a flood of new keys cannot grow the map without bound.
 * Pure: time comes in as an argument (performance.now() milliseconds).
 * Imports nothing.
 */

/** How a bucket fills. */
export interface BucketRate {
  /** Tokens a key may spend at once (the bucket's size). */
  burst: number;
  /** Tokens a key earns back per second. */
  perSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One bucket per key. A key seen for the first time starts full. Buckets that
 * have refilled are worth nothing and are forgotten when the map is full.
 *
 * @example
 * const searches = new TokenBuckets({ burst: 10, perSecond: 1 });
 * const waitMs = searches.take("192.168.1.7", 1, performance.now());
 * if (waitMs > 0) refuse(`try again in ${Math.ceil(waitMs / 1000)} s`);
 */
export class TokenBuckets {
  readonly rate: BucketRate;
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;
  /** The bucket shared by new keys while the map is full of busy ones. */
  readonly #overflow: Bucket;

  /** `maxKeys`: keys remembered at most (default 65,536); full buckets are dropped first. */
  constructor(rate: BucketRate, options: { maxKeys?: number } = {}) {
    if (!(rate.burst > 0) || !(rate.perSecond > 0)) {
      throw new RangeError("a bucket needs a burst and a rate above 0");
    }
    this.rate = rate;
    this.#maxKeys = options.maxKeys ?? 65_536;
    this.#overflow = { tokens: rate.burst, at: -Infinity };
  }

  /**
   * Takes `cost` tokens from `key`'s bucket when it holds them and returns 0;
   * otherwise takes nothing and returns the milliseconds until it will. A
   * cost above the burst is charged as the whole burst (it can never be
   * saved up for).
   */
  take(key: string, cost: number, now: number): number {
    const bucket = this.#refilled(key, now);
    const charge = Math.min(cost, this.rate.burst);
    if (bucket.tokens >= charge) {
      bucket.tokens -= charge;
      return 0;
    }
    return Math.ceil((charge - bucket.tokens) * 1000 / this.rate.perSecond);
  }

  /** Milliseconds until `key` could spend `cost`, without taking anything (0: now). */
  waitFor(key: string, cost: number, now: number): number {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return 0;
    const tokens = Math.min(
      this.rate.burst,
      bucket.tokens + Math.max(0, now - bucket.at) * this.rate.perSecond / 1000,
    );
    const charge = Math.min(cost, this.rate.burst);
    return tokens >= charge ? 0 : Math.ceil((charge - tokens) * 1000 / this.rate.perSecond);
  }

  /** Keys remembered now (for tests and limits). */
  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#forgetFull(now);
      // Still full of busy keys: every newcomer shares one bucket until some refill.
      if (this.#buckets.size >= this.#maxKeys) return this.#refill(this.#overflow, now);
      bucket = { tokens: this.rate.burst, at: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    return this.#refill(bucket, now);
  }

  #refill(bucket: Bucket, now: number): Bucket {
    bucket.tokens = Math.min(
      this.rate.burst,
      bucket.tokens + Math.max(0, now - bucket.at) * this.rate.perSecond / 1000,
    );
    bucket.at = now;
    return bucket;
  }

  /** Drops the buckets that have refilled: forgetting them changes nothing. */
  #forgetFull(now: number): void {
    const refillMs = this.rate.burst / this.rate.perSecond * 1000;
    for (const [key, bucket] of this.#buckets) {
      if (now - bucket.at >= refillMs) this.#buckets.delete(key);
    }
  }
}
