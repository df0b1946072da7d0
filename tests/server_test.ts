/** End-to-end tests of the chat server over real loopback TCP (PROTOCOL.md sections 1-4). */
import { generateKeyPair, verify } from "../lib/wire/identity.ts";
import { serverProofBytes } from "../lib/wire/protocol.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, TestClient, text, withDeadline } from "./_helpers.ts";
import type { Received } from "./_helpers.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import { encodeFrame } from "../lib/frame.ts";
import { connect } from "node:net";
import { MemoryHistory } from "../lib/store/history.ts";
import type { StoredMessage, Viewer } from "../lib/store/history.ts";

Deno.test("the server speaks first and welcomes a hello with the user list", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.connect(server.port);
  const hello = await client.next("server");
  // `key` (issue #14) is an addition a version-1 client ignores: BASE64 of 32 bytes.
  // `key`, `version` and `challenge` (issue #14) are additions a version-1 client ignores.
  const { key, version, challenge, ...versionOne } = hello;
  assertEquals(versionOne, { type: "server", proto: 1, name: "test room", secure: null });
  assertEquals(typeof key === "string" && Uint8Array.fromBase64(key).length, 32);
  assertEquals(version, 4);
  assertEquals(typeof challenge === "string" && Uint8Array.fromBase64(challenge).length, 32);
  await client.send({ type: "hello", nick: "ana" });
  const welcome = await client.next("welcome");
  assertEquals(welcome.nick, "ana");
  assertEquals(welcome.last, 0);
  const users = await client.next("users");
  assertEquals((users.users as { nick: string }[]).map((user) => user.nick), ["ana"]);
});

Deno.test("a broadcast reaches all three, the sender with its ref; a private message only its two parties", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  await using cy = await TestClient.joined(server.port, "cy");
  await ana.say("hello all", { ref: "r1" });
  const own = await ana.next("msg");
  assertEquals([own.from, own.ref, text(own)], ["ana", "r1", "hello all"]);
  for (const other of [bo, cy]) {
    const copy = await other.next("msg");
    assertEquals([copy.from, text(copy), "ref" in copy], ["ana", "hello all", false]);
    assertEquals(copy.id, own.id);
  }
  await bo.say("psst ana", { to: "ANA", ref: 7 });
  const mine = await bo.next("msg");
  assertEquals([mine.to, mine.ref], ["ana", 7]);
  const theirs = await ana.next("msg");
  assertEquals([theirs.from, theirs.to, text(theirs), "ref" in theirs], [
    "bo",
    "ana",
    "psst ana",
    false,
  ]);
  // cy sees the next public message and nothing private before it.
  await cy.say("after");
  const next = await cy.next("msg");
  assertEquals(text(next), "after");
  assertEquals(cy.all("msg").map(text), ["hello all", "after"]);
});

