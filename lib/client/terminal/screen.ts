/**
 * The screen model of the full-screen client: styled rows and a cursor.
 *
 * Owns: what a screen is ({@link Screen}: rows of styled {@link Span}s, each
 * row at most `columns` wide, and where the cursor is), wrapping styled text
 * into rows (at spaces when it can, never inside a grapheme, wide characters
 * never split across rows), and laying out the input line with its cursor.
 * Pure: no I/O, no escape sequences (ansi.ts turns a Screen into bytes).
 * Span text is always printable: callers pass received text through `inert()`.
 */
import { clusterWidth, displayWidth, graphemes } from "./text_width.ts";
import { inert } from "./format.ts";

/** How a span looks. Colours are the 16 ANSI colours (0-7 normal, 8-15 bright). */
export interface Style {
  color?: number;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

/** A run of printable text in one style. */
export interface Span {
  text: string;
  style?: Style;
}

/** One screen row: spans whose widths add up to at most the screen's columns. */
export type Row = Span[];

/** A whole screen: exactly `height` rows, and the cursor (0-based). */
export interface Screen {
  width: number;
  height: number;
  rows: Row[];
  cursor: { row: number; column: number };
}

/** Columns a row takes. */
export function rowWidth(row: Row): number {
  let width = 0;
  for (const span of row) width += displayWidth(span.text);
  return width;
}

/** The plain text of a row (what `tmux capture-pane` would show, minus trailing blanks). */
export function rowText(row: Row): string {
  return row.map((span) => span.text).join("");
}

interface Cell {
  text: string;
  width: number;
  style: Style | undefined;
}

/** Groups consecutive cells of the same style back into spans. */
function toRow(cells: Cell[], indent: number): Row {
  const row: Row = indent > 0 ? [{ text: " ".repeat(indent) }] : [];
  for (const cell of cells) {
    const last = row.at(-1);
    if (last !== undefined && last.style === cell.style) last.text += cell.text;
    else {row.push(
        cell.style === undefined ? { text: cell.text } : { text: cell.text, style: cell.style },
      );}
  }
  return row;
}

/**
 * Wraps styled text into rows of at most `width` columns. A newline in a
 * span starts a new row; long lines break after a space when the row has
 * one, else anywhere between grapheme clusters. Rows after the first start
 * with `indent` spaces (dropped when `width` is too small for it).
 *
 * @example
 * wrapSpans([{ text: "hello wide 世界" }], 8, 2).map(rowText); // ["hello ", "  wide ", "  世界"]
 */
export function wrapSpans(spans: readonly Span[], width: number, indent = 0): Row[] {
  const columns = Math.max(1, width);
  const hang = indent * 2 <= columns ? indent : 0;
  const rows: Row[] = [];
  let cells: Cell[] = [];
  let used = 0;
  let rowIndent = 0;
  let lastSpace = -1; // index in `cells` just after the last space

  const finish = (keep: number) => {
    rows.push(toRow(cells.slice(0, keep), rowIndent));
    cells = cells.slice(keep);
    rowIndent = hang;
    used = hang + cells.reduce((sum, cell) => sum + cell.width, 0);
    lastSpace = -1;
  };

  for (const span of spans) {
    for (const cluster of graphemes(span.text)) {
      if (cluster === "\n" || cluster === "\r\n") {
        finish(cells.length);
        continue;
      }
      const cellWidth = clusterWidth(cluster);
      if (used + cellWidth > columns && cells.length > 0) {
        if (cluster === " ") {
          finish(cells.length); // The space itself becomes the break.
          continue;
        }
        const tail = lastSpace > 0 ? cells.slice(lastSpace) : [];
        const tailWidth = tail.reduce((sum, cell) => sum + cell.width, 0);
        // Break at the last space to keep a word whole; CJK text breaks anywhere, so
        // a run of wide characters is never moved to the next row as a "word".
        const isWord = cellWidth === 1 && tail.every((cell) => cell.width === 1);
        const breakAtSpace = lastSpace > 0 && isWord && hang + tailWidth + cellWidth <= columns;
        finish(breakAtSpace ? lastSpace : cells.length);
      }
      cells.push({ text: cluster, width: cellWidth, style: span.style });
      used += cellWidth;
      if (cluster === " ") lastSpace = cells.length;
    }
  }
  rows.push(toRow(cells, rowIndent));
  return rows;
}

/** `row` cut or padded to exactly `width` columns (padding keeps `fill`'s style). */
export function fitRow(row: Row, width: number, fill?: Style): Row {
  const out: Row = [];
  let used = 0;
  for (const span of row) {
    const spanWidth = displayWidth(span.text);
    if (used + spanWidth <= width) {
      out.push(span);
      used += spanWidth;
      continue;
    }
    let text = "";
    for (const cluster of graphemes(span.text)) {
      const cellWidth = clusterWidth(cluster);
      if (used + cellWidth > width) break;
      text += cluster;
      used += cellWidth;
    }
    if (text !== "") out.push(span.style === undefined ? { text } : { text, style: span.style });
    break;
  }
  if (used < width && fill !== undefined) out.push({ text: " ".repeat(width - used), style: fill });
  return out;
}

/** The input area: its rows and where the cursor is among them. */
export interface InputLayout {
  rows: Row[];
  cursor: { row: number; column: number };
}

/**
 * Lays out the input line: `prompt`, then `text` wrapped at `width` columns
 * (character wrap, as shells do; rows after the first are indented by the
 * prompt's width when it is narrow), with the cursor at code unit `cursor`.
 * At most `maxRows` rows are returned: the window that holds the cursor.
 *
 * @example
 * layoutInput([{ text: "> " }], "中文中文", 4, 6, 3);
 * // rows "> 中文", "  中文"; cursor { row: 1, column: 2 }
 */
export function layoutInput(
  prompt: Row,
  text: string,
  cursor: number,
  width: number,
  maxRows: number,
): InputLayout {
  const columns = Math.max(2, width);
  const promptWidth = rowWidth(prompt);
  const indent = promptWidth * 2 <= columns ? promptWidth : 0;
  const rows: Row[] = [];
  let current: Row = [...prompt];
  let column = promptWidth;
  let at = { row: 0, column: promptWidth };
  const newRow = () => {
    rows.push(current);
    current = indent > 0 ? [{ text: " ".repeat(indent) }] : [];
    column = indent;
  };
  let offset = 0;
  for (const cluster of graphemes(text)) {
    if (offset === cursor) at = { row: rows.length, column };
    offset += cluster.length;
    if (cluster === "\n") {
      newRow();
      continue;
    }
    const shown = inert(cluster);
    const cellWidth = displayWidth(shown);
    if (column + cellWidth > columns) newRow();
    const last = current.at(-1);
    if (last !== undefined && last.style === undefined && current.length > prompt.length) {
      last.text += shown;
    } else current.push({ text: shown });
    column += cellWidth;
  }
  if (cursor >= text.length) {
    if (column >= columns) newRow();
    at = { row: rows.length, column };
  }
  rows.push(current);
  const shownRows = Math.max(1, Math.min(maxRows, rows.length));
  const first = Math.min(Math.max(0, at.row - shownRows + 1), rows.length - shownRows);
  return {
    rows: rows.slice(first, first + shownRows),
    cursor: { row: at.row - first, column: at.column },
  };
}
