/**
 * The words every client uses for what happens in the room, so the terminal
 * and the page say the same thing the same way.
 *
 * Owns: how a leave reason reads. Pure: no output, no DOM, no Deno.
 * Imports lib/wire/protocol.ts types only.
 */
import type { LeaveReason } from "../wire/protocol.ts";

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