Deno.test("ids strictly increase and every member sees one order", async () => {
  await using server = await startTestServer();
  const clients = await Promise.all(
    ["a", "b", "c"].map((nick) => TestClient.joined(server.port, nick)),
  );
  try {
    await Promise.all(clients.map(async (client, index) => {
      for (let round = 0; round < 30; round++) await client.say(`${index}:${round}`);
    }));
    const orders = await Promise.all(clients.map(async (client) => {
      const ids: number[] = [];
      for (let count = 0; count < 90; count++) ids.push((await client.next("msg")).id as number);
      return ids;
    }));
    for (const ids of orders) {
      assertEquals(ids, orders[0]);
      for (let index = 1; index < ids.length; index++) assert(ids[index]! > ids[index - 1]!);
    }
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

Deno.test("1,000 messages sent back-to-back arrive at another client in order, each once", async () => {
  await using server = await startTestServer();
  await using sender = await TestClient.joined(server.port, "paster");
  await using reader = await TestClient.joined(server.port, "reader");
  const frames: Uint8Array[] = [];
  for (let index = 0; index < 1000; index++) {
    frames.push(
      new TextEncoder().encode(JSON.stringify({ type: "say", body: encodeBody(`line ${index}`) })),
    );
  }
  const started = performance.now();
  await Promise.all(frames.map((frame) => sender.sendPayload(frame)));
  const got: string[] = [];
  for (let index = 0; index < 1000; index++) got.push(text(await reader.next("msg", 10_000)));
  const elapsed = performance.now() - started;
  assertEquals(got, Array.from({ length: 1000 }, (_, index) => `line ${index}`));
  assert(elapsed < 5000, `1,000 lines took ${elapsed.toFixed(0)} ms`);
  assertEquals(reader.all("error").length, 0);
});

Deno.test("flood control slows a flooding sender down without dropping anything", async () => {
  await using server = await startTestServer({ limits: { floodBurst: 10, floodPerSecond: 100 } });
  await using sender = await TestClient.joined(server.port, "flood");
  await using reader = await TestClient.joined(server.port, "calm");
  const started = performance.now();
  for (let index = 0; index < 60; index++) await sender.say(`f${index}`);
  const got: string[] = [];
  for (let index = 0; index < 60; index++) got.push(text(await reader.next("msg")));
  const elapsed = performance.now() - started;
  assertEquals(got, Array.from({ length: 60 }, (_, index) => `f${index}`));
  // 10 at once, then 50 at 100/s: at least ~0.5 s.
  assert(
    elapsed >= 450,
    `60 frames at 100/s after a burst of 10 took only ${elapsed.toFixed(0)} ms`,
  );
});

Deno.test("a 40 KB message of Chinese and emoji arrives byte-identical", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  const unit = "你好，世界🌏😀👩‍💻漢字テスト";
  let message = "";
  while (new TextEncoder().encode(message + unit).length <= 40_000) message += unit;
  assert(new TextEncoder().encode(message).length > 39_900);
  await ana.say(message);
  const got = await bo.next("msg");
  assertEquals(text(got), message);
  assertEquals(got.body, encodeBody(message));
});

Deno.test("text over the size limit gets too_long with its ref and reaches nobody", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.say("x".repeat(47_200), { ref: "big" });
  const error = await ana.next("error");
  assertEquals([error.code, error.ref], ["too_long", "big"]);
});

Deno.test("an abrupt disconnect (reset) is announced as left within 2 s and the server keeps serving", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  const socket = connect(server.port, "127.0.0.1");
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(
    encodeFrame(new TextEncoder().encode(JSON.stringify({ type: "hello", nick: "gone" }))),
  );
  await ana.next((m) => m.type === "joined" && m.nick === "gone");
  const resetAt = performance.now();
  socket.resetAndDestroy(); // SO_LINGER 0: the kernel sends RST, not FIN
  await closed;
  const left = await ana.next("left", 2000);
  assertEquals([left.nick, left.reason], ["gone", "error"]);
  assert(performance.now() - resetAt < 2000);
  await using bo = await TestClient.joined(server.port, "bo");
  await bo.say("still here");
  assertEquals(text(await ana.next("msg")), "still here");
});

Deno.test("a client that never reads is dropped as slow while the others keep low latency", async () => {
  // 20 MB of text in seconds is far above the stored-text rate; this test is about the outbox.
  await using server = await startTestServer({
    requestRates: { textKibPerMinute: 1e6, textBurstKib: 1e6 },
  });
  const slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const hello = new TextEncoder().encode(JSON.stringify({ type: "hello", nick: "sloth" }));
  const frame = new Uint8Array(4 + hello.length);
  new DataView(frame.buffer).setUint32(0, hello.length);
  frame.set(hello, 4);
  await slow.write(frame);
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  const chunk = "z".repeat(40_000);
  const latencies: number[] = [];
  const rounds = 50, perRound = 10; // 500 x 40 KB = 20 MB
  for (let round = 0; round < rounds; round++) {
    const sentAt: number[] = [];
    for (let index = 0; index < perRound; index++) {
      sentAt.push(performance.now());
      await ana.say(chunk);
    }
    for (let index = 0; index < perRound; index++) {
      try {
        await bo.next("msg", 5000);
      } catch (error) {
        const dropped = bo.all("left").map((m) => `${m.nick}:${m.reason}`).join(",");
        throw new Error(
          `round ${round}, message ${index}: ${bo.all("msg").length} delivered to bo, ` +
            `${
              ana.all("msg").length
            } echoed to ana, left: [${dropped}], connections ${server.connections}`,
          { cause: error },
        );
      }
      latencies.push(performance.now() - sentAt[index]!);
    }
  }
  const left = await bo.next((m: Received) => m.type === "left" && m.nick === "sloth", 5000);
  assertEquals(left.reason, "slow");
  const worst = Math.max(...latencies);
  assert(worst < 500, `worst latency while a member was stuck: ${worst.toFixed(0)} ms`);
  slow.close();
});

