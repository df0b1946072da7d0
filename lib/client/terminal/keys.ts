/**
 * Terminal input bytes -> key presses, for the full-screen client.
 *
 * Owns: reading what a terminal in raw mode sends: typed text, control keys,
 * CSI/SS3 escape sequences (arrows, Home/End, PageUp/PageDown, Delete, with
 * Ctrl/Alt/Shift modifiers), Alt+key as ESC+key, and bracketed paste
 * (`ESC[200~ ... ESC[201~`), across reads that split a sequence anywhere.
 * Pure: no I/O, no timers (the caller calls {@link KeyDecoder.flush} when a
 * lone ESC has waited long enough). Imports nothing.
 */

/** Names of the keys that are not text. */
export type KeyName =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "insert"
  | "escape"
  | "up"
  | "down"
  | "left"
  | "right"
  | "home"
  | "end"
  | "pageup"
  | "pagedown"
  | "char";

/** One thing the person did at the keyboard. */
export type Key =
  /** Printable text typed (a fast typist or an unbracketed paste may give several characters). */
  | { type: "text"; text: string }
  /** Text pasted with bracketed paste: may hold newlines; taken literally, never as commands. */
  | { type: "paste"; text: string }
  /** A named key; `char` is set for Ctrl/Alt + a printable character (lower case for Ctrl). */
  | {
    type: "key";
    name: KeyName;
    char?: string;
    ctrl?: boolean;
    alt?: boolean;
    shift?: boolean;
  };

const pasteStart = "\x1b[200~";
const pasteEnd = "\x1b[201~";

/** Builds a named key, leaving out the modifiers that are not set. */
function named(
  name: KeyName,
  modifiers: { ctrl?: boolean; alt?: boolean; shift?: boolean; char?: string } = {},
): Key {
  const key: Key = { type: "key", name };
  if (modifiers.char !== undefined) key.char = modifiers.char;
  if (modifiers.ctrl) key.ctrl = true;
  if (modifiers.alt) key.alt = true;
  if (modifiers.shift) key.shift = true;
  return key;
}

/** The key a single control character stands for (Enter, Tab, Backspace, Ctrl+letter). */
function controlKey(code: number, alt: boolean): Key {
  if (code === 0x0d || code === 0x0a) return named("enter", { alt });
  if (code === 0x09) return named("tab", { alt });
  if (code === 0x7f || code === 0x08) return named("backspace", { alt });
  if (code === 0x1b) return named("escape", { alt });
  if (code === 0) return named("char", { char: " ", ctrl: true, alt });
  if (code < 0x20) {
    return named("char", { char: String.fromCharCode(code + 0x60), ctrl: true, alt });
  }
  return named("char", { char: String.fromCharCode(code), alt });
}

/** Modifiers of an xterm-style parameter: 2 Shift, 3 Alt, 5 Ctrl, sums of them plus one. */
function modifiersOf(
  parameter: string | undefined,
): { ctrl: boolean; alt: boolean; shift: boolean } {
  const bits = Math.max(0, Number(parameter ?? "1") - 1) || 0;
  return { shift: (bits & 1) !== 0, alt: (bits & 2) !== 0, ctrl: (bits & 4) !== 0 };
}

const finalKeys: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

const tildeKeys: Record<string, KeyName> = {
  "1": "home",
  "2": "insert",
  "3": "delete",
  "4": "end",
  "5": "pageup",
  "6": "pagedown",
  "7": "home",
  "8": "end",
};

/** Reads a CSI sequence body (after `ESC[`): parameters, then one final byte. */
function csiKey(parameters: string, final: string): Key | null {
  const parts = parameters.split(";");
  if (final === "~") {
    const name = tildeKeys[parts[0] ?? ""];
    return name === undefined ? null : named(name, modifiersOf(parts[1]));
  }
  if (final === "Z") return named("tab", { shift: true });
  const name = finalKeys[final];
  return name === undefined ? null : named(name, modifiersOf(parts[1]));
}

