/**
 * The web port under attack (issue #12, defects 1, 4 and 5): unfinished
 * requests, too many connections from one address, huge WebSocket messages,
 * foreign Host names (DNS rebinding) and foreign Origins (another site's page
 * in a colleague's browser). Real sockets on 127.0.0.0/8, a real `serve`
 * process for the open-file limit, a real Chromium for the origin check.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, withDeadline } from "./_helpers.ts";
import {
  closeAll,
  connectFrom,
  loopbackSource,
  rssMb,
  serveUnderFileLimit,
} from "./fixtures/abuse.ts";
import { browserTest, TestBrowser } from "./fixtures/web_browser.ts";
import {
  encodeWebSocketFrame,
  encodeWebSocketHeader,
  opcodes,
} from "../lib/server/transport/websocket_frames.ts";
import { TestClient } from "./_helpers.ts";
import type net from "node:net";

const utf8 = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Reads from `conn` until it closes or `until` matches what came; bounded by `ms`. */
async function readUntil(
  conn: Deno.Conn,
  until: (text: string) => boolean,
  ms = 3000,
): Promise<{ text: string; closed: boolean; bytes: Uint8Array }> {
  let text = "";
  const chunks: number[] = [];
  let closed = false;
  const buffer = new Uint8Array(65536);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    // Bounded by the timer closing the connection.
    for (let round = 0; round < 10_000 && !until(text); round++) {
      const count = await conn.read(buffer);
      if (count === null) {
        closed = true;
        break;
      }
      text += latin1.decode(buffer.subarray(0, count));
      chunks.push(...buffer.subarray(0, count));
    }
  } catch {
    // Closed by the timer: the caller looks at what came.
  } finally {
    clearTimeout(timer);
  }
  return { text, closed, bytes: Uint8Array.from(chunks) };
}

/** Sends `request` on a new connection and returns the whole response (the server closes it). */
async function exchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(utf8.encode(request));
    return (await readUntil(conn, () => false)).text;
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by readUntil.
    }
  }
}

const upgradeHeaders = (origin: string | null) =>
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  (origin === null ? "" : `Origin: ${origin}\r\n`);

Deno.test("an unfinished HTTP request is closed after the header timeout, an idle one after the keep-alive timeout", async () => {
  await using server = await startTestServer({
    webPort: 0,
    webLimits: { headerTimeoutMs: 300, idleTimeoutMs: 400 },
  });
  const port = server.webPort!;
  const unfinished = await Deno.connect({ hostname: "127.0.0.1", port });
  await unfinished.write(utf8.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`));
  const started = performance.now();
  const cut = await readUntil(unfinished, () => false, 3000);
  const waited = performance.now() - started;
  assert(cut.closed, "the server closed the unfinished request");
  assert(waited >= 250 && waited < 1500, `closed after ${waited.toFixed(0)} ms (timeout 300)`);

  const kept = await Deno.connect({ hostname: "127.0.0.1", port });
  await kept.write(utf8.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
  const first = await readUntil(kept, (text) => text.includes("</html>"));
  assertMatch(first.text, /^HTTP\/1\.1 200 OK\r\n/);
  assertMatch(first.text, /connection: keep-alive/i);
  const idleStart = performance.now();
  const idle = await readUntil(kept, () => false, 3000);
  const idleFor = performance.now() - idleStart;
  assert(idle.closed, "the idle kept-alive connection was closed");
  assert(
    idleFor >= 300 && idleFor < 1600,
    `closed after ${idleFor.toFixed(0)} ms idle (timeout 400)`,
  );
});

Deno.test("a request head larger than 16 KiB is refused with 431", async () => {
  await using server = await startTestServer({ webPort: 0 });
  const port = server.webPort!;
  const response = await exchange(
    port,
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Filler: ${"a".repeat(20_000)}\r\n\r\n`,
  );
  assertMatch(response, /^HTTP\/1\.1 431 /);
});

Deno.test("the per-address connection limit covers the web port: the next one is told 503 and why", async () => {
  await using server = await startTestServer({ webPort: 0, maxConnectionsPerIp: 4 });
  const port = server.webPort!;
  const held: net.Socket[] = [];
  try {
    for (let index = 0; index < 4; index++) held.push(await connectFrom("127.0.0.9", port));
    const extra = await connectFrom("127.0.0.9", port);
    held.push(extra);
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      extra.on("data", (chunk: Uint8Array) => text += latin1.decode(chunk));
      extra.on("close", () => resolve(text));
      extra.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      setTimeout(() => resolve(text), 3000);
    });
    assertMatch(answer, /^HTTP\/1\.1 503 /);
    assertMatch(answer, /too many connections from 127\.0\.0\.9/);
    // Another address is not disturbed.
    const other = await exchange(
      port,
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    assertMatch(other, /^HTTP\/1\.1 200 /);
  } finally {
    await closeAll(held);
  }
});

