/**
 * Who a message mentions: the one rule for `@nick` and `@channel`, used by
 * the server (counting mentions), the terminal and the page (highlighting).
 *
 * Owns: the mention rule, and, because the rule depends on them, where code
 * and links are in a message's text: fenced blocks ({@link splitFences}) and,
 * line by line, code spans, links and mentions ({@link scanLine}).
 * lib/client/markup.ts builds its formatting on these two functions, so the
 * server, the terminal and the page can never disagree on whether `@ana` in
 * a message is a mention.
 *
 * The rule:
 * - `@nick` mentions the nick (compared with `nickKey`, so without regard to
 *   case). The mention is the longest run of nick characters after the `@`
 *   (letters, combining marks after the first, digits, `_`, `.`, `-`), less
 *   any `.` and `-` at its end ("thanks @ana." and "@ana-" mention ana), and
 *   only counts when that is a valid nick (`nickProblem`): a run of 33 or
 *   more characters mentions nobody. A nick that itself ends in `.` or `-`
 *   cannot be mentioned.
 * - `@channel`, `@here` and `@all` (any case) mention everyone in the
 *   conversation.
 * - Not a mention: an `@` right after a letter, digit, mark or one of
 *   `_ . + - % @` (an address such as `bob@ana.com`), anything inside a
 *   fenced block or a code span, anything inside a link (its address or the
 *   text of `[text](url)`).
 *
 * Where code and links are (a subset of CommonMark, chosen for chat):
 * - A fenced block opens with a line of 3 or more backticks (after at most 3
 *   spaces) and an optional info line without backticks, whose first word is
 *   the language; it closes with a line of at least as many backticks and
 *   nothing else, or at the end of the text when never closed (less the
 *   text's final line break).
 * - Everything else is read line by line: code spans, links and emphasis
 *   never cross a line break.
 * - A code span is a run of N backticks closed by the next run of exactly N
 *   on the line; one space inside each end is dropped when both are there.
 *   A run that is never closed is literal text.
 * - Links: `http://` and `https://` addresses in the text (not right after an
 *   ASCII letter or digit; they end at a space, a control or format character,
 *   `<`, `>`, `"`, a backtick or CJK punctuation, then lose trailing
 *   `. , : ; ! ? ' * _ ~ …` and unbalanced `)` or `]`); `<https://...>`
 *   (also `<mailto:...>`); and `[text](url)` where the url
 *   starts with `http://`, `https://` or `mailto:` (any case) and holds no
 *   space. Any other scheme (`javascript:`, `data:`, `vbscript:`, ...) is not
 *   a link: the text stays as written.
 *
 * Every scan is linear in the length of the text (no backtracking regular
 * expressions, no recursion): the server runs it on every message.
 * Pure: imports only lib/wire/protocol.ts.
 *
 * API (stable): {@link mentionsIn}, {@link mentionsMe}, {@link everyoneWords};
 * for lib/client/markup.ts: {@link splitFences}, {@link scanLine}.
 */
import { nickKey, nickProblem, reservedNicks } from "./protocol.ts";

/** Words that, after an `@`, mention everyone in the conversation (compared with `nickKey`). */
export const everyoneWords: readonly string[] = reservedNicks;

/** Who a message mentions. */
export interface Mentions {
  /** The nicks mentioned, as `nickKey`s, once each, in the order of their first mention. */
  nicks: string[];
  /** True when the text says `@channel`, `@here` or `@all`. */
  everyone: boolean;
}

/**
 * Who `text` mentions.
 *
 * @example
 * mentionsIn("thanks @Ana. cc @bob, `@carol`, dan@bob.com");
 * // { nicks: ["ana", "bob"], everyone: false }
 * mentionsIn("@here deploy at 5"); // { nicks: [], everyone: true }
 */
export function mentionsIn(text: string): Mentions {
  const nicks: string[] = [];
  const seen = new Set<string>();
  let everyone = false;
  if (!text.includes("@")) return { nicks, everyone };
  for (const part of splitFences(text)) {
    if (part.type !== "lines") continue;
    for (const line of part.lines) {
      if (!line.includes("@")) continue;
      for (const token of scanLine(line)) {
        if (token.type !== "mention") continue;
        if (token.nick === null) everyone = true;
        else if (!seen.has(token.nick)) {
          seen.add(token.nick);
          nicks.push(token.nick);
        }
      }
    }
  }
  return { nicks, everyone };
}

