/**
 * Times as the operator's commands print them (`lanchat history`,
 * `lanchat accounts`): in the local time zone of the machine they run on.
 *
 * Owns: the two forms, `2026-11-25 14:03` for people and ISO 8601 with the
 * UTC offset for scripts. Pure; imports nothing.
 */

/** `ts` (ms) as `2026-11-25 14:03`, local time. */
export function localMinute(ts: number): string {
  return `${localDate(ts)} ${localTime(ts).slice(0, 5)}`;
}

/** `ts` (ms) as local ISO 8601 with the UTC offset: `2026-11-25T14:03:00.000+01:00`. */
export function localIsoTime(ts: number): string {
  const offsetMinutes = -new Date(ts).getTimezoneOffset();
  const sign = offsetMinutes < 0 ? "-" : "+";
  const offset = `${sign}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${
    pad(Math.abs(offsetMinutes) % 60)
  }`;
  return `${localDate(ts)}T${localTime(ts)}${offset}`;
}

function localDate(ts: number): string {
  const date = new Date(ts);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `HH:MM:SS.mmm` in local time. */
function localTime(ts: number): string {
  const date = new Date(ts);
  const millis = String(date.getMilliseconds()).padStart(3, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${millis}`;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}