Deno.test("a WebSocket upgrade refused by the limit opens and is told server_full, so a page can say why", async () => {
  await using server = await startTestServer({ webPort: 0, maxConnectionsPerIp: 1 });
  const url = `ws://127.0.0.1:${server.webPort}/ws`;
  const first = new WebSocket(url);
  await new Promise((resolve) => first.onopen = resolve);
  const second = new WebSocket(url);
  second.binaryType = "arraybuffer";
  const told = await withDeadline(
    new Promise<string>((resolve) => {
      second.onmessage = (event) => resolve(new TextDecoder().decode(event.data as ArrayBuffer));
    }),
    3000,
    "the refusal",
  );
  const refusal = JSON.parse(told);
  assertEquals(refusal.type, "error");
  assertEquals(refusal.code, "server_full");
  await new Promise((resolve) =>
    second.readyState === WebSocket.CLOSED ? resolve(0) : second.onclose = resolve
  );
  first.close();
  await new Promise((resolve) => first.onclose = resolve);
});

Deno.test("a WebSocket message announced as 60 MB is refused at its header (1009), before its bytes are taken", async () => {
  await using server = await startTestServer({ webPort: 0 });
  const port = server.webPort!;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    utf8.encode(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${upgradeHeaders(null)}\r\n`),
  );
  const handshake = await readUntil(conn, (text) => text.includes("\r\n\r\n"));
  assertMatch(handshake.text, /^HTTP\/1\.1 101 /);
  const mask = new Uint8Array([1, 2, 3, 4]);
  await conn.write(encodeWebSocketHeader(opcodes.binary, 60 * 1024 * 1024, { mask }));
  // Only a few bytes of the payload: a server that waits for all 60 MB never answers.
  await conn.write(new Uint8Array(4096));
  const started = performance.now();
  const closing = await readUntil(conn, () => false, 3000);
  assert(closing.closed, "the server closed the connection");
  assert(performance.now() - started < 2500, "without waiting for the 60 MB");
  const bytes = closing.bytes;
  // Our own error message may come first; the close frame (0x88) ends the stream.
  const closeAt = bytes.lastIndexOf(0x88);
  assert(closeAt >= 0, `a close frame arrived (got ${bytes.length} bytes)`);
  assertEquals((bytes[closeAt + 2]! << 8) | bytes[closeAt + 3]!, 1009);
  try {
    conn.close();
  } catch {
    // Closed already.
  }
});

Deno.test("the page answers only to this machine's names: a foreign Host gets 421 (DNS rebinding), --web-host adds one", async () => {
  await using server = await startTestServer({
    webPort: 0,
    webAccess: { webHosts: ["chat.office.lan"] },
  });
  const port = server.webPort!;
  const get = (host: string) =>
    exchange(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  assertMatch(await get(`127.0.0.1:${port}`), /^HTTP\/1\.1 200 /);
  assertMatch(await get(`localhost:${port}`), /^HTTP\/1\.1 200 /);
  assertMatch(await get(`chat.office.lan:${port}`), /^HTTP\/1\.1 200 /);
  const rebound = await get(`attacker.example:${port}`);
  assertMatch(rebound, /^HTTP\/1\.1 421 /);
  assertMatch(rebound, /--web-host attacker\.example/);
  // The WebSocket too: a rebinding page must not reach /ws under its own name.
  const socket = await get(`attacker.example:${port}\r\n${upgradeHeaders(null).trimEnd()}`);
  assertMatch(socket, /^HTTP\/1\.1 421 /);
  assertMatch(
    await exchange(port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
    /^HTTP\/1\.1 400 /,
  );
});

Deno.test("/ws refuses another site's Origin with 403; its own origin, none, and --allow-origin pass", async () => {
  await using server = await startTestServer({
    webPort: 0,
    webAccess: { allowOrigins: ["http://intranet.example:8080"] },
  });
  const port = server.webPort!;
  const upgrade = async (origin: string | null) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      utf8.encode(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${upgradeHeaders(origin)}\r\n`),
    );
    const { text } = await readUntil(conn, (got) => got.includes("\r\n\r\n"));
    try {
      conn.close();
    } catch {
      // Closed by the server.
    }
    return text;
  };
  assertMatch(await upgrade(`http://127.0.0.1:${port}`), /^HTTP\/1\.1 101 /);
  assertMatch(await upgrade(null), /^HTTP\/1\.1 101 /);
  assertMatch(await upgrade("http://intranet.example:8080"), /^HTTP\/1\.1 101 /);
  const foreign = await upgrade("http://evil.example");
  assertMatch(foreign, /^HTTP\/1\.1 403 /);
  assertMatch(await upgrade(`http://127.0.0.1:${port + 1}`), /^HTTP\/1\.1 403 /);
  assertMatch(await upgrade("null"), /^HTTP\/1\.1 403 /);
});

