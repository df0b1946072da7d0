/**
 * Message text -> a small, safe document: what people write at work.
 *
 * Owns: the formatting subset every client shows (issue #15, item 5), as an
 * AST that the terminal (lib/client/terminal/markup_spans.ts) and the page
 * (lib/web/page/view) each draw with their own means, and {@link plainText}
 * for notifications and previews. Pure: no DOM, no Deno; imports only
 * lib/wire/ (lib/wire/mentions.ts finds fences, code spans, links and
 * mentions, so the server's mention count and what clients highlight are
 * one rule).
 *
 * The subset:
 * - Blocks: paragraphs, separated by blank lines, whose line breaks are kept
 *   ({@link Paragraph}.lines); fenced blocks (a line of 3+ backticks, an
 *   optional language word; an unclosed fence runs to the end of the text).
 * - In a line: `code`, *emphasis* and _emphasis_, **strong** and __strong__
 *   (CommonMark's rules for `*` and `_`: `snake_case_words` stay as written;
 *   a marker that is never closed is literal text), links (http:// and
 *   https:// addresses in the text, `<https://...>`, `[text](url)` for
 *   http, https and mailto only; any other scheme stays plain text), mentions
 *   (`@nick`, `@channel`, `@here`, `@all`), and `:shortcodes:` from
 *   {@link emojiShortcodes}; an unknown shortcode stays text. Nothing spans
 *   a line break.
 * - Everything else is text, as written: `<script>` is eight characters.
 *
 * Safety: the AST holds only strings and the node types below. No node is
 * HTML or carries markup from the sender: a renderer puts every string in as
 * text (a DOM text node; `inert()` on a terminal). A link's `href` always
 * starts with `http://`, `https://` or `mailto:` (any case) and holds no
 * space, control or format character; a link's text never poses as another
 * address (`[https://bank.lan](https://evil.lan)` shows "https://evil.lan").
 *
 * Emphasis is flat: marks (`strong`, `emphasis`) on the nodes they cover
 * rather than nested nodes, so a message of 10,000 nested markers cannot make
 * a deep tree, and nothing here (or in a renderer) recurses. A link's
 * children are text, code and emoji only, with their own marks.
 *
 * Cost: linear in the length of the text (CommonMark's delimiter algorithm
 * with its "openers bottom" bound; no backtracking expressions); 100 KB of
 * any text parses in tens of milliseconds at most (tests/markup_test.ts).
 *
 * Why hand-written rather than a markdown package: the rule is that nothing
 * from a sender ever becomes HTML, and markdown parsers (markdown-it, marked,
 * micromark, snarkdown) are built to produce HTML, with raw HTML, images,
 * headings, lists and tables to turn off and their HTML output or token
 * stream to translate back; what they accept as a link or as code would also
 * differ from the server's mention rule, which has to live in lib/wire/
 * (where only @noble may be imported) and decide whether `@ana` inside code
 * or a link counts. A small parser to an AST of exactly the subset, on the
 * same scanner as the mention rule, is less code than that translation
 * (about 5 KB gzipped in the page's bundle with the mention rule, no
 * dependency), and every case of it is in tests/markup_test.ts.
 *
 * API (stable; the page renders it):
 * - {@link parseMarkup}(text): {@link Block}[]
 * - {@link plainText}(blocks): string
 * - {@link emojiShortcodes}: the shortcodes known, name -> emoji
 */
import { type LineToken, scanLine, splitFences } from "../wire/mentions.ts";

/** How a node is styled. Absent means no; nodes inside `**...**` have `strong: true`. */
export interface Marks {
  strong?: true;
  emphasis?: true;
}

/** Text as written. */
export interface TextInline extends Marks {
  type: "text";
  text: string;
}

/** `code`: `text` is shown as it is, in a monospaced font (no formatting inside). */
export interface CodeInline extends Marks {
  type: "code";
  text: string;
}

/** A `:shortcode:` from {@link emojiShortcodes}: `name` without colons, `emoji` to show. */
export interface EmojiInline extends Marks {
  type: "emoji";
  name: string;
  emoji: string;
}

/** What a link shows. */
export type LinkChild = TextInline | CodeInline | EmojiInline;

/**
 * A link. `href` starts with `http://`, `https://` or `mailto:` (any case).
 * `children` is what to show: the address itself for an address in the text,
 * the formatted text of `[text](url)`, except when that text looks like
 * another address (`[https://bank.lan](https://evil.lan)` shows
 * "https://evil.lan").
 */
