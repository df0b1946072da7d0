/**
 * The client core's file transfers (lib/client/files/ through ChatSession,
 * PROTOCOL.md section 10) against a real server with a real file store over
 * loopback TCP: upload and download byte for byte, the limit refused before
 * a byte is read, a guest refused, a download resumed from held bytes (and
 * one whose held bytes are wrong caught by the SHA-256), chat overtaking an
 * upload, cancel, a room with a password, and an upload resumed after the
 * connection is cut mid-way sending only what the server does not have.
 */
import { assert, assertEquals, assertRejects } from "./_assert.ts";

/** The message `promise` rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<string> {
  return (await assertRejects(() => promise, Error)).message;
}
import { withDeadline } from "./_helpers.ts";
import { randomBytes, roomWithFiles, sha256Hex } from "./fixtures/raw_transfers.ts";
import { CuttingProxy } from "./fixtures/cutting_proxy.ts";
import { untilEvent } from "./fixtures/chat_device.ts";
import { generateKeyPair, type KeyPair } from "../lib/wire/identity.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { ChatSession, type SessionEvent, type SessionOptions } from "../lib/client/session.ts";
import { nodeSha256 } from "../lib/client/terminal/file_disk.ts";
import type { FileSink, FileSource, TransferProgress } from "../lib/client/files/transfer_types.ts";
import type { FileInfo } from "../lib/wire/protocol.ts";
import { transferWindowBytes } from "../lib/wire/file_chunk.ts";
import { testRoomKey } from "./_helpers.ts";

const keys: Record<string, KeyPair> = { ana: generateKeyPair(), bob: generateKeyPair() };

/** A file in memory that counts what was read of it. */
function memorySource(bytes: Uint8Array, name = "notes.bin"): FileSource & { readBytes: number } {
  const source = {
    name,
    size: bytes.length,
    mime: "application/octet-stream",
    readBytes: 0,
    read(offset: number, length: number) {
      const part = bytes.slice(offset, offset + length);
      source.readBytes += part.length;
      return Promise.resolve(part);
    },
  };
  return source;
}

/** A sink in memory, optionally holding a first part already; records how it ended. */
function memorySink(held: Uint8Array = new Uint8Array(0)) {
  const parts: Uint8Array[] = held.length > 0 ? [held] : [];
  let size = held.length;
  const sink: FileSink & {
    bytes(): Uint8Array;
    ended: "finished" | "kept" | "dropped" | null;
    began: FileInfo | null;
  } = {
    get held() {
      return size;
    },
    ended: null,
    began: null,
    bytes() {
      const all = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        all.set(part, at);
        at += part.length;
      }
      return all;
    },
    begin(file) {
      sink.began = file;
      return Promise.resolve();
    },
    write(offset, data) {
      assertEquals(offset, size, "writes come in order");
      parts.push(data.slice());
      size += data.length;
      return Promise.resolve();
    },
    readHeld(offset, length) {
      return Promise.resolve(sink.bytes().slice(offset, offset + length));
    },
    finish() {
      sink.ended = "finished";
      return Promise.resolve();
    },
    abandon(keep) {
      sink.ended = keep ? "kept" : "dropped";
      return Promise.resolve();
    },
  };
  return sink;
}

interface Device extends AsyncDisposable {
  session: ChatSession;
  events: SessionEvent[];
}

async function device(
  port: number,
  nick: string,
  key: KeyPair | undefined,
  extra: Partial<SessionOptions> = {},
): Promise<Device> {
  const events: SessionEvent[] = [];
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    nick,
    ...(key === undefined ? {} : { deviceKey: key }),
    sha256: nodeSha256,
    onEvent: (event) => events.push(event),
    ...extra,
  });
  await session.start();
  return { session, events, [Symbol.asyncDispose]: async () => void await session.quit() };
}

