/**
 * Delivery latencies of the load generators (scripts/bench_load.ts,
 * scripts/bench_features_load.ts): a histogram of 10 µs buckets up to 2 s,
 * then one overflow bucket, so millions of samples cost a fixed 800 KB.
 *
 * Owns: the buckets, percentiles and the maximum. Pure: no I/O, no imports.
 */

const bucketMs = 0.01;
const bucketCount = 200_000;

/** Latencies in milliseconds; percentiles to 10 µs (exact maximum). */
export class Histogram {
  counts = new Uint32Array(bucketCount + 1);
  total = 0;
  max = 0;

  add(ms: number): void {
    const index = Math.min(bucketCount, Math.max(0, Math.floor(ms / bucketMs)));
    this.counts[index]!++;
    this.total++;
    if (ms > this.max) this.max = ms;
  }

  /** The `p` (0..1) percentile, 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(this.total * p);
    let seen = 0;
    for (let index = 0; index <= bucketCount; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) return index === bucketCount ? this.max : (index + 1) * bucketMs;
    }
    return this.max;
  }
}
