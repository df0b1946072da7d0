/**
 * Tests of how the terminal draws formatted messages (markup_spans.ts, and
 * messageEntry in chat_view.ts): the styles of each kind of node, the SGR
 * codes drawn with and without colours, code blocks on rows of their own,
 * mentions of me highlighted by the shared rule, and hostile text inert
 * inside every kind of node.
 */
import { assert, assertEquals } from "./_assert.ts";
import { parseMarkup } from "../lib/client/markup.ts";
import { markupSpans } from "../lib/client/terminal/markup_spans.ts";
import { messageEntry } from "../lib/client/terminal/chat_view.ts";
import { rowText, wrapSpans } from "../lib/client/terminal/screen.ts";
import { drawRow } from "../lib/client/terminal/ansi.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

const now = new Date(2026, 10, 25, 14, 30).getTime();

function entry(text: string, options: { own?: boolean; from?: string } = {}) {
  return messageEntry({
    message: {
      type: "msg",
      id: 1,
      ts: now,
      from: options.from ?? "bob",
      kind: "text",
      body: encodeBody(text),
    },
    text,
    own: options.own ?? false,
  }, { nick: "ana", now });
}

Deno.test("terminal markup: bold, italic, dim code, underlined links with their address, emoji, mentions", () => {
  const spans = markupSpans(
    parseMarkup(
      "**b** *i* `c` https://a.lan [docs](https://d.lan) @ana @bob @here :tada:",
    ),
    { me: "Ana" },
  );
  const mention = { color: 11, bold: true };
  assertEquals(spans, [
    { text: "b", style: { bold: true } },
    { text: " " },
    { text: "i", style: { italic: true } },
    { text: " " },
    { text: "c", style: { dim: true } },
    { text: " " },
    { text: "https://a.lan", style: { underline: true } },
    { text: " " },
    { text: "docs", style: { underline: true } },
    { text: " (" },
    { text: "https://d.lan", style: { dim: true } },
    { text: ")" },
    { text: " " },
    { text: "@ana", style: mention },
    { text: " " },
    { text: "@bob", style: { bold: true } },
    { text: " " },
    { text: "@here", style: mention },
    { text: " " },
    { text: "🎉" },
  ]);
  // My own message highlights nothing.
  const own = markupSpans(parseMarkup("@ana @here"), { me: "ana", highlight: false });
  assertEquals(own.map((span) => span.style), [{ bold: true }, undefined, { bold: true }]);
});

Deno.test("terminal markup: SGR 1 bold, 2 dim, 3 italic, 4 underline; NO_COLOR keeps them and drops colour", () => {
  const spans = markupSpans(parseMarkup("**b** `c` *i* https://a.lan @ana"), { me: "ana" });
  const [row] = wrapSpans(spans, 80);
  const colored = drawRow(row!, true);
  for (
    const code of ["\x1b[1mb", "\x1b[2mc", "\x1b[3mi", "\x1b[4mhttps://a.lan", "\x1b[1;93m@ana"]
  ) {
    assert(colored.includes(code), JSON.stringify({ code, colored }));
  }
  const plain = drawRow(row!, false);
  assert(plain.includes("\x1b[1m@ana"), JSON.stringify(plain));
  assert(
    // deno-lint-ignore no-control-regex
    !/\x1b\[[\d;]*(?:3\d|9\d)m/.test(plain),
    `a colour under NO_COLOR: ${JSON.stringify(plain)}`,
  );
});

Deno.test("terminal markup: a message's code block starts its own rows, dim, indented past the time", () => {
  const rows = wrapSpans(
    entry("look:\n```sh\nls -l\n  cd /tmp\n```\n**done**").spans,
    60,
    8,
  );
  assertEquals(rows.map(rowText), [
    "[14:30] <bob> look:",
    "        ls -l",
    "          cd /tmp",
    "        done",
  ]);
  assertEquals(rows[1]!.at(-1), { text: "ls -l", style: { dim: true } });
  assertEquals(rows[3]!.at(-1), { text: "done", style: { bold: true } });
  assertEquals(
    wrapSpans(entry("```\nonly code\n```").spans, 60, 8).map(rowText),
    ["[14:30] <bob> ", "        only code"],
  );
  assertEquals(
    wrapSpans(entry("one\ntwo\n\nthree").spans, 60, 8).map(rowText),
    ["[14:30] <bob> one", "        two", "        ", "        three"],
  );
});

Deno.test("terminal markup: hostile text stays inert in text, code, code blocks, link text and mentions", () => {
  const hostile = "\x1b[2J\x1b]0;pwned\x07\u202e";
  const text = [
    `${hostile} **${hostile}** \`${hostile}\``,
    `[${hostile}](https://a.lan/${hostile}) @ana${hostile}`,
    "```",
    hostile,
    "```",
  ].join("\n");
  const drawn = wrapSpans(entry(text).spans, 200, 8).map((row) => drawRow(row, true)).join("\n");
  assert(!drawn.includes("\x07"), "no bell");
  assert(!drawn.includes("\x1b]"), "no OSC");
  assert(!drawn.includes("\x1b[2J"), "no erase");
  assert(!drawn.includes("\u202e"), "no bidi override");
  // Every escape left is one of ours: an SGR style or reset.
  // deno-lint-ignore no-control-regex
  for (const match of drawn.matchAll(/\x1b(.{0,8})/g)) {
    assert(/^\[[\d;]*m/.test(match[1]!), JSON.stringify(match[0]));
  }
  assert(drawn.includes("␛[2J␛]0;pwned␇<U+202E>"), drawn);
  // The link's address stopped at the ESC: the rest is text, inert.
  assert(drawn.includes("https://a.lan/"), drawn);
});

Deno.test("terminal markup: only @-mentions of me highlight a message from someone else", () => {
  const styles = (text: string, own = false) =>
    entry(text, { own }).spans.filter((span) => span.style?.color === 11).map((span) => span.text);
  assertEquals(styles("hi @ana and @ANA"), ["@ana", "@ANA"]);
  assertEquals(styles("ana: plain name"), []);
  assertEquals(styles("`@ana` in code"), []);
  assertEquals(styles("@channel"), ["@channel"]);
  assertEquals(styles("@ana", true), [], "not in my own message");
});
