/**
 * lib/wire/inert_text.ts: one table of characters that must not act, two
 * uses: the terminal's (every control shown) and the page's (bidi controls
 * shown, line breaks and emoji joiners kept).
 */
import { assertEquals } from "./_assert.ts";
import { inert, visibleBidi } from "../lib/wire/inert_text.ts";

Deno.test("the terminal shows every control and reordering character", () => {
  assertEquals(inert("\x1b[2Jhi\n\t\x7f"), "␛[2Jhi␤␉␡");
  assertEquals(
    inert("a\u202eb\u2066c\u2069\u200f\u2028"),
    "a<U+202E>b<U+2066>c<U+2069><U+200F><U+2028>",
  );
  assertEquals(inert("\u0085"), "<U+0085>");
});

Deno.test("the page shows bidi controls and keeps line breaks and emoji joiners", () => {
  const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
  assertEquals(visibleBidi(`line 1\nline 2 ${family}`), `line 1\nline 2 ${family}`);
  assertEquals(
    visibleBidi("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
    "<U+061C><U+200E><U+200F><U+202A><U+202B><U+202C><U+202D><U+202E><U+2066><U+2067><U+2068><U+2069>",
  );
});
