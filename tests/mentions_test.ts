/**
 * Tests of the one mention rule (lib/wire/mentions.ts), shared by the server,
 * the terminal and the page: a table of texts and who they mention, then
 * mentionsMe, and the fences and line pieces the rule stands on.
 */
import { assert, assertEquals } from "./_assert.ts";
import {
  type Mentions,
  mentionsIn,
  mentionsMe,
  scanLine,
  splitFences,
} from "../lib/wire/mentions.ts";

const none: Mentions = { nicks: [], everyone: false };
const nicks = (...keys: string[]): Mentions => ({ nicks: keys, everyone: false });
const everyone = (...keys: string[]): Mentions => ({ nicks: keys, everyone: true });

/** [text, who it mentions, why] */
const table: [string, Mentions, string][] = [
  ["hi @ana", nicks("ana"), "a nick after @"],
  ["@ana hi", nicks("ana"), "at the start"],
  ["thanks @ana.", nicks("ana"), "a full stop ends the sentence, not the nick"],
  ["ping @bob-", nicks("bob"), "a trailing hyphen is not part of it"],
  ["@ana... really", nicks("ana"), "all trailing dots go"],
  ["@ana, @bob: and @carol!", nicks("ana", "bob", "carol"), "ends at a character no nick has"],
  ["@ana's turn", nicks("ana"), "an apostrophe ends it"],
  ["@Ana @ANA @ana", nicks("ana"), "compared with nickKey, listed once"],
  ["@bob then @ana then @bob", nicks("bob", "ana"), "in order of first mention"],
  ["@ana.lee is here", nicks("ana.lee"), "a dot inside a nick belongs to it"],
  ["@ana_ ok", nicks("ana_"), "an underscore may end a nick"],
  ["(@ana)", nicks("ana"), "after punctuation"],
  ["**@ana**", nicks("ana"), "inside emphasis"],
  ["@A\u0301na", nicks("\u00e1na"), "decomposed input is compared composed"],
  ["@\u0410\u043d\u044f", nicks("\u0430\u043d\u044f"), "any script"],
  ["line one\n@bob on line two", nicks("bob"), "any line"],
  ["@ana\u202e", nicks("ana"), "a bidi control ends it"],
  [`@${"a".repeat(32)}`, nicks("a".repeat(32)), "32 characters is a nick"],
  [`@${"a".repeat(33)}`, none, "33 is too long for any nick: nobody"],
  ["@channel", everyone(), "@channel is everyone"],
  ["@here, standup", everyone(), "@here is everyone"],
  ["@ALL.", everyone(), "@all, any case"],
  ["@here and @ana", everyone("ana"), "both"],
  ["@channels", nicks("channels"), "only the exact words"],
  ["bob@ana.com", none, "an e-mail address"],
  ["write to ana.lee@example.org", none, "an address with a dot before @"],
  ["x+tag@ana.com", none, "plus addressing"],
  ["a@b@c", none, "@ after @"],
  ["@@ana", none, "@ right after @"],
  ["@", none, "nothing after @"],
  ["@ .", none, "a space after @"],
  ["@.-", none, "only punctuation after @"],
  ["`@ana`", none, "inside a code span"],
  ["``see @ana``", none, "inside a longer code span"],
  ["` @ana", nicks("ana"), "an unclosed backtick is text"],
  ["```\n@ana\n```", none, "inside a fenced block"],
  ["```\n@ana", none, "inside a fence never closed"],
  ["```\ncode\n```\n@bob", nicks("bob"), "after a fence"],
  ["[@ana](https://x.lan)", none, "the text of a link"],
  ["[@ana](javascript:alert(1))", nicks("ana"), "not a link, so a mention"],
  ["https://git.lan/@ana/repo", none, "in an address"],
  ["<https://x.lan/@ana>", none, "in an <address>"],
  ["mailto:ana@x.lan", none, "mailto is an e-mail address"],
  ["see https://x.lan/a, @ana", nicks("ana"), "after an address"],
  ["", none, "empty"],
  ["no at sign", none, "nothing"],
];

Deno.test("mentionsIn: the table of texts and who they mention", () => {
  for (const [text, expected, why] of table) {
    assertEquals(mentionsIn(text), expected, `${JSON.stringify(text)}: ${why}`);
  }
});

Deno.test("mentionsMe: by nick in any case, or as everyone; a plain name is not a mention", () => {
  assertEquals(mentionsMe("@ANA look", "ana"), true);
  assertEquals(mentionsMe("@ana look", "Ana"), true);
  assertEquals(mentionsMe("@here look", "ana"), true);
  assertEquals(mentionsMe("ana: look", "ana"), false);
  assertEquals(mentionsMe("@anabel look", "ana"), false);
  assertEquals(mentionsMe("@bob look", "ana"), false);
  assertEquals(mentionsMe("`@ana`", "ana"), false);
  assertEquals(mentionsMe("@ana", ""), false);
  assertEquals(mentionsMe("", "ana"), false);
});

Deno.test("splitFences: fences with a language, closed by as many backticks or more, or by the end", () => {
  assertEquals(splitFences(""), []);
  assertEquals(splitFences("a\r\nb"), [{ type: "lines", lines: ["a", "b"] }]);
  assertEquals(splitFences("see:\n```ts\nlet a = 1;\n```\nok"), [
    { type: "lines", lines: ["see:"] },
    { type: "fence", lang: "ts", text: "let a = 1;" },
    { type: "lines", lines: ["ok"] },
  ]);
  assertEquals(splitFences("````\n```\nstill code\n````"), [
    { type: "fence", lang: null, text: "```\nstill code" },
  ]);
  assertEquals(splitFences("```python extra words\nx\n"), [
    { type: "fence", lang: "python", text: "x" },
  ]);
  assertEquals(splitFences("```<b>\nx\n```"), [{ type: "fence", lang: null, text: "x" }]);
  assertEquals(splitFences("   ```\nindented fence\n   ```"), [
    { type: "fence", lang: null, text: "indented fence" },
  ]);
  assertEquals(splitFences("    ```\nfour spaces is not a fence"), [
    { type: "lines", lines: ["    ```", "four spaces is not a fence"] },
  ]);
  assertEquals(splitFences("```one line```"), [{ type: "lines", lines: ["```one line```"] }]);
});

Deno.test("scanLine: pieces cover the line in order; the first construct to start wins", () => {
  assertEquals(scanLine("hi @ana, see `x`"), [
    { type: "text", start: 0, end: 3 },
    { type: "mention", start: 3, end: 7, nick: "ana" },
    { type: "text", start: 7, end: 13 },
    { type: "code", start: 13, end: 16, text: "x" },
  ]);
  assertEquals(scanLine("`[x](https://a)` [`y`](https://b)"), [
    { type: "code", start: 0, end: 16, text: "[x](https://a)" },
    { type: "text", start: 16, end: 17 },
    { type: "link", start: 17, end: 33, href: "https://b", label: "`y`", bracketed: true },
  ]);
  assertEquals(scanLine("@ana https://x", { links: false, mentions: false }), [
    { type: "text", start: 0, end: 14 },
  ]);
  const hostile = "a `b` [c](https://d) <https://e> @f https://g.h/(i) ``j";
  const tokens = scanLine(hostile);
  let at = 0;
  for (const token of tokens) {
    assertEquals(token.start, at, JSON.stringify(token));
    assert(token.end > token.start);
    at = token.end;
  }
  assertEquals(at, hostile.length);
});
