/**
 * lib/wire/noise.ts against the published Noise test vectors for
 * Noise_NNpsk0_25519_ChaChaPoly_SHA256 (../shared/vectors/noise/, with their
 * provenance), in both roles. The page's script (lib/web/app.js) bundles this
 * same module (tests/web_bundle_test.ts fails when the bundle is not built
 * from the current sources), so the browser runs proven code too. The vector
 * files are read at run time; a missing file fails the test.
 */
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import * as tsNoise from "../lib/wire/noise.ts";

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

for (const [label, noise] of [["lib/wire/noise.ts", tsNoise]] as const) {
  Deno.test(`${label} reproduces the cacophony NNpsk0 vector in both roles`, async () => {
    const vectors = await cacophonyVectors();
    assertEquals(vectors.length, 1);
    for (const vector of vectors) runVector(noise, vector);
  });

  Deno.test(`${label} reproduces the 4 flynn/noise NNpsk0 vectors in both roles`, async () => {
    const vectors = await flynnVectors();
    assertEquals(vectors.length, 4);
    for (const vector of vectors) runVector(noise, vector);
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
