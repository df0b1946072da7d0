/** Link codes (lib/server/link_codes.ts) without sockets: limits, expiry and who pays for guesses. */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { LinkCodes } from "../lib/server/link_codes.ts";
import { ProtocolError } from "../lib/wire/errors.ts";
import { attemptKey } from "../lib/server/limits/ip_networks.ts";

function code(run: () => unknown): string {
  return assertThrows(run, ProtocolError).code;
}

Deno.test("an account holds 3 unused codes: a fourth replaces the oldest, which no longer works", () => {
  const codes = new LinkCodes();
  const issued = [1, 2, 3, 4].map(() => codes.issue(7, 1000).code);
  assertEquals(code(() => codes.redeem(issued[0]!, "10.0.0.1", 1001)), "link_invalid");
  for (const kept of issued.slice(1)) assertEquals(codes.redeem(kept, "10.0.0.1", 1001), 7);
  // Each worked once.
  assertEquals(code(() => codes.redeem(issued[1]!, "10.0.0.1", 1002)), "link_invalid");
});

Deno.test("a code expires after its time, even before a sweep; revoke forgets an account's codes", () => {
  const codes = new LinkCodes({ ttlMs: 100 });
  const early = codes.issue(1, 0).code;
  assertEquals(code(() => codes.redeem(early, "10.0.0.1", 100)), "link_invalid");
  const other = codes.issue(2, 200).code;
  codes.revoke(2);
  assertEquals(code(() => codes.redeem(other, "10.0.0.2", 201)), "link_invalid");
});

Deno.test("guessing: 5 wrong codes, then waits that double; an IPv6 /64 pays as one, IPv4 neighbours do not", () => {
  const codes = new LinkCodes();
  const wrong = "ZZZZ-ZZZZ";
  for (let index = 0; index < 5; index++) {
    assertEquals(code(() => codes.redeem(wrong, `fd00::${index + 1}`, 1000)), "link_invalid");
  }
  // The sixth try from anywhere in that /64 waits; the first wait is 1 s, then 2 s.
  assertEquals(code(() => codes.redeem(wrong, "fd00::99", 1000)), "link_invalid");
  const limited = assertThrows(() => codes.redeem(wrong, "fd00::77", 1500), ProtocolError);
  assertEquals(limited.code, "rate_limited");
  assert(limited.waitMs !== undefined && limited.waitMs > 0 && limited.waitMs <= 1000);
  // A neighbour on the same IPv4 /24 is not slowed by 10.0.0.1's guesses.
  for (let index = 0; index < 6; index++) code(() => codes.redeem(wrong, "10.0.0.1", 1000));
  assertEquals(code(() => codes.redeem(wrong, "10.0.0.2", 1000)), "link_invalid");
  assertEquals(attemptKey("fd00::1"), attemptKey("fd00::ffff"));
  assert(attemptKey("10.0.0.1") !== attemptKey("10.0.0.2"));
});
