/**
 * What a file transfer's line in the page says: "Preparing… 40%", "Waiting
 * to resume (offline) · 12%", "42% · 11.8 MB/s · 8 s left", "Checking…", or
 * why it failed (the server's words).
 *
 * Owns: those words and how a duration reads. Pure: imports
 * lib/wire/file_chunk.ts (sizes) and the contracts of lib/client/files/ only.
 */
import { formatFileSize } from "../../wire/file_chunk.ts";
import type { TransferProgress } from "../../client/files/transfer_types.ts";

/** A time left as people read it: "8 s", "3 min", "1 h 5 min". */
export function durationText(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.ceil(whole / 60)} min`;
  const minutes = Math.round((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h${minutes === 0 ? "" : ` ${minutes} min`}`;
}

/** The share done, as a whole percent. */
export function percentText(progress: TransferProgress): string {
  const share = progress.total > 0 ? progress.done / progress.total : 0;
  return `${Math.floor(Math.min(1, share) * 100)}%`;
}

/**
 * The line under a transfer's name. `queued`: waiting for a free place (the
 * server takes a few transfers at once); `offline`: the page's connection is
 * down (the transfer resumes when it is back).
 *
 * @example
 * transferText(progress, { queued: false, offline: false }); // "42% · 11.8 MB/s · 8 s left"
 */
export function transferText(
  progress: TransferProgress,
  where: { queued: boolean; offline: boolean },
): string {
  if (where.queued) return "Queued";
  const percent = percentText(progress);
  switch (progress.state) {
    case "hashing":
      return `Preparing… ${percent}`;
    case "waiting":
      return where.offline ? `Waiting to resume (offline) · ${percent}` : "Starting…";
    case "sending":
    case "receiving": {
      const parts = [percent];
      if (progress.bytesPerSecond > 0) parts.push(`${formatFileSize(progress.bytesPerSecond)}/s`);
      if (progress.secondsLeft !== null) parts.push(`${durationText(progress.secondsLeft)} left`);
      return parts.join(" · ");
    }
    case "verifying":
      return "Checking…";
    case "done":
      return "Done";
    case "cancelled":
      return "Cancelled";
    case "failed":
      return progress.problem ?? "Failed";
  }
}
