/**
 * Rooms with a password (PROTOCOL.md section 5) end to end over real loopback
 * sockets: right, wrong and missing password over TCP and WebSocket, a client
 * that skips the handshake, a payload that does not decrypt, and the hello
 * deadline during the handshake.
 */
import { generateKeyPair } from "../lib/wire/identity.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  plaintextJson,
  startTestServer,
  TestClient,
  testRoomKey,
  text,
  withDeadline,
} from "./_helpers.ts";
import type { Received } from "./_helpers.ts";
import { HandshakeState } from "../lib/wire/noise.ts";
import type { TransportCiphers } from "../lib/wire/noise.ts";
import { noisePrologue } from "../lib/wire/room_key.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

const utf8 = new TextEncoder();
const wrongPsk = new Uint8Array(32).fill(1);

Deno.test("a room with a password greets with its scrypt parameters and a fresh salt per start", async () => {
  const key = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: key });
  await using client = await TestClient.connect(server.port);
  const greeting = await client.next("server");
  const secure = greeting.secure as Record<string, unknown>;
  assertEquals(
    { ...secure, salt: undefined },
    {
      noise: "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
      kdf: "scrypt",
      salt: undefined,
      N: 32768,
      r: 8,
      p: 1,
    },
  );
  assertEquals(Uint8Array.fromBase64(String(secure.salt)).length, 16);
  const other = await testRoomKey("another one");
  assert(other.params.salt !== key.params.salt, "each key has its own random salt");
});

Deno.test("TCP, right password: members chat privately and publicly through the sealed channel", async () => {
  const { psk, ...rest } = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: { psk, ...rest } });
  await using ana = await TestClient.secureJoined(server.port, "ana", psk);
  // bo has a device key, so his private history is his (PROTOCOL.md section 8.7).
  await using bo = await TestClient.secure(server.port, psk);
  await bo.helloWithKey("bo", generateKeyPair());
  await bo.next("welcome");
  await ana.say("hello bo 你好", { ref: "r1" });
  const own = await ana.next("msg");
  assertEquals([own.ref, text(own)], ["r1", "hello bo 你好"]);
  assertEquals(text(await bo.next("msg")), "hello bo 你好");
  await bo.say("psst", { to: "ana" });
  assertEquals(text(await ana.next((m) => m.type === "msg" && m.to === "ana")), "psst");
  // A 40 KB message still fits one sealed frame.
  const long = "长".repeat(13_000);
  await ana.say(long);
  assertEquals(text(await bo.next((m) => m.type === "msg" && m.from === "ana")), long);
  await bo.send({ type: "history", limit: 50 });
  const history = await bo.next("history");
  assertEquals((history.items as Received[]).length, 3);
});

Deno.test("TCP, wrong password: a plaintext auth_failed, the connection closes, nobody sees a join", async () => {
  const { psk, ...rest } = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: { psk, ...rest } });
  await using ana = await TestClient.secureJoined(server.port, "ana", psk);
  await using mallory = await TestClient.connect(server.port);
  await mallory.next("server");
  const refusal = await mallory.handshake(wrongPsk);
  assertEquals(refusal?.code, "auth_failed");
  await mallory.waitClosed();
  assertEquals(mallory.received.map((m) => m.type), ["server", "error"]);
  // The room goes on; ana saw nothing of it.
  await ana.send({ type: "users" });
  const users = await ana.next("users");
  assertEquals((users.users as { nick: string }[]).map((u) => u.nick), ["ana"]);
  assertEquals(ana.all("joined"), []);
});

Deno.test("TCP, no password: a client that skips the handshake and says hello is never welcomed", async () => {
  const { psk, ...rest } = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: { psk, ...rest } });
  await using ana = await TestClient.secureJoined(server.port, "ana", psk);
  await using plain = await TestClient.connect(server.port);
  await plain.next("server");
  await plain.send({ type: "hello", nick: "plain" });
  await plain.send({ type: "say", body: encodeBody("let me in") });
  assertEquals((await plain.next("error")).code, "auth_failed");
  await plain.waitClosed();
  assertEquals(plain.received.map((m) => m.type), ["server", "error"]);
  await ana.send({ type: "users" });
  assertEquals(((await ana.next("users")).users as unknown[]).length, 1);
  assertEquals(ana.all("msg"), []);
});

Deno.test("TCP: a sealed payload with one flipped bit ends that session only", async () => {
  const { psk, ...rest } = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: { psk, ...rest } });
  await using ana = await TestClient.secureJoined(server.port, "ana", psk);
  await using eve = await TestClient.secure(server.port, psk);
  const sealed = eve.seal(utf8.encode(JSON.stringify({ type: "hello", nick: "eve" })));
  sealed[5]! ^= 0x10;
  await eve.sendRaw(frame(sealed));
  assertEquals((await eve.next("error")).code, "auth_failed");
  await eve.waitClosed();
  assert(eve.all("welcome").length === 0);
  await ana.say("still here");
  assertEquals(text(await ana.next("msg")), "still here");
});