export interface LinkInline extends Marks {
  type: "link";
  href: string;
  children: LinkChild[];
}

/**
 * A mention as written (`text`, e.g. "@Ana"). `nick` is the `nickKey` of the
 * nick mentioned, or null for `@channel`, `@here` and `@all` (everyone in
 * the conversation).
 */
export interface MentionInline extends Marks {
  type: "mention";
  text: string;
  nick: string | null;
}

/** A piece of a line. */
export type Inline = TextInline | CodeInline | EmojiInline | LinkInline | MentionInline;

/** Lines of text between blank lines; each line is drawn on its own. Never empty. */
export interface Paragraph {
  type: "paragraph";
  lines: Inline[][];
}

/** A fenced block: `text` as written (lines joined with "\n"), in a monospaced font. */
export interface CodeBlock {
  type: "code_block";
  /** The language word after the opening fence, or null. */
  lang: string | null;
  text: string;
}

/** A block of a message. */
export type Block = Paragraph | CodeBlock;

/**
 * The blocks of a message's text. Never throws; empty text gives [].
 *
 * @example
 * parseMarkup("**done**, see https://ci.lan/42");
 * // [{ type: "paragraph", lines: [[
 * //   { type: "text", text: "done", strong: true },
 * //   { type: "text", text: ", see " },
 * //   { type: "link", href: "https://ci.lan/42",
 * //     children: [{ type: "text", text: "https://ci.lan/42" }] },
 * // ]] }]
 */
export function parseMarkup(text: string): Block[] {
  const blocks: Block[] = [];
  for (const part of splitFences(text)) {
    if (part.type === "fence") {
      blocks.push({ type: "code_block", lang: part.lang, text: part.text });
      continue;
    }
    let lines: Inline[][] = [];
    for (const line of part.lines) {
      if (line.trim() === "") {
        if (lines.length > 0) blocks.push({ type: "paragraph", lines });
        lines = [];
      } else lines.push(parseLine(line, true));
    }
    if (lines.length > 0) blocks.push({ type: "paragraph", lines });
  }
  return blocks;
}

/**
 * The text of `blocks` without formatting, for notifications, titles and
 * previews: paragraphs apart by a blank line, code as its text, emoji as
 * emoji, links as what they show.
 *
 * @example
 * plainText(parseMarkup("**ship it** :rocket:")); // "ship it 🚀"
 */
export function plainText(blocks: readonly Block[]): string {
  const texts: string[] = [];
  for (const block of blocks) {
    if (block.type === "code_block") {
      texts.push(block.text);
      continue;
    }
    texts.push(block.lines.map((line) => line.map(inlineText).join("")).join("\n"));
  }
  return texts.join("\n\n");
}

function inlineText(inline: Inline): string {
  switch (inline.type) {
    case "text":
    case "code":
    case "mention":
      return inline.text;
    case "emoji":
      return inline.emoji;
    case "link":
      return inline.children.map(inlineText).join("");
  }
}

// ---- emoji ---------------------------------------------------------------------------

/**
 * The `:shortcodes:` known (GitHub's and Slack's names), name -> emoji. A
 * curated few that office chat uses; anything else between colons stays text.
 */