/**
 * True when `text` mentions `myNick`, by name or as everyone (`@channel`).
 *
 * @example
 * mentionsMe("@ANA look", "ana"); // true
 * mentionsMe("ana: look", "ana"); // false: only `@` mentions
 */
export function mentionsMe(text: string, myNick: string): boolean {
  const found = mentionsIn(text);
  return found.everyone || (myNick !== "" && found.nicks.includes(nickKey(myNick)));
}

// ---- fenced blocks -------------------------------------------------------------------

/** A stretch of a message: lines read for code spans, links and mentions, or a fenced block. */
export type TextPart =
  | { type: "lines"; lines: string[] }
  | {
    type: "fence";
    /** The first word of the opening line's info, when it looks like a language name; else null. */
    lang: string | null;
    /** The lines inside the fence, joined with "\n" (no final line break). */
    text: string;
  };

const fenceOpen = /^ {0,3}(`{3,})([^`]*)$/;
const fenceClose = /^ {0,3}(`{3,})[ \t]*$/;
const langName = /^[A-Za-z0-9_+#.-]{1,32}$/;

/**
 * Splits `text` into its fenced blocks and the runs of lines between them.
 * Lines end at "\n" or "\r\n". Empty runs are left out.
 *
 * @example
 * splitFences("see:\n```ts\nlet a = 1;\n```\nok");
 * // [{ type: "lines", lines: ["see:"] },
 * //  { type: "fence", lang: "ts", text: "let a = 1;" },
 * //  { type: "lines", lines: ["ok"] }]
 */
export function splitFences(text: string): TextPart[] {
  const parts: TextPart[] = [];
  if (!text.includes("```")) {
    return text === "" ? parts : [{ type: "lines", lines: splitLines(text) }];
  }
  const lines = splitLines(text);
  let plain: string[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index]!;
    const open = line.startsWith("```") || line.startsWith(" ") ? fenceOpen.exec(line) : null;
    if (open === null) {
      plain.push(line);
      index++;
      continue;
    }
    if (plain.length > 0) parts.push({ type: "lines", lines: plain });
    plain = [];
    const ticks = open[1]!.length;
    const word = open[2]!.trim().split(/[ \t]/, 1)[0] ?? "";
    const body: string[] = [];
    index++;
    while (index < lines.length) {
      const close = fenceClose.exec(lines[index]!);
      if (close !== null && close[1]!.length >= ticks) break;
      body.push(lines[index]!);
      index++;
    }
    // A fence never closed runs to the end; the line break that ended the text is not code.
    if (index === lines.length && body.at(-1) === "") body.pop();
    index++; // the closing line, or past the end
    parts.push({ type: "fence", lang: langName.test(word) ? word : null, text: body.join("\n") });
  }
  if (plain.length > 0) parts.push({ type: "lines", lines: plain });
  return parts;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

// ---- one line --------------------------------------------------------------------------

/**
 * A piece of one line, with where it is (`start` inclusive, `end` exclusive, in
 * UTF-16 code units of the line). Pieces cover the line in order, without gaps.
 */
export type LineToken =
  /** Text with no code, link or mention in it: `line.slice(start, end)`. */
  | { type: "text"; start: number; end: number }
  /** A code span; `text` is its content. */
  | { type: "code"; start: number; end: number; text: string }
  /**
   * A link to `href`. `label` is what it shows: the text between `[` and `]`
   * for `[text](url)` (`bracketed`), else the address itself.
   */
  | { type: "link"; start: number; end: number; href: string; label: string; bracketed: boolean }
  /** A mention as written (`line.slice(start, end)`, e.g. "@Ana"); `nick` is its nickKey, null for everyone. */
  | { type: "mention"; start: number; end: number; nick: string | null };

/** What {@link scanLine} looks for besides code spans. */
export interface ScanOptions {
  /** Find links. Default true (false inside a link's text). */
  links?: boolean;
  /** Find mentions. Default true (false inside a link's text). */
  mentions?: boolean;
}

