/**
 * The server's side of file transfer (PROTOCOL.md section 10), spoken by raw
 * test clients over real sockets to a real server with a real file store in a
 * temporary folder: uploads in chunks under the window, completion into a
 * file message, downloads paced by `got`, resume, the checks made before any
 * byte moves, and who may fetch what.
 */
import { assert, assertEquals } from "./_assert.ts";
import { type Received, TestClient } from "./_helpers.ts";
import { generateKeyPair, type KeyPair } from "../lib/wire/identity.ts";
import { encodeChunk, transferWindowBytes } from "../lib/wire/file_chunk.ts";
import {
  fetchFile,
  randomBytes,
  roomWithFiles,
  sendChunks,
  sha256Hex,
  upload,
} from "./fixtures/raw_transfers.ts";

const keys: Record<string, KeyPair> = {
  ana: generateKeyPair(),
  bob: generateKeyPair(),
  cy: generateKeyPair(),
};

Deno.test("an upload in chunks becomes a file message that another account downloads byte for byte", async () => {
  await using room = await roomWithFiles();
  const port = room.server.port;
  await using ana = await TestClient.keyed(port, "ana", keys.ana!);
  await using bob = await TestClient.keyed(port, "bob", keys.bob!);
  const welcome = ana.received.find((m) => m.type === "welcome")!;
  assertEquals((welcome.files as { max: number }).max, 64 * 1024 * 1024, "welcome says the limit");
  const bytes = randomBytes(3 * 1024 * 1024 + 12_345);
  const { id, answer } = await upload(ana, bytes);
  assertEquals(answer.type, "uploaded", JSON.stringify(answer));
  const seen = await bob.next((m) => m.type === "msg" && m.id === id);
  const file = seen.file as { name: string; size: number; sha256: string; mime: string };
  assertEquals(file.name, "notes.bin");
  assertEquals(file.size, bytes.length);
  assertEquals(file.sha256, sha256Hex(bytes));
  assert(
    new TextDecoder().decode(Uint8Array.fromBase64(String(seen.body))).startsWith("📎 notes.bin"),
    "the body is a line for clients that do not know files",
  );
  const fetched = await fetchFile(bob, id);
  assertEquals(sha256Hex(fetched.bytes), file.sha256);
  // A file is a message: history and search (by its name) have it, with its file.
  await bob.send({ type: "search", q: "notes.bin", ref: "s" });
  const found = await bob.next((m) => m.ref === "s");
  assertEquals((found.items as Received[]).map((item) => [item.id, item.file]), [[id, file]]);
  await bob.send({ type: "history", ref: "h" });
  const page = await bob.next((m) => m.ref === "h");
  assertEquals((page.items as Received[]).at(-1)?.file, file);
  // Resume a download from the middle: only the rest comes.
  const half = Math.floor(bytes.length / 2);
  const rest = await fetchFile(bob, id, half);
  assertEquals(rest.bytes.length, bytes.length - half);
  assertEquals(sha256Hex(rest.bytes), sha256Hex(bytes.subarray(half)));
});

Deno.test("a file over the limit is refused before any byte is sent, with the limit in words", async () => {
  await using room = await roomWithFiles(1024 * 1024);
  await using ana = await TestClient.keyed(room.server.port, "ana", keys.ana!);
  await ana.send({
    type: "upload",
    name: "big.iso",
    size: 3 * 1024 * 1024,
    sha256: "0".repeat(64),
    ref: "big",
  });
  const refusal = await ana.next((m) => m.ref === "big");
  assertEquals(refusal.type, "error");
  assertEquals(refusal.code, "file_too_large");
  assert(String(refusal.message).includes("1 MiB"), String(refusal.message));
  assert(String(refusal.message).includes("3 MiB"), String(refusal.message));
});

