/**
 * Files survive a crash (issue #16): a kill -9 of a real server process in
 * the middle of an upload leaves the files already sent whole, the history
 * file consistent (`PRAGMA integrity_check`), and the interrupted upload
 * resumable from what reached the disk, never visible half-written.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer, TestClient } from "./_helpers.ts";
import { FileStore } from "../lib/store/file_store.ts";
import { serveOnLoopback } from "./fixtures/client_process.ts";
import { fetchFile, randomBytes, sendChunks, sha256Hex, upload } from "./fixtures/raw_transfers.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";
import { DatabaseSync } from "node:sqlite";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { salvageHistory } from "../lib/store/history_salvage.ts";
import { jsonLine } from "../lib/store/history_cli.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

Deno.test("kill -9 during an upload: finished files intact, the partial one resumable, the database consistent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-files-crash-" });
  try {
    const db = `${dir}/history.db`;
    const args = ["--db", db, "--quiet"];
    const ana = generateKeyPair();
    const finished = randomBytes(3 * 1024 * 1024);
    const interrupted = randomBytes(16 * 1024 * 1024);
    const request = {
      type: "upload",
      name: "big.bin",
      size: interrupted.length,
      sha256: sha256Hex(interrupted),
    };
    let finishedId = 0, stored = 0;
    {
      await using server = await serveOnLoopback(args);
      await using client = await TestClient.keyed(server.port, "ana", ana);
      const done = await upload(client, finished, {}, "done.bin");
      assertEquals(done.answer.type, "uploaded", JSON.stringify(done.answer));
      finishedId = done.id;
      await client.send({ ...request, ref: "big" });
      const started = await client.next((m) => m.ref === "big");
      assertEquals(started.type, "upload");
      // Half of it, then kill -9 while chunks are still arriving.
      await sendChunks(client, started, interrupted, 8 * 1024 * 1024);
      stored = Number(
        (await client.next((m) => m.type === "stored" && Number(m.offset) > 0)).offset,
      );
      server.kill("SIGKILL");
      await server.waitForExit();
    }
    // Nothing half-written is visible: the partial lives apart from the stored files.
    const blobs: string[] = [];
    for await (const folder of Deno.readDir(`${dir}/files/blobs`)) {
      for await (const entry of Deno.readDir(`${dir}/files/blobs/${folder.name}`)) {
        blobs.push(entry.name);
      }
    }
    assertEquals(blobs, [sha256Hex(finished)], "only the finished file is stored");
    const check = new DatabaseSync(db, { readOnly: true });
    try {
      assertEquals(check.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
    } finally {
      check.close();
    }
    {
      await using server = await serveOnLoopback(args);
      await using client = await TestClient.keyed(server.port, "ana", ana);
      const back = await fetchFile(client, finishedId);
      assertEquals(sha256Hex(back.bytes), sha256Hex(finished), "the finished file is whole");
      await client.send({ ...request, ref: "again" });
      const resumed = await client.next((m) => m.ref === "again");
      assertEquals(resumed.type, "upload", JSON.stringify(resumed));
      const offset = Number(resumed.offset);
      assert(offset >= stored, `resumes at ${offset}, at least what was acknowledged (${stored})`);
      const sent = await sendChunks(client, resumed, interrupted);
      assertEquals(sent, interrupted.length - offset, "only the rest is sent");
      const done = await client.next(
        (m) => m.ref === "again" && (m.type === "uploaded" || m.type === "error"),
        20_000,
      );
      assertEquals(done.type, "uploaded", JSON.stringify(done));
      const whole = await fetchFile(client, Number(done.id));
      assertEquals(sha256Hex(whole.bytes), request.sha256);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("salvage keeps a file message a file (its bytes stay referred to)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-files-salvage-" });
  try {
    const source = await openSqliteHistory(`${dir}/old.db`, { readInWorker: false });
    const file = { name: "plan.pdf", size: 1234, mime: "application/pdf", sha256: "ab".repeat(32) };
    const stored = await source.append({
      ts: 1,
      from: "ana",
      to: null,
      fromAccount: null,
      kind: "text",
      text: "📎 plan.pdf (1.2 KB)",
      body: encodeBody("📎 plan.pdf (1.2 KB)"),
      file,
    });
    await source.close();
    const report = await salvageHistory(`${dir}/old.db`, `${dir}/new.db`);
    assertEquals(report.copied, 1);
    const target = await openSqliteHistory(`${dir}/new.db`, { readInWorker: false });
    try {
      const found = await target.fileMessage({ account: null }, stored.id);
      assertEquals(found?.file, file);
      assert(await target.fileReferenced(file.sha256));
      assertEquals(jsonLine(found!, "#general").file, file, "lanchat history --json shows it");
    } finally {
      await target.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention takes files with their messages; an upload nobody resumes goes after a day", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-files-retention-" });
  try {
    let clock = Date.now();
    const store = await FileStore.open(`${dir}/files`, { now: () => clock });
    const history = await openSqliteHistory(`${dir}/history.db`, { readInWorker: false });
    await using server = await startTestServer({ history, files: { store } });
    await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
    const kept = await upload(ana, randomBytes(5000), {}, "kept.bin");
    assertEquals(kept.answer.type, "uploaded");
    await ana.send({
      type: "upload",
      name: "left.bin",
      size: 9000,
      sha256: "c".repeat(64),
      ref: "p",
    });
    await ana.next((m) => m.ref === "p");
    ana.close();
    await ana.waitClosed();
    // Two days later, with every message older than a day pruned:
    clock += 2 * 24 * 3600_000;
    assertEquals(await history.prune(clock - 24 * 3600_000), 1);
    const swept = await store.sweep((sha256) => history.fileReferenced(sha256));
    assertEquals(swept, { partials: 1, files: 1 });
    assertEquals(store.storedBytes, 0);
    let left = 0;
    for await (const _ of Deno.readDir(`${dir}/files/partial`)) left++;
    assertEquals(left, 0, "the abandoned upload's bytes and metadata are gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