browserTest(
  "in Chromium, another origin's page cannot open the chat's WebSocket; the chat's own page can",
  async () => {
    await using server = await startTestServer({ webPort: 0 });
    // A foreign site on this machine: same host, another port, so another origin.
    const foreign = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response("<!doctype html><title>elsewhere</title><p>another site</p>", {
          headers: { "content-type": "text/html" },
        }),
    );
    try {
      await using browser = await TestBrowser.launch();
      const tryOpen = (url: string) =>
        `new Promise((resolve) => {
      const socket = new WebSocket(${JSON.stringify(url)});
      socket.onopen = () => { socket.close(); resolve("open"); };
      socket.onerror = () => resolve("refused");
      setTimeout(() => resolve("timeout"), 3000);
    })`;
      const wsUrl = `ws://127.0.0.1:${server.webPort}/ws`;
      const elsewhere = await browser.open(`http://127.0.0.1:${foreign.addr.port}/`);
      assertEquals(await elsewhere.page.evaluate(tryOpen(wsUrl)), "refused");
      const own = await browser.open(`http://127.0.0.1:${server.webPort}/`);
      assertEquals(await own.page.evaluate(tryOpen(wsUrl)), "open");
    } finally {
      await foreign.shutdown();
    }
  },
);

Deno.test("unfinished HTTP requests past the open-file limit do not end the process; it serves again", async () => {
  await using server = await serveUnderFileLimit(["--web-timeout", "2"], {
    softFiles: 256,
    web: true,
  });
  const port = server.webPort!;
  const flood: net.Socket[] = [];
  const rssBefore = rssMb(server.pid);
  try {
    for (let index = 0; index < 320; index++) {
      try {
        const socket = await connectFrom(loopbackSource(index % 8), port, 2000);
        socket.write(`GET / HTTP/1.1\r\nHost: x\r\n`);
        flood.push(socket);
      } catch {
        break; // The backlog is full: enough.
      }
    }
    await server.waitForLine(/web port: cannot accept connections: Too many open files/, {
      timeoutMs: 5000,
    });
    await server.waitForLine(/web port: accepting again after \d+ failed accepts/, {
      timeoutMs: 10_000,
    });
  } finally {
    await closeAll(flood);
  }
  const page = await exchange(
    port,
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
  );
  assertMatch(page, /^HTTP\/1\.1 200 /);
  assert(rssMb(server.pid) - rssBefore < 64, "memory stays bounded");
  const failures = server.output().filter((line) => /accept/.test(line));
  assert(
    failures.length <= 4,
    `accept failures are not logged one by one:\n${failures.join("\n")}`,
  );
});

Deno.test("a WebSocket client that floods without reading cannot grow the server's memory", async () => {
  await using server = await serveUnderFileLimit([], { softFiles: 1024, web: true });
  const port = server.webPort!;
  const before = rssMb(server.pid);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    utf8.encode(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${upgradeHeaders(null)}\r\n`),
  );
  assertMatch(
    (await readUntil(conn, (text) => text.includes("\r\n\r\n"))).text,
    /^HTTP\/1\.1 101 /,
  );
  const mask = new Uint8Array([9, 8, 7, 6]);
  const frame = (message: Record<string, unknown>) =>
    encodeWebSocketFrame(opcodes.text, utf8.encode(JSON.stringify(message)), { mask });
  await conn.write(frame({ type: "hello", nick: "flooder" }));
  // Joined first: before that, frames over the small pre-join limit close the connection.
  assertMatch((await readUntil(conn, (text) => text.includes('"welcome"'))).text, /welcome/);
  // Big frames whose answers are small (unknown fields are ignored): only reading them costs.
  const say = frame({ type: "ping", n: 1, padding: "x".repeat(60_000) });
  const batch = new Uint8Array(say.length * 16);
  for (let index = 0; index < 16; index++) batch.set(say, index * say.length);
  // Three seconds of writing as fast as the server takes, never reading.
  let sent = 0;
  let peak = before;
  const sampler = setInterval(() => peak = Math.max(peak, rssMb(server.pid)), 100);
  const stop = setTimeout(() => conn.close(), 3000);
  try {
    for (let round = 0; round < 1_000_000; round++) {
      // A write may take part of the batch: the rest goes next, or the frames would break.
      for (let offset = 0; offset < batch.length;) {
        offset += await conn.write(batch.subarray(offset));
      }
      sent += batch.length;
    }
  } catch {
    // Closed at the deadline, or dropped by the server as too slow a reader.
  } finally {
    clearTimeout(stop);
    clearInterval(sampler);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
  console.log(
    `WebSocket flood: ${(sent / 1e6).toFixed(1)} MB written in 3 s; server RSS ${
      before.toFixed(0)
    } MB ` +
      `-> peak ${peak.toFixed(0)} MB`,
  );
  // Before (no read backpressure on /ws): gigabytes written, RSS growing by as much.
  assert(peak - before < 150, `the server grew by ${(peak - before).toFixed(0)} MB`);
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.send({ type: "ping", n: "still here" });
  assertEquals((await ana.next("pong")).n, "still here");
});