/**
 * Finds the code spans, links and mentions of one line (no line breaks in
 * it), left to right: where two could start, the one that starts first wins.
 *
 * @example
 * scanLine("hi @ana, see `x`");
 * // [{ type: "text", start: 0, end: 3 },
 * //  { type: "mention", start: 3, end: 7, nick: "ana" },
 * //  { type: "text", start: 7, end: 13 },
 * //  { type: "code", start: 13, end: 16, text: "x" }]
 */
export function scanLine(line: string, options: ScanOptions = {}): LineToken[] {
  const findLinks = options.links ?? true;
  const findMentions = options.mentions ?? true;
  const tokens: LineToken[] = [];
  const index = new LineIndex(line);
  let textStart = 0;
  let at = 0;
  while (at < line.length) {
    const code = line.charCodeAt(at);
    let token: LineToken | null = null;
    let skipTo = at + 1;
    if (code === 0x60) { // `
      const found = codeSpanAt(line, at, index);
      if (typeof found === "number") skipTo = found;
      else token = found;
    } else if (findLinks && code === 0x3c) { // <
      token = angleLinkAt(line, at, index);
    } else if (findLinks && code === 0x5b) { // [
      const found = bracketLinkAt(line, at, index);
      if (typeof found === "number") skipTo = found;
      else token = found;
    } else if (findLinks && (code === 0x68 || code === 0x48)) { // h H
      token = bareLinkAt(line, at, index);
    } else if (findMentions && code === 0x40) { // @
      const found = mentionAt(line, at);
      if (typeof found === "number") skipTo = found;
      else token = found;
    }
    if (token === null) {
      at = skipTo;
      continue;
    }
    if (token.start > textStart) tokens.push({ type: "text", start: textStart, end: token.start });
    tokens.push(token);
    at = textStart = token.end;
  }
  if (line.length > textStart) tokens.push({ type: "text", start: textStart, end: line.length });
  return tokens;
}

/**
 * Facts about a line computed once, when first needed, so that no scan looks
 * at the same characters twice: where each backtick run ends and which run of
 * the same length comes next, which `)` closes each `(`, and where the next
 * character that cannot be in an address is.
 */
class LineIndex {
  readonly #line: string;
  #nextRun: Map<number, number> | null = null;
  #closingParen: Int32Array | null = null;
  #nextStop: Int32Array | null = null;
  #nextLinkAfter: Int32Array | null = null;

  constructor(line: string) {
    this.#line = line;
  }

  /** Where the next backtick run as long as the one at `start` starts, or -1. */
  nextRunLike(start: number): number {
    if (this.#nextRun === null) {
      const runs: { start: number; length: number }[] = [];
      const line = this.#line;
      for (let at = line.indexOf("`"); at !== -1; at = line.indexOf("`", at)) {
        const length = runLength(line, at, 0x60);
        runs.push({ start: at, length });
        at += length;
      }
      const next = new Map<number, number>();
      const lastOfLength = new Map<number, number>();
      for (let run = runs.length - 1; run >= 0; run--) {
        const { start: runStart, length } = runs[run]!;
        next.set(runStart, lastOfLength.get(length) ?? -1);
        lastOfLength.set(length, runStart);
      }
      this.#nextRun = next;
    }
    return this.#nextRun.get(start) ?? -1;
  }

  /** The index of the `)` that closes the `(` at `open`, or -1. */
  closingParen(open: number): number {
    if (this.#closingParen === null) {
      const line = this.#line;
      const closing = new Int32Array(line.length).fill(-1);
      const stack: number[] = [];
      for (let at = 0; at < line.length; at++) {
        const code = line.charCodeAt(at);
        if (code === 0x28) stack.push(at);
        else if (code === 0x29 && stack.length > 0) closing[stack.pop()!] = at;
      }
      this.#closingParen = closing;
    }
    return this.#closingParen[open] ?? -1;
  }

  /** The index of the first character at or after `from` that cannot be in an address. */
  nextStop(from: number): number {
    if (this.#nextStop === null) {
      const line = this.#line;
      const next = new Int32Array(line.length + 1);
      next[line.length] = line.length;
      for (let at = line.length - 1; at >= 0; at--) {
        next[at] = stopsAddress(line, at) ? at : next[at + 1]!;
      }
      this.#nextStop = next;
    }
    return this.#nextStop[from] ?? this.#line.length;
  }