Deno.test("a silent connection is pinged, and closed as timed out", async () => {
  await using server = await startTestServer({ limits: { pingAfterMs: 150, idleTimeoutMs: 600 } });
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  const ping = await ana.next("ping");
  await ana.send({ type: "pong", n: ping.n });
  await ana.send({ type: "ping", n: "me" });
  assertEquals((await ana.next("pong")).n, "me");
  // bo answers nothing: ana hears that bo timed out (ana keeps answering).
  const answering = (async () => {
    for (let round = 0; round < 20; round++) {
      const next = await ana.next((m) => m.type === "ping" || m.type === "left", 2000);
      if (next.type === "left") return next;
      await ana.send({ type: "pong", n: next.n });
    }
    throw new Error("no left after 20 pings");
  })();
  const left = await answering;
  assertEquals([left.nick, left.reason], ["bo", "timeout"]);
  await bo.waitClosed();
});

Deno.test("a connection that never says hello is told and closed after the hello deadline", async () => {
  await using server = await startTestServer({ limits: { helloTimeoutMs: 200 } });
  await using lurker = await TestClient.connect(server.port);
  const error = await lurker.next("error", 2000);
  assertEquals(error.code, "not_joined");
  await lurker.waitClosed();
});

Deno.test("nick rules: invalid, taken regardless of case, retry on the same connection, server full", async () => {
  await using server = await startTestServer({ maxUsers: 2 });
  await using ana = await TestClient.joined(server.port, "Ana");
  await using other = await TestClient.connect(server.port);
  await other.next("server");
  for (
    const [nick, code] of [["", "nick_invalid"], ["a b", "nick_invalid"], [
      "x".repeat(33),
      "nick_invalid",
    ], ["aNA", "nick_taken"]]
  ) {
    await other.send({ type: "hello", nick });
    assertEquals((await other.next("error")).code, code, `nick '${nick}'`);
  }
  await other.send({ type: "hello", nick: "李小龙" });
  assertEquals((await other.next("welcome")).nick, "李小龙");
  await using third = await TestClient.connect(server.port);
  await third.next("server");
  await third.send({ type: "hello", nick: "late" });
  assertEquals((await third.next("error")).code, "server_full");
  await ana.send({ type: "nick", nick: "ANA" });
  assertEquals(await ana.next("renamed"), {
    type: "renamed",
    from: "Ana",
    to: "ANA",
    ts: (ana.all("renamed")[0]!).ts,
  });
  await ana.send({ type: "nick", nick: "李小龙" });
  assertEquals((await ana.next("error")).code, "nick_taken");
});

