/**
 * The times a person types after `lanchat history --since/--until`.
 *
 * Owns: the accepted forms (local date, local date and time, duration before
 * now) and the error that lists them. Pure: `now` comes in. Imports nothing.
 */

const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const relativePattern = /^(\d{1,6})\s*([mhdw])$/;
const datePattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Parses `value` into epoch milliseconds:
 * - `2026-11-25`: local midnight at the start of that day
 * - `2026-11-25T14:00` (or a space for `T`, optional `:SS`): local time
 * - `30m`, `2h`, `3d`, `1w`: that long before `now`
 *
 * Throws Error with the accepted forms for anything else, including dates
 * that do not exist (`2026-02-30`).
 *
 * @example
 * parseTime("2h", Date.now()); // two hours ago
 */
export function parseTime(value: string, now: number): number {
  const text = value.trim();
  const relative = relativePattern.exec(text);
  if (relative !== null) {
    const [, count, unit] = relative;
    return now - Number(count) * unitMs[unit as keyof typeof unitMs];
  }
  const date = datePattern.exec(text);
  if (date !== null) {
    const [year, month, day, hour, minute, second] = date.slice(1).map((part) => Number(part ?? 0));
    const local = new Date(year!, month! - 1, day!, hour!, minute!, second!);
    const exists = local.getFullYear() === year && local.getMonth() === month! - 1 &&
      local.getDate() === day && local.getHours() === hour && local.getMinutes() === minute &&
      second! < 60;
    // A wall-clock time skipped by a daylight-saving jump also lands here.
    if (exists) return local.getTime();
    throw new Error(
      `"${value}" is not a date and time that exists here (check the day of the month; ` +
        `a daylight-saving jump skips an hour).`,
    );
  }
  throw new Error(
    `cannot read the time "${value}". Use a date (2026-11-25), a local date and time ` +
      `(2026-11-25T14:00) or a duration before now (30m, 2h, 3d, 1w).`,
  );
}