Deno.test("a file sent by one account arrives byte for byte at another, as a message with its file", async () => {
  await using room = await roomWithFiles();
  await using ana = await device(room.server.port, "ana", keys.ana);
  await using bob = await device(room.server.port, "bob", keys.bob);
  assertEquals(ana.session.fileLimits?.max, 64 * 1024 * 1024, "welcome.files is known");
  const bytes = randomBytes(3 * 1024 * 1024 + 4321);
  const source = memorySource(bytes);
  const states: string[] = [];
  const upload = ana.session.sendFile(source);
  upload.onProgress((progress) => {
    if (states.at(-1) !== progress.state) states.push(progress.state);
  });
  const sent = await withDeadline(upload.done, 20_000, "the upload");
  assertEquals(sent.sha256, sha256Hex(bytes));
  assertEquals(upload.id, sent.id);
  assertEquals(upload.progress.bytesOnWire, bytes.length, "every byte went once");
  assertEquals(upload.progress.state, "done");
  assertEquals(states.slice(0, 2), ["hashing", "waiting"]);
  assert(states.includes("sending"), states.join(","));
  assertEquals(source.readBytes, 2 * bytes.length, "read once to hash, once to send");

  const message = await untilEvent(
    bob.events,
    (event) => event.type === "message" && event.message.id === sent.id ? event : undefined,
    "bob sees the file message",
  );
  assertEquals(message.file?.name, "notes.bin");
  assertEquals(message.file?.size, bytes.length);
  assertEquals(message.file?.sha256, sha256Hex(bytes));

  const sink = memorySink();
  const download = bob.session.getFile(sent.id, sink);
  const got = await withDeadline(download.done, 20_000, "the download");
  assertEquals(got, { id: sent.id, sha256: sha256Hex(bytes) });
  assertEquals(sink.ended, "finished");
  assertEquals(sink.began?.name, "notes.bin");
  assertEquals(sha256Hex(sink.bytes()), sha256Hex(bytes));
  assertEquals(download.name, "notes.bin");
  assertEquals(download.progress.bytesOnWire, bytes.length);

  const listed = await bob.session.listFiles();
  const item = listed.items.find((entry) => entry.message.id === sent.id);
  assertEquals(item?.file?.sha256, sha256Hex(bytes), "listFiles decodes items with their file");
  assert(item?.text.startsWith("📎 notes.bin"), item?.text);
});

Deno.test("a file over the server's limit is refused before a byte of it is read, with both sizes", async () => {
  await using room = await roomWithFiles(1_000_000);
  await using ana = await device(room.server.port, "ana", keys.ana);
  const source = memorySource(new Uint8Array(3_100_000), "big.iso");
  const upload = ana.session.sendFile(source);
  const problem = await rejection(upload.done);
  assertEquals(problem, 'this server takes files up to 1.0 MB; "big.iso" is 3.1 MB');
  assertEquals(source.readBytes, 0);
  assertEquals(upload.progress.state, "failed");
  assertEquals(upload.progress.problem, problem);
  const empty = ana.session.sendFile(memorySource(new Uint8Array(0), "empty.txt"));
  assert((await rejection(empty.done)).includes('"empty.txt" is empty'));
});

Deno.test("a guest has no file limits and is told that only accounts send files; it may fetch #general's", async () => {
  await using room = await roomWithFiles();
  await using ana = await device(room.server.port, "ana", keys.ana);
  await using guest = await device(room.server.port, "visitor", undefined);
  assertEquals(guest.session.fileLimits, null);
  const refused = guest.session.sendFile(memorySource(randomBytes(1000)));
  assert((await rejection(refused.done)).includes("only accounts send files"));
  const bytes = randomBytes(200_000);
  const { id } = await ana.session.sendFile(memorySource(bytes)).done;
  const sink = memorySink();
  await withDeadline(guest.session.getFile(id, sink).done, 10_000, "the guest's download");
  assertEquals(sha256Hex(sink.bytes()), sha256Hex(bytes));
  const missing = guest.session.getFile(id + 1000, memorySink());
  await rejection(missing.done);
  assertEquals(missing.progress.state, "failed");
});