Deno.test("the hello deadline closes a connection that never finishes the handshake", async () => {
  const { psk, ...rest } = await testRoomKey("correct horse");
  await using server = await startTestServer({
    roomKey: { psk, ...rest },
    limits: { helloTimeoutMs: 300 },
  });
  await using idle = await TestClient.connect(server.port);
  await idle.next("server");
  await idle.sendRaw(new Uint8Array([0, 0, 0, 48, 1, 2, 3])); // half a handshake message
  await idle.waitClosed(3000);
  assertEquals(idle.all("welcome"), []);
});

// ---- WebSocket -----------------------------------------------------------------------

/** A WebSocket client of the web port that records raw messages. */
class WsClient implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly inbox: (ArrayBuffer | string)[] = [];
  readonly closed: Promise<void>;
  #wake: (() => void) | null = null;
  ciphers: TransportCiphers | null = null;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.socket.onmessage = (event) => {
      this.inbox.push(event.data);
      this.#wake?.();
    };
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener("close", () => {
        resolve();
        this.#wake?.();
      });
    });
  }

  async next(ms = 3000): Promise<ArrayBuffer | string> {
    return await withDeadline(
      (async () => {
        for (;;) {
          const item = this.inbox.shift();
          if (item !== undefined) return item;
          if (this.socket.readyState >= WebSocket.CLOSING) throw new Error("closed");
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
      })(),
      ms,
      "a WebSocket message",
    );
  }

  /** The next payload as JSON, opened when the session is sealed. */
  async nextJson(ms = 3000): Promise<Received> {
    const data = await this.next(ms);
    if (typeof data === "string") return JSON.parse(data);
    const bytes = new Uint8Array(data);
    if (this.ciphers === null) return JSON.parse(new TextDecoder().decode(bytes));
    try {
      return JSON.parse(new TextDecoder().decode(this.ciphers.receive.decrypt(bytes)));
    } catch (error) {
      // Not a transport message: a plaintext notice (e.g. auth_failed) instead.
      const plain = plaintextJson(bytes);
      if (plain === null) throw error;
      return plain;
    }
  }

  sendJson(message: Record<string, unknown>): void {
    const bytes = utf8.encode(JSON.stringify(message));
    this.socket.send(this.ciphers === null ? bytes : this.ciphers.send.encrypt(bytes));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

async function wsHandshake(client: WsClient, psk: Uint8Array): Promise<Received | null> {
  const state = new HandshakeState({ initiator: true, prologue: noisePrologue, psk });
  client.socket.send(state.writeMessage(new Uint8Array(0)));
  const answer = await client.next();
  const bytes = typeof answer === "string" ? utf8.encode(answer) : new Uint8Array(answer);
  const refusal = plaintextJson(bytes);
  if (refusal !== null) return refusal;
  state.readMessage(bytes);
  client.ciphers = state.split();
  return null;
}

async function wsOpen(url: string): Promise<WsClient> {
  const client = new WsClient(url);
  const greeting = await client.nextJson();
  assertEquals(greeting.type, "server");
  assert(greeting.secure !== null);
  return client;
}

Deno.test("WebSocket: right password joins and chats with a TCP member; wrong and missing are refused", async () => {
  const { psk, ...rest } = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: { psk, ...rest }, webPort: 0 });
  const url = `ws://127.0.0.1:${server.webPort}/ws`;
  await using tcp = await TestClient.secureJoined(server.port, "tcp", psk);

  await using web = await wsOpen(url);
  assertEquals(await wsHandshake(web, psk), null);
  web.sendJson({ type: "hello", nick: "web" });
  assertEquals((await web.nextJson()).type, "welcome");
  web.sendJson({ type: "say", body: encodeBody("from the web") });
  assertEquals(text(await tcp.next((m) => m.type === "msg" && m.from === "web")), "from the web");
  await tcp.say("from tcp");
  let got: Received;
  do got = await web.nextJson(); while (got.type !== "msg" || got.from !== "tcp");
  assertEquals(text(got), "from tcp");

  await using wrong = await wsOpen(url);
  assertEquals((await wsHandshake(wrong, wrongPsk))?.code, "auth_failed");
  await withDeadline(wrong.closed, 3000, "the wrong-password socket to close");

  await using skipper = await wsOpen(url);
  skipper.sendJson({ type: "hello", nick: "skipper" });
  const refusal = await skipper.nextJson();
  assertEquals([refusal.type, refusal.code], ["error", "auth_failed"]);
  await withDeadline(skipper.closed, 3000, "the skipping socket to close");
  assertEquals(skipper.inbox, []);

  await tcp.send({ type: "users" });
  const users = await tcp.next("users");
  assertEquals((users.users as { nick: string }[]).map((u) => u.nick).sort(), ["tcp", "web"]);
  assertMatch(JSON.stringify(tcp.all("joined")), /"web"/);
});

function frame(payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(payload.length + 4);
  new DataView(bytes.buffer).setUint32(0, payload.length);
  bytes.set(payload, 4);
  return bytes;
}

Deno.test("a Noise message that happens to start with '{' is not taken for a plaintext refusal", () => {
  // One handshake answer in 256 starts with 0x7b: the fuzz test met one (seed 785509).
  const noise = crypto.getRandomValues(new Uint8Array(48));
  noise[0] = 0x7b;
  assertEquals(plaintextJson(noise), null);
  const refusal = new TextEncoder().encode('{"type":"error","code":"auth_failed","message":"no"}');
  assertEquals(plaintextJson(refusal)?.code, "auth_failed");
});
