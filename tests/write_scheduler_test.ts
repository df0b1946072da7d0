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

Deno.test("after a cycle of N writes the next waits N / writesPerSecond, so a busy room coalesces", async () => {
  // 1,000 writes/s: a cycle of 40 writes buys 40 ms before the next one.
  const scheduler = new WriteScheduler({ writesPerSecond: 1000, maxWaitMs: 1000 });
  const log: { name: string; at: number }[] = [];
  const firstAt = performance.now();
  for (let index = 0; index < 40; index++) scheduler.request(recorder(log, `first${index}`));
  await Promise.resolve();
  assertEquals(log.length, 40);
  scheduler.request(recorder(log, "late"));
  scheduler.request(recorder(log, "later"));
  await Promise.resolve();
  assertEquals(log.length, 40, "the next cycle waits for the budget");
  await waitUntil(() => log.length === 42, 2000);
  const waited = log[40]!.at - firstAt;
  assert(
    waited >= 38,
    `the second cycle came ${waited.toFixed(1)} ms after the first (want >= 40)`,
  );
  assertEquals(log.slice(40).map((entry) => entry.name), ["late", "later"]);
});

Deno.test("the wait between cycles is bounded by maxWaitMs however many writes a cycle made", async () => {
  const scheduler = new WriteScheduler({ writesPerSecond: 100, maxWaitMs: 15 });
  const log: { name: string; at: number }[] = [];
  // 10,000 writes at 100/s would be 100 s without the bound.
  for (let index = 0; index < 10_000; index++) scheduler.request(recorder(log, "x"));
  await Promise.resolve();
  const firstAt = performance.now();
  scheduler.request(recorder(log, "next"));
  await waitUntil(() => log.length === 10_001, 2000);
  const waited = log.at(-1)!.at - firstAt;
  assert(waited < 500, `waited ${waited.toFixed(1)} ms (bound 15 ms)`);
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
