/**
 * How a file transfer's progress looks in a terminal or a log.
 *
 * Owns: the one-line bar redrawn in place on a terminal (`report.pdf
 * [=====>    ] 45%  1.4 MB of 3.1 MB  12.3 MB/s  4 s left`), the plain lines
 * a log gets instead (one per 10 %), and durations as people read them.
 * Pure but for the `write` it is given. Imports lib/wire/file_chunk.ts,
 * lib/wire/inert_text.ts and lib/client/files/transfer_types.ts only.
 */
import { formatFileSize } from "../../wire/file_chunk.ts";
import { inert } from "../../wire/inert_text.ts";
import type { TransferProgress } from "../files/transfer_types.ts";

/** Columns of the bar itself, between its brackets. */
const barColumns = 20;
/** Longest name shown before the bar (longer ones are cut with an ellipsis). */
const nameColumns = 28;

/**
 * Seconds as people read them: "4 s", "2 min 5 s", "1 h 3 min".
 *
 * @example
 * formatDuration(125); // "2 min 5 s"
 */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) {
    const rest = whole % 60;
    return `${Math.floor(whole / 60)} min${rest === 0 ? "" : ` ${rest} s`}`;
  }
  const minutes = Math.floor((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h${minutes === 0 ? "" : ` ${minutes} min`}`;
}

/** Whole percent of `done` in `total` (0 when the total is not known). */
function percent(progress: TransferProgress): number {
  return progress.total > 0 ? Math.floor((100 * progress.done) / progress.total) : 0;
}

/** A name cut to `columns` characters, made inert (no control characters). */
function shortName(name: string, columns = nameColumns): string {
  const characters = [...inert(name)];
  return characters.length <= columns
    ? characters.join("")
    : `${characters.slice(0, columns - 1).join("")}…`;
}

/**
 * The bar line of `progress` for the transfer `name`.
 *
 * @example
 * progressLine("report.pdf", progress);
 * // "report.pdf  [=========>          ]  45%  1.4 MB of 3.1 MB  12.3 MB/s  4 s left"
 */
export function progressLine(name: string, progress: TransferProgress): string {
  const label = shortName(name);
  const { state } = progress;
  if (state === "hashing") {
    return `${label}  reading it to compute its SHA-256  ${percent(progress)}%`;
  }
  if (state === "waiting") {
    return progress.done > 0
      ? `${label}  waiting to resume at ${formatFileSize(progress.done)}`
      : `${label}  waiting for the server`;
  }
  if (state === "verifying") return `${label}  checking its SHA-256`;
  const filled = progress.total > 0
    ? Math.min(barColumns, Math.floor((barColumns * progress.done) / progress.total))
    : 0;
  const bar = filled >= barColumns
    ? "=".repeat(barColumns)
    : `${"=".repeat(filled)}>${" ".repeat(barColumns - filled - 1)}`;
  const parts = [
    `${label}  [${bar}] ${String(percent(progress)).padStart(3)}%`,
    `${formatFileSize(progress.done)} of ${formatFileSize(progress.total)}`,
  ];
  if (progress.bytesPerSecond > 0) parts.push(`${formatFileSize(progress.bytesPerSecond)}/s`);
  if (progress.secondsLeft !== null) parts.push(`${formatDuration(progress.secondsLeft)} left`);
  return parts.join("  ");
}

/** Options of {@link TransferBar}. */
export interface TransferBarOptions {
  /** Writes text as it is (no newline added): stderr. */
  write: (text: string) => void;
  /** Redraw one line in place (a terminal); else print a line per 10 %. */
  terminal: boolean;
}

/**
 * Shows one transfer's progress: a bar redrawn in place on a terminal,
 * or a line at each 10 % in a log.
 *
 * @example
 * const bar = new TransferBar("report.pdf", { write, terminal: Deno.stderr.isTerminal() });
 * transfer.onProgress((progress) => bar.update(progress));
 */
export class TransferBar {
  readonly #options: TransferBarOptions;
  #name: string;
  /** The bar is on screen (terminal only). */
  #shown = false;
  /** The last tenth printed in a log; -1 before any. */
  #tenth = -1;

  constructor(name: string, options: TransferBarOptions) {
    this.#name = name;
    this.#options = options;
  }

  /** The transfer goes by another name now (a download learns its file's). */
  rename(name: string): void {
    this.#name = name;
  }

  update(progress: TransferProgress): void {
    if (this.#options.terminal) {
      if (
        progress.state === "done" || progress.state === "failed" || progress.state === "cancelled"
      ) {
        this.clear();
        return;
      }
      this.#options.write(`\r\x1b[K${progressLine(this.#name, progress)}`);
      this.#shown = true;
      return;
    }
    const moving = progress.state === "sending" || progress.state === "receiving" ||
      progress.state === "verifying" || progress.state === "done";
    if (!moving || progress.total === 0) return;
    // A transfer done between two reports still ends with its 100% line.
    const tenth = progress.state === "done" ? 10 : Math.floor(percent(progress) / 10);
    if (tenth <= this.#tenth || tenth === 0) return;
    this.#tenth = tenth;
    this.#options.write(
      `${shortName(this.#name, 80)}: ${tenth * 10}% (${formatFileSize(progress.done)} of ${
        formatFileSize(progress.total)
      })\n`,
    );
  }

  /** Prints `line` above the bar (the bar is drawn again at the next update). */
  print(line: string): void {
    this.clear();
    this.#options.write(`${line}\n`);
  }

  /** Takes the bar off the screen. */
  clear(): void {
    if (!this.#shown) return;
    this.#shown = false;
    this.#options.write("\r\x1b[K");
  }
}
