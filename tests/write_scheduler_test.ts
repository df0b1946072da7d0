/**
 * Tests of lib/server/transport/write_scheduler.ts: when the writers run, on real timers.
 */
import { assert, assertEquals } from "./_assert.ts";
import { WriteScheduler } from "../lib/server/transport/write_scheduler.ts";
import type { Flush } from "../lib/server/transport/write_scheduler.ts";

/** A target that records when (performance.now) each of its flushes ran. */
function recorder(log: { name: string; at: number }[], name: string): Flush {
  return () => {
    log.push({ name, at: performance.now() });
  };
}

function waitUntil(condition: () => boolean, deadlineMs: number): Promise<void> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) resolve();
      else if (performance.now() - started > deadlineMs) reject(new Error("timed out"));
      else setTimeout(check, 1);
    };
    check();
  });
}

Deno.test("a quiet server writes within the same turn, before any timer or I/O callback", async () => {
  const scheduler = new WriteScheduler();
  const log: { name: string; at: number }[] = [];
  let timerRan = false;
  setTimeout(() => timerRan = true, 0);
  scheduler.request(recorder(log, "a"));
  scheduler.request(recorder(log, "b"));
  assertEquals(log.length, 0, "nothing is written synchronously: the turn's deliveries join first");
  await Promise.resolve();
  assertEquals(log.map((entry) => entry.name), ["a", "b"]);
  assert(!timerRan, "the cycle ran before the timer");
  await waitUntil(() => timerRan, 1000);
});

Deno.test("writes beyond the burst leave at writesPerSecond, spread out, in the order asked", async () => {
  // 1,000 writes/s with a burst of 10 (10 ms): 40 writers take about 30 ms more after the first 10.
  const scheduler = new WriteScheduler({ writesPerSecond: 1000, maxWaitMs: 1000, burstMs: 10 });
  const log: { name: string; at: number }[] = [];
  const names = Array.from({ length: 40 }, (_, index) => `w${index}`);
  const firstAt = performance.now();
  for (const name of names) scheduler.request(recorder(log, name));
  await Promise.resolve();
  assertEquals(log.length, 10, "the burst goes at once, the rest waits for the pace");
  await waitUntil(() => log.length === 40, 2000);
  const lastAfter = log[39]!.at - firstAt;
  assert(
    lastAfter >= 25,
    `the 40th write came ${lastAfter.toFixed(1)} ms after the first (want ~30)`,
  );
  assert(lastAfter < 500, `the 40th write came ${lastAfter.toFixed(1)} ms after the first`);
  // Spread: more than two batches after the burst, not one block at the end.
  const batches = new Set(log.slice(10).map((entry) => Math.round(entry.at * 10))).size;
  assert(batches > 2, `the 30 paced writes ran in ${batches} batches`);
  assertEquals(log.map((entry) => entry.name), names);
});

Deno.test("the wait in line is bounded by maxWaitMs however many writers wait", async () => {
  const scheduler = new WriteScheduler({ writesPerSecond: 100, maxWaitMs: 15 });
  const log: { name: string; at: number }[] = [];
  // 10,000 writes at 100/s would be 100 s without the bound.
  const firstAt = performance.now();
  for (let index = 0; index < 10_000; index++) scheduler.request(recorder(log, "x"));
  scheduler.request(recorder(log, "last"));
  await waitUntil(() => log.length === 10_001, 2000);
  const waited = log.at(-1)!.at - firstAt;
  assert(waited < 500, `the last writer waited ${waited.toFixed(1)} ms (bound 15 ms)`);
  assertEquals(log.at(-1)!.name, "last");
});

Deno.test("a writer asking after a quiet while goes at once, and a busy line does not starve it", async () => {
  const scheduler = new WriteScheduler({ writesPerSecond: 2000, burstMs: 5 });
  const log: { name: string; at: number }[] = [];
  for (let index = 0; index < 30; index++) scheduler.request(recorder(log, `busy${index}`));
  scheduler.request(recorder(log, "late"));
  await waitUntil(() => log.length === 31, 2000);
  assertEquals(log.at(-1)!.name, "late", "first come, first written");
  // Quiet again for longer than the burst takes to refill: the next writer goes on a microtask.
  await new Promise((resolve) => setTimeout(resolve, 20));
  scheduler.request(recorder(log, "quiet"));
  await Promise.resolve();
  assertEquals(log.at(-1)!.name, "quiet");
});

Deno.test("a target asked for once is flushed once, in the order asked", async () => {
  const scheduler = new WriteScheduler();
  const log: { name: string; at: number }[] = [];
  const names = Array.from({ length: 100 }, (_, index) => `t${index}`);
  for (const name of names) scheduler.request(recorder(log, name));
  await waitUntil(() => log.length === 100, 1000);
  // Give any stray second cycle the chance to run.
  await new Promise((resolve) => setTimeout(resolve, 30));
  assertEquals(log.map((entry) => entry.name), names);
});