export const emojiShortcodes: ReadonlyMap<string, string> = new Map([
  // Faces
  ["smile", "😄"],
  ["smiley", "😃"],
  ["grin", "😁"],
  ["grinning", "😀"],
  ["laughing", "😆"],
  ["joy", "😂"],
  ["rofl", "🤣"],
  ["sweat_smile", "😅"],
  ["wink", "😉"],
  ["blush", "😊"],
  ["slightly_smiling_face", "🙂"],
  ["upside_down_face", "🙃"],
  ["heart_eyes", "😍"],
  ["sunglasses", "😎"],
  ["thinking", "🤔"],
  ["neutral_face", "😐"],
  ["expressionless", "😑"],
  ["roll_eyes", "🙄"],
  ["confused", "😕"],
  ["worried", "😟"],
  ["cry", "😢"],
  ["sob", "😭"],
  ["scream", "😱"],
  ["angry", "😠"],
  ["rage", "😡"],
  ["sleeping", "😴"],
  ["partying_face", "🥳"],
  ["mask", "😷"],
  ["shrug", "🤷"],
  ["facepalm", "🤦"],
  // Hands
  ["+1", "👍"],
  ["thumbsup", "👍"],
  ["-1", "👎"],
  ["thumbsdown", "👎"],
  ["ok_hand", "👌"],
  ["clap", "👏"],
  ["wave", "👋"],
  ["pray", "🙏"],
  ["muscle", "💪"],
  ["raised_hands", "🙌"],
  ["point_up", "☝️"],
  ["point_right", "👉"],
  ["v", "✌️"],
  ["handshake", "🤝"],
  ["crossed_fingers", "🤞"],
  // Hearts and signs
  ["heart", "❤️"],
  ["broken_heart", "💔"],
  ["sparkles", "✨"],
  ["star", "⭐"],
  ["fire", "🔥"],
  ["100", "💯"],
  ["tada", "🎉"],
  ["eyes", "👀"],
  ["white_check_mark", "✅"],
  ["heavy_check_mark", "✔️"],
  ["x", "❌"],
  ["warning", "⚠️"],
  ["no_entry", "⛔"],
  ["question", "❓"],
  ["exclamation", "❗"],
  ["bulb", "💡"],
  ["zap", "⚡"],
  // Work
  ["rocket", "🚀"],
  ["bug", "🐛"],
  ["wrench", "🔧"],
  ["hammer", "🔨"],
  ["gear", "⚙️"],
  ["lock", "🔒"],
  ["key", "🔑"],
  ["memo", "📝"],
  ["calendar", "📅"],
  ["hourglass", "⌛"],
  ["bell", "🔔"],
  ["chart_with_upwards_trend", "📈"],
  ["package", "📦"],
  ["link", "🔗"],
  // Food and weather
  ["coffee", "☕"],
  ["tea", "🍵"],
  ["pizza", "🍕"],
  ["beer", "🍺"],
  ["cake", "🍰"],
  ["sunny", "☀️"],
  ["cloud", "☁️"],
  ["snowflake", "❄️"],
]);

// ---- one line --------------------------------------------------------------------------

/** An `*` or `_` run while emphasis is worked out (CommonMark's delimiter run). */
interface Delimiter {
  kind: "delimiter";
  character: "*" | "_";
  /** Where the run starts in the line. */
  start: number;
  /** Characters not used yet. */
  count: number;
  /** The run's length as written (the "rule of 3" looks at it). */
  length: number;
  canOpen: boolean;
  canClose: boolean;
  /**
   * Matches this run opens (characters taken from its end) and closes (from
   * its start): two characters for strong, one for emphasis.
   */
  strongOpens: number;
  emphasisOpens: number;
  strongCloses: number;
  emphasisCloses: number;
  previous: Delimiter | null;
  next: Delimiter | null;
}

/** Text of the line, by place (no string is made until text is final). */
interface TextRange {
  kind: "text";
  start: number;
  end: number;
}

/** A node found by the scanner (code, link, mention) or an emoji. */
interface NodePiece {
  kind: "node";
  inline: Inline;
}

type Piece = TextRange | NodePiece | Delimiter;

const shortcode = /:([a-z0-9_+-]{1,40}):/y;
const whitespace = /^\s$/u;
const punctuation = /^[\p{P}\p{S}]$/u;

/** One line of a paragraph (or a link's text, with `outer` false: no links, no mentions). */
function parseLine(line: string, outer: boolean): Inline[] {
  const tokens = scanLine(line, outer ? {} : { links: false, mentions: false });
  const pieces: Piece[] = [];
  const delimiters: Delimiter[] = [];
  for (const token of tokens) {
    if (token.type === "text") splitText(line, token, pieces, delimiters);
    else pieces.push({ kind: "node", inline: tokenInline(line, token) });
  }
  if (delimiters.length > 0) matchEmphasis(delimiters);
  return applyMarks(line, pieces);
}

function tokenInline(line: string, token: Exclude<LineToken, { type: "text" }>): Inline {
  switch (token.type) {
    case "code":
      return { type: "code", text: token.text };
    case "mention":
      return { type: "mention", text: line.slice(token.start, token.end), nick: token.nick };
    case "link":
      return {
        type: "link",
        href: token.href,
        children: token.bracketed && !posesAsAddress(token.label, token.href)
          ? parseLine(token.label, false).map(asLinkChild)
          : [{ type: "text", text: token.bracketed ? token.href : token.label }],
      };
  }
}

const addressLike = /^\s*(?:[a-z][a-z0-9+.-]*:\/\/|www\.)/i;

/**
 * True when the text of `[text](url)` looks like an address other than the
 * url ("[https://bank.lan](https://evil.lan)"): such a link shows its url.
 */
