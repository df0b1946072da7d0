/**
 * lib/wire/noise.ts against the published Noise test vectors for
 * Noise_NNpsk0_25519_ChaChaPoly_SHA256 (../shared/vectors/noise/, with their
 * provenance), in both roles. The page's script (lib/web/app.js) bundles this
 * same module (tests/web_bundle_test.ts fails when the bundle is not built
 * from the current sources), so the browser runs proven code too. The vector
 * files are read at run time; a missing file fails the test.
 *
 * The Deno processes swap in node:crypto's ChaCha20-Poly1305
 * (lib/wire/native_aead.ts) while the page keeps noble's: the vectors run
 * with each, each opens what the other seals, native refuses every altered
 * message, and a native side completes a session with a noble side.
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import * as tsNoise from "../lib/wire/noise.ts";
import { currentAead, nobleAead, useAead } from "../lib/wire/noise.ts";
import type { Aead } from "../lib/wire/noise.ts";
import {
  installNativeAead,
  nativeAead,
  nativeAeadAgreesWithNoble,
} from "../lib/wire/native_aead.ts";

const vectorsDir = new URL("../../shared/vectors/noise/", import.meta.url);

const hex = (text: string): Uint8Array => Uint8Array.fromHex(text);
const toHex = (bytes: Uint8Array): string => bytes.toHex();

/** One vector in a common shape. */
interface Vector {
  source: string;
  prologue: Uint8Array;
  psk: Uint8Array;
  initiatorEphemeral: Uint8Array;
  responderEphemeral: Uint8Array;
  handshakeHash: Uint8Array | null;
  messages: { payload: Uint8Array; ciphertext: Uint8Array }[];
}

async function cacophonyVectors(): Promise<Vector[]> {
  const file = new URL("cacophony_NNpsk0_25519_ChaChaPoly_SHA256.json", vectorsDir);
  const data = JSON.parse(await Deno.readTextFile(file)) as {
    vectors: Record<string, unknown>[];
  };
  return data.vectors.map((vector, index) => {
    assertEquals(vector.protocol_name, tsNoise.noiseProtocolName);
    assertEquals(vector.init_prologue, vector.resp_prologue);
    assertEquals(vector.init_psks, vector.resp_psks);
    return {
      source: `cacophony #${index}`,
      prologue: hex(vector.init_prologue as string),
      psk: hex((vector.init_psks as string[])[0]!),
      initiatorEphemeral: hex(vector.init_ephemeral as string),
      responderEphemeral: hex(vector.resp_ephemeral as string),
      handshakeHash: hex(vector.handshake_hash as string),
      messages: (vector.messages as { payload: string; ciphertext: string }[]).map((m) => ({
        payload: hex(m.payload),
        ciphertext: hex(m.ciphertext),
      })),
    };
  });
}

async function flynnVectors(): Promise<Vector[]> {
  const file = new URL("flynn_NNpsk0_25519_ChaChaPoly_SHA256.txt", vectorsDir);
  const blocks = (await Deno.readTextFile(file)).split(/\n\s*\n/).filter((b) => b.trim() !== "");
  return blocks.map((block, index) => {
    const fields = new Map<string, string>();
    for (const line of block.trim().split("\n")) {
      const at = line.indexOf("=");
      fields.set(line.slice(0, at), line.slice(at + 1));
    }
    assertEquals(fields.get("handshake"), tsNoise.noiseProtocolName);
    const messages: Vector["messages"] = [];
    for (let n = 0; fields.has(`msg_${n}_ciphertext`); n++) {
      messages.push({
        payload: hex(fields.get(`msg_${n}_payload`)!),
        ciphertext: hex(fields.get(`msg_${n}_ciphertext`)!),
      });
    }
    return {
      source: `flynn #${index}`,
      prologue: hex(fields.get("prologue") ?? ""),
      psk: hex(fields.get("preshared_key")!),
      initiatorEphemeral: hex(fields.get("gen_init_ephemeral")!),
      responderEphemeral: hex(fields.get("gen_resp_ephemeral")!),
      handshakeHash: null,
      messages,
    };
  });
}

/** What both implementations offer (the declarations of the bundle; lib/wire/noise.ts fits them). */
type NoiseModule = Pick<typeof tsNoise, "HandshakeState">;

