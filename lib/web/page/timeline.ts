/**
 * How a conversation reads from top to bottom, as today's team chats lay it
 * out: a day separator ("Today", "Yesterday", "Mon, Dec 1") where the day
 * changes, and a sender's messages grouped (the name and time once, then the
 * lines) while they follow one another within a few minutes.
 *
 * Owns: the grouping rule and the day labels. Pure: no DOM and no clock of
 * its own (the caller passes `now`), so tests fix the time. Days are the
 * reader's local days. Imports the conversation types of lib/client/ and
 * lib/wire/protocol.ts (how nicks compare) only.
 */
import type { Entry, MessageEntry, NoticeEntry } from "../../client/conversations.ts";
import { nickKey } from "../../wire/protocol.ts";

/** Messages of one sender at most this far apart form one group. */
export const groupGapMs = 5 * 60_000;

/** One line of the laid-out conversation. */
export type TimelineItem =
  /** The day changes: `label` is "Today", "Yesterday" or a date; `day` its local midnight. */
  | { type: "day"; key: string; day: number; label: string }
  /** `head`: the first of its group, shown with the sender's name and time. */
  | { type: "message"; key: string; entry: MessageEntry; head: boolean }
  | { type: "notice"; key: string; entry: NoticeEntry };

/** Options of {@link layoutTimeline} and {@link dayLabel}. */
export interface TimelineOptions {
  /** The reader's clock (ms), for "Today" and "Yesterday". */
  now: number;
  /** The locale of dates ("en-US"); default the reader's. */
  locale?: string;
  /** Default {@link groupGapMs}. */
  groupGapMs?: number;
}

/** Local midnight of the day `ts` falls in. */
export function startOfDay(ts: number): number {
  const date = new Date(ts);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

/** Date formats by locale and whether the year is shown. */
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(locale: string | undefined, withYear: boolean): Intl.DateTimeFormat {
  const id = `${locale ?? ""}|${withYear}`;
  let format = dateFormats.get(id);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, {
      weekday: "short",
      month: "short",
      day: "numeric",
      ...(withYear ? { year: "numeric" } : {}),
    });
    dateFormats.set(id, format);
  }
  return format;
}

/**
 * What a day separator says for the day of `ts`: "Today", "Yesterday", else
 * the date ("Mon, Dec 1"; with the year when it is not this year's).
 *
 * @example
 * dayLabel(Date.now(), { now: Date.now() }); // "Today"
 */
export function dayLabel(ts: number, options: TimelineOptions): string {
  const day = startOfDay(ts);
  const today = startOfDay(options.now);
  if (day === today) return "Today";
  const yesterday = new Date(today);
  yesterday.setDate(yesterday.getDate() - 1); // not today - 24 h: a day may have 23 or 25 hours
  if (day === yesterday.getTime()) return "Yesterday";
  const withYear = new Date(ts).getFullYear() !== new Date(options.now).getFullYear();
  return dateFormat(options.locale, withYear).format(new Date(ts));
}

/**
 * True when `next` continues the group `previous` is in. An action ("* ana
 * waves") always starts a group (it reads as a sentence with the name in
 * it); the sender's lines after it go on with it.
 */
export function continuesGroup(
  previous: MessageEntry,
  next: MessageEntry,
  gapMs = groupGapMs,
): boolean {
  const a = previous.message, b = next.message;
  const gap = b.ts - a.ts;
  return b.kind !== "action" &&
    nickKey(a.from) === nickKey(b.from) &&
    nickKey(a.to ?? "") === nickKey(b.to ?? "") &&
    previous.epoch === next.epoch && gap >= 0 && gap <= gapMs;
}

/**
 * Lays out `entries` (in their order): a day separator before the first
 * entry of each day, and each message marked as the head of a group or a
 * line of the one above. A notice (a join, an error) ends a group, an action
 * starts one; a notice without a time stays in the day it is in.
 *
 * @example
 * for (const item of layoutTimeline(conversation.entries, { now: Date.now() })) draw(item);
 */
export function layoutTimeline(
  entries: readonly Entry[],
  options: TimelineOptions,
): TimelineItem[] {
  const items: TimelineItem[] = [];
  const daysSeen = new Map<number, number>();
  let currentDay: number | null = null;
  let previous: MessageEntry | null = null;
  for (const entry of entries) {
    const ts = entry.kind === "message" ? entry.message.ts : entry.ts;
    if (ts !== null && startOfDay(ts) !== currentDay) {
      currentDay = startOfDay(ts);
      // Keys stay stable between renders; a day that comes back (clocks that disagree) gets
      // a key of its own.
      const seen = daysSeen.get(currentDay) ?? 0;
      daysSeen.set(currentDay, seen + 1);
      items.push({
        type: "day",
        key: `day-${currentDay}${seen === 0 ? "" : `-${seen}`}`,
        day: currentDay,
        label: dayLabel(ts, options),
      });
      previous = null;
    }
    if (entry.kind === "notice") {
      items.push({ type: "notice", key: entry.key, entry });
      previous = null;
      continue;
    }
    const head = previous === null || !continuesGroup(previous, entry, options.groupGapMs);
    items.push({ type: "message", key: entry.key, entry, head });
    previous = entry;
  }
  return items;
}