function posesAsAddress(label: string, href: string): boolean {
  return addressLike.test(label) && label.trim() !== href;
}

/** A link's text is parsed without links and mentions; this only narrows the type. */
function asLinkChild(inline: Inline): LinkChild {
  if (inline.type === "link" || inline.type === "mention") {
    return { ...marksOf(inline), type: "text", text: inlineText(inline) };
  }
  return inline;
}

function marksOf(inline: Marks): Marks {
  return {
    ...(inline.strong ? { strong: true } : {}),
    ...(inline.emphasis ? { emphasis: true } : {}),
  };
}

/** Splits a text token into text, emoji and `*`/`_` runs. */
function splitText(
  line: string,
  token: { start: number; end: number },
  pieces: Piece[],
  delimiters: Delimiter[],
): void {
  let textStart = token.start;
  let at = token.start;
  const flush = (end: number) => {
    if (end > textStart) pieces.push({ kind: "text", start: textStart, end });
  };
  while (at < token.end) {
    const code = line.charCodeAt(at);
    if (code === 0x3a) { // :
      shortcode.lastIndex = at;
      const match = shortcode.exec(line);
      const emoji = match === null || shortcode.lastIndex > token.end
        ? undefined
        : emojiShortcodes.get(match[1]!);
      if (emoji === undefined) {
        at++;
        continue;
      }
      flush(at);
      pieces.push({ kind: "node", inline: { type: "emoji", name: match![1]!, emoji } });
      at = textStart = shortcode.lastIndex;
      continue;
    }
    if (code !== 0x2a && code !== 0x5f) { // * _
      at++;
      continue;
    }
    let end = at;
    while (end < token.end && line.charCodeAt(end) === code) end++;
    flush(at);
    const delimiter = makeDelimiter(line, at, end, code === 0x2a ? "*" : "_");
    pieces.push(delimiter);
    delimiters.push(delimiter);
    at = textStart = end;
  }
  flush(token.end);
}

/** CommonMark's left- and right-flanking rules for the run `line[start, end)`. */
function makeDelimiter(line: string, start: number, end: number, character: "*" | "_"): Delimiter {
  const before = start === 0 ? 0x20 : codePointBefore(line, start);
  const after = end >= line.length ? 0x20 : line.codePointAt(end)!;
  const beforeSpace = isWhitespace(before);
  const afterSpace = isWhitespace(after);
  const beforePunctuation = isPunctuation(before);
  const afterPunctuation = isPunctuation(after);
  const leftFlanking = !afterSpace && (!afterPunctuation || beforeSpace || beforePunctuation);
  const rightFlanking = !beforeSpace && (!beforePunctuation || afterSpace || afterPunctuation);
  const canOpen = character === "*"
    ? leftFlanking
    : leftFlanking && (!rightFlanking || beforePunctuation);
  const canClose = character === "*"
    ? rightFlanking
    : rightFlanking && (!leftFlanking || afterPunctuation);
  return {
    kind: "delimiter",
    character,
    start,
    count: end - start,
    length: end - start,
    canOpen,
    canClose,
    strongOpens: 0,
    emphasisOpens: 0,
    strongCloses: 0,
    emphasisCloses: 0,
    previous: null,
    next: null,
  };
}

function codePointBefore(line: string, at: number): number {
  const low = line.charCodeAt(at - 1);
  if (low >= 0xdc00 && low <= 0xdfff && at >= 2) {
    const high = line.charCodeAt(at - 2);
    if (high >= 0xd800 && high <= 0xdbff) return line.codePointAt(at - 2)!;
  }
  return low;
}

/** Unicode white space (CommonMark: Zs, tab, line feed, form feed, carriage return). */
function isWhitespace(code: number): boolean {
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return whitespace.test(String.fromCodePoint(code));
}

/** Unicode punctuation or symbol (CommonMark's "punctuation character"). */
function isPunctuation(code: number): boolean {
  if (code < 0x80) {
    return (code >= 0x21 && code <= 0x2f) || (code >= 0x3a && code <= 0x40) ||
      (code >= 0x5b && code <= 0x60) || (code >= 0x7b && code <= 0x7e);
  }
  return punctuation.test(String.fromCodePoint(code));
}

/**
 * CommonMark's "process emphasis": each closer, left to right, takes the
 * nearest opener of its character below it (not breaking the rule of 3),
 * two characters when both have two (strong), else one (emphasis); the runs
 * between them become literal. The openers-bottom table keeps a closer with
 * no opener from searching the same stretch again, which keeps this linear.
 */
