/** Tests of lib/client/terminal/line_editor.ts: editing keys, wide characters, history, paste, Tab. */
import { assertEquals } from "./_assert.ts";
import {
  type Completer,
  editKey,
  type EditorState,
  editorWith,
  emptyEditor,
} from "../lib/client/terminal/line_editor.ts";
import type { Key } from "../lib/client/terminal/keys.ts";

function key(name: string, modifiers: { ctrl?: boolean; alt?: boolean } = {}): Key {
  if (name.length === 1) return { type: "key", name: "char", char: name, ...modifiers };
  return { type: "key", name, ...modifiers } as Key;
}
const ctrl = (letter: string) => key(letter, { ctrl: true });
const text = (typed: string): Key => ({ type: "text", text: typed });

function press(state: EditorState, keys: Key[], complete?: Completer): EditorState {
  for (const pressed of keys) {
    state = editKey(state, pressed, complete === undefined ? {} : { complete }).state;
  }
  return state;
}

/** The text with a | where the cursor is. */
function show(state: EditorState): string {
  return `${state.text.slice(0, state.cursor)}|${state.text.slice(state.cursor)}`;
}

Deno.test("editor: typing, cursor keys, Home/End, Ctrl-A/E move over whole characters", () => {
  let state = press(emptyEditor(), [text("ab中文😀cd")]);
  assertEquals(show(state), "ab中文😀cd|");
  state = press(state, [key("left"), key("left"), key("left")]);
  assertEquals(show(state), "ab中文|😀cd");
  state = press(state, [key("backspace")]);
  assertEquals(show(state), "ab中|😀cd");
  state = press(state, [key("delete")]);
  assertEquals(show(state), "ab中|cd");
  state = press(state, [ctrl("a"), text("<")]);
  assertEquals(show(state), "<|ab中cd");
  state = press(state, [key("end"), text(">"), key("home"), key("right")]);
  assertEquals(show(state), "<|ab中cd>");
  // A flag and a family emoji are single grapheme clusters.
  state = press(editorWith("a🇫🇷👨‍👩‍👧b"), [key("left"), key("left"), key("backspace")]);
  assertEquals(show(state), "a|👨‍👩‍👧b");
});

Deno.test("editor: Ctrl-U, Ctrl-K, Ctrl-W cut and Ctrl-Y puts the cut back", () => {
  let state = editorWith("hello big world", 10);
  assertEquals(show(state), "hello big |world");
  state = press(state, [ctrl("w")]);
  assertEquals(show(state), "hello |world");
  state = press(state, [ctrl("y")]);
  assertEquals(show(state), "hello big |world");
  state = press(state, [ctrl("k")]);
  assertEquals(show(state), "hello big |");
  state = press(state, [key("left"), ctrl("u")]);
  assertEquals(show(state), "| ");
  assertEquals(state.killed, "hello big");
});

Deno.test("editor: Enter submits and empties; Up/Down browse the lines sent before, keeping the draft", () => {
  let state = emptyEditor();
  for (const line of ["first", "second"]) {
    const result = editKey(press(state, [text(line)]), key("enter"));
    assertEquals(result.submitted, line);
    state = result.state;
  }
  assertEquals(show(state), "|");
  state = press(state, [text("draft"), key("up")]);
  assertEquals(show(state), "second|");
  state = press(state, [key("up"), key("up")]);
  assertEquals(show(state), "first|");
  state = press(state, [key("down"), key("down")]);
  assertEquals(show(state), "draft|");
  assertEquals(state.history, ["first", "second"]);
});

Deno.test("editor: a bracketed paste keeps its lines; Up/Down move between them", () => {
  let state = press(emptyEditor(), [{ type: "paste", text: "one\r\ntwo 中文\tx\x1b[31m" }]);
  assertEquals(show(state), "one\ntwo 中文    x[31m|");
  state = press(state, [key("up")]);
  assertEquals(show(state), "one|\ntwo 中文    x[31m");
  state = press(editorWith("ab\n中文字", 2), [key("down")]);
  // Column 2 on the next line is after the first wide character.
  assertEquals(show(state), "ab\n中|文字");
  state = press(editorWith("ab"), [key("enter", { alt: true }), text("c")]);
  assertEquals(show(state), "ab\nc|");
});

Deno.test("editor: Tab completes with the first candidate, Tab again cycles, any other key accepts", () => {
  const complete: Completer = ({ before, word }) =>
    ["alice", "alfred"].filter((nick) => nick.startsWith(word)).map((nick) =>
      before === "" ? `${nick}: ` : `${nick} `
    );
  let state = press(emptyEditor(), [text("al"), key("tab")], complete);
  assertEquals(show(state), "alice: |");
  state = press(state, [key("tab")], complete);
  assertEquals(show(state), "alfred: |");
  state = press(state, [key("tab")], complete);
  assertEquals(show(state), "alice: |");
  state = press(state, [text("hi al"), key("tab"), key("tab"), text("!")], complete);
  assertEquals(show(state), "alice: hi alfred !|");
  assertEquals(show(press(editorWith("zed"), [key("tab")], complete)), "zed|");
});