Deno.test("bad input gets the documented error and everyone else keeps chatting", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  await using mallory = await TestClient.joined(server.port, "mallory");
  const bytes = (value: string) => new TextEncoder().encode(value);
  const deep = "[".repeat(300) + "]".repeat(300);
  const cases: [Uint8Array, string][] = [
    [bytes("not json"), "bad_json"],
    [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "bad_json"],
    [bytes("[1,2]"), "bad_message"],
    [bytes('{"nick":"x"}'), "bad_message"],
    [bytes('{"type":7}'), "bad_message"],
    [bytes('{"type":"dance"}'), "unknown_type"],
    [bytes('{"type":"say","body":"@@@"}'), "bad_message"],
    [bytes(`{"type":"say","body":"${new Uint8Array([0xc3, 0x28]).toBase64()}"}`), "bad_message"],
    [bytes('{"type":"say","body":123}'), "bad_message"],
    [bytes('{"type":"say","body":"aGk=","kind":"shout"}'), "bad_message"],
    [bytes('{"type":"history","limit":-1}'), "bad_message"],
    [bytes('{"type":"say","body":"aGk=","to":"nobody"}'), "no_such_user"],
    [bytes(deep), "bad_message"],
    [bytes(`{"type":"hello","nick":"again"}`), "bad_message"],
  ];
  for (const [payload, code] of cases) {
    await mallory.sendPayload(payload);
    assertEquals(
      (await mallory.next("error")).code,
      code,
      new TextDecoder().decode(payload).slice(0, 40),
    );
  }
  // A forged `from` and a 300-deep unknown field are ignored: the real nick is used.
  await mallory.send({
    type: "say",
    body: encodeBody("it was me"),
    from: "ana",
    junk: JSON.parse(deep),
  });
  const forged = await bo.next("msg");
  assertEquals([forged.from, text(forged)], ["mallory", "it was me"]);
  await ana.say("still chatting");
  assertEquals(text(await bo.next((m) => m.type === "msg" && m.from === "ana")), "still chatting");
  assertEquals(ana.all("error").length + bo.all("error").length, 0);
});

Deno.test("bad framing is reported and closes only that connection", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  for (
    const [header, code] of [[[0, 0, 0, 0], "bad_frame"], [
      [0xff, 0xff, 0xff, 0xff],
      "frame_too_large",
    ], [[0, 1, 0, 0], "frame_too_large"]] as const
  ) {
    await using bad = await TestClient.joined(server.port, "bad");
    await bad.sendRaw(new Uint8Array(header));
    assertEquals((await bad.next("error")).code, code);
    await bad.waitClosed();
    assertEquals((await ana.next((m) => m.type === "left" && m.nick === "bad")).reason, "error");
  }
  // EOF in the middle of a frame.
  const cut = await TestClient.joined(server.port, "cut");
  await cut.sendRaw(new Uint8Array([0, 0, 0, 50, 1, 2, 3]));
  await cut[Symbol.asyncDispose]();
  assertEquals((await ana.next((m) => m.type === "left" && m.nick === "cut")).reason, "error");
  await using bo = await TestClient.joined(server.port, "bo");
  await bo.say("fine");
  assertEquals(text(await ana.next("msg")), "fine");
});

Deno.test("before hello, chat requests get not_joined and the connection stays open", async () => {
  await using server = await startTestServer();
  await using early = await TestClient.connect(server.port);
  await early.next("server");
  await early.say("too soon");
  assertEquals((await early.next("error")).code, "not_joined");
  await early.send({ type: "ping", n: 1 });
  assertEquals((await early.next("pong")).n, 1);
  await early.send({ type: "hello", nick: "now" });
  await early.next("welcome");
});

Deno.test("history pages oldest first with before/more, and private messages only for their parties", async () => {
  await using server = await startTestServer();
  // Private history belongs to accounts (PROTOCOL.md section 8.7): ana and bo have device keys.
  await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
  await using bo = await TestClient.keyed(server.port, "bo", generateKeyPair());
  await using cy = await TestClient.joined(server.port, "cy");
  for (let index = 0; index < 5; index++) await ana.say(`public ${index}`);
  await ana.say("secret", { to: "bo" });
  for (let index = 0; index < 5; index++) await cy.next("msg");
  await bo.next((m) => m.type === "msg" && m.to === "bo");
  await cy.send({ type: "history", limit: 3 });
  const page = await cy.next("history");
  assertEquals((page.items as Received[]).map(text), ["public 2", "public 3", "public 4"]);
  assertEquals(page.more, true);
  await cy.send({ type: "history", limit: 3, before: (page.items as Received[])[0]!.id });
  const older = await cy.next("history");
  assertEquals([(older.items as Received[]).map(text), older.more], [
    ["public 0", "public 1"],
    false,
  ]);
  await bo.send({ type: "history", limit: 2 });
  assertEquals(((await bo.next("history")).items as Received[]).map(text), ["public 4", "secret"]);
  await bo.send({ type: "history", with: "ANA" });
  assertEquals(((await bo.next("history")).items as Received[]).map(text), ["secret"]);
  for (const [client, expected] of [[cy, []], [bo, ["secret"]]] as const) {
    await client.send({ type: "search", q: "SECRET" });
    const results = await client.next("results");
    assertEquals((results.items as Received[]).map(text), expected);
    assert((results.items as Received[]).every((item) => !("ref" in item)));
  }
});