/**
 * Turns terminal input into {@link Key}s. Feed it decoded text as it comes;
 * an incomplete escape sequence waits for the next chunk.
 *
 * @example
 * const decoder = new KeyDecoder();
 * decoder.feed("hi\x1b[D"); // [{ type: "text", text: "hi" }, { type: "key", name: "left" }]
 */
export class KeyDecoder {
  #pending = "";
  #paste: string | null = null;

  /** True while an incomplete escape sequence (maybe a lone ESC) waits for more input. */
  get waiting(): boolean {
    return this.#pending !== "" && this.#paste === null;
  }

  /** Decodes `input`; returns the keys that are complete. */
  feed(input: string): Key[] {
    const keys: Key[] = [];
    let text = this.#pending + input;
    this.#pending = "";
    let typed = "";
    const flushTyped = () => {
      if (typed !== "") keys.push({ type: "text", text: typed });
      typed = "";
    };

    while (text.length > 0) {
      if (this.#paste !== null) {
        const end = text.indexOf(pasteEnd);
        if (end < 0) {
          // Keep a possible start of the end marker for the next chunk.
          const keep = partialSuffix(text, pasteEnd);
          this.#paste += text.slice(0, text.length - keep);
          this.#pending = text.slice(text.length - keep);
          return keys;
        }
        this.#paste += text.slice(0, end);
        keys.push({ type: "paste", text: this.#paste });
        this.#paste = null;
        text = text.slice(end + pasteEnd.length);
        continue;
      }
      const code = text.charCodeAt(0);
      if (code === 0x1b) {
        flushTyped();
        const consumed = this.#escape(text, keys);
        if (consumed === 0) {
          this.#pending = text;
          return keys;
        }
        text = text.slice(consumed);
        continue;
      }
      if (code < 0x20 || code === 0x7f) {
        flushTyped();
        keys.push(controlKey(code, false));
        text = text.slice(1);
        continue;
      }
      if (code >= 0x80 && code < 0xa0) {
        text = text.slice(1); // C1 controls from a keyboard are noise.
        continue;
      }
      // deno-lint-ignore no-control-regex
      const run = /^[^\x00-\x1f\x7f-\x9f]+/.exec(text)?.[0] ?? text.slice(0, 1);
      typed += run;
      text = text.slice(run.length);
    }
    flushTyped();
    return keys;
  }

  /** Gives up waiting: a pending lone ESC (or a cut-off sequence) becomes Escape. */
  flush(): Key[] {
    if (!this.waiting) return [];
    const rest = this.#pending.slice(1);
    this.#pending = "";
    return [named("escape"), ...this.feed(rest)];
  }

  /** Reads one escape sequence at the start of `text`; returns its length, or 0 if incomplete. */
  #escape(text: string, keys: Key[]): number {
    if (text.length < 2) return 0;
    const second = text[1]!;
    if (second === "[") {
      if (text.startsWith(pasteStart)) {
        this.#paste = "";
        return pasteStart.length;
      }
      if (pasteStart.startsWith(text)) return 0;
      // deno-lint-ignore no-control-regex
      const match = /^\x1b\[([\x30-\x3f]*)[\x20-\x2f]*([\x40-\x7e])/.exec(text);
      if (match === null) {
        // deno-lint-ignore no-control-regex
        return /^\x1b\[[\x20-\x3f]*$/.test(text) ? 0 : 2;
      }
      const key = csiKey(match[1] ?? "", match[2] ?? "");
      if (key !== null) keys.push(key);
      return match[0].length;
    }
    if (second === "O") {
      if (text.length < 3) return 0;
      const name = finalKeys[text[2]!];
      if (name !== undefined) keys.push(named(name));
      return 3;
    }
    const code = second.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) {
      keys.push(controlKey(code, true));
      return 2;
    }
    const character = String.fromCodePoint(text.codePointAt(1) ?? code);
    keys.push(named("char", { char: character, alt: true }));
    return 1 + character.length;
  }
}

/** Length of the longest end of `text` that is a start of `marker` (shorter than it). */
function partialSuffix(text: string, marker: string): number {
  for (let length = Math.min(marker.length - 1, text.length); length > 0; length--) {
    if (marker.startsWith(text.slice(text.length - length))) return length;
  }
  return 0;
}
