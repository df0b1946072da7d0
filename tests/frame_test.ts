import { assertEquals, assertThrows } from "./_assert.ts";
import { encodeFrame, FrameDecoder, maxPayloadBytes } from "../lib/frame.ts";
import { FrameError } from "../lib/wire/errors.ts";

function payloadsOf(sizes: number[]): Uint8Array[] {
  return sizes.map((size, index) => {
    const payload = new Uint8Array(size);
    for (let byte = 0; byte < size; byte++) payload[byte] = (byte * 31 + index) & 0xff;
    return payload;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) total.set(part, offset), offset += part.length;
  return total;
}

Deno.test("a frame is a 4-byte big-endian length then the payload", () => {
  assertEquals([...encodeFrame(new Uint8Array([7, 8, 9]))], [0, 0, 0, 3, 7, 8, 9]);
  assertEquals(encodeFrame(new Uint8Array(65535)).length, 65539);
  assertThrows(() => encodeFrame(new Uint8Array(0)), RangeError);
  assertThrows(() => encodeFrame(new Uint8Array(65536)), RangeError);
});

Deno.test("the decoder yields the same payloads for every way of splitting the stream", () => {
  const payloads = payloadsOf([1, 2, 3, 4, 5, 17, 300, 9000]);
  const stream = concat(payloads.map(encodeFrame));
  for (const chunkSize of [1, 2, 3, 4, 5, 7, 8192, stream.length]) {
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let offset = 0; offset < stream.length; offset += chunkSize) {
      got.push(...decoder.push(stream.subarray(offset, offset + chunkSize)));
    }
    assertEquals(got, payloads, `chunk size ${chunkSize}`);
    assertEquals(decoder.midFrame, false);
  }
  // Every single split point of a two-frame stream.
  const small = payloadsOf([5, 6]);
  const smallStream = concat(small.map(encodeFrame));
  for (let cut = 0; cut <= smallStream.length; cut++) {
    const decoder = new FrameDecoder();
    const got = [
      ...decoder.push(smallStream.subarray(0, cut)),
      ...decoder.push(smallStream.subarray(cut)),
    ];
    assertEquals(got, small, `cut at ${cut}`);
  }
});

Deno.test("50 frames in one write come out as 50 payloads in order", () => {
  const payloads = payloadsOf(Array.from({ length: 50 }, (_, index) => index + 1));
  const decoder = new FrameDecoder();
  assertEquals(decoder.push(concat(payloads.map(encodeFrame))), payloads);
});

Deno.test("payloads do not alias the caller's read buffer", () => {
  const buffer = encodeFrame(new Uint8Array([1, 2, 3]));
  const [payload] = new FrameDecoder().push(buffer);
  buffer.fill(0);
  assertEquals([...payload!], [1, 2, 3]);
});

Deno.test("lengths 0, 65536 and 0xFFFFFFFF are rejected before any body is allocated", () => {
  const cases: [number[], string][] = [
    [[0, 0, 0, 0], "bad_frame"],
    [[0, 1, 0, 0], "frame_too_large"],
    [[0xff, 0xff, 0xff, 0xff], "frame_too_large"],
  ];
  for (const [header, code] of cases) {
    const decoder = new FrameDecoder();
    // Fed one byte at a time: the error comes with the 4th header byte.
    for (const byte of header.slice(0, 3)) assertEquals(decoder.push(new Uint8Array([byte])), []);
    const error = assertThrows(() => decoder.push(new Uint8Array([header[3]!])), FrameError);
    assertEquals(error.code, code);
    assertEquals(decoder.midFrame, false, "no body buffer was started");
  }
  assertEquals(maxPayloadBytes, 65535);
});

Deno.test("a frame cut short leaves the decoder mid-frame", () => {
  const decoder = new FrameDecoder();
  decoder.push(encodeFrame(new Uint8Array(10)).subarray(0, 7));
  assertEquals(decoder.midFrame, true);
});