Deno.test("a download resumes from the bytes a sink holds, and a wrong held part fails the SHA-256", async () => {
  await using room = await roomWithFiles();
  await using ana = await device(room.server.port, "ana", keys.ana);
  const bytes = randomBytes(2 * 1024 * 1024 + 17);
  const { id } = await ana.session.sendFile(memorySource(bytes)).done;
  const half = 1024 * 1024 + 5;

  const resumed = memorySink(bytes.slice(0, half));
  const download = ana.session.getFile(id, resumed);
  await withDeadline(download.done, 10_000, "the resumed download");
  assertEquals(download.progress.bytesOnWire, bytes.length - half, "only the rest travelled");
  assertEquals(sha256Hex(resumed.bytes()), sha256Hex(bytes));
  assertEquals(resumed.ended, "finished");

  const wrong = bytes.slice(0, half);
  wrong[10] = wrong[10]! ^ 0xff;
  const damaged = memorySink(wrong);
  const failing = ana.session.getFile(id, damaged);
  const problem = await rejection(failing.done);
  assert(problem.includes("arrived damaged"), problem);
  assertEquals(damaged.ended, "dropped", "a file that does not match is not kept");
});

Deno.test("chat overtakes a file being sent: a message sent mid-upload is delivered before the upload ends", async () => {
  await using room = await roomWithFiles();
  await using ana = await device(room.server.port, "ana", keys.ana);
  const bytes = randomBytes(24 * 1024 * 1024);
  // The file's reads past 8 MiB (after hashing, while sending) wait until the chat message is
  // through: the upload is surely under way, whatever the machine's speed.
  const source = memorySource(bytes);
  const chatThrough = Promise.withResolvers<void>();
  const sending = Promise.withResolvers<void>();
  let hashed = false;
  const read = source.read.bind(source);
  source.read = async (offset: number, length: number) => {
    if (offset + length >= bytes.length) hashed = true;
    if (hashed && offset >= 8 * 1024 * 1024) {
      sending.resolve();
      await chatThrough.promise;
    }
    return await read(offset, length);
  };
  const upload = ana.session.sendFile(source);
  await withDeadline(sending.promise, 20_000, "the upload to be half-way");
  const ref = await ana.session.say("still here");
  await untilEvent(
    ana.events,
    (event) => event.type === "delivered" && event.ref === ref ? true : undefined,
    "the chat message",
  );
  assert(upload.progress.state !== "done", "the message did not wait for the whole file");
  chatThrough.resolve();
  await withDeadline(upload.done, 30_000, "the upload");
});

Deno.test("cancel stops an upload and a download; their done rejects with 'cancelled'", async () => {
  await using room = await roomWithFiles();
  await using ana = await device(room.server.port, "ana", keys.ana);
  const bytes = randomBytes(16 * 1024 * 1024);
  const upload = ana.session.sendFile(memorySource(bytes));
  const sending = Promise.withResolvers<void>();
  upload.onProgress((progress) => progress.state === "sending" && sending.resolve());
  await withDeadline(sending.promise, 10_000, "the upload to start");
  upload.cancel();
  assert((await rejection(upload.done)).includes("cancelled"));
  assertEquals(upload.progress.state, "cancelled");

  const small = randomBytes(4 * 1024 * 1024);
  const { id } = await ana.session.sendFile(memorySource(small)).done;
  const sink = memorySink();
  const download = ana.session.getFile(id, sink);
  const receiving = Promise.withResolvers<void>();
  download.onProgress((progress) => progress.state === "receiving" && receiving.resolve());
  await withDeadline(receiving.promise, 10_000, "the download to start");
  download.cancel(false);
  assert((await rejection(download.done)).includes("cancelled"));
  // The session is still good for more.
  const again = memorySink();
  await withDeadline(ana.session.getFile(id, again).done, 10_000, "a download after a cancel");
  assertEquals(sha256Hex(again.bytes()), sha256Hex(small));
});

