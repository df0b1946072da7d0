/**
 * The client core's file transfers against scripted servers (real loopback
 * sockets), for answers a real server gives only in rare states: an upload
 * refused with `rate_limited` and a wait is asked again after it, then
 * resumed at an offset that needs no byte sent; `busy` without a wait and
 * `file_corrupt` fail with the server's words; a server older than version 4
 * has no files, said before anything is sent.
 */
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { withDeadline } from "./_helpers.ts";
import { greeting, type ScriptedPeer, scriptedServer } from "./fixtures/scripted_server.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { ChatSession } from "../lib/client/session.ts";
import type { FileSink, FileSource } from "../lib/client/files/transfer_types.ts";
import { createHash } from "node:crypto";

const key = generateKeyPair();
const limits = { max: 1_000_000, chunk: 65_506, window: 1_048_576 };

function source(size: number): FileSource {
  const bytes = new Uint8Array(size).fill(7);
  return {
    name: "a.bin",
    size,
    mime: "application/octet-stream",
    read: (offset, length) => Promise.resolve(bytes.slice(offset, offset + length)),
  };
}

const nowhere: FileSink = {
  held: 0,
  write: () => Promise.resolve(),
  finish: () => Promise.resolve(),
  abandon: () => Promise.resolve(),
};

async function joinScripted(peer: ScriptedPeer, version: number, files: boolean): Promise<void> {
  await peer.send(greeting({ version }).message);
  await peer.next("hello");
  await peer.send({ type: "welcome", nick: "ana", last: 0, ...(files ? { files: limits } : {}) });
  await peer.send({ type: "users", users: [{ nick: "ana", since: 1 }] });
}

function session(port: number): ChatSession {
  return new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    nick: "ana",
    deviceKey: key,
    onEvent: () => {},
  });
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  return (await assertRejects(() => promise, Error)).message;
}

Deno.test("rate_limited with a wait is asked again after it; busy and file_corrupt fail with the server's words", async () => {
  const asked: number[] = [];
  await using server = scriptedServer(async (peer) => {
    await joinScripted(peer, 4, true);
    const first = (await peer.next("upload"))!;
    asked.push(Date.now());
    await peer.send({
      type: "error",
      code: "rate_limited",
      message: "slow",
      ref: first.ref,
      wait: 150,
    });
    const second = (await peer.next("upload"))!;
    asked.push(Date.now());
    assertEquals({ ...second, ref: undefined }, { ...first, ref: undefined }, "the same request");
    // The server had every byte already (an earlier run): nothing needs sending.
    await peer.send({
      type: "upload",
      upload: "0".repeat(32),
      stream: 3,
      offset: first.size,
      chunk: limits.chunk,
      window: limits.window,
      ref: second.ref,
    });
    await peer.send({ type: "uploaded", stream: 3, id: 42, ref: second.ref });
    const third = (await peer.next("upload"))!;
    await peer.send({
      type: "error",
      code: "busy",
      message: "4 transfers at once on this connection; wait for one to finish",
      ref: third.ref,
    });
    const fourth = (await peer.next("upload"))!;
    await peer.send({ type: "error", code: "file_corrupt", message: "no match", ref: fourth.ref });
    await peer.next("bye");
  });
  const ana = session(server.port);
  try {
    await ana.start();
    const upload = ana.sendFile(source(5000), { channel: "#ops" });
    const result = await withDeadline(upload.done, 5000, "the retried upload");
    assertEquals(result, {
      id: 42,
      sha256: createHash("sha256").update(new Uint8Array(5000).fill(7)).digest("hex"),
    });
    assertEquals(upload.progress.bytesOnWire, 0, "the server had it all");
    assert(asked[1]! - asked[0]! >= 140, `asked again after ${asked[1]! - asked[0]!} ms`);
    assertEquals(
      await rejection(ana.sendFile(source(10)).done),
      "4 transfers at once on this connection; wait for one to finish",
    );
    const corrupt = await rejection(ana.sendFile(source(10)).done);
    assert(corrupt.includes("damaged") && corrupt.includes("Send it again"), corrupt);
  } finally {
    await ana.quit();
  }
  const sent = server.peers[0]!.sent.filter((message) => message.type === "upload");
  assertEquals(sent[0]?.channel, "#ops");
  assertEquals(sent[0]?.name, "a.bin");
  assertEquals(sent[0]?.size, 5000);
});

Deno.test("a server older than version 4 has no files: sending, fetching and listing say so, nothing is sent", async () => {
  await using server = scriptedServer(async (peer) => {
    await joinScripted(peer, 3, false);
    await peer.next("bye");
  });
  const ana = session(server.port);
  try {
    await ana.start();
    assertEquals(ana.fileLimits, null);
    const older = "runs an older lanchat without file transfer (protocol version 3)";
    assert((await rejection(ana.sendFile(source(10)).done)).includes(older));
    assert((await rejection(ana.getFile(5, nowhere).done)).includes(older));
    assert((await rejection(ana.listFiles())).includes(older));
  } finally {
    await ana.quit();
  }
  const types = server.peers[0]!.sent.map((message) => message.type);
  assert(!types.some((type) => ["upload", "get", "files"].includes(type)), types.join(","));
});