/**
 * Runs one vector with an initiator and a responder of `noise`: each side
 * writes exactly the published bytes for its messages, and reads the other
 * side's published bytes back to the published payloads.
 */
function runVector(noise: NoiseModule, vector: Vector): void {
  const initiator = new noise.HandshakeState({
    initiator: true,
    prologue: vector.prologue,
    psk: vector.psk,
    ephemeralPrivateKey: vector.initiatorEphemeral,
  });
  const responder = new noise.HandshakeState({
    initiator: false,
    prologue: vector.prologue,
    psk: vector.psk,
    ephemeralPrivateKey: vector.responderEphemeral,
  });
  const [first, second, ...transport] = vector.messages;
  assert(first !== undefined && second !== undefined, `${vector.source}: two handshake messages`);
  assertEquals(toHex(initiator.writeMessage(first.payload)), toHex(first.ciphertext), "msg 0");
  assertEquals(toHex(responder.readMessage(first.ciphertext)), toHex(first.payload), "msg 0");
  assertEquals(toHex(responder.writeMessage(second.payload)), toHex(second.ciphertext), "msg 1");
  assertEquals(toHex(initiator.readMessage(second.ciphertext)), toHex(second.payload), "msg 1");
  assert(initiator.finished && responder.finished);
  assertEquals(toHex(initiator.handshakeHash), toHex(responder.handshakeHash));
  if (vector.handshakeHash !== null) {
    assertEquals(toHex(initiator.handshakeHash), toHex(vector.handshakeHash), "handshake hash");
  }
  const mine = initiator.split(), theirs = responder.split();
  transport.forEach((message, index) => {
    // Even messages go initiator -> responder, odd ones back.
    const [writer, reader] = index % 2 === 0 ? [mine, theirs] : [theirs, mine];
    const what = `${vector.source}: transport message ${index + 2}`;
    assertEquals(toHex(writer.send.encrypt(message.payload)), toHex(message.ciphertext), what);
    assertEquals(toHex(reader.receive.decrypt(message.ciphertext)), toHex(message.payload), what);
  });
}

/** Runs `run` with `aead` as the process's AEAD, then puts the previous one back. */
function withAead<T>(aead: Aead, run: () => T): T {
  const previous = currentAead();
  useAead(aead);
  try {
    return run();
  } finally {
    useAead(previous);
  }
}

const noiseCases = [
  ["lib/wire/noise.ts", tsNoise, nobleAead],
  ["lib/wire/noise.ts with node:crypto's AEAD", tsNoise, nativeAead],
] as const;

for (const [label, noise, aead] of noiseCases) {
  Deno.test(`${label} reproduces the cacophony NNpsk0 vector in both roles`, async () => {
    const vectors = await cacophonyVectors();
    assertEquals(vectors.length, 1);
    withAead(aead, () => {
      for (const vector of vectors) runVector(noise, vector);
    });
  });

  Deno.test(`${label} reproduces the 4 flynn/noise NNpsk0 vectors in both roles`, async () => {
    const vectors = await flynnVectors();
    assertEquals(vectors.length, 4);
    withAead(aead, () => {
      for (const vector of vectors) runVector(noise, vector);
    });
  });
}

Deno.test("a wrong psk, a changed prologue or a flipped bit fails the handshake", () => {
  const psk = new Uint8Array(32).fill(7);
  const prologue = new TextEncoder().encode("lanchat/1");
  const attempt = (
    responderPsk: Uint8Array,
    responderPrologue: Uint8Array,
    mangle: (message: Uint8Array) => Uint8Array,
  ) => {
    const client = new tsNoise.HandshakeState({ initiator: true, prologue, psk });
    const server = new tsNoise.HandshakeState({
      initiator: false,
      prologue: responderPrologue,
      psk: responderPsk,
    });
    server.readMessage(mangle(client.writeMessage(new Uint8Array(0))));
  };
  const same = (message: Uint8Array) => message;
  attempt(psk, prologue, same); // the control: this one works
  assertThrows(() => attempt(new Uint8Array(32).fill(8), prologue, same), tsNoise.NoiseError);
  assertThrows(
    () => attempt(psk, new TextEncoder().encode("lanchat/2"), same),
    tsNoise.NoiseError,
  );
  for (const bit of [0, 100, 255, 47 * 8 + 7]) {
    assertThrows(() =>
      attempt(psk, prologue, (message) => {
        const copy = message.slice();
        copy[bit >> 3]! ^= 1 << (bit & 7);
        return copy;
      }), tsNoise.NoiseError);
  }
  assertThrows(
    () => attempt(psk, prologue, (message) => message.subarray(0, 47)),
    tsNoise.NoiseError,
  );
});

