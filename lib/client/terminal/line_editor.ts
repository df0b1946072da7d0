/**
 * The input line of the full-screen client, as a pure state machine.
 *
 * Owns: the text being typed and the cursor in it (always on a grapheme
 * boundary, so 中文 and emoji move and delete as one character), editing keys
 * (cursor keys, Home/End, Ctrl-A/E/B/F/D/U/K/W/Y, Alt-B/F, Alt-Enter for a
 * newline), Up/Down through the lines sent before, bracketed paste (newlines
 * kept) and Tab completion (cycling through the candidates a completer gives).
 * Pure: every function returns a new state. No I/O; imports only
 * lib/client/terminal/text_width.ts and keys.ts types.
 */
import type { Key } from "./keys.ts";
import { displayWidth, fitWidth, graphemeBoundaries } from "./text_width.ts";

/** A Tab completion in progress: Tab again puts the next candidate in its place. */
export interface Completion {
  /** Where the completed word starts. */
  start: number;
  /** Where the inserted candidate ends. */
  end: number;
  candidates: readonly string[];
  index: number;
}

/** Everything the input line remembers. Treat as immutable. */
export interface EditorState {
  readonly text: string;
  /** Cursor offset in `text`, in UTF-16 code units, always at a grapheme boundary. */
  readonly cursor: number;
  /** Lines sent before, oldest first. */
  readonly history: readonly string[];
  /** Which history entry is shown while browsing with Up/Down, or null. */
  readonly historyIndex: number | null;
  /** What was being typed before browsing the history. */
  readonly draft: string;
  /** The last text cut with Ctrl-U/K/W, for Ctrl-Y. */
  readonly killed: string;
  readonly completion: Completion | null;
}

/** Asked on Tab: `word` is the text right before the cursor back to a space; `before` is what precedes it. */
export type Completer = (request: { before: string; word: string }) => string[];

/** What a key did to the editor. */
export interface EditResult {
  state: EditorState;
  /** Set when Enter was pressed: the text that was in the editor. */
  submitted?: string;
  /** False when the editor does not use this key (the caller may). */
  handled: boolean;
}

/** Most lines remembered for Up/Down. */
export const historySize = 200;

/** An empty editor, optionally with the lines sent before. */
export function emptyEditor(history: readonly string[] = []): EditorState {
  return {
    text: "",
    cursor: 0,
    history,
    historyIndex: null,
    draft: "",
    killed: "",
    completion: null,
  };
}

/** The editor holding `text` with the cursor at `cursor` (default: the end). */
export function editorWith(text: string, cursor = text.length): EditorState {
  return { ...emptyEditor(), text, cursor };
}

/** Pasted text made fit for the input line: CR LF and CR become newlines, tabs spaces, other controls go. */
export function cleanPaste(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(/\t/g, "    ")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, "");
}

function insert(state: EditorState, text: string): EditorState {
  if (text === "") return state;
  return {
    ...state,
    text: state.text.slice(0, state.cursor) + text + state.text.slice(state.cursor),
    cursor: state.cursor + text.length,
  };
}

function previousBoundary(text: string, cursor: number): number {
  const boundaries = graphemeBoundaries(text);
  let previous = 0;
  for (const offset of boundaries) {
    if (offset >= cursor) break;
    previous = offset;
  }
  return previous;
}

function nextBoundary(text: string, cursor: number): number {
  for (const offset of graphemeBoundaries(text)) if (offset > cursor) return offset;
  return text.length;
}

function lineStart(text: string, cursor: number): number {
  return text.lastIndexOf("\n", cursor - 1) + 1;
}

function lineEnd(text: string, cursor: number): number {
  const newline = text.indexOf("\n", cursor);
  return newline < 0 ? text.length : newline;
}

/** Start of the word before the cursor (words are separated by whitespace). */
function wordStartBefore(text: string, cursor: number): number {
  let at = cursor;
  while (at > 0 && /\s/.test(text[at - 1]!)) at--;
  while (at > 0 && !/\s/.test(text[at - 1]!)) at--;
  return at;
}

/** End of the word after the cursor. */
function wordEndAfter(text: string, cursor: number): number {
  let at = cursor;
  while (at < text.length && /\s/.test(text[at]!)) at++;
  while (at < text.length && !/\s/.test(text[at]!)) at++;
  return at;
}

function cut(state: EditorState, from: number, to: number): EditorState {
  if (from === to) return state;
  return {
    ...state,
    text: state.text.slice(0, from) + state.text.slice(to),
    cursor: from,
    killed: state.text.slice(from, to),
  };
}

function moveTo(state: EditorState, cursor: number): EditorState {
  return { ...state, cursor };
}

/** Moves the cursor one logical line up (-1) or down (+1), keeping its column; null at the edge. */
function moveLine(state: EditorState, direction: -1 | 1): EditorState | null {
  const { text, cursor } = state;
  const start = lineStart(text, cursor);
  const column = displayWidth(text.slice(start, cursor));
  if (direction < 0) {
    if (start === 0) return null;
    const previousStart = lineStart(text, start - 1);
    const previousLine = text.slice(previousStart, start - 1);
    return moveTo(state, previousStart + fitWidth(previousLine, column).text.length);
  }
  const end = lineEnd(text, cursor);
  if (end === text.length) return null;
  const nextLine = text.slice(end + 1, lineEnd(text, end + 1));
  return moveTo(state, end + 1 + fitWidth(nextLine, column).text.length);
}

