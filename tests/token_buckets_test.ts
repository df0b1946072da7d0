/** lib/server/limits/token_buckets.ts: bursts, refills, waits, and a bounded map of keys. */
import { assert, assertEquals } from "./_assert.ts";
import { TokenBuckets } from "../lib/server/limits/token_buckets.ts";

Deno.test("a key spends its burst at once, then waits for the refill", () => {
  const buckets = new TokenBuckets({ burst: 3, perSecond: 2 });
  for (let index = 0; index < 3; index++) assertEquals(buckets.take("a", 1, 0), 0);
  assertEquals(buckets.take("a", 1, 0), 500);
  assertEquals(buckets.take("b", 1, 0), 0, "another key has its own bucket");
  assertEquals(buckets.take("a", 1, 499), 2);
  assertEquals(buckets.take("a", 1, 500), 0);
  assertEquals(buckets.waitFor("a", 1, 500), 500);
  assertEquals(buckets.waitFor("a", 1, 1000), 0);
});

Deno.test("a cost above the burst is charged as the whole burst, never refused forever", () => {
  const buckets = new TokenBuckets({ burst: 100, perSecond: 10 });
  assertEquals(buckets.take("a", 1000, 0), 0);
  assertEquals(buckets.take("a", 1000, 0), 10_000);
  assertEquals(buckets.take("a", 1000, 10_000), 0);
});

Deno.test("a flood of new keys cannot grow the map, nor get a fresh burst each", () => {
  const buckets = new TokenBuckets({ burst: 2, perSecond: 1 }, { maxKeys: 100 });
  let allowed = 0;
  for (let index = 0; index < 10_000; index++) {
    if (buckets.take(`key${index}`, 1, 0) === 0) allowed++;
  }
  assertEquals(buckets.size, 100);
  // 100 remembered keys got their burst of 1 each, the rest shared one bucket of 2.
  assertEquals(allowed, 102);
  // Once the remembered ones refilled they are forgotten and newcomers are counted again.
  assertEquals(buckets.take("late", 1, 2000), 0);
  assert(buckets.size <= 100);
});