Deno.test("transport nonces advance per message; a replayed or reordered message does not open", () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const prologue = new TextEncoder().encode("lanchat/1");
  const client = new tsNoise.HandshakeState({ initiator: true, prologue, psk });
  const server = new tsNoise.HandshakeState({ initiator: false, prologue, psk });
  server.readMessage(client.writeMessage(new Uint8Array(0)));
  client.readMessage(server.writeMessage(new Uint8Array(0)));
  const c = client.split(), s = server.split();
  const one = c.send.encrypt(new TextEncoder().encode("one"));
  const two = c.send.encrypt(new TextEncoder().encode("two"));
  assertEquals(c.send.nonce, 2);
  assertThrows(() => s.receive.decrypt(two), tsNoise.NoiseError); // out of order
  assertEquals(new TextDecoder().decode(s.receive.decrypt(one)), "one");
  assertThrows(() => s.receive.decrypt(one), tsNoise.NoiseError); // replayed
  assertEquals(new TextDecoder().decode(s.receive.decrypt(two)), "two");
  // The same plaintext twice gives different ciphertexts.
  const a = c.send.encrypt(new Uint8Array([1])), b = c.send.encrypt(new Uint8Array([1]));
  assert(toHex(a) !== toHex(b));
});

const aeadKey = Uint8Array.from({ length: 32 }, (_, index) => 0x80 + index);
const aeadNonce = Uint8Array.from({ length: 12 }, (_, index) => index * 3);
const aeadAd = new TextEncoder().encode("associated data");
/** `bytes` with one zero byte after them. */
function longerByOne(bytes: Uint8Array): Uint8Array {
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  return longer;
}
/** The largest plaintext of a lanchat frame that a tag still fits in (65,535 - 16). */
const largestPlaintextBytes = 65_519;

Deno.test("node:crypto's AEAD and noble's seal the same bytes and open each other's", () => {
  assertEquals(nativeAead.name, "node:crypto");
  for (const size of [0, 1, 64, 1000, largestPlaintextBytes]) {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    for (const ad of [new Uint8Array(0), aeadAd]) {
      const what = `${size} bytes, ${ad.length} bytes of ad`;
      const byNative = nativeAead.seal(aeadKey, aeadNonce, ad, plaintext);
      const byNoble = nobleAead.seal(aeadKey, aeadNonce, ad, plaintext);
      assertEquals(byNative.length, size + tsNoise.noiseTagBytes, what);
      assertEquals(toHex(byNative), toHex(byNoble), what);
      assertEquals(toHex(nobleAead.open(aeadKey, aeadNonce, ad, byNative)), toHex(plaintext), what);
      assertEquals(toHex(nativeAead.open(aeadKey, aeadNonce, ad, byNoble)), toHex(plaintext), what);
    }
  }
});

Deno.test("node:crypto's AEAD reads views at an offset and returns a plain Uint8Array", () => {
  const plaintext = crypto.getRandomValues(new Uint8Array(300));
  const sealed = nobleAead.seal(aeadKey, aeadNonce, aeadAd, plaintext);
  // Inputs as a transport hands them over: subarrays of a larger buffer.
  const frame = new Uint8Array(sealed.length + 9).fill(0xee);
  frame.set(sealed, 5);
  const adFrame = new Uint8Array(aeadAd.length + 3);
  adFrame.set(aeadAd, 3);
  const opened = nativeAead.open(
    aeadKey,
    aeadNonce,
    adFrame.subarray(3),
    frame.subarray(5, 5 + sealed.length),
  );
  assertEquals(toHex(opened), toHex(plaintext));
  const resealed = nativeAead.seal(aeadKey, aeadNonce, adFrame.subarray(3), opened);
  assertEquals(toHex(resealed), toHex(sealed));
  // Not a node Buffer, whose slice() shares memory instead of copying.
  for (const result of [opened, resealed]) {
    assertEquals(Object.getPrototypeOf(result), Uint8Array.prototype);
  }
  const copy = opened.slice();
  copy[0] = opened[0]! ^ 1;
  assert(copy[0] !== opened[0], "slice() copies");
});

