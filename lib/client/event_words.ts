/**
 * The words every client uses for what happens in the room, so the terminal
 * and the page say the same thing the same way.
 *
 * Owns: how a leave reason reads, and the words of device keys and accounts
 * (issue #14): a device added to my account, a link code and how to use it,
 * a `whois` answer, what to do about a nick that belongs to someone else;
 * a channel in a list and what a notification level means (issue #15).
 * Pure: no output, no DOM, no Deno.
 * Imports lib/wire/protocol.ts only.
 */
import { formatLinkCode, type LeaveReason, type ServerMessage } from "../wire/protocol.ts";

const leaveReasonWords: Record<LeaveReason, string> = {
  quit: "",
  timeout: "connection timed out",
  error: "connection error",
  slow: "too slow to keep up",
  kicked: "removed",
};

/**
 * "ana left", with why in brackets when it was not a plain quit.
 *
 * @example
 * leftText("ana", "timeout"); // "ana left (connection timed out)"
 */
export function leftText(nick: string, reason: LeaveReason | undefined): string {
  const words = reason === undefined ? "" : leaveReasonWords[reason];
  return words === "" ? `${nick} left` : `${nick} left (${words})`;
}

// ---- device keys and accounts (PROTOCOL.md section 8) -------------------------------

/** Who holds a nick, as the server's `whois` answer says (PROTOCOL.md 8.8). */
export type WhoisAnswer = Omit<Extract<ServerMessage, { type: "whois" }>, "type" | "ref">;

/** Characters of a fingerprint shown in lists: `SHA256:` and 12 of the hash (as shortFingerprint). */
export const shortFingerprintLength = "SHA256:".length + 12;

/**
 * A fingerprint as lists show it: its first {@link shortFingerprintLength}
 * characters and an ellipsis.
 *
 * @example
 * shortPrint("SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk"); // "SHA256:If4x36FUomFi…"
 */
export function shortPrint(fingerprint: string): string {
  return fingerprint.length <= shortFingerprintLength
    ? fingerprint
    : `${fingerprint.slice(0, shortFingerprintLength)}…`;
}

function two(value: number): string {
  return String(value).padStart(2, "0");
}

/** `YYYY-MM-DD` in local time. */
export function dayText(ts: number): string {
  const date = new Date(ts);
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

/** `YYYY-MM-DD HH:MM` in local time. */
export function dayAndClockText(ts: number): string {
  const date = new Date(ts);
  return `${dayText(ts)} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

/**
 * The line every device of my account shows when a device was added to it.
 *
 * @example
 * linkedText("SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk", ts);
 * // "A device was added to your account: SHA256:If4x36FUomFi… (2026-12-06 14:03)"
 */
export function linkedText(fingerprint: string, ts: number, own = false): string {
  return `${own ? "This device was" : "A device was"} added to your account: ${
    shortPrint(fingerprint)
  } (${dayAndClockText(ts)})`;
}

/**
 * What `/link` shows: the code as people read it, how the new device uses it
 * (`joinCommand`: the command line that joins this server with the code, as
 * the client runs here), and for how long it is good, counted from `now`.
 *
 * @example
 * linkCodeText({ code: "K7QM3XPA", expires: now + 600_000 }, now, "lanchat join 192.168.1.20 --link K7QM-3XPA");
 * // "Code K7QM-3XPA: on the new device run `lanchat join 192.168.1.20 --link K7QM-3XPA`
 * //  or use the page's 'I have a code'; valid 10 minutes, once"
 */
export function linkCodeText(
  answer: { code: string; expires: number },
  now: number,
  joinCommand: string,
): string {
  const minutes = Math.max(1, Math.round((answer.expires - now) / 60_000));
  return `Code ${formatLinkCode(answer.code)}: on the new device run \`${joinCommand}\` or use ` +
    `the page's 'I have a code'; valid ${minutes} minute${minutes === 1 ? "" : "s"}, once`;
}

/**
 * What `/whois` shows, one line each: who holds the nick (a guest, or an
 * account and since when), then each device of the account: its short
 * fingerprint, when it was added, and online or when it was last seen.
 *
 * @example
 * whoisLines({ nick: "ana", guest: false, since, devices: [{ fingerprint, added, online: true }] });
 * // ["ana: account since 2026-12-01, 1 device", "  SHA256:If4x36FUomFi…  added 2026-12-01  online"]
 */
export function whoisLines(answer: WhoisAnswer): string[] {
  if (answer.guest) {
    return [`${answer.nick}: guest (joined without a device key; the nick is not theirs to keep)`];
  }
  const count = answer.devices.length;
  const since = answer.since === undefined ? "" : ` since ${dayText(answer.since)}`;
  return [
    `${answer.nick}: account${since}, ${count} device${count === 1 ? "" : "s"}`,
    ...answer.devices.map((device) => {
      const state = device.online
        ? "online"
        : device.seen === undefined
        ? "never seen"
        : `last seen ${dayAndClockText(device.seen)}`;
      return `  ${shortPrint(device.fingerprint)}  added ${dayText(device.added)}  ${state}`;
    }),
  ];
}

/**
 * What to add when the server refused a nick with `nick_owned`: if it is the
 * person's own, how to bring this device into their account. `howToLink`
 * says how this client joins with a code ("join with `lanchat join HOST
 * --link CODE`", "choose 'I have a code'").
 *
 * @example
 * ownedNickAdvice("ana", "choose 'I have a code'");
 * // "If ana is yours, type /link on a device where you are ana, then choose 'I have a code'."
 */
export function ownedNickAdvice(nick: string, howToLink: string): string {
  return `If ${nick} is yours, type /link on a device where you are ${nick}, then ${howToLink}.`;
}

// ---- channels and notifications (PROTOCOL.md section 9) -----------------------------

/**
 * What a notification level means for `conversation`, in the words the
 * terminal (its bell) and the page (its notifications) both use.
 *
 * @example
 * notifyText("#ops", "mentions"); // "#ops: you are told only when someone mentions you"
 */
export function notifyText(conversation: string, level: "all" | "mentions" | "muted"): string {
  switch (level) {
    case "all":
      return `${conversation}: you are told of every message while you are elsewhere, and of mentions`;
    case "mentions":
      return `${conversation}: you are told only when someone mentions you`;
    case "muted":
      return `${conversation}: muted, you are never told (unread messages are still counted)`;
  }
}

/**
 * Who is in a channel, for `/members`: online people first, then the others.
 *
 * @example
 * membersText("#ops", [{ nick: "bob", online: false }, { nick: "ana", online: true }]);
 * // "2 in #ops: ana (online), bob"
 */
export function membersText(
  channel: string,
  users: readonly { nick: string; online: boolean }[],
): string {
  const sorted = [...users].sort((a, b) =>
    Number(b.online) - Number(a.online) || a.nick.localeCompare(b.nick)
  );
  const names = sorted.map((user) => `${user.nick}${user.online ? " (online)" : ""}`);
  return `${users.length} in ${channel}${names.length === 0 ? "" : `: ${names.join(", ")}`}`;
}

/**
 * One channel of `/channels`: its name, how many are in it, whether I am,
 * and its topic.
 *
 * @example
 * channelText({ name: "#ops", topic: "deploys", members: 3, joined: true });
 * // "#ops (3 members, you are in it): deploys"
 */
export function channelText(
  channel: { name: string; topic: string; members: number; joined: boolean },
): string {
  const members = `${channel.members} member${channel.members === 1 ? "" : "s"}`;
  return `${channel.name} (${members}${channel.joined ? ", you are in it" : ""})${
    channel.topic === "" ? "" : `: ${channel.topic}`
  }`;
}
