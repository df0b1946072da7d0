/**
 * Tests of the formatting subset (lib/client/markup.ts): a table of inputs
 * and their exact AST (hostile HTML, script links, nested and unclosed
 * markers, code, links, mentions, emoji), that every link is http, https or
 * mailto, that the AST agrees with the server's mention rule, plainText, and
 * that long and deeply nested input parses in bounded time without recursion.
 */
import { assert, assertEquals } from "./_assert.ts";
import {
  type Block,
  emojiShortcodes,
  type Inline,
  type LinkChild,
  type Marks,
  parseMarkup,
  plainText,
} from "../lib/client/markup.ts";
import { mentionsIn } from "../lib/wire/mentions.ts";

// ---- building expected trees ------------------------------------------------------------

const strong: Marks = { strong: true };
const em: Marks = { emphasis: true };
const both: Marks = { strong: true, emphasis: true };

function text(value: string, marks: Marks = {}): Inline & LinkChild {
  return { type: "text", text: value, ...marks };
}
function code(value: string, marks: Marks = {}): Inline & LinkChild {
  return { type: "code", text: value, ...marks };
}
function emoji(name: string, marks: Marks = {}): Inline & LinkChild {
  return { type: "emoji", name, emoji: emojiShortcodes.get(name)!, ...marks };
}
function link(href: string, children: LinkChild[] = [text(href)], marks: Marks = {}): Inline {
  return { type: "link", href, children, ...marks };
}
function mention(written: string, nick: string | null, marks: Marks = {}): Inline {
  return { type: "mention", text: written, nick, ...marks };
}
function paragraph(...lines: Inline[][]): Block {
  return { type: "paragraph", lines };
}
/** One paragraph of one line. */
function line(...inlines: Inline[]): Block[] {
  return [paragraph(inlines)];
}
function fence(value: string, lang: string | null = null): Block {
  return { type: "code_block", lang, text: value };
}