Deno.test("hello.after sends a returning client exactly what it missed, visible to it", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await using bo = await TestClient.joined(server.port, "bo");
  await ana.say("seen");
  const seen = await bo.next("msg");
  await bo[Symbol.asyncDispose]();
  await ana.next("left");
  await using cy = await TestClient.joined(server.port, "cy");
  await ana.say("missed 1");
  await cy.say("private to ana", { to: "ana" });
  await ana.say("missed 2");
  await ana.next((m) => m.type === "msg" && text(m) === "missed 2");
  await using back = await TestClient.joined(server.port, "bo", { after: seen.id });
  await ana.say("live");
  const got: string[] = [];
  for (let index = 0; index < 3; index++) got.push(text(await back.next("msg")));
  assertEquals(got, ["missed 1", "missed 2", "live"]);
  await back.send({ type: "ping", n: 9 });
  await back.next("pong");
  assertEquals(back.all("msg").length, 3);
});

Deno.test("closing the server tells everyone shutting_down and closes every connection", async () => {
  const server = await startTestServer();
  const ana = await TestClient.joined(server.port, "ana");
  const lurker = await TestClient.connect(server.port);
  await lurker.next("server");
  await withDeadline(server.close(), 3000, "server.close()");
  for (const client of [ana, lurker]) {
    assertEquals((await client.next("error")).code, "shutting_down");
    await client.waitClosed();
    await client[Symbol.asyncDispose]();
  }
  assertEquals(ana.all("left").length, 0);
});

Deno.test("above the presence limit joins and leaves are not announced; users stays exact", async () => {
  await using server = await startTestServer({ presenceLimit: 2 });
  await using ana = await TestClient.joined(server.port, "ana");
  await using _bo = await TestClient.joined(server.port, "bo");
  assertEquals((await ana.next("joined")).nick, "bo");
  const cy = await TestClient.joined(server.port, "cy"); // the third: over the limit
  await cy[Symbol.asyncDispose]();
  await using dee = await TestClient.joined(server.port, "dee");
  await ana.send({ type: "users" });
  const users = (await ana.next("users")).users as { nick: string }[];
  assertEquals(users.map((user) => user.nick), ["ana", "bo", "dee"]);
  assertEquals(
    ana.received.filter((m) => (m.type === "joined" || m.type === "left") && m.nick !== "bo")
      .length,
    0,
    "cy and dee came and went unannounced",
  );
  await dee.say("hi");
  assertEquals(text(await ana.next("msg")), "hi");
});

Deno.test("the users list stays right through joins, renames and leaves", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  const bo = await TestClient.joined(server.port, "bo");
  await using _cy = await TestClient.joined(server.port, "cy", {});
  await bo.send({ type: "nick", nick: "bob" });
  await ana.next("renamed");
  await bo[Symbol.asyncDispose]();
  await ana.next("left");
  await using dee = await TestClient.connect(server.port);
  await dee.next("server");
  await dee.send({ type: "hello", nick: "dee" });
  const list = (await dee.next("users")).users as { nick: string; since: number }[];
  assertEquals(list.map((user) => user.nick), ["ana", "cy", "dee"]);
  assert(list.every((user) => Number.isInteger(user.since)));
});

