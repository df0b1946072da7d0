/**
 * History you can trust: a kill -9 of a real server process loses no message
 * whose echo was received; a full disk refuses new messages without touching
 * stored ones; retention prunes old messages.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer, TestClient, text } from "./_helpers.ts";
import { serveOnLoopback } from "./fixtures/client_process.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { startRetention } from "../lib/store/retention.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

async function withTempDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-durability-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every history item visible to `client`, oldest first, paging with `before`. */
async function allHistory(client: TestClient): Promise<{ type: string; id: number }[]> {
  const items: { type: string; id: number }[] = [];
  let before: number | undefined;
  for (let page = 0; page < 100; page++) {
    await client.send({ type: "history", limit: 200, ...(before === undefined ? {} : { before }) });
    const answer = await client.next("history");
    const got = answer.items as { type: string; id: number }[];
    items.unshift(...got);
    if (!answer.more || got.length === 0) break;
    before = got[0]!.id;
  }
  return items;
}

Deno.test("kill -9 of the server loses no message whose echo was received", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/history.db`;
    const echoed: number[] = [];
    {
      await using server = await serveOnLoopback(["--db", db, "--quiet"]);
      const port = server.port;
      await using writer = await TestClient.joined(port, "writer");
      // Keep sending until 300 echoes are in, then kill -9 with more in flight.
      let sent = 0;
      for (; sent < 200; sent++) await writer.say(`m${sent}`, { ref: sent });
      for (let received = 0; received < 300; received++) {
        const echo = await writer.next("msg", 5000);
        echoed.push(echo.id as number);
        if (sent < 2000) await writer.say(`m${sent}`, { ref: sent++ });
      }
      server.kill("SIGKILL");
      await server.waitForExit();
      // Echoes that were already on their way still count: collect what arrived.
      await writer.waitClosed();
      for (const echo of writer.all("msg")) {
        if (!echoed.includes(echo.id as number)) echoed.push(echo.id as number);
      }
    }
    await using again = await serveOnLoopback(["--db", db, "--quiet"]);
    const port = again.port;
    await using reader = await TestClient.joined(port, "reader");
    const stored = new Set((await allHistory(reader)).map((item) => item.id));
    const lost = echoed.filter((id) => !stored.has(id));
    assert(echoed.length >= 300, `only ${echoed.length} echoes`);
    assertEquals(
      lost,
      [],
      `${lost.length} of ${echoed.length} echoed messages are missing after kill -9`,
    );
  });
});

Deno.test("a full disk refuses new messages with an error, and what is stored stays intact", async () => {
  await withTempDir(async (dir) => {
    const history = openSqliteHistory(`${dir}/small.db`, { maxSizeBytes: 512 * 1024 });
    await using server = await startTestServer({ history });
    await using ana = await TestClient.joined(server.port, "ana");
    await using bo = await TestClient.joined(server.port, "bo");
    const big = "x".repeat(40_000);
    let refused: Record<string, unknown> | undefined;
    let accepted = 0;
    for (let index = 0; index < 40 && refused === undefined; index++) {
      await ana.say(`${index} ${big}`, { ref: index });
      const answer = await ana.next((m) => m.ref === index);
      if (answer.type === "error") refused = answer;
      else accepted++;
    }
    assert(refused !== undefined, "the small database never filled up");
    assertEquals(refused.code, "storage_failed");
    assert(accepted > 0, "some messages fitted before the disk was full");
    // bo got exactly the accepted messages; the refused one reached nobody.
    await bo.send({ type: "ping", n: "sync" });
    await bo.next("pong");
    assertEquals(bo.all("msg").length, accepted);
    // Big messages: one history frame holds only the newest that fit, so page back.
    const stored = await allHistory(bo);
    assertEquals(
      stored.map((item) => text(item).split(" ")[0]),
      [...Array(accepted).keys()].map(String),
    );
  });
});

Deno.test("retention deletes messages older than --keep-days at start, and keeps the rest", async () => {
  await withTempDir(async (dir) => {
    const history = openSqliteHistory(`${dir}/h.db`);
    const day = 24 * 60 * 60 * 1000;
    const now = Date.UTC(2026, 10, 26, 12);
    for (
      const [age, label] of [[40, "old"], [31, "older than 30"], [29, "recent"], [
        0,
        "today",
      ]] as const
    ) {
      await history.append({
        ts: now - age * day,
        from: "ana",
        to: null,
        kind: "text",
        text: label,
        body: encodeBody(label),
      });
    }
    const retention = startRetention(history, 30, { now: () => now });
    assertEquals(await retention.firstPrune, 2);
    retention.stop();
    assertEquals(
      (await history.page({ viewer: { account: null }, limit: 10 })).items.map((item) => item.text),
      [
        "recent",
        "today",
      ],
    );
    await history.close();
  });
});