Deno.test("node:crypto's AEAD refuses altered ciphertext, tag or ad, a wrong key or nonce", () => {
  for (const size of [0, 1, 1000, largestPlaintextBytes]) {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const sealed = nativeAead.seal(aeadKey, aeadNonce, aeadAd, plaintext);
    // The control: unaltered, it opens.
    assertEquals(toHex(nativeAead.open(aeadKey, aeadNonce, aeadAd, sealed)), toHex(plaintext));
    const refused = (what: string, open: () => Uint8Array) => {
      let opened: Uint8Array | null = null;
      try {
        opened = open();
      } catch {
        return;
      }
      throw new Error(`${size} bytes, ${what}: opened ${opened.length} bytes instead of refusing`);
    };
    const flipped = (bit: number) => {
      const copy = sealed.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      return copy;
    };
    const bits = [0, 7, size * 4, size * 8 - 1, size * 8, size * 8 + 63, sealed.length * 8 - 1]
      .filter((bit) => bit >= 0 && bit < sealed.length * 8);
    for (const bit of bits) {
      const part = bit < size * 8 ? "ciphertext" : "tag";
      refused(
        `${part} bit ${bit} flipped`,
        () => nativeAead.open(aeadKey, aeadNonce, aeadAd, flipped(bit)),
      );
    }
    const otherKey = aeadKey.slice();
    otherKey[31]! ^= 0x80;
    refused("wrong key", () => nativeAead.open(otherKey, aeadNonce, aeadAd, sealed));
    refused(
      "random key",
      () => nativeAead.open(crypto.getRandomValues(new Uint8Array(32)), aeadNonce, aeadAd, sealed),
    );
    const otherNonce = aeadNonce.slice();
    otherNonce[0]! ^= 1;
    refused("wrong nonce", () => nativeAead.open(aeadKey, otherNonce, aeadAd, sealed));
    const otherAd = aeadAd.slice();
    otherAd[otherAd.length - 1]! ^= 1;
    refused("altered ad", () => nativeAead.open(aeadKey, aeadNonce, otherAd, sealed));
    refused("no ad", () => nativeAead.open(aeadKey, aeadNonce, new Uint8Array(0), sealed));
    refused(
      "longer ad",
      () => nativeAead.open(aeadKey, aeadNonce, longerByOne(aeadAd), sealed),
    );
    refused(
      "a byte cut off",
      () => nativeAead.open(aeadKey, aeadNonce, aeadAd, sealed.subarray(0, sealed.length - 1)),
    );
    refused(
      "a byte added",
      () => nativeAead.open(aeadKey, aeadNonce, aeadAd, longerByOne(sealed)),
    );
    if (size > 0) {
      refused(
        "the tag alone",
        () => nativeAead.open(aeadKey, aeadNonce, aeadAd, sealed.subarray(sealed.length - 16)),
      );
    }
    refused(
      "shorter than a tag",
      () => nativeAead.open(aeadKey, aeadNonce, aeadAd, sealed.subarray(0, 15)),
    );
    refused("empty", () => nativeAead.open(aeadKey, aeadNonce, aeadAd, new Uint8Array(0)));
  }
  // Sealed without ad, opened with one.
  const bare = nativeAead.seal(aeadKey, aeadNonce, new Uint8Array(0), new Uint8Array(10));
  assertThrows(() => nativeAead.open(aeadKey, aeadNonce, aeadAd, bare), Error);
});

Deno.test("with node:crypto's AEAD a CipherState throws NoiseError and keeps its nonce on a bad message", () => {
  withAead(nativeAead, () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const send = new tsNoise.CipherState(key), receive = new tsNoise.CipherState(key);
    const first = send.encrypt(new Uint8Array(100).fill(1));
    const altered = first.slice();
    altered[50]! ^= 4;
    assertThrows(() => receive.decrypt(altered), tsNoise.NoiseError);
    assertThrows(() => receive.decrypt(first.subarray(0, 15)), tsNoise.NoiseError);
    const stranger = new tsNoise.CipherState(crypto.getRandomValues(new Uint8Array(32)));
    assertThrows(() => receive.decrypt(stranger.encrypt(new Uint8Array(5))), tsNoise.NoiseError);
    assertEquals(receive.nonce, 0);
    assertEquals(toHex(receive.decrypt(first)), toHex(new Uint8Array(100).fill(1)));
    assertEquals(receive.nonce, 1);
  });
});

