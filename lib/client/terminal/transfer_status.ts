/**
 * How file transfers read in the terminal (issue #16): the status bar's
 * words for the transfers in progress, and the lines said when one is done.
 *
 * Owns: a transfer's words (`↑ report.pdf 42% · 1.5 MB/s · 12 s left`, the
 * newest one shown, `+N` for the others), shortened to a width (the time
 * left goes first, then the speed, then the name shrinks), speeds, times
 * left, durations, and the lines for a file sent or saved (with what came
 * over the network when a transfer resumed). Pure: no I/O, no clock.
 * Imports lib/wire/file_chunk.ts, lib/client/files/transfer_types.ts,
 * lib/client/terminal/text_width.ts and transfer_bar.ts (durations) only.
 */
import { formatFileSize } from "../../wire/file_chunk.ts";
import type { TransferProgress } from "../files/transfer_types.ts";
import { displayWidth, truncate } from "./text_width.ts";
import { formatDuration } from "./transfer_bar.ts";

/** One transfer as the status bar shows it. */
export interface TransferShown {
  /** `send`: an upload (↑); `get`: a download (↓). */
  direction: "send" | "get";
  name: string;
  progress: TransferProgress;
}

/** "1.5 MB/s". */
export function speedText(bytesPerSecond: number): string {
  return `${formatFileSize(Math.round(bytesPerSecond))}/s`;
}

/** "12 s left", "3 min 5 s left" (lib/client/terminal/transfer_bar.ts's durations; never "0 s"). */
export function timeLeftText(seconds: number): string {
  return `${formatDuration(Math.max(1, Math.ceil(seconds)))} left`;
}

/** "0.4 s" under 10 s, else as transfer_bar.ts says durations: "12 s", "3 min 5 s". */
export function durationText(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  return seconds < 10 ? `${seconds.toFixed(1)} s` : formatDuration(seconds);
}

function percent(progress: TransferProgress): string {
  const { done, total } = progress;
  if (total <= 0) return "0%";
  // 100% only once all is there: a transfer at 99.6% says 99%.
  return `${Math.min(done >= total ? 100 : 99, Math.floor((done / total) * 100))}%`;
}

/** The words after the name, longest first: each later one leaves something out. */
function detailChoices(progress: TransferProgress): string[] {
  switch (progress.state) {
    case "hashing":
      return [`reading ${percent(progress)}`];
    case "waiting":
      return ["waiting"];
    case "verifying":
      return ["checking"];
    case "sending":
    case "receiving": {
      const parts = [percent(progress)];
      if (progress.bytesPerSecond > 0) parts.push(speedText(progress.bytesPerSecond));
      if (progress.secondsLeft !== null) parts.push(timeLeftText(progress.secondsLeft));
      const choices: string[] = [];
      for (let count = parts.length; count >= 1; count--) {
        choices.push(parts.slice(0, count).join(" · "));
      }
      return choices;
    }
    case "done":
      return ["done"];
    case "failed":
      return ["failed"];
    case "cancelled":
      return ["cancelled"];
  }
}

/**
 * The status bar's words for the transfers in progress (oldest first): the
 * newest one, then `+N` for the others and for those waiting their turn, in
 * at most `width` columns. Empty when there are none.
 *
 * @example
 * transfersText([{ direction: "send", name: "report.pdf", progress }], 0, 60);
 * // "↑ report.pdf 42% · 1.5 MB/s · 12 s left"
 */
export function transfersText(
  transfers: readonly TransferShown[],
  queued: number,
  width: number,
): string {
  const newest = transfers.at(-1);
  if (newest === undefined || width <= 0) return "";
  const others = transfers.length - 1 + queued;
  const arrow = newest.direction === "send" ? "↑" : "↓";
  const tail = others > 0 ? ` +${others}` : "";
  const minimumName = 8;
  for (const detail of detailChoices(newest.progress)) {
    const fixed = `${arrow}  ${detail}${tail}`;
    const room = width - displayWidth(fixed);
    if (room >= Math.min(minimumName, displayWidth(newest.name))) {
      return `${arrow} ${truncate(newest.name, room)} ${detail}${tail}`;
    }
  }
  return truncate(`${arrow} ${newest.name}${tail}`, width);
}

/** What a finished transfer moved, for its line. */
export interface FinishedTransfer {
  name: string;
  size: number;
  /** Bytes that travelled in this run (less than `size` when it resumed). */
  bytesOnWire: number;
  /** How long it took, from the command to the end. */
  ms: number;
}

/** ", resumed: 1.5 MB of 3.0 MB went now" when less than the whole file travelled. */
function resumedText(transfer: FinishedTransfer, verb: string): string {
  if (transfer.bytesOnWire >= transfer.size) return "";
  return ` (resumed from ${formatFileSize(transfer.size - transfer.bytesOnWire)}: ` +
    `${formatFileSize(transfer.bytesOnWire)} ${verb} now)`;
}

/** The line for a file sent: "-- sent report.pdf (3.0 MB) to #ops in 2.1 s". */
export function sentText(transfer: FinishedTransfer, conversation: string): string {
  return `-- sent ${transfer.name} (${formatFileSize(transfer.size)}) to ${conversation} in ` +
    `${durationText(transfer.ms)}${resumedText(transfer, "went")}`;
}

/** The line for a file saved: "-- saved report.pdf (3.0 MB) as /home/ana/report.pdf in 1.2 s". */
export function savedText(transfer: FinishedTransfer, path: string): string {
  return `-- saved ${transfer.name} (${formatFileSize(transfer.size)}) as ${path} in ` +
    `${durationText(transfer.ms)}${resumedText(transfer, "came")}`;
}