/** [input, its exact AST, what it shows] */
const table: [string, Block[], string][] = [
  // Nothing from a sender becomes markup it did not ask for.
  ["<script>alert(1)</script>", line(text("<script>alert(1)</script>")), "HTML is text"],
  [
    "<img src=x onerror=alert(1)>",
    line(text("<img src=x onerror=alert(1)>")),
    "an <img> with a handler is text",
  ],
  [
    '<a href="https://x.lan">x</a>',
    line(text('<a href="'), link("https://x.lan"), text('">x</a>')),
    "so is <a>: only its address becomes a link",
  ],
  ["[x](javascript:alert(1))", line(text("[x](javascript:alert(1))")), "javascript: is no link"],
  ["[x](JaVaScRiPt:alert(1))", line(text("[x](JaVaScRiPt:alert(1))")), "in any case"],
  ["[x](  javascript:alert(1))", line(text("[x](  javascript:alert(1))")), "nor with spaces"],
  [
    "[x](data:text/html,<script>alert(1)</script>)",
    line(text("[x](data:text/html,<script>alert(1)</script>)")),
    "data: is no link",
  ],
  [
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    line(text("[x](data:text/html;base64,PHNjcmlwdD4=)")),
    "nor base64 data:",
  ],
  ["[x](vbscript:msgbox(1))", line(text("[x](vbscript:msgbox(1))")), "vbscript: is no link"],
  ["[x](file:///etc/passwd)", line(text("[x](file:///etc/passwd)")), "file: is no link"],
  ["<javascript:alert(1)>", line(text("<javascript:alert(1)>")), "nor in angle brackets"],
  ["data:text/html,<b>x</b>", line(text("data:text/html,<b>x</b>")), "a bare data: is text"],
  ["javascript:alert(1)", line(text("javascript:alert(1)")), "a bare javascript: is text"],
  [
    "[**x**](javascript:alert(1))",
    line(text("["), text("x", strong), text("](javascript:alert(1))")),
    "a failed link's text is still formatted",
  ],
  [
    "[https://ok.lan](javascript:alert(1))",
    line(text("["), link("https://ok.lan"), text("](javascript:alert(1))")),
    "an address in a failed link stops before ](",
  ],
  [
    "https://a.lan/\u202egnp.exe",
    line(link("https://a.lan/"), text("\u202egnp.exe")),
    "a bidi control ends an address",
  ],
  [
    "https://a.lan/\u200bx",
    line(link("https://a.lan/"), text("\u200bx")),
    "so does a zero-width space",
  ],
  ["https://a.lan/\x1b[31m", line(link("https://a.lan/"), text("\x1b[31m")), "and ESC"],

  // Emphasis and strong.
  ["*em* and _em_", line(text("em", em), text(" and "), text("em", em)), "emphasis, two ways"],
  [
    "**strong** __strong__",
    line(text("strong", strong), text(" "), text("strong", strong)),
    "strong",
  ],
  ["***both***", line(text("both", both)), "both at once"],
  [
    "**bold *and em***",
    line(text("bold ", strong), text("and em", both)),
    "nested: emphasis inside strong, closed together",
  ],
  [
    "*em **and bold***",
    line(text("em ", em), text("and bold", both)),
    "nested the other way",
  ],
  ["**bold", line(text("**bold")), "an unclosed marker is literal"],
  ["bold**", line(text("bold**")), "a closer with no opener is literal"],
  ["*a **b*", line(text("*a *"), text("b", em)), "a closer takes the nearest opener"],
  ["**a*", line(text("*"), text("a", em)), "what a closer does not use stays outside"],
  ["a * b * c", line(text("a * b * c")), "markers with spaces around are literal"],
  ["snake_case_name", line(text("snake_case_name")), "underscores inside words are literal"],
  [
    "__init__.py",
    line(text("init", strong), text(".py")),
    "as CommonMark (`__init__.py` keeps it)",
  ],
  ["file_name_v2.txt", line(text("file_name_v2.txt")), "file names with inner underscores stay"],
  ["_a*b_", line(text("a*b", em)), "a * inside _..._ is literal"],
  ["** not **", line(text("** not **")), "no emphasis of spaces"],

  // Code.
  ["run `npm test` now", line(text("run "), code("npm test"), text(" now")), "inline code"],
  ["`**not bold**`", line(code("**not bold**")), "no formatting in code"],
  ["`<b>`", line(code("<b>")), "HTML in code is code text"],
  ["`` a ` b ``", line(code("a ` b")), "a backtick inside a longer run"],
  ["``` `x` ```", line(code("`x`")), "backticks on one line with the fence's run"],
  ["` `` `", line(code("``")), "spaces around backticks are dropped"],
  ["`  `", line(code("  ")), "a code span of spaces keeps them"],
  ["`unclosed", line(text("`unclosed")), "an unclosed backtick is literal"],
  ["``a`", line(text("``a`")), "runs of different lengths do not match"],
  ["*`code`*", line(code("code", em)), "code takes the marks around it"],
  ["`a\nb`", [paragraph([text("`a")], [text("b`")])], "code does not cross lines"],
  ["```js\nlet a = 1;\n```", [fence("let a = 1;", "js")], "a fence with a language"],
  [
    "before\n```\n  <b>*x*</b>\n\n@ana\n```\nafter",
    [paragraph([text("before")]), fence("  <b>*x*</b>\n\n@ana"), paragraph([text("after")])],
    "a fence keeps its text, spaces and blank lines, formats nothing",
  ],
  ["```\nunclosed\n  runs on", [fence("unclosed\n  runs on")], "an unclosed fence runs to the end"],
  ["```sh\nls\n", [fence("ls", "sh")], "the final line break is not code"],
  ["```\n```", [fence("")], "an empty fence"],

  // Links.
  ["see https://a.lan/x", line(text("see "), link("https://a.lan/x")), "an address"],
  ["HTTP://A.LAN", line(link("HTTP://A.LAN")), "any case"],
  [
    "(see https://a.b/c).",
    line(text("(see "), link("https://a.b/c"), text(").")),
    "the sentence's punctuation is not part of it",
  ],
  [
    "https://en.wikipedia.org/wiki/Foo_(bar), ok",
    line(link("https://en.wikipedia.org/wiki/Foo_(bar)"), text(", ok")),
    "balanced parentheses are",
  ],
  [
    "is it https://a.lan/?q=1&r=2?",
    line(text("is it "), link("https://a.lan/?q=1&r=2"), text("?")),
    "a query stays, the question mark goes",
  ],
  [
    "http://[fe80::1]:9000/x.",
    line(link("http://[fe80::1]:9000/x"), text(".")),
    "an IPv6 address",
  ],
  ['"https://a.lan"', line(text('"'), link("https://a.lan"), text('"')), "quotes end it"],
  ["**https://a.lan**", line(link("https://a.lan", undefined, strong)), "strong link"],
  ["xhttps://a.lan", line(text("xhttps://a.lan")), "not inside a word"],
  [
    "见https://a.lan/x。谢谢",
    line(text("见"), link("https://a.lan/x"), text("。谢谢")),
    "CJK text runs into an address; its full stop ends it",
  ],
  ["https:// nothing", line(text("https:// nothing")), "a scheme alone"],
  ["https://.", line(text("https://.")), "nothing to link to"],
  ["<https://a.lan/x?y>", line(link("https://a.lan/x?y")), "an address in <>"],
  ["<https://a.lan/x y>", line(text("<"), link("https://a.lan/x"), text(" y>")), "<> broken"],
  [
    "[the docs](https://a.lan/docs)",
    line(link("https://a.lan/docs", [text("the docs")])),
    "a link with text",
  ],
  [
    "[**bold** `x` :tada: @ana](https://a.lan)",
    line(
      link("https://a.lan", [
        text("bold", strong),
        text(" "),
        code("x"),
        text(" "),
        emoji("tada"),
        text(" @ana"),
      ]),
    ),
    "a link's text is formatted, without mentions",
  ],
  [
    "[mail](mailto:ana@x.lan) [s](HTTPS://A.LAN)",
    line(link("mailto:ana@x.lan", [text("mail")]), text(" "), link("HTTPS://A.LAN", [text("s")])),
    "mailto and any case",
  ],
  [
    "[https://bank.lan](https://evil.lan) [www.bank.lan](https://evil.lan)",
    line(link("https://evil.lan"), text(" "), link("https://evil.lan")),
    "a link's text cannot pose as another address: it shows its own",
  ],
  [
    "[https://a.lan](https://a.lan)",
    line(link("https://a.lan")),
    "the same address is fine",
  ],
  ["[x](https://a.lan/(b))", line(link("https://a.lan/(b)", [text("x")])), "parentheses in url"],
  [
    "[x]( https://a.lan)",
    line(text("[x]( "), link("https://a.lan"), text(")")),
    "no space in the url: the address alone is a link",
  ],
  ["[](https://a.lan)", line(text("[]("), link("https://a.lan"), text(")")), "no empty text"],
  ["[a [b](https://c.lan)", line(text("[a "), link("https://c.lan", [text("b")])), "brackets"],
  ["bob@ana.com", line(text("bob@ana.com")), "an e-mail address is text, and no mention"],

  // Mentions.
  ["thanks @ana.", line(text("thanks "), mention("@ana", "ana"), text(".")), "@ana."],
  ["@Ana", line(mention("@Ana", "ana")), "as written, compared by key"],
  ["@channel", line(mention("@channel", null)), "@channel"],
  ["@here @all", line(mention("@here", null), text(" "), mention("@all", null)), "synonyms"],
  ["`@ana`", line(code("@ana")), "code containing @ana is no mention"],
  ["**@ana**", line(mention("@ana", "ana", strong)), "a mention takes marks"],

  // Emoji.
  ["ship it :rocket:", line(text("ship it "), emoji("rocket")), "a known shortcode"],
  [":+1: :thumbsup:", line(emoji("+1"), text(" "), emoji("thumbsup")), "aliases"],
  [":nope: :SMILE:", line(text(":nope: :SMILE:")), "unknown shortcodes stay text"],
  [":tada::fire:", line(emoji("tada"), emoji("fire")), "side by side"],
  ["at 12:30:45", line(text("at 12:30:45")), "a time is not a shortcode"],
  [":x:smile:", line(emoji("x"), text("smile:")), "the first complete one wins"],
  [":foo:smile:", line(text(":foo"), emoji("smile")), "an unknown one gives its colon back"],
  [":white_check_mark:", line(emoji("white_check_mark")), "underscores in a shortcode"],
  ["**:tada: done**", line(emoji("tada", strong), text(" done", strong)), "emoji take marks"],
  [":constructor: :toString:", line(text(":constructor: :toString:")), "no object keys"],

  // Blocks and lines.
  ["", [], "nothing"],
  ["\n \n", [], "only blank lines"],
  ["a\nb", [paragraph([text("a")], [text("b")])], "line breaks are kept"],
  ["a\r\nb", [paragraph([text("a")], [text("b")])], "CRLF too"],
  [
    "a\n\n\nb\n",
    [paragraph([text("a")]), paragraph([text("b")])],
    "blank lines part paragraphs",
  ],
  ["  indented", line(text("  indented")), "spaces at the start are kept"],
  ["*a\nb*", [paragraph([text("*a")], [text("b*")])], "emphasis does not cross lines"],
];

