/**
 * How many terminal columns text takes: grapheme clusters and their widths.
 *
 * Owns: splitting text into user-perceived characters (`Intl.Segmenter`) and
 * the width of each (East Asian Wide/Fullwidth and emoji = 2, combining marks
 * and other zero-width characters = 0, the rest = 1). The East Asian Width
 * table comes from `get-east-asian-width`, generated from Unicode's own data.
 * Pure: no I/O. Imports nothing from lib/.
 */
import { eastAsianWidth } from "get-east-asian-width";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The grapheme clusters of `text`, in order ("e\u0301" and "👍🏽" are one each). */
export function graphemes(text: string): string[] {
  const clusters: string[] = [];
  for (const { segment } of segmenter.segment(text)) clusters.push(segment);
  return clusters;
}

/** Offsets (in UTF-16 code units) where each grapheme cluster of `text` starts, plus `text.length`. */
export function graphemeBoundaries(text: string): number[] {
  const offsets: number[] = [];
  for (const { index } of segmenter.segment(text)) offsets.push(index);
  offsets.push(text.length);
  return offsets;
}

const zeroWidth = /^[\p{Mn}\p{Me}\p{Cf}\u200b\u2060\ufeff]+$/u;
const emojiPresentation = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f/u;
const regionalIndicator = /^\p{Regional_Indicator}/u;

/**
 * Columns one grapheme cluster takes: 0, 1 or 2. Control characters count 0
 * (they are never printed raw: see `inert()` in format.ts).
 *
 * @example
 * clusterWidth("中"); // 2
 * clusterWidth("😀"); // 2
 * clusterWidth("é");  // 1
 */
export function clusterWidth(cluster: string): number {
  const code = cluster.codePointAt(0) ?? 0;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return 0;
  if (code < 0x7f) return 1; // ASCII fast path
  if (zeroWidth.test(cluster)) return 0;
  if (emojiPresentation.test(cluster) || regionalIndicator.test(cluster)) return 2;
  return eastAsianWidth(code);
}

/**
 * Columns `text` takes on a terminal.
 *
 * @example
 * displayWidth("hi 中文😀"); // 9
 */
export function displayWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const cluster of graphemes(text)) width += clusterWidth(cluster);
  return width;
}

/**
 * The longest start of `text` that fits in `columns`, and its width. Never
 * splits a grapheme cluster.
 *
 * @example
 * fitWidth("中文字", 5); // { text: "中文", width: 4 }
 */
export function fitWidth(text: string, columns: number): { text: string; width: number } {
  let width = 0;
  let end = 0;
  for (const { segment, index } of segmenter.segment(text)) {
    const cells = clusterWidth(segment);
    if (width + cells > columns) return { text: text.slice(0, index), width };
    width += cells;
    end = index + segment.length;
  }
  return { text: text.slice(0, end), width };
}

/**
 * `text` cut to at most `columns` columns, ending in `…` when it was cut.
 *
 * @example
 * truncate("ana, bob, carol", 9); // "ana, bob…"
 */
export function truncate(text: string, columns: number): string {
  if (columns <= 0) return "";
  if (displayWidth(text) <= columns) return text;
  return `${fitWidth(text, columns - 1).text}…`;
}