function browseHistory(state: EditorState, direction: -1 | 1): EditorState {
  const { history } = state;
  if (history.length === 0) return state;
  if (state.historyIndex === null) {
    if (direction > 0) return state;
    const index = history.length - 1;
    const text = history[index] ?? "";
    return { ...state, draft: state.text, historyIndex: index, text, cursor: text.length };
  }
  const index = state.historyIndex + direction;
  if (index < 0) return state;
  if (index >= history.length) {
    return { ...state, historyIndex: null, text: state.draft, cursor: state.draft.length };
  }
  const text = history[index] ?? "";
  return { ...state, historyIndex: index, text, cursor: text.length };
}

function complete(state: EditorState, completer: Completer | undefined): EditorState {
  const previous = state.completion;
  if (previous !== null && previous.candidates.length > 1 && state.cursor === previous.end) {
    const index = (previous.index + 1) % previous.candidates.length;
    const candidate = previous.candidates[index] ?? "";
    const text = state.text.slice(0, previous.start) + candidate + state.text.slice(previous.end);
    const end = previous.start + candidate.length;
    return { ...state, text, cursor: end, completion: { ...previous, index, end } };
  }
  if (completer === undefined) return state;
  let start = state.cursor;
  while (start > 0 && !/\s/.test(state.text[start - 1]!)) start--;
  const word = state.text.slice(start, state.cursor);
  const candidates = completer({ before: state.text.slice(0, start), word });
  const first = candidates[0];
  if (first === undefined) return state;
  const text = state.text.slice(0, start) + first + state.text.slice(state.cursor);
  const end = start + first.length;
  return {
    ...state,
    text,
    cursor: end,
    completion: candidates.length > 1 ? { start, end, candidates, index: 0 } : null,
  };
}

/** The editor after sending its text: empty, with the text added to the history. */
export function afterSubmit(state: EditorState): EditorState {
  const line = state.text;
  const keep = line.trim() !== "" && state.history.at(-1) !== line;
  const history = keep ? [...state.history, line].slice(-historySize) : state.history;
  return { ...emptyEditor(history), killed: state.killed };
}

/**
 * Applies one key. Keys the editor does not use come back with `handled: false`.
 *
 * @example
 * let state = editorWith("hello wörld");
 * state = editKey(state, { type: "key", name: "char", char: "w", ctrl: true }).state;
 * state.text; // "hello "
 */
export function editKey(
  state: EditorState,
  key: Key,
  options: { complete?: Completer } = {},
): EditResult {
  const next = apply(state, key, options);
  if (next === null) return { state, handled: false };
  if ("submitted" in next) return next;
  const isTab = key.type === "key" && key.name === "tab" && !key.shift;
  return { state: isTab ? next : { ...next, completion: null }, handled: true };
}

function apply(
  state: EditorState,
  key: Key,
  options: { complete?: Completer },
): EditorState | { state: EditorState; submitted: string; handled: true } | null {
  const { text, cursor } = state;
  if (key.type === "text") return insert(state, key.text);
  if (key.type === "paste") return insert(state, cleanPaste(key.text));
  const { ctrl = false, alt = false } = key;
  switch (key.name) {
    case "enter":
      if (alt) return insert(state, "\n");
      return { state: afterSubmit(state), submitted: text, handled: true };
    case "tab":
      return key.shift ? state : complete(state, options.complete);
    case "backspace":
      if (alt || ctrl) return cut(state, wordStartBefore(text, cursor), cursor);
      return cursor === 0 ? state : {
        ...state,
        text: text.slice(0, previousBoundary(text, cursor)) + text.slice(cursor),
        cursor: previousBoundary(text, cursor),
      };
    case "delete":
      if (cursor === text.length) return state;
      return { ...state, text: text.slice(0, cursor) + text.slice(nextBoundary(text, cursor)) };
    case "left":
      return moveTo(
        state,
        ctrl || alt ? wordStartBefore(text, cursor) : previousBoundary(text, cursor),
      );
    case "right":
      return moveTo(state, ctrl || alt ? wordEndAfter(text, cursor) : nextBoundary(text, cursor));
    case "home":
      return moveTo(state, ctrl ? 0 : lineStart(text, cursor));
    case "end":
      return moveTo(state, ctrl ? text.length : lineEnd(text, cursor));
    case "up":
      return moveLine(state, -1) ?? browseHistory(state, -1);
    case "down":
      return moveLine(state, 1) ?? browseHistory(state, 1);
    case "char":
      break;
    default:
      return null;
  }
  const character = key.char ?? "";
  if (alt && !ctrl) {
    if (character === "b") return moveTo(state, wordStartBefore(text, cursor));
    if (character === "f") return moveTo(state, wordEndAfter(text, cursor));
    if (character === "d") return cut(state, cursor, wordEndAfter(text, cursor));
    return null;
  }
  if (!ctrl) return null;
  switch (character) {
    case "a":
      return moveTo(state, lineStart(text, cursor));
    case "e":
      return moveTo(state, lineEnd(text, cursor));
    case "b":
      return moveTo(state, previousBoundary(text, cursor));
    case "f":
      return moveTo(state, nextBoundary(text, cursor));
    case "d":
      return apply(state, { type: "key", name: "delete" }, options);
    case "h":
      return apply(state, { type: "key", name: "backspace" }, options);
    case "u":
      return cut(state, lineStart(text, cursor), cursor);
    case "k":
      return cut(state, cursor, lineEnd(text, cursor));
    case "w":
      return cut(state, wordStartBefore(text, cursor), cursor);
    case "y":
      return insert(state, state.killed);
    case "p":
      return browseHistory(state, -1);
    case "n":
      return browseHistory(state, 1);
    default:
      return null;
  }
}