/** `aead`, counting its calls, to prove which side used which. */
function countedAead(aead: Aead): { aead: Aead; calls: { seal: number; open: number } } {
  const calls = { seal: 0, open: 0 };
  return {
    calls,
    aead: {
      name: aead.name,
      seal: (key, nonce, ad, plaintext) => {
        calls.seal++;
        return aead.seal(key, nonce, ad, plaintext);
      },
      open: (key, nonce, ad, ciphertext) => {
        calls.open++;
        return aead.open(key, nonce, ad, ciphertext);
      },
    },
  };
}

Deno.test("a handshake and a session between a node:crypto side and a noble side", () => {
  for (const nativeIsInitiator of [true, false]) {
    const native = countedAead(nativeAead), noble = countedAead(nobleAead);
    const initiatorAead = nativeIsInitiator ? native.aead : noble.aead;
    const responderAead = nativeIsInitiator ? noble.aead : native.aead;
    const psk = crypto.getRandomValues(new Uint8Array(32));
    const prologue = new TextEncoder().encode("lanchat/1");
    const initiator = new tsNoise.HandshakeState({ initiator: true, prologue, psk });
    const responder = new tsNoise.HandshakeState({ initiator: false, prologue, psk });
    // Each side's every step runs with its own AEAD; the handshake messages
    // carry payloads, sealed with the handshake hash as ad.
    const hello = new TextEncoder().encode("hello");
    const first = withAead(initiatorAead, () => initiator.writeMessage(hello));
    assertEquals(toHex(withAead(responderAead, () => responder.readMessage(first))), toHex(hello));
    const back = new TextEncoder().encode("welcome back");
    const second = withAead(responderAead, () => responder.writeMessage(back));
    assertEquals(toHex(withAead(initiatorAead, () => initiator.readMessage(second))), toHex(back));
    assertEquals(toHex(initiator.handshakeHash), toHex(responder.handshakeHash));
    const mine = initiator.split(), theirs = responder.split();
    for (const size of [0, 1, 4096, largestPlaintextBytes, largestPlaintextBytes]) {
      const there = crypto.getRandomValues(new Uint8Array(size));
      const sealed = withAead(initiatorAead, () => mine.send.encrypt(there));
      assertEquals(
        toHex(withAead(responderAead, () => theirs.receive.decrypt(sealed))),
        toHex(there),
      );
      const reply = crypto.getRandomValues(new Uint8Array(size));
      const sealedReply = withAead(responderAead, () => theirs.send.encrypt(reply));
      assertEquals(
        toHex(withAead(initiatorAead, () => mine.receive.decrypt(sealedReply))),
        toHex(reply),
      );
    }
    // Tampered on the way, either direction: refused by either implementation.
    const tampered = withAead(initiatorAead, () => mine.send.encrypt(new Uint8Array(64)));
    tampered[3]! ^= 1;
    assertThrows(
      () => withAead(responderAead, () => theirs.receive.decrypt(tampered)),
      tsNoise.NoiseError,
    );
    // 2 handshake messages + 5 transport messages + 1 tampered each way: each side sealed and opened.
    const sides = nativeIsInitiator ? [native, noble] : [noble, native];
    assertEquals(sides[0]!.calls, { seal: 1 + 5 + 1, open: 1 + 5 });
    assertEquals(sides[1]!.calls, { seal: 1 + 5, open: 1 + 5 + 1 });
  }
  assertEquals(currentAead(), nobleAead);
});

Deno.test("installNativeAead checks node:crypto against noble, then every CipherState uses it", () => {
  assert(nativeAeadAgreesWithNoble());
  const previous = currentAead();
  try {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const before = new tsNoise.CipherState(key); // made before the switch: switches too
    assertEquals(installNativeAead(), true);
    assertEquals(currentAead(), nativeAead);
    const sealed = before.encrypt(new Uint8Array(10));
    useAead(nobleAead);
    assertEquals(toHex(new tsNoise.CipherState(key).decrypt(sealed)), toHex(new Uint8Array(10)));
  } finally {
    useAead(previous);
  }
});
