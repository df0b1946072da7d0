/**
 * The server's limits against hostile or careless clients, each with its
 * flag: connections per IP, frame size, message size, hello deadline, flood
 * control and outbox size (in-process and through `lanchat serve` flags).
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, TestClient, text } from "./_helpers.ts";
import { limitsFromFlags } from "../lib/server/serve_command.ts";
import type { ServeFlags } from "../lib/server/serve_command.ts";
import { defaultSessionLimits } from "../lib/server/session.ts";
import { serveOnLoopback } from "./fixtures/client_process.ts";

/** Connects and returns the first thing the server says. */
async function firstWord(
  port: number,
): Promise<{ client: TestClient; first: Record<string, unknown> }> {
  const client = await TestClient.connect(port);
  const first = await client.next(() => true);
  return { client, first };
}

Deno.test("connections per IP: the one past the limit is told server_full and closed; a freed slot is reused", async () => {
  await using server = await startTestServer({ maxConnectionsPerIp: 3 });
  const clients: TestClient[] = [];
  try {
    for (let index = 0; index < 3; index++) {
      const { client, first } = await firstWord(server.port);
      clients.push(client);
      assertEquals(first.type, "server");
    }
    const { client: extra, first } = await firstWord(server.port);
    clients.push(extra);
    assertEquals([first.type, first.code], ["error", "server_full"]);
    assertMatch(String(first.message), /too many connections from 127\.0\.0\.1 \(at most 3\)/);
    await extra.waitClosed();
    // Free one slot; the server notices the close, then a new connection is let in.
    clients[0]!.close();
    let admitted = false;
    for (let attempt = 0; attempt < 50 && !admitted; attempt++) {
      const { client, first } = await firstWord(server.port);
      clients.push(client);
      admitted = first.type === "server";
      if (!admitted) await client.waitClosed();
    }
    assert(admitted, "a freed slot is given to the next connection");
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

Deno.test("frame size: a frame over the lowered limit gets frame_too_large and closes; one at it passes", async () => {
  await using server = await startTestServer({ maxFrameBytes: 1000 });
  await using ok = await TestClient.joined(server.port, "ok");
  // A frame of exactly 1000 bytes is accepted (padded with spaces, which JSON ignores).
  const ping = new TextEncoder().encode(JSON.stringify({ type: "ping", n: 1 }).padEnd(1000, " "));
  assertEquals(ping.length, 1000);
  await ok.sendPayload(ping);
  assertEquals((await ok.next("pong")).n, 1);
  await using big = await TestClient.joined(server.port, "big");
  const frame = new Uint8Array(4 + 1001);
  new DataView(frame.buffer).setUint32(0, 1001);
  frame.fill(0x20, 4);
  await big.sendRaw(frame);
  assertEquals((await big.next("error")).code, "frame_too_large");
  await big.waitClosed();
  await ok.say("still fine");
  assertEquals(text(await ok.next("msg")), "still fine");
});

Deno.test("message size: text over the lowered limit gets too_long; at the limit it is delivered", async () => {
  await using server = await startTestServer({ limits: { maxTextBytes: 100 } });
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.say("x".repeat(101), { ref: "long" });
  const refusal = await ana.next("error");
  assertEquals([refusal.code, refusal.ref], ["too_long", "long"]);
  assertMatch(String(refusal.message), /longer than 100 bytes/);
  await ana.say("y".repeat(100));
  assertEquals(text(await ana.next("msg")), "y".repeat(100));
});

Deno.test("limitsFromFlags maps every limit flag, and leaves the defaults alone without them", () => {
  const base = { host: "", port: 0, maxUsers: 1, presenceLimit: 1, db: ":memory:" } as const;
  const flags = {
    ...base,
    web: false,
    webPort: 0,
    discovery: false,
    discoveryPort: 0,
    quiet: true,
  };
  assertEquals(limitsFromFlags(flags as ServeFlags), defaultSessionLimits);
  assertEquals(
    limitsFromFlags({
      ...flags,
      helloTimeout: 3,
      maxMessageBytes: 500,
      floodBurst: 7,
      floodRate: 9,
      maxOutboxKib: 64,
    } as ServeFlags),
    {
      ...defaultSessionLimits,
      helloTimeoutMs: 3000,
      maxTextBytes: 500,
      floodBurst: 7,
      floodPerSecond: 9,
      maxOutboxBytes: 64 * 1024,
    },
  );
});

Deno.test("serve's limit flags take effect: per-IP, hello deadline, frame and message size, flood control", async () => {
  await using server = await serveOnLoopback([
    ...["--max-connections-per-ip", "3", "--hello-timeout", "1", "--max-frame-bytes", "2000"],
    ...["--max-message-bytes", "50", "--flood-burst", "5", "--flood-rate", "40"],
    ...["--max-outbox-kib", "64"],
  ]);
  const port = server.port;
  await using ana = await TestClient.joined(port, "ana");
  // Message size.
  await ana.say("z".repeat(51), { ref: 1 });
  assertMatch(String((await ana.next("error")).message), /longer than 50 bytes/);
  // Flood control: 25 messages back-to-back all arrive, slowed past the burst of 5 at 40/s.
  const started = performance.now();
  for (let index = 0; index < 25; index++) await ana.say(`m${index}`);
  const seen: string[] = [];
  for (let index = 0; index < 25; index++) seen.push(text(await ana.next("msg")));
  assertEquals(seen, Array.from({ length: 25 }, (_, index) => `m${index}`));
  const tookMs = performance.now() - started;
  assert(tookMs >= 400, `flood control slowed the burst (took ${Math.round(tookMs)} ms)`);
  // Hello deadline: a silent connection is closed after about a second.
  await using silent = await TestClient.connect(port);
  await silent.next("server");
  assertEquals((await silent.next("error", 4000)).code, "not_joined");
  await silent.waitClosed();
  // Per IP: ana and silent's slot (freed) ... open until the limit of 3 is hit.
  await using second = await TestClient.connect(port);
  await second.next("server");
  await using third = await TestClient.connect(port);
  const answer = await third.next(() => true);
  if (answer.type === "server") {
    await using fourth = await TestClient.connect(port);
    assertEquals((await fourth.next(() => true)).code, "server_full");
  } else {
    assertEquals(answer.code, "server_full");
  }
  // Frame size.
  const frame = new Uint8Array(4 + 2001);
  new DataView(frame.buffer).setUint32(0, 2001);
  await ana.sendRaw(frame);
  assertEquals((await ana.next("error")).code, "frame_too_large");
  await ana.waitClosed();
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);
});
