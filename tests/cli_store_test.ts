/**
 * The history file as an operator meets it (issue #12, defects 7, 8 and 9):
 * real `lanchat serve` and `lanchat history` processes on real SQLite files
 * in a temporary folder. A second server on the same file is refused naming
 * the first; a damaged file is refused at start with what to do, and
 * `history --salvage` copies what can be read; `--max-db-mib` stops taking
 * messages before the file passes it.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { TestClient } from "./_helpers.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { overwritePages } from "./fixtures/history_damage.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_store_cli_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Posts `count` messages of `text` through a real client, waiting for each echo. */
async function post(port: number, nick: string, texts: string[]): Promise<void> {
  await using client = await TestClient.joined(port, nick);
  for (const text of texts) {
    await client.say(text);
    await client.next("msg");
  }
}

Deno.test("a second serve on the same --db is refused, naming the first one's PID; the first keeps serving", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/history.db`;
    await using first = await serveOnLoopback(["--db", db]);
    await using second = lanchat([
      ...["serve", "--host", "127.0.0.1", "--port", "0", "--no-web", "--no-discovery"],
      ...["--db", db],
    ]);
    const status = await second.waitForExit(20_000);
    assertEquals(status.code, 1, second.output().join("\n"));
    const said = second.output().join("\n");
    assertMatch(said, new RegExp(`in use by another lanchat serve \\(PID ${first.pid}`));
    assertMatch(said, /pass --db PATH/);
    await post(first.port, "ana", ["still mine"]);
  });
});

Deno.test("serve refuses a damaged --db with what to do; history --salvage copies what can be read into a file serve takes", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/history.db`;
    // Filled through the store itself (fast), as a server that ran a while would have.
    const writer = openSqliteHistory(db);
    await Promise.all(Array.from({ length: 2000 }, (_, index) => {
      const text = `line ${index}`;
      return writer.append({
        ts: 1_000 + index,
        from: "ana",
        to: null,
        kind: "text",
        text,
        body: encodeBody(text),
      });
    }));
    await writer.close();
    overwritePages(db, 24, 43); // past the root pages of the schema: message data and index pages
    await using damaged = lanchat([
      ...["serve", "--host", "127.0.0.1", "--port", "0", "--no-web", "--no-discovery"],
      ...["--db", db],
    ]);
    assertEquals((await damaged.waitForExit(20_000)).code, 1, damaged.output().join("\n"));
    const said = damaged.output().join("\n");
    assertMatch(said, /is damaged/);
    assertMatch(said, /--salvage/);
    assert(!/listening/.test(said), "no banner for a damaged file");

    const rescued = `${dir}/rescued.db`;
    await using salvage = lanchat(["history", "--db", db, "--salvage", rescued]);
    assertEquals((await salvage.waitForExit(60_000)).code, 0, salvage.output().join("\n"));
    const report = salvage.output().join("\n");
    const copied = Number(/copied (\d+) messages/.exec(report)?.[1] ?? NaN);
    assert(copied > 0 && copied < 2000, `some, not all, were readable: ${report}`);

    await using revived = await serveOnLoopback(["--db", rescued]);
    await post(revived.port, "bo", ["after the rescue"]);
  });
});

Deno.test("--max-db-mib stops taking messages before the file passes it, says why, and keeps what is stored", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/history.db`;
    await using server = await serveOnLoopback(["--db", db, "--max-db-mib", "1"]);
    await using ana = await TestClient.joined(server.port, "ana");
    const text = "y".repeat(40_000);
    let refusal: Record<string, unknown> | null = null;
    let stored = 0;
    // Bounded: 1 MiB holds fewer than 60 such messages.
    for (let index = 0; index < 120 && refusal === null; index++) {
      await ana.say(`${index} ${text}`);
      const answer = await ana.next((message) =>
        message.type === "msg" || message.type === "error"
      );
      if (answer.type === "error") refusal = answer;
      else stored++;
    }
    assert(refusal !== null, `refused after ${stored} messages`);
    assertEquals(refusal.code, "storage_failed");
    assertMatch(String(refusal.message), /size limit|not sent/);
    assert(stored >= 5, `${stored} stored before the cap`);
    const sizeMib = (await Deno.stat(db)).size / (1024 * 1024);
    assert(sizeMib <= 1.5, `the file is ${sizeMib.toFixed(2)} MiB`);
    assert(
      server.output().some((line) => /size limit|--max-db-mib/.test(line)),
      server.output().join("\n"),
    );
    await ana.send({ type: "history", limit: 5 });
    const page = await ana.next("history");
    // A page fits one frame: of 40 KB messages, one comes, and more are said to wait.
    assert((page.items as unknown[]).length >= 1, "stored messages are still served");
    assertEquals(page.more, true);
  });
});
