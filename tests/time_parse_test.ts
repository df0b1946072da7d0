/**
 * Tests of lib/store/time_parse.ts. Expected local times are built with the Date
 * constructor, so the tests hold in any time zone.
 */
import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { parseTime } from "../lib/store/time_parse.ts";

const now = new Date(2026, 10, 25, 15, 30).getTime();

Deno.test("a date means local midnight at the start of that day", () => {
  assertEquals(parseTime("2026-11-25", now), new Date(2026, 10, 25).getTime());
});

Deno.test("a date and time is read as local time, with T or a space, seconds optional", () => {
  assertEquals(parseTime("2026-11-25T14:00", now), new Date(2026, 10, 25, 14, 0).getTime());
  assertEquals(parseTime("2026-11-25 14:00", now), new Date(2026, 10, 25, 14, 0).getTime());
  assertEquals(parseTime("2026-11-25T14:00:09", now), new Date(2026, 10, 25, 14, 0, 9).getTime());
});

Deno.test("a duration counts back from now in minutes, hours, days or weeks", () => {
  assertEquals(parseTime("30m", now), now - 30 * 60_000);
  assertEquals(parseTime("2h", now), now - 2 * 3_600_000);
  assertEquals(parseTime("3d", now), now - 3 * 86_400_000);
  assertEquals(parseTime("1w", now), now - 7 * 86_400_000);
  assertEquals(parseTime(" 0h ", now), now);
});

Deno.test("anything else is refused with the forms a person can type", () => {
  for (const value of ["", "yesterday", "2h30m", "-2h", "2 hours", "25/11/2026", "14:00", "2y"]) {
    const error = assertThrows(() => parseTime(value, now), Error);
    assertMatch(error.message, /2026-11-25T14:00.*30m, 2h, 3d, 1w/);
  }
});

Deno.test("dates and times that do not exist are refused", () => {
  for (
    const value of [
      "2026-02-30",
      "2026-13-01",
      "2026-00-10",
      "2026-11-25T24:00",
      "2026-11-25T14:60",
    ]
  ) {
    const error = assertThrows(() => parseTime(value, now), Error);
    assertMatch(error.message, /does not exist|not a date and time that exists/);
  }
});