Deno.test("over TCP, a nick that looks like one online gets nick_taken and may try another", async () => {
  await using server = await startTestServer();
  await using alice = await TestClient.joined(server.port, "alice");
  await using mallory = await TestClient.connect(server.port);
  await mallory.next("server");
  await mallory.send({ type: "hello", nick: "\u0430lice" }); // Cyrillic а
  const refused = await mallory.next("error");
  assertEquals(refused.code, "nick_taken");
  assertEquals(
    refused.message,
    "'\u0430lice' looks too much like 'alice', who is online; pick another nick",
  );
  await mallory.send({ type: "hello", nick: "a\u0301\u0301\u0301\u0301\u0301lice" });
  assertEquals((await mallory.next("error")).code, "nick_invalid");
  await mallory.send({ type: "hello", nick: "mallory" });
  assertEquals((await mallory.next("welcome")).nick, "mallory");
  await alice.next((m) => m.type === "joined" && m.nick === "mallory");
  assert(!alice.all("joined").some((m) => m.nick !== "mallory"), "a look-alike was announced");
});

Deno.test("prove: the server signs the client's nonce with the key of its greeting, before hello", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.connect(server.port);
  const greeting = await client.next("server");
  const publicKey = Uint8Array.fromBase64(String(greeting.key));
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  await client.send({ type: "prove", nonce: nonce.toBase64() });
  const proof = await client.next("proof");
  const signature = Uint8Array.fromBase64(String(proof.sig));
  assert(verify(signature, serverProofBytes(nonce, null), publicKey), "the proof does not verify");
  // Bound to the nonce: it proves nothing for another one.
  const other = nonce.slice();
  other[0]! ^= 1;
  assert(!verify(signature, serverProofBytes(other, null), publicKey));
  // A bad nonce is a bad message; the connection goes on and may join.
  await client.send({ type: "prove", nonce: "AAAA" });
  assertEquals((await client.next("error")).code, "bad_message");
  await client.send({ type: "hello", nick: "ana" });
  assertEquals((await client.next("welcome")).nick, "ana");
});

Deno.test("a connection gets 4 proofs; a flood of prove requests costs the server no more and others' pings keep flowing", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.joined(server.port, "ana");
  await using mallory = await TestClient.connect(server.port);
  await mallory.next("server");
  const nonce = crypto.getRandomValues(new Uint8Array(32)).toBase64();
  const flood = Array.from({ length: 1000 }, () => mallory.send({ type: "prove", nonce }));
  let worst = 0;
  for (let round = 0; round < 10; round++) {
    const sent = performance.now();
    await ana.send({ type: "ping", n: `p${round}` });
    await ana.next((message) => message.type === "pong" && message.n === `p${round}`);
    worst = Math.max(worst, performance.now() - sent);
  }
  await Promise.all(flood);
  assert(worst < 200, `a ping waited ${worst.toFixed(0)} ms behind the proofs`);
  // Past its 4 proofs the connection is told why; it may still join.
  const refused = await mallory.next("error", 20_000);
  assertEquals(refused.code, "bad_message");
  assertMatch(String(refused.message), /ask for the server's proof 4 times/);
  await mallory.send({ type: "hello", nick: "mallory" });
  assertEquals((await mallory.next("welcome", 20_000)).nick, "mallory");
  assertEquals(mallory.all("proof").length, 4);
});

Deno.test("a server closing while a resume is still being read from a slow store still tells shutting_down", async () => {
  // The store answers `after` slowly (a busy disk): the replay holds live messages back meanwhile.
  class SlowHistory extends MemoryHistory {
    override after(viewer: Viewer, afterId: number, limit: number): Promise<StoredMessage[]> {
      return new Promise((resolve) =>
        setTimeout(() => resolve(super.after(viewer, afterId, limit)), 1500)
      );
    }
  }
  const history = new SlowHistory({ firstId: 1 });
  const server = await startTestServer({ history });
  {
    await using bob = await TestClient.joined(server.port, "bob");
    await bob.say("something to replay", { ref: 1 });
    await bob.next((message) => message.ref === 1);
  }
  await using client = await TestClient.joined(server.port, "ana", { after: 0 });
  await server.close();
  // Before the fix the error waited behind the replay and the connection closed without it.
  assertEquals((await client.next("error")).code, "shutting_down");
});