Deno.test("a guest cannot send files, and nobody fetches a file they may not see by guessing", async () => {
  await using room = await roomWithFiles();
  const port = room.server.port;
  await using ana = await TestClient.keyed(port, "ana", keys.ana!);
  await using bob = await TestClient.keyed(port, "bob", keys.bob!);
  await using cy = await TestClient.keyed(port, "cy", keys.cy!);
  await using guest = await TestClient.joined(port, "visitor");
  await ana.send({ type: "join", channel: "#ops", ref: "j" });
  await ana.next((m) => m.ref === "j");
  const inChannel = await upload(ana, randomBytes(100_000), { channel: "#ops" }, "plan.txt");
  assertEquals(inChannel.answer.type, "uploaded");
  const direct = await upload(ana, randomBytes(50_000), { to: "bob" }, "for-bob.txt");
  assertEquals(direct.answer.type, "uploaded");
  const general = await upload(ana, randomBytes(10_000), {}, "all.txt");
  assertEquals(general.answer.type, "uploaded");
  // bob is no member of #ops; cy is not in ana's and bob's conversation; the guest sees #general.
  for (
    const [client, id] of [
      [bob, inChannel.id],
      [cy, inChannel.id],
      [cy, direct.id],
      [guest, inChannel.id],
      [guest, direct.id],
      [cy, 999_999_999],
    ] as const
  ) {
    const { answer } = await fetchFile(client, id);
    assertEquals(answer.code, "no_such_file", `id ${id}: ${JSON.stringify(answer)}`);
  }
  assertEquals((await fetchFile(bob, direct.id)).bytes.length, 50_000);
  assertEquals((await fetchFile(guest, general.id)).bytes.length, 10_000);
  // Listing: not a member, not listed.
  await bob.send({ type: "files", channel: "#ops", ref: "l" });
  assertEquals((await bob.next((m) => m.ref === "l")).code, "not_member");
  await ana.send({ type: "files", channel: "#ops", ref: "l2" });
  const listed = await ana.next((m) => m.ref === "l2");
  assertEquals((listed.items as Received[]).map((item) => item.id), [inChannel.id]);
  // A guest may not upload.
  await guest.send({ type: "upload", name: "x", size: 5, sha256: "a".repeat(64), ref: "g" });
  assertEquals((await guest.next((m) => m.ref === "g")).code, "bad_message");
  // Files to a guest are refused (files go to accounts).
  await ana.send({
    type: "upload",
    name: "x",
    size: 5,
    sha256: "a".repeat(64),
    to: "visitor",
    ref: "v",
  });
  assertEquals((await ana.next((m) => m.ref === "v")).code, "no_such_user");
});

Deno.test("an upload cut off half-way resumes from what the server has, on a new connection", async () => {
  await using room = await roomWithFiles();
  const port = room.server.port;
  const bytes = randomBytes(4 * 1024 * 1024);
  const sha256 = sha256Hex(bytes);
  const request = { type: "upload", name: "half.bin", size: bytes.length, sha256 };
  const first = await TestClient.keyed(port, "ana", keys.ana!);
  await first.send({ ...request, ref: "a" });
  const started = await first.next((m) => m.ref === "a");
  assertEquals(started.offset, 0);
  const sentFirst = await sendChunks(first, started, bytes, 2 * 1024 * 1024);
  // Wait until the server says it has it, then drop the connection.
  await first.next((m) => m.type === "stored" && Number(m.offset) >= 1024 * 1024);
  first.close();
  await using second = await TestClient.keyed(port, "ana", keys.ana!);
  await second.send({ ...request, ref: "b" });
  const resumed = await second.next((m) => m.ref === "b");
  assertEquals(resumed.upload, started.upload, "the same upload");
  const offset = Number(resumed.offset);
  assert(offset >= 1024 * 1024 && offset <= sentFirst, `resumes at ${offset}`);
  const sentSecond = await sendChunks(second, resumed, bytes);
  assertEquals(sentSecond, bytes.length - offset, "only what was missing is sent again");
  const done = await second.next((m) => m.ref === "b" && m.type === "uploaded", 10_000);
  const { bytes: back } = await fetchFile(second, Number(done.id));
  assertEquals(sha256Hex(back), sha256);
});

Deno.test("bytes that do not match the announced SHA-256 are dropped with file_corrupt", async () => {
  await using room = await roomWithFiles();
  await using ana = await TestClient.keyed(room.server.port, "ana", keys.ana!);
  const bytes = randomBytes(200_000);
  await ana.send({
    type: "upload",
    name: "liar.bin",
    size: bytes.length,
    sha256: sha256Hex(randomBytes(10)),
    ref: "c",
  });
  const answer = await ana.next((m) => m.ref === "c");
  await sendChunks(ana, answer, bytes);
  const refusal = await ana.next((m) => m.ref === "c" && m.type === "error", 5000);
  assertEquals(refusal.code, "file_corrupt");
  assertEquals(ana.received.filter((m) => m.type === "msg").length, 0, "no file message");
});

