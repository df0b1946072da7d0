/** Request heads (lib/server/http/http_request.ts) and the Host/Origin rules (lib/server/http/web_hosts.ts), as pure functions. */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import {
  announcedBody,
  findHeadEnd,
  isHeadProblem,
  parseRequestHead,
  wantsKeepAlive,
} from "../lib/server/http/http_request.ts";
import type { RequestHead } from "../lib/server/http/http_request.ts";
import {
  parseAllowedOrigin,
  parseHostHeader,
  parseWebHostName,
  WebAccessRules,
} from "../lib/server/http/web_hosts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function head(text: string): RequestHead {
  const parsed = parseRequestHead(bytes(text));
  if (isHeadProblem(parsed)) throw new Error(parsed.reason);
  return parsed;
}

Deno.test("a head ends at its blank line, with CRLF or bare LF, found across appended reads", () => {
  const text = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nleft over");
  assertEquals(findHeadEnd(text, text.length), 27);
  assertEquals(findHeadEnd(text, 20), -1);
  assertEquals(findHeadEnd(text, text.length, 25), 27);
  const bare = bytes("GET / HTTP/1.1\nHost: a\n\n");
  assertEquals(findHeadEnd(bare, bare.length), bare.length);
});

Deno.test("heads that invite request smuggling are refused; a plain one is read", () => {
  const plain = head("GET /x?y HTTP/1.1\r\nHost: a:1\r\nConnection: keep-alive, Upgrade\r\n\r\n");
  assertEquals([plain.method, plain.target, plain.minorVersion], ["GET", "/x?y", 1]);
  assert(wantsKeepAlive(plain));
  assertEquals(wantsKeepAlive(head("GET / HTTP/1.0\r\nHost: a\r\n\r\n")), false);
  for (
    const bad of [
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n", // space before the colon
      "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
    ]
  ) {
    const parsed = parseRequestHead(bytes(bad));
    assert(isHeadProblem(parsed) && parsed.status === 400, JSON.stringify(bad));
  }
  const http2 = parseRequestHead(bytes("GET / HTTP/2.0\r\nHost: a\r\n\r\n"));
  assert(isHeadProblem(http2) && http2.status === 505);
  assertEquals(announcedBody(head("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")), "none");
  assertEquals(announcedBody(head("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")), "body");
  assertEquals(
    announcedBody(head("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")),
    "invalid",
  );
  assertEquals(announcedBody(head("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")), "body");
});

Deno.test("Host names this machine or a --web-host; Origin is the page's own or an --allow-origin", () => {
  const rules = new WebAccessRules({
    webHosts: ["chat.office.lan", "10.9.9.9"],
    allowOrigins: [parseAllowedOrigin("http://Intranet.example:8080")],
    interfaceAddresses: () => ["192.168.1.20", "fe80::1"],
    hostname: () => "box",
  });
  const allowed = (host: string) => rules.hostProblem(parseHostHeader(host)!) === null;
  for (
    const host of [
      "127.0.0.1:9001",
      "[::1]:9001",
      "localhost",
      "192.168.1.20:9001",
      "box",
      "BOX.local:1",
      "chat.office.lan.",
      "10.9.9.9",
    ]
  ) {
    assert(allowed(host), host);
  }
  for (
    const host of ["attacker.example", "192.168.1.21", "box.attacker.example", "10.9.9.8:9001"]
  ) {
    assert(!allowed(host), host);
  }
  assertEquals(parseHostHeader("a b"), null);
  assertEquals(parseHostHeader("a:99999"), null);
  assertEquals(rules.originProblem(undefined, "http", "box:9001"), null);
  assertEquals(rules.originProblem("http://box:9001", "http", "box:9001"), null);
  assertEquals(rules.originProblem("http://intranet.example:8080", "http", "box:9001"), null);
  assert(rules.originProblem("https://box:9001", "http", "box:9001") !== null, "scheme counts");
  assert(rules.originProblem("http://evil.example", "http", "box:9001") !== null);
  assert(rules.originProblem("null", "http", "box:9001") !== null);
  assertThrows(() => parseAllowedOrigin("http://a.example/path"), RangeError);
  assertThrows(() => parseAllowedOrigin("ftp://a.example"), RangeError);
  assertEquals(parseAllowedOrigin("HTTP://A.example:80"), "http://a.example");
  assertThrows(() => parseWebHostName("http://chat.lan"), RangeError);
  assertEquals(parseWebHostName("Chat.LAN."), "chat.lan");
});
