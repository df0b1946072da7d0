/**
 * lib/web/page/timeline.ts: day separators and messages grouped by sender,
 * with a fixed clock (days are local days, so the times are built with the
 * local Date constructor and the tests hold in any time zone).
 */
import { assertEquals } from "./_assert.ts";
import type { Entry, MessageEntry, NoticeEntry } from "../lib/client/conversations.ts";
import {
  dayLabel,
  groupGapMs,
  layoutTimeline,
  startOfDay,
  type TimelineItem,
} from "../lib/web/page/timeline.ts";

/** Local time: `at(2025, 12, 1, 9, 30)` is 1 December 2025, 09:30 here. */
function at(year: number, month: number, day: number, hour = 12, minute = 0): number {
  return new Date(year, month - 1, day, hour, minute).getTime();
}

let nextId = 1;
function message(
  from: string,
  ts: number,
  extra: { kind?: "text" | "action"; to?: string; epoch?: number } = {},
): MessageEntry {
  const id = nextId++;
  return {
    kind: "message",
    key: `m${id}`,
    epoch: extra.epoch ?? 0,
    order: id,
    message: {
      type: "msg",
      id,
      ts,
      from,
      kind: extra.kind ?? "text",
      body: "",
      ...(extra.to === undefined ? {} : { to: extra.to }),
    },
    text: `line ${id}`,
    own: false,
  };
}

function notice(ts: number | null): NoticeEntry {
  const id = nextId++;
  return { kind: "notice", key: `n${id}`, epoch: 0, order: id, text: "x", tone: "quiet", ts };
}

/** A readable picture of a layout: "day Today", "head ana", "line ana", "notice". */
function shape(items: TimelineItem[]): string[] {
  return items.map((item) => {
    switch (item.type) {
      case "day":
        return `day ${item.label}`;
      case "notice":
        return "notice";
      case "message":
        return `${item.head ? "head" : "line"} ${item.entry.message.from}`;
    }
  });
}

const now = at(2025, 12, 3, 15, 0); // a Wednesday
const options = { now, locale: "en-US" };

Deno.test("day labels: Today, Yesterday, then the weekday and date, with the year when not this one", () => {
  assertEquals(dayLabel(at(2025, 12, 3, 0, 0), options), "Today");
  assertEquals(dayLabel(at(2025, 12, 3, 23, 59), options), "Today");
  assertEquals(dayLabel(at(2025, 12, 2, 23, 59), options), "Yesterday");
  assertEquals(dayLabel(at(2025, 12, 2, 0, 0), options), "Yesterday");
  assertEquals(dayLabel(at(2025, 12, 1, 9, 30), options), "Mon, Dec 1");
  assertEquals(dayLabel(at(2025, 1, 1), options), "Wed, Jan 1");
  assertEquals(dayLabel(at(2024, 12, 31), options), "Tue, Dec 31, 2024");
  // Just after midnight, yesterday evening is "Yesterday", not "Today".
  assertEquals(
    dayLabel(at(2025, 12, 2, 23, 50), { ...options, now: at(2025, 12, 3, 0, 5) }),
    "Yesterday",
  );
  // A message from a clock ahead of mine (tomorrow) gets its date.
  assertEquals(dayLabel(at(2025, 12, 4, 8), options), "Thu, Dec 4");
});

Deno.test("yesterday is the calendar day before, also across a daylight saving change", () => {
  // Whatever the time zone, the day before the 1st of a month is the last of the previous one.
  for (const [year, month] of [[2025, 3], [2025, 4], [2025, 10], [2025, 11]] as const) {
    const first = at(year, month, 1, 0, 30);
    const lastOfBefore = at(year, month - 1, new Date(year, month - 1, 0).getDate(), 0, 30);
    assertEquals(dayLabel(lastOfBefore, { now: first, locale: "en-US" }), "Yesterday");
  }
  assertEquals(startOfDay(at(2025, 3, 30, 13, 45)), at(2025, 3, 30, 0, 0));
});

Deno.test("three quick messages from one person are one group: the name once, then the lines", () => {
  const t = at(2025, 12, 3, 9, 0);
  const entries: Entry[] = [
    message("ana", t),
    message("ana", t + 30_000),
    message("Ana", t + 90_000), // the same nick in other case
    message("bob", t + 100_000),
    message("ana", t + 110_000),
  ];
  assertEquals(shape(layoutTimeline(entries, options)), [
    "day Today",
    "head ana",
    "line ana",
    "line Ana",
    "head bob",
    "head ana",
  ]);
});

Deno.test("a group ends after five quiet minutes, at an action, a notice, another addressee or a new epoch", () => {
  const t = at(2025, 12, 3, 9, 0);
  const entries: Entry[] = [
    message("ana", t),
    message("ana", t + groupGapMs), // exactly 5 minutes: still the group
    message("ana", t + 2 * groupGapMs + 1), // more than 5 minutes after the line before
    message("ana", t + 2 * groupGapMs + 2, { kind: "action" }),
    message("ana", t + 2 * groupGapMs + 3),
    message("ana", t + 2 * groupGapMs + 3, { kind: "action" }),
    notice(t + 2 * groupGapMs + 4),
    message("ana", t + 2 * groupGapMs + 5),
    message("ana", t + 2 * groupGapMs + 6, { to: "bob" }), // search results mix addressees
    message("ana", t + 2 * groupGapMs + 7, { to: "BOB" }),
    message("ana", t + 2 * groupGapMs + 8, { to: "BOB", epoch: 1 }),
  ];
  assertEquals(shape(layoutTimeline(entries, options)), [
    "day Today",
    "head ana",
    "line ana",
    "head ana",
    "head ana", // an action starts a group (drawn as "* ana ...")...
    "line ana", // ...that the sender's lines go on
    "head ana", // and another action starts another
    "notice",
    "head ana",
    "head ana",
    "line ana",
    "head ana",
  ]);
});

Deno.test("a separator before the first entry of each day; a notice without a time stays in its day", () => {
  const entries: Entry[] = [
    message("ana", at(2025, 12, 1, 23, 58)),
    message("ana", at(2025, 12, 2, 0, 1)), // 3 minutes later, but the next day: a new group
    notice(null),
    message("bob", at(2025, 12, 2, 17, 0)),
    message("bob", at(2025, 12, 3, 8, 0)),
    notice(at(2025, 12, 3, 8, 1)),
  ];
  const items = layoutTimeline(entries, options);
  assertEquals(shape(items), [
    "day Mon, Dec 1",
    "head ana",
    "day Yesterday",
    "head ana",
    "notice",
    "head bob",
    "day Today",
    "head bob",
    "notice",
  ]);
  // Keys are stable (list keys for the view) and unique even when a day comes back.
  const keys = layoutTimeline([...entries, message("eve", at(2025, 12, 2, 9))], options)
    .map((item) => item.key);
  assertEquals(new Set(keys).size, keys.length);
  assertEquals(keys.filter((key) => key.startsWith("day-")).length, 4);
  assertEquals(items[0]!.key, `day-${at(2025, 12, 1, 0, 0)}`);
});

Deno.test("an empty conversation lays out to nothing", () => {
  assertEquals(layoutTimeline([], options), []);
});
