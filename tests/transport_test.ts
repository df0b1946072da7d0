/**
 * Tests of lib/server/transport/transport.ts (the TCP adapter) over real loopback sockets.
 */
import { assertEquals, assertThrows } from "./_assert.ts";
import { FrameDecoder } from "../lib/frame.ts";
import { Outgoing } from "../lib/server/outgoing.ts";
import { TcpTransport } from "../lib/server/transport/transport.ts";

/** A connected pair: the server side wrapped in a TcpTransport, the raw peer. */
async function connectedPair(): Promise<{ transport: TcpTransport; peer: Deno.TcpConn }> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [peer, accepted] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return { transport: new TcpTransport(accepted), peer };
}

function outgoing(index: number, size: number): Outgoing {
  const payload = new Uint8Array(size).fill(index % 251);
  payload[0] = index >> 8;
  payload[1] = index & 0xff;
  return new Outgoing(payload);
}

Deno.test("a write larger than the socket buffers arrives whole, in order, while the peer reads slowly", async () => {
  const { transport, peer } = await connectedPair();
  try {
    // 8 MiB in 128 frames: the kernel takes it in many partial writes.
    const batch = Array.from({ length: 128 }, (_, index) => outgoing(index, 65_535));
    const written = transport.write(batch);
    const decoder = new FrameDecoder();
    const received: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    // Bounded: at most one read per 1 KiB of the batch, each read at least one byte.
    for (let reads = 0; received.length < batch.length && reads < 10_000; reads++) {
      const count = await peer.read(buffer);
      if (count === null) break;
      received.push(...decoder.push(buffer.subarray(0, count)));
    }
    await written;
    assertEquals(received.length, batch.length);
    received.forEach((payload, index) => {
      assertEquals([payload[0], payload[1], payload.length], [index >> 8, index & 0xff, 65_535]);
      assertEquals(payload[65_534], index % 251);
    });
    // The transport is ready for the next write once the last one has settled.
    await transport.write([outgoing(7, 10)]);
    const count = await peer.read(buffer);
    assertEquals(decoder.push(buffer.subarray(0, count ?? 0)).map((payload) => payload[1]), [7]);
  } finally {
    transport.close();
    peer.close();
  }
});

Deno.test("a second write while one is in flight is refused as the programming error it is", async () => {
  const { transport, peer } = await connectedPair();
  try {
    const first = transport.write([outgoing(1, 100)]);
    const refused = assertThrows(() => transport.write([outgoing(2, 100)]), Error);
    assertEquals(refused.message, "TcpTransport.write called while a write is in flight");
    await first;
  } finally {
    transport.close();
    peer.close();
  }
});

Deno.test("batches of the same messages share their joined bytes; a batch that differs in one message gets its own", async () => {
  const pairs = await Promise.all([connectedPair(), connectedPair(), connectedPair()]);
  try {
    const [one, two, three] = [outgoing(1, 50), outgoing(2, 60), outgoing(3, 70)];
    // Each member's queue is its own array, as in the sessions.
    await pairs[0]!.transport.write([one, two]);
    await pairs[1]!.transport.write([one, two]);
    await pairs[2]!.transport.write([one, three]);
    const received = await Promise.all(pairs.map(async ({ peer }) => {
      const decoder = new FrameDecoder();
      const buffer = new Uint8Array(1024);
      const payloads: Uint8Array[] = [];
      for (let reads = 0; payloads.length < 2 && reads < 10; reads++) {
        const count = await peer.read(buffer);
        if (count === null) break;
        payloads.push(...decoder.push(buffer.subarray(0, count)));
      }
      return payloads.map((payload) => [payload[1], payload.length]);
    }));
    assertEquals(received, [[[1, 50], [2, 60]], [[1, 50], [2, 60]], [[1, 50], [3, 70]]]);
  } finally {
    for (const { transport, peer } of pairs) {
      transport.close();
      peer.close();
    }
  }
});