  /** The index of the first `](` at or after `from`, or the line's length. */
  nextLinkAfter(from: number): number {
    if (this.#nextLinkAfter === null) {
      const line = this.#line;
      const next = new Int32Array(line.length + 1);
      next[line.length] = line.length;
      for (let at = line.length - 1; at >= 0; at--) {
        next[at] = line.charCodeAt(at) === 0x5d && line.charCodeAt(at + 1) === 0x28
          ? at
          : next[at + 1]!;
      }
      this.#nextLinkAfter = next;
    }
    return this.#nextLinkAfter[from] ?? this.#line.length;
  }
}

/**
 * Characters beyond ASCII that end an address: spaces, C1 controls, format
 * characters (bidi, zero width), CJK and full-width punctuation.
 */
const wideAddressStop =
  /^[\s\p{Cc}\p{Cf}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]/u;

/**
 * True when the character at `at` cannot be in an address: white space,
 * controls, format characters (bidi controls, zero-width characters), `<`,
 * `>`, `"`, backtick, CJK and full-width punctuation (`。`, `，`, `（`). The low
 * half of a surrogate pair answers for its pair.
 */
function stopsAddress(line: string, at: number): boolean {
  const code = line.charCodeAt(at);
  if (code < 0x80) {
    return code <= 0x20 || code === 0x7f || code === 0x3c || code === 0x3e || code === 0x22 ||
      code === 0x60;
  }
  if (code >= 0xdc00 && code <= 0xdfff && at > 0) {
    const high = line.charCodeAt(at - 1);
    if (high >= 0xd800 && high <= 0xdbff) return stopsAddress(line, at - 1);
  }
  return wideAddressStop.test(String.fromCodePoint(line.codePointAt(at)!));
}
const httpScheme = /https?:\/\//iy;
const linkScheme = /(?:https?:\/\/|mailto:)/iy;
/** What may follow `scheme://`: the start of a host name or address, `[` for IPv6. */
const hostStart = /[\p{L}\p{N}[]/uy;
/** Punctuation that ends a sentence around an address rather than the address. */
const trailingPunctuation = ".,:;!?'*_~\u2026";

function runLength(line: string, start: number, code: number): number {
  let end = start;
  while (line.charCodeAt(end) === code) end++;
  return end - start;
}

/** A code span starting at `start` (a backtick), or where scanning goes on when the run is literal. */
function codeSpanAt(line: string, start: number, index: LineIndex): LineToken | number {
  const ticks = runLength(line, start, 0x60);
  const close = index.nextRunLike(start);
  if (close === -1) return start + ticks;
  let text = line.slice(start + ticks, close);
  if (text.length >= 2 && text.startsWith(" ") && text.endsWith(" ") && text.trim() !== "") {
    text = text.slice(1, -1);
  }
  return { type: "code", start, end: close + ticks, text };
}

/**
 * True when a scheme ending at `schemeEnd` is followed, before `end`, by
 * something to link to: a host (or `[` of an IPv6 address) after `//`, any
 * address character after `mailto:`.
 */
function linkable(line: string, schemeEnd: number, end: number): boolean {
  if (schemeEnd >= end) return false;
  if (line.charCodeAt(schemeEnd - 1) === 0x3a) return !stopsAddress(line, schemeEnd); // mailto:
  hostStart.lastIndex = schemeEnd;
  return hostStart.test(line);
}

/** `<https://...>` at `start`. */
function angleLinkAt(line: string, start: number, index: LineIndex): LineToken | null {
  linkScheme.lastIndex = start + 1;
  if (!linkScheme.test(line) || !linkable(line, linkScheme.lastIndex, line.length)) return null;
  const end = index.nextStop(start + 1);
  if (line.charCodeAt(end) !== 0x3e) return null; // >
  const href = line.slice(start + 1, end);
  return { type: "link", start, end: end + 1, href, label: href, bracketed: false };
}

/** `[text](url)` at `start`, or where scanning goes on when it is not a link. */
function bracketLinkAt(line: string, start: number, index: LineIndex): LineToken | number {
  let labelEnd = start + 1;
  while (labelEnd < line.length) {
    const code = line.charCodeAt(labelEnd);
    if (code === 0x5b || code === 0x5d) break;
    labelEnd++;
  }
  // The text holds no bracket; the scan never passes another `[`, so no character is read twice.
  if (line.charCodeAt(labelEnd) !== 0x5d || labelEnd === start + 1) return start + 1;
  if (line.charCodeAt(labelEnd + 1) !== 0x28) return start + 1;
  const open = labelEnd + 1;
  const close = index.closingParen(open);
  if (close === -1 || index.nextStop(open + 1) < close) return start + 1;
  linkScheme.lastIndex = open + 1;
  if (!linkScheme.test(line) || !linkable(line, linkScheme.lastIndex, close)) return start + 1;
  return {
    type: "link",
    start,
    end: close + 1,
    href: line.slice(open + 1, close),
    label: line.slice(start + 1, labelEnd),
    bracketed: true,
  };
}

/** An address is not taken out of a Latin word ("xhttps://"); CJK text runs into addresses. */
const wordBefore = /[A-Za-z0-9]/;

/** The code point that ends just before `at`, or "" at the start. */
function characterBefore(line: string, at: number): string {
  if (at === 0) return "";
  const low = line.charCodeAt(at - 1);
  if (low >= 0xdc00 && low <= 0xdfff && at >= 2) {
    const high = line.charCodeAt(at - 2);
    if (high >= 0xd800 && high <= 0xdbff) return line.slice(at - 2, at);
  }
  return line[at - 1]!;
}

/** An `http://` or `https://` address in running text at `start`. */
function bareLinkAt(line: string, start: number, index: LineIndex): LineToken | null {
  httpScheme.lastIndex = start;
  if (!httpScheme.test(line)) return null;
  const schemeEnd = httpScheme.lastIndex;
  if (!linkable(line, schemeEnd, line.length) || wordBefore.test(characterBefore(line, start))) {
    return null;
  }
  // The address ends where an address cannot go on, or at a "](" ("[https://a](...)" that was
  // not a link).
  const end = Math.min(index.nextStop(start), index.nextLinkAfter(start));
  const href = trimAddress(line.slice(start, end));
  if (href.length <= schemeEnd - start) return null;
  return { type: "link", start, end: start + href.length, href, label: href, bracketed: false };
}

/** `address` without the punctuation that ends the sentence around it. */
function trimAddress(address: string): string {
  let open = 0;
  let close = 0;
  let openSquare = 0;
  let closeSquare = 0;
  for (let at = 0; at < address.length; at++) {
    const code = address.charCodeAt(at);
    if (code === 0x28) open++;
    else if (code === 0x29) close++;
    else if (code === 0x5b) openSquare++;
    else if (code === 0x5d) closeSquare++;
  }
  let end = address.length;
  while (end > 0) {
    const last = address[end - 1]!;
    if (trailingPunctuation.includes(last)) end--;
    else if (last === ")" && close > open) {
      close--;
      end--;
    } else if (last === "]" && closeSquare > openSquare) {
      closeSquare--;
      end--;
    } else break;
  }
  return address.slice(0, end);
}

/** Characters that, right before an `@`, make it part of an address rather than a mention. */
const addressBefore = /[\p{L}\p{M}\p{N}_.+%@-]/u;
const nickRun = /[\p{L}\p{M}\p{Nd}_.-]*/uy;

/** A mention at `start` (an `@`), or where scanning goes on when it is not one. */
function mentionAt(line: string, start: number): LineToken | number {
  if (addressBefore.test(characterBefore(line, start))) return start + 1;
  nickRun.lastIndex = start + 1;
  const run = nickRun.exec(line)?.[0] ?? "";
  let length = run.length;
  while (length > 0 && (run[length - 1] === "." || run[length - 1] === "-")) length--;
  if (length === 0) return start + 1 + run.length;
  const name = run.slice(0, length);
  const key = nickKey(name);
  const end = start + 1 + length;
  // The everyone words are kept from nicks (nickProblem refuses them): test them first.
  if (everyoneWords.includes(key)) return { type: "mention", start, end, nick: null };
  if (nickProblem(name) !== null) return start + 1 + run.length;
  return { type: "mention", start, end, nick: key };
}
