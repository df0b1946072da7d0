/**
 * lib/client/connection.ts and file data payloads (PROTOCOL.md section
 * 10.2), over a channel that writes only when the test lets it: a JSON
 * message overtakes chunks waiting to be written, data goes out binary, each
 * payload of a secure session is sealed in write order (the server opens
 * them all), and chunks that arrive reach the data handler in order with the
 * messages around them.
 */
import { assert, assertEquals } from "./_assert.ts";
import { Connection } from "../lib/client/connection.ts";
import type { ChannelHandlers, PayloadChannel } from "../lib/client/channel.ts";
import { decodeChunk, encodeChunk, type FileChunk } from "../lib/wire/file_chunk.ts";
import { encodePayload } from "../lib/wire/protocol.ts";
import { HandshakeState } from "../lib/wire/noise.ts";
import { noisePrologue } from "../lib/wire/room_key.ts";

/** A channel whose every write waits until the test releases it. */
class GatedChannel implements PayloadChannel {
  readonly writes: Array<{ payload: Uint8Array; sealed: boolean }> = [];
  readonly #gates: Array<() => void> = [];
  #wakeWriter: (() => void) | null = null;
  handlers: ChannelHandlers | null = null;

  start(handlers: ChannelHandlers): void {
    this.handlers = handlers;
  }

  write(payload: Uint8Array, sealed: boolean): Promise<void> {
    this.writes.push({ payload, sealed });
    this.#wakeWriter?.();
    return new Promise((resolve) => this.#gates.push(resolve));
  }

  /** Lets the oldest write finish. */
  release(): void {
    this.#gates.shift()?.();
  }

  /** Resolves once `count` writes have started. */
  async writesStarted(count: number): Promise<void> {
    // Bounded: each round waits for one more write (the test fails by its deadline otherwise).
    while (this.writes.length < count) {
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
    }
  }

  close(): void {
    for (const gate of this.#gates.splice(0)) gate();
    this.handlers?.end("closed by the client");
  }
}

async function open(): Promise<{ connection: Connection; channel: GatedChannel }> {
  const channel = new GatedChannel();
  const connection = await Connection.open({ host: "127.0.0.1", port: 9 }, {
    dial: () => Promise.resolve(channel),
  });
  return { connection, channel };
}

const chunk = (offset: number) => encodeChunk(7, offset, new Uint8Array(1000).fill(offset % 251));

Deno.test("a JSON message overtakes file chunks waiting to be written; chunks go out binary", async () => {
  const { connection, channel } = await open();
  const written: Promise<void>[] = [connection.sendData(chunk(0))];
  await channel.writesStarted(1);
  written.push(connection.sendData(chunk(1000)), connection.sendData(chunk(2000)));
  written.push(connection.send({ type: "ping", n: "chat" }));
  // Bounded: four writes, each released once.
  for (let index = 0; index < 4; index++) {
    await channel.writesStarted(index + 1);
    channel.release();
  }
  await Promise.all(written);
  const kinds = channel.writes.map(({ payload }) =>
    payload[0] === 0 ? `chunk@${decodeChunk(payload)!.offset}` : "json"
  );
  assertEquals(kinds, ["chunk@0", "json", "chunk@1000", "chunk@2000"]);
  assertEquals(channel.writes.map((write) => write.sealed), [true, false, true, true]);
  await connection.close();
});

Deno.test("in a secure session each payload is sealed as it is written, so the nonces follow the writes", async () => {
  const { connection, channel } = await open();
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const server = new HandshakeState({ initiator: false, prologue: noisePrologue, psk });
  const securing = connection.secure(psk, 5_000);
  await channel.writesStarted(1);
  server.readMessage(channel.writes[0]!.payload);
  channel.handlers!.payload(server.writeMessage(new Uint8Array(0)));
  channel.release();
  await securing;
  const ciphers = server.split();

  const written: Promise<void>[] = [connection.sendData(chunk(0))];
  await channel.writesStarted(2);
  written.push(connection.sendData(chunk(1000)));
  written.push(connection.send({ type: "ping", n: "chat" }));
  for (let index = 1; index < 4; index++) {
    await channel.writesStarted(index + 1);
    channel.release();
  }
  await Promise.all(written);
  const opened = channel.writes.slice(1).map(({ payload }) => ciphers.receive.decrypt(payload));
  assertEquals(decodeChunk(opened[0]!)?.offset, 0);
  assertEquals(new TextDecoder().decode(opened[1]), '{"type":"ping","n":"chat"}');
  assertEquals(decodeChunk(opened[2]!)?.offset, 1000);
  assert(channel.writes.slice(1).every((write) => write.sealed));

  // Sealed chunks from the server are opened and handed over in order with the messages.
  const chunks: FileChunk[] = [];
  connection.onData((received) => chunks.push(received));
  channel.handlers!.payload(
    ciphers.send.encrypt(encodePayload({ type: "stored", stream: 7, offset: 5 })),
  );
  channel.handlers!.payload(ciphers.send.encrypt(chunk(0)));
  channel.handlers!.payload(
    ciphers.send.encrypt(encodePayload({ type: "stored", stream: 7, offset: 9 })),
  );
  const first = await connection.next(1000);
  assertEquals(first?.type === "stored" ? first.offset : null, 5);
  assertEquals(chunks.length, 0, "the chunk comes after the message before it");
  const second = await connection.next(1000);
  assertEquals(chunks.map((received) => received.offset), [0]);
  assertEquals(second?.type === "stored" ? second.offset : null, 9);
  await connection.close();
});

Deno.test("data payloads without a handler are dropped, and a broken one is reported as malformed", async () => {
  const { connection, channel } = await open();
  channel.handlers!.payload(chunk(0));
  channel.handlers!.payload(new Uint8Array([0, 0, 0]));
  const next = await connection.next(1000);
  assertEquals(next?.type, "malformed");
  assertEquals(await connection.next(50), null);
  await connection.close();
});
