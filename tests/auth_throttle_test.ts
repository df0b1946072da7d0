/**
 * lib/server/limits/auth_throttle.ts and lib/server/summary_log.ts: a guessing address is slowed,
 * then refused for a while, and the log sums failures up. The real-socket
 * test (a secure server and wrong passwords) is in tests/hardening_test.ts.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { AuthThrottle } from "../lib/server/limits/auth_throttle.ts";
import { SummaryLog } from "../lib/server/summary_log.ts";

Deno.test("wrong passwords slow an address down, then refuse it for the block time", () => {
  const lines: string[] = [];
  const throttle = new AuthThrottle({ log: (line) => lines.push(line), now: 0 });
  assertEquals(throttle.delayFor("10.0.0.5", 0), 0);
  throttle.failed("10.0.0.5", 0);
  throttle.failed("10.0.0.5", 10);
  assertEquals(throttle.delayFor("10.0.0.5", 20), 0, "two typos cost nothing");
  throttle.failed("10.0.0.5", 20);
  assertEquals(throttle.delayFor("10.0.0.5", 30), 250);
  throttle.failed("10.0.0.5", 30);
  assertEquals(throttle.delayFor("10.0.0.5", 40), 500);
  for (let at = 40; at < 100; at += 10) throttle.failed("10.0.0.5", at);
  assertEquals(throttle.blockedFor("10.0.0.5", 100), 10 * 60_000 - 10);
  assertEquals(throttle.blockedFor("10.0.0.6", 100), 0, "other addresses are not affected");
  assertEquals(throttle.blockedFor("10.0.0.5", 10 * 60_000 + 100), 0, "the block ends");
  assertEquals(lines.filter((line) => /wrong room password \(/.test(line)).length, 1);
  assert(lines.some((line) => /10 wrong room passwords; refusing it for 10 min/.test(line)));
});

Deno.test("failures older than the window are forgotten; a success forgives", () => {
  const throttle = new AuthThrottle({ limits: { windowMs: 1000 } });
  for (let index = 0; index < 5; index++) throttle.failed("a", index);
  assert(throttle.delayFor("a", 10) > 0);
  assertEquals(throttle.delayFor("a", 2000), 0);
  for (let index = 0; index < 5; index++) throttle.failed("b", index);
  throttle.succeeded("b");
  assertEquals(throttle.delayFor("b", 10), 0);
});

Deno.test("a flood is logged once per address and summed up each minute", () => {
  const lines: string[] = [];
  const summary = new SummaryLog((line) => lines.push(line), "refused connections", { now: 0 });
  for (let index = 0; index < 500; index++) summary.note("10.0.0.5", "refused 10.0.0.5");
  summary.note("10.0.0.6", "refused 10.0.0.6");
  assertEquals(lines.length, 2);
  summary.tick(30_000);
  assertEquals(lines.length, 2, "no summary before the minute is over");
  summary.tick(60_000);
  assertEquals(lines.length, 3);
  assertMatch(
    lines[2]!,
    /refused connections in the last 60 s: 501 from 2 addresses \(most: 10\.0\.0\.5 x500/,
  );
  summary.tick(120_000);
  assertEquals(lines.length, 3, "a quiet minute logs nothing");
});
