import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import {
  decodeBody,
  encodeBody,
  maxTextBytes,
  nickKey,
  nickProblem,
  parseClientMessage,
} from "../lib/wire/protocol.ts";
import { ProtocolError } from "../lib/wire/errors.ts";

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function codeOf(run: () => unknown): string {
  return assertThrows(run, ProtocolError).code;
}

Deno.test("bodies are base64 of UTF-8 and decode back, strictly", () => {
  assertEquals(encodeBody("héllo 你好 😀"), "aMOpbGxvIOS9oOWlvSDwn5iA");
  assertEquals(decodeBody("aMOpbGxvIOS9oOWlvSDwn5iA").text, "héllo 你好 😀");
  assertEquals(codeOf(() => decodeBody("aGk")), "bad_message"); // missing padding
  assertEquals(codeOf(() => decodeBody("a$==")), "bad_message");
  assertEquals(codeOf(() => decodeBody(new Uint8Array([0xff]).toBase64())), "bad_message");
});

Deno.test("nicks: 1 to 32 code points of letters, digits, _ - .; compared without case", () => {
  for (
    const nick of [
      "ana",
      "Ana_B-2.0",
      "李小龙",
      "अनिल",
      "x".repeat(32),
      "ab",
    ]
  ) {
    assertEquals(nickProblem(nick), null, nick);
  }
  for (const nick of ["", "a b", "x".repeat(33), "<script>", "ana\u0007", "-\u200b"]) {
    assert(nickProblem(nick) !== null, nick);
  }
  assertEquals(nickProblem("龙".repeat(32)), null, "32 CJK characters are 32 code points");
  assertEquals(nickKey("ÁNA"), nickKey("ána"));
});

Deno.test("parseClientMessage accepts every client type and ignores unknown fields", () => {
  assertEquals(parseClientMessage(payload({ type: "hello", nick: "a", after: 3, x: 1 })), {
    type: "hello",
    nick: "a",
    after: 3,
  });
  assertEquals(
    parseClientMessage(payload({ type: "say", body: "aGk=", to: "b", kind: "action", ref: "r" })),
    {
      type: "say",
      body: "aGk=",
      text: "hi",
      kind: "action",
      to: "b",
      ref: "r",
    },
  );
  assertEquals(parseClientMessage(payload({ type: "history", limit: 5000 })), {
    type: "history",
    limit: 200,
  });
  assertEquals(parseClientMessage(payload({ type: "search", q: "x" })), {
    type: "search",
    q: "x",
    limit: 50,
  });
  assertEquals(parseClientMessage(payload({ type: "ping", n: 4 })), { type: "ping", n: 4 });
  assertEquals(parseClientMessage(payload({ type: "bye" })), { type: "bye" });
  assertEquals(parseClientMessage(payload({ type: "users" })), { type: "users" });
  assertEquals(parseClientMessage(payload({ type: "nick", nick: "z" })), {
    type: "nick",
    nick: "z",
  });
});

Deno.test("parseClientMessage refuses bad payloads with the documented codes", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assertEquals(codeOf(() => parseClientMessage(bytes("{"))), "bad_json");
  assertEquals(codeOf(() => parseClientMessage(new Uint8Array([0x22, 0xc3, 0x22]))), "bad_json");
  assertEquals(codeOf(() => parseClientMessage(bytes("null"))), "bad_message");
  assertEquals(codeOf(() => parseClientMessage(bytes('"say"'))), "bad_message");
  assertEquals(codeOf(() => parseClientMessage(payload({ type: "hello" }))), "bad_message");
  assertEquals(
    codeOf(() => parseClientMessage(payload({ type: "hello", nick: 5 }))),
    "bad_message",
  );
  assertEquals(codeOf(() => parseClientMessage(payload({ type: "say", body: "" }))), "bad_message");
  assertEquals(
    codeOf(() => parseClientMessage(payload({ type: "say", body: "aGk=", ref: {} }))),
    "bad_message",
  );
  assertEquals(
    codeOf(() => parseClientMessage(payload({ type: "hello", nick: "a", after: 1.5 }))),
    "bad_message",
  );
  assertEquals(codeOf(() => parseClientMessage(payload({ type: "HELLO" }))), "unknown_type");
  const long = encodeBody("a".repeat(maxTextBytes + 1));
  const error = assertThrows(
    () => parseClientMessage(payload({ type: "say", body: long, ref: 9 })),
    ProtocolError,
  );
  assertEquals([error.code, error.ref], ["too_long", 9]);
  assertEquals(
    parseClientMessage(payload({ type: "say", body: encodeBody("a".repeat(maxTextBytes)) })).type,
    "say",
  );
});

Deno.test("nicks never hold bidi controls or zero-width characters (issue #14, item 7)", () => {
  for (
    const nick of [
      "ana\u202e",
      "\u202eana",
      "a\u200db",
      "a\u200bb",
      "a\u200cb",
      "a\u2066b",
      "a\ufeffb",
    ]
  ) {
    assert(nickProblem(nick) !== null, `${JSON.stringify(nick)} was accepted`);
  }
  assertEquals(nickProblem("ana"), null);
});

Deno.test("a nick holds at most 4 combining marks in a row (no stacked Zalgo text)", () => {
  assertEquals(nickProblem("a\u0301\u0301\u0301\u0301"), null);
  assertEquals(nickProblem("नमस्ते"), null);
  assertEquals(nickProblem("e\u0323\u0302"), null); // ệ, decomposed
  assertEquals(
    nickProblem("a\u0301\u0301\u0301\u0301\u0301"),
    "a nick may hold at most 4 combining marks in a row",
  );
  assert(nickProblem("\u0301\u0301") !== null, "marks alone");
});

Deno.test("channel, here and all are kept from nicks (@channel mentions everyone), in any case", () => {
  for (const nick of ["channel", "HERE", "All"]) {
    assertMatch(String(nickProblem(nick)), /kept for mentions/);
  }
  assertEquals(nickProblem("channels"), null);
  assertEquals(nickProblem("hall"), null);
});