Deno.test("parseMarkup: the table of inputs and their exact trees", () => {
  for (const [input, expected, what] of table) {
    assertEquals(parseMarkup(input), expected, `${JSON.stringify(input)}: ${what}`);
  }
});

/** Every link in `blocks`. */
function links(blocks: Block[]): Extract<Inline, { type: "link" }>[] {
  return blocks.flatMap((block) =>
    block.type === "code_block" ? [] : block.lines.flat().filter((inline) => inline.type === "link")
  );
}

/** Texts people write, hostile ones, and random mixes of the characters the parser cares about. */
function corpus(): string[] {
  const texts = table.map(([input]) => input);
  const alphabet = ["*", "_", "`", "[", "]", "(", ")", "<", ">", "@", ":", " ", "\n", "a", "ana"];
  alphabet.push("https://", "javascript:", "data:", "mailto:", "```", "\u202e", "x.lan", ".");
  let seed = 15;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let count = 0; count < 3000; count++) {
    let input = "";
    const length = 1 + Math.floor(random() * 24);
    for (let index = 0; index < length; index++) {
      input += alphabet[Math.floor(random() * alphabet.length)];
    }
    texts.push(input);
  }
  return texts;
}

Deno.test("every link is http, https or mailto, with no space, control or format character", () => {
  let seen = 0;
  for (const input of corpus()) {
    for (const found of links(parseMarkup(input))) {
      seen++;
      assert(
        /^(?:https?:\/\/|mailto:)/i.test(found.href),
        `${JSON.stringify(input)}: ${found.href}`,
      );
      assert(!/[\s\p{Cc}\p{Cf}<>"`]/u.test(found.href), `${JSON.stringify(input)}: ${found.href}`);
      assert(found.children.length > 0);
    }
  }
  assert(seen > 100, `only ${seen} links in the corpus`);
});

Deno.test("the AST's mentions are exactly the server's (lib/wire/mentions.ts), and no text is lost", () => {
  for (const input of corpus()) {
    const blocks = parseMarkup(input);
    const keys: string[] = [];
    let everyone = false;
    for (const block of blocks) {
      if (block.type === "code_block") continue;
      for (const inline of block.lines.flat()) {
        if (inline.type !== "mention") continue;
        if (inline.nick === null) everyone = true;
        else if (!keys.includes(inline.nick)) keys.push(inline.nick);
      }
    }
    assertEquals({ nicks: keys, everyone }, mentionsIn(input), JSON.stringify(input));
    // Without emphasis markers, every character of a line without code or links is kept.
    if (!/[*_`:\[<]|https?:|```/i.test(input)) {
      const lines = input.split(/\r?\n/).filter((each) => each.trim() !== "");
      assertEquals(plainText(blocks).replaceAll("\n\n", "\n"), lines.join("\n"));
    }
  }
});

Deno.test("plainText: formatting gone, emoji and link text kept, paragraphs apart", () => {
  assertEquals(plainText([]), "");
  assertEquals(plainText(parseMarkup("**ship it** :rocket:")), "ship it 🚀");
  assertEquals(
    plainText(parseMarkup("hi @ana,\nsee [the *docs*](https://a.lan) `x`\n\n```\ncode\n```")),
    "hi @ana,\nsee the docs x\n\ncode",
  );
  assertEquals(plainText(parseMarkup("<script>")), "<script>");
});

Deno.test("the emoji list: about 60 to 100 common shortcodes, each a single emoji", () => {
  assert(emojiShortcodes.size >= 60 && emojiShortcodes.size <= 100, `${emojiShortcodes.size}`);
  for (
    const name of ["smile", "+1", "thumbsup", "tada", "heart", "fire", "eyes", "rocket", "x"]
  ) {
    assert(emojiShortcodes.has(name), name);
  }
  for (const name of ["white_check_mark", "warning", "coffee"]) assert(emojiShortcodes.has(name));
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const [name, value] of emojiShortcodes) {
    assert(/^[a-z0-9_+-]+$/.test(name), name);
    assertEquals([...segmenter.segment(value)].length, 1, name);
    assert(/\p{Extended_Pictographic}/u.test(value), name);
  }
});

// ---- bounded time, no recursion ----------------------------------------------------------

/** The fastest of three parses, after one to warm up (a page has parsed messages before). */
function parseMs(input: string): { ms: number; blocks: Block[] } {
  let blocks = parseMarkup(input);
  let ms = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    blocks = parseMarkup(input);
    ms = Math.min(ms, performance.now() - started);
  }
  return { ms, blocks };
}

const kb100 = 100 * 1024;
function fill(unit: string, length = kb100): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

Deno.test("100 KB of text, of every kind, parses in under 100 ms", () => {
  const inputs: [string, string][] = [
    ["chat", fill("deploy *done* **now** https://ci.lan/42 @ana `make` :tada: ok\n")],
    ["one line", fill("a *b* **c** https://x.lan/z @ana `code` :tada: ")],
    ["stars", fill("*")],
    ["openers", fill("*a ")],
    ["closers", fill("a* ")],
    ["mixed markers", fill("*_")],
    ["underscores", fill("a_b*c")],
    ["backtick runs", fill("` `` ``` ```` ")],
    ["unmatched backticks", fill("``a")],
    ["brackets", fill("[")],
    ["link starts", fill("[a](")],
    ["nested parens", fill("[a](https://x(", 50 * 1024) + fill(")", 50 * 1024)],
    ["addresses", fill("http://")],
    ["angle addresses", fill("<https://a")],
    ["at signs", fill("@")],
    ["mention runs", fill("@a.")],
    ["colons", fill(":a")],
    ["fences", fill("```\n")],
    ["blank lines", fill("\n")],
    ["wide text", fill("中文 *强调* 😀 ")],
  ];
  for (const [name, input] of inputs) {
    const { ms } = parseMs(input);
    assert(ms < 100, `${name}: ${ms.toFixed(1)} ms for ${input.length} characters`);
  }
});

Deno.test("deeply nested markers make a flat tree, without recursion", () => {
  const depth = 20_000;
  const nested = "**a ".repeat(depth) + "b" + " c**".repeat(depth);
  const { ms, blocks } = parseMs(nested);
  assert(ms < 100, `${ms.toFixed(1)} ms`);
  // Strong inside strong is strong: one node, whatever the depth.
  assertEquals(blocks, line(text(`${"a ".repeat(depth)}b${" c".repeat(depth)}`, strong)));
  assertEquals(plainText(blocks).length, depth * 4 + 1);
  const stars = "*".repeat(depth);
  assertEquals(parseMs(`${stars}x${stars}`).blocks, line(text("x", strong)));
  assertEquals(parseMs(`*${stars}x${stars}*`).blocks, line(text("x", both)));
  const alternating = "*_".repeat(depth) + "x" + "_*".repeat(depth);
  const mixed = parseMs(alternating);
  assert(mixed.ms < 100, `${mixed.ms.toFixed(1)} ms`);
  assert(plainText(mixed.blocks).includes("x"));
  const brackets = "[".repeat(depth) + "x" + "](https://a.lan)".repeat(depth);
  assert(parseMs(brackets).ms < 100);
});
