/** Tests of lib/client/terminal/format.ts: how events look in line mode, and inert text. */
import { assertEquals } from "./_assert.ts";
import { formatClock, formatEvent, inert } from "../lib/client/terminal/format.ts";
import type { SessionEvent } from "../lib/client/session.ts";
import type { ChatMessage } from "../lib/wire/protocol.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

const ts = new Date(2026, 0, 2, 9, 5, 30).getTime(); // 09:05 local time

function message(fields: Partial<ChatMessage> & { text: string }, own = false): SessionEvent {
  const { text, ...rest } = fields;
  return {
    type: "message",
    message: {
      type: "msg",
      id: 1,
      ts,
      from: "alice",
      kind: "text",
      body: encodeBody(text),
      ...rest,
    },
    text,
    own,
    source: "live",
  };
}

function texts(event: SessionEvent): string[] {
  return formatEvent(event).map((line) => line.text);
}

Deno.test("inert turns controls, ESC sequences and bidi overrides into visible stand-ins", () => {
  assertEquals(inert("\x1b[2J\x1b[Hgotcha"), "␛[2J␛[Hgotcha");
  assertEquals(inert("a\nb\r\tc\x00\x07\x7f"), "a␤b␍␉c␀␇␡");
  assertEquals(inert("\x9b31m"), "<U+009B>31m"); // C1 CSI
  assertEquals(inert("abc\u202Efed"), "abc<U+202E>fed");
  assertEquals(inert("line\u2028sep"), "line<U+2028>sep");
  assertEquals(inert("你好 😀 café"), "你好 😀 café");
});

Deno.test("formatClock shows local HH:MM", () => {
  assertEquals(formatClock(ts), "09:05");
});

Deno.test("formatEvent shows public, private and action messages", () => {
  assertEquals(texts(message({ text: "hi all" })), ["[09:05] <alice> hi all"]);
  assertEquals(texts(message({ text: "psst", to: "me" })), ["[09:05] [private] <alice> psst"]);
  assertEquals(
    texts(message({ text: "psst", from: "me", to: "bob" }, true)),
    ["[09:05] [to bob] <me> psst"],
  );
  assertEquals(texts(message({ text: "waves", kind: "action" })), ["[09:05] * alice waves"]);
  assertEquals(
    texts(message({ text: "winks", kind: "action", to: "me" })),
    ["[09:05] [private] * alice winks"],
  );
});

Deno.test("formatEvent makes hostile nicks and text inert, one line per message", () => {
  const lines = texts(message({ text: "ok\n[09:06] <admin> fake\x1b[1A", from: "ev\x1bil" }));
  assertEquals(lines, ["[09:05] <ev␛il> ok␤[09:06] <admin> fake␛[1A"]);
});

Deno.test("formatEvent shows joins, leaves with reasons, renames and server errors", () => {
  assertEquals(texts({ type: "joined", nick: "bob", ts, guest: false }), ["[09:05] -- bob joined"]);
  assertEquals(texts({ type: "left", nick: "bob", ts, reason: "timeout" }), [
    "[09:05] -- bob left (connection timed out)",
  ]);
  assertEquals(texts({ type: "left", nick: "bob", ts }), ["[09:05] -- bob left"]);
  assertEquals(texts({ type: "renamed", from: "bob", to: "rob", ts, own: false }), [
    "[09:05] -- bob is now known as rob",
  ]);
  assertEquals(texts({ type: "renamed", from: "me", to: "mo", ts, own: true }), [
    "[09:05] -- you are now known as mo",
  ]);
  assertEquals(
    formatEvent({ type: "server_error", code: "rate_limited", message: "slow down" }),
    [{ kind: "error", text: "! slow down" }],
  );
});

Deno.test("formatEvent reports connection trouble with what happens next", () => {
  const address = { host: "::1", port: 9000 };
  assertEquals(texts({ type: "lost", address, reason: "connection reset" }), [
    "! lost the connection to [::1]:9000 (connection reset)",
  ]);
  assertEquals(texts({ type: "reconnecting", attempt: 2, attempts: 3, delayMs: 2000 }), [
    "-- reconnecting in 2 s (attempt 2 of 3)",
  ]);
  assertEquals(texts({ type: "resumed", missed: 1 }), [
    "-- back in the room; 1 missed message above",
  ]);
  assertEquals(texts({ type: "delivered", ref: "r1" }), []);
});
