/**
 * Screen model -> terminal escape sequences.
 *
 * Owns: the only escape sequences the full-screen client writes for content:
 * SGR styles (colours left out under NO_COLOR; bold, dim, italic,
 * underline and inverse kept), absolute cursor positioning per row, erase to end of line,
 * and redrawing only the rows that changed since the previous screen.
 * Every row is drawn from its own start, so a character the terminal shows
 * wider or narrower than expected can only disturb its own row.
 * Pure: returns strings, writes nothing.
 */
import type { Row, Screen, Style } from "./screen.ts";
import { rowWidth } from "./screen.ts";

/** Options of {@link drawScreen}. */
export interface DrawOptions {
  /** Use colours. Default true; false for NO_COLOR. */
  color?: boolean;
}

/** The SGR sequence for `style` (empty for the default style). */
export function sgr(style: Style | undefined, color = true): string {
  if (style === undefined) return "";
  const codes: number[] = [];
  if (style.bold) codes.push(1);
  if (style.dim) codes.push(2);
  if (style.italic) codes.push(3);
  if (style.underline) codes.push(4);
  if (style.inverse) codes.push(7);
  if (color && style.color !== undefined) {
    codes.push(style.color < 8 ? 30 + style.color : 90 + (style.color - 8));
  }
  return codes.length === 0 ? "" : `\x1b[${codes.join(";")}m`;
}

/** One row as text with styles, ending in the default style. */
export function drawRow(row: Row, color = true): string {
  let out = "";
  for (const span of row) {
    const start = sgr(span.style, color);
    out += start === "" ? span.text : `${start}${span.text}\x1b[0m`;
  }
  return out;
}

/**
 * What to write to turn the terminal from `previous` (null: unknown, e.g.
 * after a resize) into `next`. Only changed rows are rewritten.
 *
 * @example
 * Deno.stdout.writeSync(new TextEncoder().encode(drawScreen(null, screen)));
 */
export function drawScreen(
  previous: Screen | null,
  next: Screen,
  options: DrawOptions = {},
): string {
  const color = options.color ?? true;
  const full = previous === null || previous.width !== next.width ||
    previous.height !== next.height;
  let out = "\x1b[?25l";
  if (full) out += "\x1b[0m\x1b[H\x1b[2J";
  for (let index = 0; index < next.height; index++) {
    const row = next.rows[index] ?? [];
    const drawn = drawRow(row, color);
    if (!full && previous !== null && drawRow(previous.rows[index] ?? [], color) === drawn) {
      continue;
    }
    out += `\x1b[${index + 1};1H${drawn}`;
    if (rowWidth(row) < next.width) out += "\x1b[K";
  }
  const cursorRow = Math.min(Math.max(0, next.cursor.row), next.height - 1);
  const cursorColumn = Math.min(Math.max(0, next.cursor.column), next.width - 1);
  out += `\x1b[${cursorRow + 1};${cursorColumn + 1}H\x1b[?25h`;
  return out;
}
