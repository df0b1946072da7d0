/**
 * A message's formatting (lib/client/markup.ts) drawn with a terminal's means.
 *
 * Owns: how the formatting subset looks in the full-screen client: links
 * underlined (and, when their text is not the address, the address after
 * them, dimmed, since a terminal cannot show where a word links to), `code`
 * and fenced blocks dim (each line of a block on its own row), *emphasis*
 * italic, **strong** bold, mentions of me (or of everyone) in the mention
 * highlight, other mentions bold, `:shortcodes:` as their emoji; paragraphs
 * apart by an empty row, a fenced block on rows of its own. Only styles (SGR attributes drawn by ansi.ts) come
 * from here: every string from the sender passes through `inert()`, so no
 * escape sequence, control or bidi character of theirs reaches the terminal.
 * Pure: no I/O. Imports lib/client/markup.ts and lib/wire/ only, besides
 * screen types.
 */
import type { Block, Inline, LinkChild, Marks } from "../markup.ts";
import { inert } from "../../wire/inert_text.ts";
import { nickKey } from "../../wire/protocol.ts";
import type { Span, Style } from "./screen.ts";

/** Options of {@link markupSpans}. */
export interface MarkupSpanOptions {
  /** My nick: `@nick` mentions of it, and `@channel`, are highlighted. "" highlights none. */
  me: string;
  /** Highlight mentions of me. Default true; false for my own messages. */
  highlight?: boolean;
  /** The mention highlight. Default bright yellow, bold. */
  mentionStyle?: Style;
}

const defaultMentionStyle: Style = { color: 11, bold: true };

/** Style objects shared by every span of the same look (the screen groups cells by style). */
const styleCache = new Map<string, Style | undefined>();

function styleOf(
  marks: Marks,
  extra: { dim?: boolean; underline?: boolean; bold?: boolean } = {},
): Style | undefined {
  const bold = marks.strong === true || extra.bold === true;
  const italic = marks.emphasis === true;
  const dim = extra.dim === true;
  const underline = extra.underline === true;
  const key = `${+bold}${+italic}${+dim}${+underline}`;
  if (styleCache.has(key)) return styleCache.get(key);
  const style: Style = {
    ...(bold ? { bold } : {}),
    ...(italic ? { italic } : {}),
    ...(dim ? { dim } : {}),
    ...(underline ? { underline } : {}),
  };
  const shared = Object.keys(style).length === 0 ? undefined : style;
  styleCache.set(key, shared);
  return shared;
}

function span(text: string, style: Style | undefined): Span {
  return style === undefined ? { text } : { text, style };
}

/**
 * The spans of a parsed message, for {@link wrapSpans}: rows break at "\n".
 * The first block continues the row it is put on, except a fenced block,
 * which always starts a row of its own.
 *
 * @example
 * markupSpans(parseMarkup("**hi** @ana"), { me: "ana" });
 * // [{ text: "hi", style: { bold: true } }, { text: " " },
 * //  { text: "@ana", style: { color: 11, bold: true } }]
 */
export function markupSpans(blocks: readonly Block[], options: MarkupSpanOptions): Span[] {
  const me = options.me === "" ? null : nickKey(options.me);
  const highlight = options.highlight ?? true;
  const mentionStyle = options.mentionStyle ?? defaultMentionStyle;
  const spans: Span[] = [];
  const inline = (node: Inline) => {
    switch (node.type) {
      case "text":
        spans.push(span(inert(node.text), styleOf(node)));
        return;
      case "code":
        spans.push(span(inert(node.text), styleOf(node, { dim: true })));
        return;
      case "emoji":
        spans.push(span(node.emoji, styleOf(node)));
        return;
      case "mention": {
        const mine = highlight && (node.nick === null || node.nick === me);
        spans.push(span(inert(node.text), mine ? mentionStyle : styleOf(node, { bold: true })));
        return;
      }
      case "link": {
        for (const child of node.children) linkChild(child, node);
        const shown = node.children.map(childText).join("");
        if (shown !== node.href) {
          spans.push(span(" (", undefined), span(inert(node.href), styleOf({}, { dim: true })));
          spans.push(span(")", undefined));
        }
        return;
      }
    }
  };
  const linkChild = (child: LinkChild, link: Marks) => {
    const marks: Marks = {
      ...(child.strong || link.strong ? { strong: true } : {}),
      ...(child.emphasis || link.emphasis ? { emphasis: true } : {}),
    };
    const text = child.type === "emoji" ? child.emoji : inert(child.text);
    spans.push(span(text, styleOf(marks, { underline: true, dim: child.type === "code" })));
  };
  blocks.forEach((block, index) => {
    // A fenced block takes rows of its own; paragraphs are apart by an empty row.
    const previous = blocks[index - 1];
    if (block.type === "code_block") {
      spans.push({ text: "\n" });
      spans.push(span(block.text.split("\n").map(inert).join("\n"), styleOf({}, { dim: true })));
      return;
    }
    if (previous !== undefined) {
      spans.push({ text: previous.type === "code_block" ? "\n" : "\n\n" });
    }
    block.lines.forEach((line, lineIndex) => {
      if (lineIndex > 0) spans.push({ text: "\n" });
      for (const node of line) inline(node);
    });
  });
  return spans.filter((piece) => piece.text !== "");
}

function childText(child: LinkChild): string {
  return child.type === "emoji" ? child.emoji : child.text;
}