Deno.test("the same file sent twice is stored once; a chunk out of place is refused", async () => {
  await using room = await roomWithFiles();
  await using ana = await TestClient.keyed(room.server.port, "ana", keys.ana!);
  const bytes = randomBytes(300_000);
  const one = await upload(ana, bytes, {}, "a.bin");
  const two = await upload(ana, bytes, {}, "b.bin");
  assertEquals(one.answer.type, "uploaded");
  assertEquals(two.answer.type, "uploaded");
  assert(one.id !== two.id, "two messages");
  let blobs = 0;
  for await (const folder of Deno.readDir(`${room.folder}/blobs`)) {
    for await (const _ of Deno.readDir(`${room.folder}/blobs/${folder.name}`)) blobs++;
  }
  assertEquals(blobs, 1, "one copy of the bytes");
  await ana.send({
    type: "upload",
    name: "c.bin",
    size: 1000,
    sha256: sha256Hex(new Uint8Array(1000)),
    ref: "o",
  });
  const answer = await ana.next((m) => m.ref === "o");
  await ana.sendPayload(encodeChunk(Number(answer.stream), 500, new Uint8Array(10)));
  assertEquals((await ana.next((m) => m.ref === "o" && m.type === "error")).code, "bad_message");
});

Deno.test("chat overtakes a download: a message reaches a downloading reader within milliseconds", async () => {
  await using room = await roomWithFiles();
  const port = room.server.port;
  await using ana = await TestClient.keyed(port, "ana", keys.ana!);
  await using bob = await TestClient.keyed(port, "bob", keys.bob!);
  const bytes = randomBytes(24 * 1024 * 1024);
  const { id } = await upload(ana, bytes);
  const ref = "slow";
  await bob.send({ type: "get", id, ref });
  const answer = await bob.next((m) => m.ref === ref);
  // bob reads the first chunks but never acknowledges: the server stops at the window.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const chunks = bob.received.filter((m) => m.type === "data" && m.stream === answer.stream);
  const held = chunks.reduce((sum, m) => sum + (m.data as Uint8Array).length, 0);
  assert(held <= transferWindowBytes, `at most a window unacknowledged, got ${held}`);
  const started = performance.now();
  await ana.say("still there?");
  await bob.next((m) => m.type === "msg" && m.from === "ana" && m.file === undefined);
  const waitedMs = performance.now() - started;
  assert(waitedMs < 200, `the message took ${waitedMs} ms`);
  assert(!bob.received.some((m) => m.type === "left"), "nobody dropped as slow");
});

Deno.test("uploads under way reserve their room: a second one that would not fit is refused at once", async () => {
  await using room = await roomWithFiles(64 * 1024 * 1024, {}, { maxTotalBytes: 10_000_000 });
  await using ana = await TestClient.keyed(room.server.port, "ana", keys.ana!);
  const first = randomBytes(6_000_000);
  await ana.send({
    type: "upload",
    name: "a.bin",
    size: first.length,
    sha256: sha256Hex(first),
    ref: "a",
  });
  const answer = await ana.next((m) => m.ref === "a");
  assertEquals(answer.type, "upload");
  await ana.send({
    type: "upload",
    name: "b.bin",
    size: 6_000_000,
    sha256: "b".repeat(64),
    ref: "b",
  });
  const refusal = await ana.next((m) => m.ref === "b");
  assertEquals(refusal.code, "store_full", JSON.stringify(refusal));
  // The first one finishes; what it took counts from then on.
  await sendChunks(ana, answer, first);
  assertEquals(
    (await ana.next((m) => m.ref === "a" && m.type === "uploaded", 10_000)).type,
    "uploaded",
  );
  await ana.send({
    type: "upload",
    name: "c.bin",
    size: 5_000_000,
    sha256: "c".repeat(64),
    ref: "c",
  });
  assertEquals((await ana.next((m) => m.ref === "c")).code, "store_full");
});

Deno.test("stray data payloads are refused: before joining, and for no upload of the connection", async () => {
  await using room = await roomWithFiles();
  await using stranger = await TestClient.connect(room.server.port);
  await stranger.next("server");
  await stranger.sendPayload(encodeChunk(1, 0, new Uint8Array(100)));
  assertEquals((await stranger.next("error")).code, "not_joined");
  await using ana = await TestClient.keyed(room.server.port, "ana", keys.ana!);
  await ana.sendPayload(encodeChunk(7, 0, new Uint8Array(100)));
  const refusal = await ana.next("error");
  assertEquals(refusal.code, "bad_message");
  assert(String(refusal.message).includes("no upload"), String(refusal.message));
  // A payload too short to be a chunk is refused too, and the connection stays usable.
  await ana.sendPayload(new Uint8Array([0, 1, 2]));
  assertEquals((await ana.next((m) => m.type === "error" && m !== refusal)).code, "bad_message");
  await ana.say("still here", { ref: "s" });
  assertEquals((await ana.next((m) => m.ref === "s")).type, "msg");
});