Deno.test("in a room with a password, files go sealed both ways and chat still flows", async () => {
  const key = await testRoomKey("correct horse");
  await using room = await roomWithFiles(64 * 1024 * 1024, { roomKey: key });
  const roomKey = () => Promise.resolve(key.psk);
  await using ana = await device(room.server.port, "ana", keys.ana, { roomKey });
  await using bob = await device(room.server.port, "bob", keys.bob, { roomKey });
  assert(ana.session.encrypted);
  const bytes = randomBytes(5 * 1024 * 1024 + 3);
  const upload = ana.session.sendFile(memorySource(bytes));
  const refs = [await ana.session.say("one"), await ana.session.say("two")];
  const { id } = await withDeadline(upload.done, 20_000, "the sealed upload");
  for (const ref of refs) {
    await untilEvent(ana.events, (e) => e.type === "delivered" && e.ref === ref || undefined);
  }
  const sink = memorySink();
  const download = bob.session.getFile(id, sink);
  await bob.session.say("while it comes");
  await withDeadline(download.done, 20_000, "the sealed download");
  assertEquals(sha256Hex(sink.bytes()), sha256Hex(bytes));
});

Deno.test("an upload cut mid-way resumes after the reconnect without sending again what the server has", async () => {
  await using room = await roomWithFiles();
  const size = 6 * 1024 * 1024;
  await using proxy = new CuttingProxy(
    room.server.port,
    (index) => index === 0 ? { direction: "up", afterBytes: 3 * 1024 * 1024, action: "cut" } : null,
  );
  await using ana = await device(proxy.port, "ana", keys.ana, {
    reconnectDelaysMs: [50, 100, 200],
  });
  const bytes = randomBytes(size);
  const upload = ana.session.sendFile(memorySource(bytes));
  const seen: TransferProgress[] = [];
  upload.onProgress((progress) => seen.push(progress));
  const { id } = await withDeadline(upload.done, 30_000, "the resumed upload");
  assertEquals(proxy.connections.length, 2, "one reconnect");
  assert(proxy.connections[0]!.acted, "the first connection was cut");
  const first = proxy.connections[0]!.up, second = proxy.connections[1]!.up;
  assert(second < size, `the second connection carried ${second} bytes, less than the file`);
  // Counted: both connections together carried the file once, plus framing (17 bytes a chunk), the
  // sessions' JSON, and what the cut lost on its way (the reset drops what the server had not read
  // yet: at most the window, 4 MiB, that the client keeps in flight).
  const extra = first + second - size;
  assert(
    extra < size * 0.0003 + transferWindowBytes + 8192,
    `${extra} bytes more than the file were sent`,
  );
  assert(
    seen.some((progress) => progress.state === "waiting" && progress.bytesOnWire > 0),
    "it waited for the reconnect",
  );
  await using bob = await device(room.server.port, "bob", keys.bob);
  const sink = memorySink();
  await withDeadline(bob.session.getFile(id, sink).done, 20_000, "the download");
  assertEquals(sha256Hex(sink.bytes()), sha256Hex(bytes));
});

Deno.test("a download cut mid-way resumes after the reconnect from the bytes already written", async () => {
  await using room = await roomWithFiles();
  const size = 6 * 1024 * 1024;
  await using ana = await device(room.server.port, "ana", keys.ana);
  const bytes = randomBytes(size);
  const { id } = await ana.session.sendFile(memorySource(bytes)).done;
  await using proxy = new CuttingProxy(
    room.server.port,
    (index) =>
      index === 0 ? { direction: "down", afterBytes: 3 * 1024 * 1024, action: "cut" } : null,
  );
  await using bob = await device(proxy.port, "bob", keys.bob, { reconnectDelaysMs: [50, 100] });
  const sink = memorySink();
  const download = bob.session.getFile(id, sink);
  await withDeadline(download.done, 30_000, "the resumed download");
  assertEquals(sha256Hex(sink.bytes()), sha256Hex(bytes));
  assert(proxy.connections[0]!.acted, "the first connection was cut");
  assert(proxy.connections[1]!.down < size, "the second connection carried only the rest");
  assertEquals(download.progress.bytesOnWire, size, "no byte came twice");
});
