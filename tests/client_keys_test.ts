/** Tests of lib/client/terminal/keys.ts: terminal bytes -> key presses, split anywhere. */
import { assertEquals } from "./_assert.ts";
import { type Key, KeyDecoder } from "../lib/client/terminal/keys.ts";

function decode(...chunks: string[]): Key[] {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) => decoder.feed(chunk));
}

Deno.test("keys: typed text, Enter, Tab, Backspace and Ctrl+letters", () => {
  assertEquals(decode("hi 中文😀\r\t\x7f\x01\x17"), [
    { type: "text", text: "hi 中文😀" },
    { type: "key", name: "enter" },
    { type: "key", name: "tab" },
    { type: "key", name: "backspace" },
    { type: "key", name: "char", char: "a", ctrl: true },
    { type: "key", name: "char", char: "w", ctrl: true },
  ]);
});

Deno.test("keys: CSI and SS3 sequences with modifiers, even split across reads", () => {
  assertEquals(decode("\x1b[A\x1bOB\x1b[1;5C\x1b[3~\x1b[5~\x1b[6~\x1b[H\x1b[4~\x1b[Z"), [
    { type: "key", name: "up" },
    { type: "key", name: "down" },
    { type: "key", name: "right", ctrl: true },
    { type: "key", name: "delete" },
    { type: "key", name: "pageup" },
    { type: "key", name: "pagedown" },
    { type: "key", name: "home" },
    { type: "key", name: "end" },
    { type: "key", name: "tab", shift: true },
  ]);
  assertEquals(decode("a\x1b", "[", "5", "~b"), [
    { type: "text", text: "a" },
    { type: "key", name: "pageup" },
    { type: "text", text: "b" },
  ]);
});

Deno.test("keys: Alt+key arrives as ESC+key; a lone ESC becomes Escape on flush", () => {
  assertEquals(decode("\x1bb\x1b\r"), [
    { type: "key", name: "char", char: "b", alt: true },
    { type: "key", name: "enter", alt: true },
  ]);
  const decoder = new KeyDecoder();
  assertEquals(decoder.feed("\x1b"), []);
  assertEquals(decoder.waiting, true);
  assertEquals(decoder.flush(), [{ type: "key", name: "escape" }]);
  assertEquals(decoder.waiting, false);
});

Deno.test("keys: bracketed paste keeps newlines and escape-looking text, split anywhere", () => {
  const paste = "\x1b[200~line 1\r\nline 2 \x1b[A 中文\x1b[201~";
  const whole = decode(paste + "x");
  assertEquals(whole, [
    { type: "paste", text: "line 1\r\nline 2 \x1b[A 中文" },
    { type: "text", text: "x" },
  ]);
  for (let cut = 1; cut < paste.length; cut++) {
    assertEquals(decode(paste.slice(0, cut), paste.slice(cut), "x"), whole, `cut at ${cut}`);
  }
});