function matchEmphasis(delimiters: Delimiter[]): void {
  for (let index = 0; index < delimiters.length; index++) {
    delimiters[index]!.previous = delimiters[index - 1] ?? null;
    delimiters[index]!.next = delimiters[index + 1] ?? null;
  }
  const remove = (delimiter: Delimiter) => {
    if (delimiter.previous !== null) delimiter.previous.next = delimiter.next;
    if (delimiter.next !== null) delimiter.next.previous = delimiter.previous;
  };
  // Indexed by the closer's character, whether it can open, and its length modulo 3.
  const openersBottom: (Delimiter | null)[] = new Array(12).fill(null);
  let closer: Delimiter | null = delimiters[0] ?? null;
  while (closer !== null) {
    if (!closer.canClose) {
      closer = closer.next;
      continue;
    }
    const key = (closer.character === "*" ? 0 : 6) + (closer.canOpen ? 3 : 0) + closer.length % 3;
    const bottom = openersBottom[key] ?? null;
    let opener: Delimiter | null = closer.previous;
    while (opener !== null && opener !== bottom) {
      if (opener.character === closer.character && opener.canOpen) {
        const oddMatch = (closer.canOpen || opener.canClose) &&
          (opener.length + closer.length) % 3 === 0 &&
          !(opener.length % 3 === 0 && closer.length % 3 === 0);
        if (!oddMatch) break;
      }
      opener = opener.previous;
    }
    if (opener === null || opener === bottom) {
      openersBottom[key] = closer.previous;
      const next: Delimiter | null = closer.next;
      if (!closer.canOpen) remove(closer);
      closer = next;
      continue;
    }
    const used = opener.count >= 2 && closer.count >= 2 ? 2 : 1;
    opener.count -= used;
    closer.count -= used;
    if (used === 2) {
      opener.strongOpens++;
      closer.strongCloses++;
    } else {
      opener.emphasisOpens++;
      closer.emphasisCloses++;
    }
    // Runs between the two are left as literal text.
    opener.next = closer;
    closer.previous = opener;
    if (opener.count === 0) remove(opener);
    if (closer.count === 0) {
      const next: Delimiter | null = closer.next;
      remove(closer);
      closer = next;
    }
  }
}

/**
 * Walks the pieces once, counting the strong and emphasis spans open at each
 * point, and gives each node its marks; what is left of a run is literal text
 * (a closer's characters come off its start, an opener's off its end).
 * Adjacent text with the same marks becomes one node.
 */
function applyMarks(line: string, pieces: Piece[]): Inline[] {
  const out: Inline[] = [];
  let strong = 0;
  let emphasis = 0;
  // Text waiting to be made a node, with the marks it had: the strings in `done`, then
  // line[textStart, textEnd).
  let done: string[] = [];
  let textStart = 0;
  let textEnd = 0;
  let textMarks = 0;
  const marks = () => (strong > 0 ? 1 : 0) | (emphasis > 0 ? 2 : 0);
  const flush = () => {
    if (textEnd === textStart && done.length === 0) return;
    const tail = line.slice(textStart, textEnd);
    const node: TextInline = {
      type: "text",
      text: done.length === 0 ? tail : done.join("") + tail,
    };
    if (textMarks & 1) node.strong = true;
    if (textMarks & 2) node.emphasis = true;
    out.push(node);
    done = [];
    textStart = textEnd;
  };
  const text = (start: number, end: number) => {
    if (start === end) return;
    if (textMarks === marks() && (textEnd > textStart || done.length > 0)) {
      if (textEnd !== start) {
        done.push(line.slice(textStart, textEnd));
        textStart = start;
      }
      textEnd = end;
      return;
    }
    flush();
    textStart = start;
    textEnd = end;
    textMarks = marks();
  };
  for (const piece of pieces) {
    switch (piece.kind) {
      case "text":
        text(piece.start, piece.end);
        break;
      case "node":
        flush();
        if (strong > 0) piece.inline.strong = true;
        if (emphasis > 0) piece.inline.emphasis = true;
        out.push(piece.inline);
        break;
      case "delimiter": {
        strong -= piece.strongCloses;
        emphasis -= piece.emphasisCloses;
        const closed = 2 * piece.strongCloses + piece.emphasisCloses;
        text(piece.start + closed, piece.start + closed + piece.count);
        strong += piece.strongOpens;
        emphasis += piece.emphasisOpens;
        break;
      }
    }
  }
  flush();
  return out;
}
