/** The web port: static files with security headers, and the protocol over WebSocket at /ws. */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, TestClient, text, withDeadline } from "./_helpers.ts";
import type { Received } from "./_helpers.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

/** A WebSocket protocol client that records what it receives. */
class WsClient implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly received: Received[] = [];
  readonly closed: Promise<void>;
  #notify: (() => void) | null = null;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.socket.onmessage = (event) => {
      const data = typeof event.data === "string"
        ? event.data
        : new TextDecoder().decode(event.data);
      this.received.push(JSON.parse(data));
      this.#notify?.();
    };
    this.closed = new Promise((resolve) => this.socket.addEventListener("close", () => resolve()));
    this.socket.addEventListener("close", () => this.#notify?.());
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  async next(test: (message: Received) => boolean, ms = 3000): Promise<Received> {
    return await withDeadline(
      (async () => {
        for (let round = 0; round < 10_000; round++) {
          const index = this.received.findIndex(test);
          if (index >= 0) return this.received.splice(index, 1)[0]!;
          if (this.socket.readyState === WebSocket.CLOSED) throw new Error("socket closed");
          await new Promise<void>((resolve) => this.#notify = resolve);
        }
        throw new Error("too many messages without a match");
      })(),
      ms,
      "a WebSocket message",
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

Deno.test("a WebSocket member and a TCP member share one room", async () => {
  await using server = await startTestServer({ webPort: 0 });
  await using web = new WsClient(`ws://127.0.0.1:${server.webPort}/ws`);
  assertEquals((await web.next((m) => m.type === "server")).proto, 1);
  web.send({ type: "hello", nick: "webby" });
  await web.next((m) => m.type === "welcome");
  await using tcp = await TestClient.joined(server.port, "term");
  await web.next((m) => m.type === "joined" && m.nick === "term");
  web.send({ type: "say", body: encodeBody("from the browser 你好"), ref: "w1" });
  assertEquals((await web.next((m) => m.type === "msg")).ref, "w1");
  assertEquals(text(await tcp.next("msg")), "from the browser 你好");
  await tcp.say("from the terminal", { to: "webby" });
  const got = await web.next((m) => m.type === "msg");
  assertEquals([got.from, got.to, text(got)], ["term", "webby", "from the terminal"]);
});

Deno.test("an oversized or empty WebSocket message closes only that socket", async () => {
  await using server = await startTestServer({ webPort: 0 });
  await using tcp = await TestClient.joined(server.port, "term");
  for (
    const [payload, code] of [["x".repeat(70_000), "frame_too_large"], [
      new Uint8Array(0),
      "bad_frame",
    ]] as const
  ) {
    await using web = new WsClient(`ws://127.0.0.1:${server.webPort}/ws`);
    await web.next((m) => m.type === "server");
    web.send({ type: "hello", nick: "big" });
    await web.next((m) => m.type === "welcome");
    web.socket.send(payload);
    assertEquals((await web.next((m) => m.type === "error")).code, code);
    await withDeadline(web.closed, 3000, "the socket to close");
    assertEquals((await tcp.next((m) => m.type === "left")).reason, "error");
  }
});

Deno.test("the page is served with a strict content security policy; nothing outside lib/web is", async () => {
  await using server = await startTestServer({ webPort: 0 });
  const base = `http://127.0.0.1:${server.webPort}`;
  const page = await fetch(`${base}/`);
  assertEquals(page.status, 200);
  assertMatch(page.headers.get("content-type") ?? "", /text\/html/);
  assertMatch(
    page.headers.get("content-security-policy") ?? "",
    /default-src 'none'.*connect-src 'self'/,
  );
  assert((await page.text()).includes("lanchat"));
  for (const path of ["/../deno.json", "/%2e%2e/deno.json", "/web_server.ts", "/nope.js", "/a/b"]) {
    const response = await fetch(`${base}${path}`);
    await response.body?.cancel();
    assertEquals(response.status, 404, path);
  }
  const plain = await fetch(`${base}/ws`);
  await plain.body?.cancel();
  assertEquals(plain.status, 426);
});

Deno.test("a WebSocket member is told shutting_down when the server stops", async () => {
  const server = await startTestServer({ webPort: 0 });
  await using web = new WsClient(`ws://127.0.0.1:${server.webPort}/ws`);
  await web.next((m) => m.type === "server");
  web.send({ type: "hello", nick: "webby" });
  await web.next((m) => m.type === "welcome");
  await withDeadline(server.close(), 3000, "server.close()");
  assertEquals((await web.next((m) => m.type === "error")).code, "shutting_down");
});
