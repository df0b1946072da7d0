/**
 * Channels and direct messages (issue #15, PROTOCOL.md section 9) over real
 * loopback sockets with the raw client: three accounts in three channels;
 * each message reaches exactly its channel's members (not even `search`
 * shows it to others); membership survives a restart; per-channel history
 * and resume are exact; a direct message to an offline account is kept for
 * it; a version-1 client keeps seeing `#general` only.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { type Received, startTestServer, TestClient, text } from "./_helpers.ts";
import { generateKeyPair, type KeyPair } from "../lib/wire/identity.ts";
import { openServerHistory } from "../lib/store/history_sqlite.ts";
import type { ServerOptions } from "../lib/server/server.ts";

/** Sends `request` with `ref` and waits for the answer or error carrying it. */
async function ask(client: TestClient, request: Record<string, unknown>): Promise<Received> {
  const ref = `r${Math.random()}`;
  await client.send({ ...request, ref });
  return await client.next((message) => message.ref === ref);
}

/** Joins channel `name` and checks the answer. */
async function join(client: TestClient, name: string): Promise<Received> {
  const answer = await ask(client, { type: "join", channel: name });
  assertEquals([answer.type, answer.joined], ["channel", true], JSON.stringify(answer));
  return answer;
}

/** Says `line` (in `channel`, or to `to`) and waits for the own copy. */
async function say(client: TestClient, line: string, extra: Record<string, unknown> = {}) {
  const answer = await ask(client, {
    type: "say",
    body: new TextEncoder().encode(line).toBase64(),
    ...extra,
  });
  assertEquals(answer.type, "msg", JSON.stringify(answer));
  return answer;
}

/** Waits until `client` has read everything sent to it so far (a ping round trip). */
async function settle(client: TestClient): Promise<void> {
  const n = Math.random();
  await client.send({ type: "ping", n });
  await client.next((message) => message.type === "pong" && message.n === n);
}

function texts(client: TestClient): string[] {
  return client.all("msg").map((message) => text(message));
}

async function historyOf(client: TestClient, request: Record<string, unknown>): Promise<string[]> {
  const answer = await ask(client, { type: "history", limit: 50, ...request });
  assertEquals(answer.type, "history", JSON.stringify(answer));
  return (answer.items as Received[]).map((item) => text(item));
}

async function withFile(run: (options: () => Promise<ServerOptions>) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_channels_" });
  try {
    await run(async () => {
      const history = await openServerHistory(`${dir}/h.db`);
      return { history, accounts: history.accounts, channels: history.channels };
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("three accounts, three channels: each message reaches exactly its channel's members", async () => {
  await using server = await startTestServer();
  const [anaKey, bobKey, cyKey] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  await using ana = await TestClient.keyed(server.port, "ana", anaKey);
  await using bob = await TestClient.keyed(server.port, "bob", bobKey);
  await using cy = await TestClient.keyed(server.port, "cy", cyKey);
  await using old = await TestClient.joined(server.port, "old"); // a version-1 client
  await join(ana, "#ops");
  await join(bob, "#OPS"); // names compare without case
  await join(bob, "#dev");
  await join(cy, "#dev");
  await say(ana, "ops only", { channel: "#ops" });
  await say(cy, "dev only", { channel: "#dev" });
  await say(bob, "everyone");
  for (const client of [ana, bob, cy, old]) await settle(client);
  // (The raw client reorders what a test took first: compare as sets.)
  assertEquals(texts(ana).sort(), ["everyone", "ops only"]);
  assertEquals(texts(bob).sort(), ["dev only", "everyone", "ops only"]);
  assertEquals(texts(cy).sort(), ["dev only", "everyone"]);
  assertEquals(texts(old), ["everyone"]);
  const opsLine = ana.all("msg").find((message) => text(message) === "ops only")!;
  assertEquals(opsLine.channel, "#ops");
  assertEquals("channel" in old.all("msg")[0]!, false, "#general messages carry no channel");

  // Not even search or history shows a channel to a non-member.
  const found = await ask(cy, { type: "search", q: "only" });
  assertEquals((found.items as Received[]).map((item) => text(item)), ["dev only"]);
  const refused = await ask(cy, { type: "history", channel: "#ops" });
  assertEquals(refused.code, "not_member");
  assertEquals((await ask(cy, { type: "say", body: "eA==", channel: "#ops" })).code, "not_member");
  assertEquals(await historyOf(bob, { channel: "#ops" }), ["ops only"]);
  assertEquals(await historyOf(bob, { channel: "#general" }), ["everyone"]);
  assertEquals(await historyOf(old, {}), ["everyone"], "version 1 sees #general only");
  const inDev = await ask(bob, { type: "search", q: "only", channel: "#dev" });
  assertEquals((inDev.items as Received[]).map((item) => text(item)), ["dev only"]);

  // A version-1 client, a guest, cannot join channels.
  assertEquals((await ask(old, { type: "join", channel: "#ops" })).code, "bad_message");
});

Deno.test("channels: list, topic, members, part; bad and look-alike names refused; #general cannot be left", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
  await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());
  await join(ana, "#ops");
  await join(bob, "#ops");
  const topic = await ask(ana, { type: "topic", channel: "#ops", topic: "deploys at 5" });
  assertEquals([topic.type, topic.topic, topic.by], ["topic", "deploys at 5", "ana"]);
  const told = await bob.next("topic");
  assertEquals(told.topic, "deploys at 5");
  const list = await ask(bob, { type: "channels" });
  assertEquals(list.items, [
    { name: "#general", topic: "", members: 2, joined: true },
    { name: "#ops", topic: "deploys at 5", members: 2, joined: true },
  ]);
  const members = await ask(bob, { type: "members", channel: "#ops" });
  assertEquals(members.users, [{ nick: "ana", online: true }, { nick: "bob", online: true }]);
  for (const bad of ["ops", "#", "#a b", "#<script>", `#${"x".repeat(33)}`]) {
    const answer = await ask(ana, { type: "join", channel: bad });
    assertEquals(answer.code, "channel_invalid", `${bad}: ${JSON.stringify(answer)}`);
  }
  const alike = await ask(ana, { type: "join", channel: "#0ps" });
  assertEquals(alike.code, "channel_invalid");
  assertMatch(String(alike.message), /looks too much like #ops/);
  assertEquals((await ask(ana, { type: "part", channel: "#general" })).code, "bad_message");
  const parted = await ask(bob, { type: "part", channel: "#ops" });
  assertEquals([parted.type, parted.joined, parted.members], ["channel", false, 1]);
  await say(ana, "after bob left", { channel: "#ops" });
  await settle(bob);
  assertEquals(texts(bob).includes("after bob left"), false);
});

Deno.test("a channel join on one device holds on the account's other devices", async () => {
  await using server = await startTestServer();
  const key = generateKeyPair();
  await using laptop = await TestClient.keyed(server.port, "ana", key);
  await using phone = await TestClient.keyed(server.port, "ana", key);
  await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());
  await join(laptop, "#ops");
  const told = await phone.next("channel");
  assertEquals([told.name, told.joined], ["#ops", true]);
  await join(bob, "#ops");
  await say(bob, "to the channel", { channel: "#ops" });
  assertEquals(text(await phone.next("msg")), "to the channel");
  assertEquals(text(await laptop.next("msg")), "to the channel");
});

Deno.test("membership survives a restart; resume after a restart is exact per channel", async () => {
  await withFile(async (options) => {
    const anaKey = generateKeyPair(), bobKey = generateKeyPair();
    let last = 0;
    {
      await using server = await startTestServer(await options());
      await using ana = await TestClient.keyed(server.port, "ana", anaKey);
      await using bob = await TestClient.keyed(server.port, "bob", bobKey);
      await join(ana, "#ops");
      await say(ana, "one", { channel: "#ops" });
      last = Number((await say(bob, "two")).id);
      await say(ana, "three", { channel: "#ops" });
      await say(bob, "four");
    }
    await using server = await startTestServer(await options());
    const ana = await resumed(server.port, "ana", anaKey, last);
    const bob = await resumed(server.port, "bob", bobKey, last);
    assertEquals(texts(ana), ["three", "four"], "ana: her channel's and #general's, once each");
    assertEquals(texts(bob), ["four"], "bob is not in #ops");
    const list = await ask(ana, { type: "channels" });
    assertEquals(
      (list.items as { name: string; joined: boolean }[]).map((item) => [item.name, item.joined]),
      [["#general", true], ["#ops", true]],
    );
    assertEquals(await historyOf(ana, { channel: "#ops" }), ["one", "three"]);
    ana.close(), bob.close();
    await ana.waitClosed(), await bob.waitClosed();
  });
});

/** Joins with `after` and waits until the replay is over (a ping round trip). */
async function resumed(port: number, nick: string, key: KeyPair, after: number) {
  const client = await TestClient.keyed(port, nick, key, { after });
  await settle(client);
  return client;
}

Deno.test("a direct message to an offline account is kept and shown when it next joins; an unknown nick is no_such_user", async () => {
  await withFile(async (options) => {
    await using server = await startTestServer(await options());
    const bobKey = generateKeyPair();
    (await TestClient.keyed(server.port, "bob", bobKey)).close(); // bob exists, then leaves
    await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const kept = await say(ana, "while you were out", { to: "bob" });
    assertEquals(kept.to, "bob");
    const nobody = await ask(ana, { type: "say", body: "eA==", to: "nobody" });
    assertEquals(nobody.code, "no_such_user");
    await using bob = await TestClient.keyed(server.port, "bob", bobKey);
    assertEquals(await historyOf(bob, { with: "ana" }), ["while you were out"]);
  });
});

Deno.test("a version-1 client's messages are in #general and it sees nothing of other channels", async () => {
  await using server = await startTestServer();
  await using old = await TestClient.joined(server.port, "old");
  await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
  await join(ana, "#ops");
  await old.say("from version 1");
  assertEquals(text(await ana.next("msg")), "from version 1");
  assert(!("channel" in ana.all("msg")[0]!));
  await say(ana, "in ops", { channel: "#ops" });
  await settle(old);
  assertEquals(texts(old), ["from version 1"]);
});

Deno.test("unread at join: one conversations message with unread and mention counts, offline DMs included; read marks follow the account", async () => {
  await withFile(async (options) => {
    await using server = await startTestServer(await options());
    const anaKey = generateKeyPair();
    {
      await using ana = await TestClient.keyed(server.port, "ana", anaKey);
      await join(ana, "#ops");
    }
    await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());
    await join(bob, "#ops");
    await say(bob, "deploy done", { channel: "#ops" });
    await say(bob, "@ana can you check?", { channel: "#ops" });
    await say(bob, "@channel lunch", { channel: "#ops" });
    await say(bob, "`@ana` in code is no mention", { channel: "#ops" });
    await say(bob, "are you there?", { to: "ana" }); // ana is offline: kept for her
    await say(bob, "hello all");

    const laptop = await TestClient.connect(server.port);
    await laptop.next("server");
    await laptop.helloWithKey("ana", anaKey);
    await laptop.next("welcome");
    await laptop.next("users");
    const first = await laptop.next("conversations");
    const counts = (first.items as Received[]).map((item) => [
      item.conversation,
      item.kind,
      item.unread,
      item.mentions,
      item.notify,
    ]);
    assertEquals(counts, [
      ["#general", "channel", 1, 0, "all"],
      ["#ops", "channel", 4, 2, "all"],
      ["@bob", "direct", 1, 1, "all"],
    ]);
    const ops = (first.items as Received[]).find((item) => item.conversation === "#ops")!;

    // Read on the laptop: the phone is told, and a later join counts nothing there.
    await using phone = await TestClient.keyed(server.port, "ana", anaKey);
    await laptop.send({ type: "read", conversation: "#ops", id: ops.last });
    const told = await phone.next("read");
    assertEquals([told.conversation, told.id], ["#ops", ops.last]);
    // A mark never goes back.
    await laptop.send({ type: "read", conversation: "#ops", id: 1 });
    assertEquals((await phone.next("read")).id, ops.last);
    const setting = await ask(laptop, { type: "notify", conversation: "#ops", level: "mentions" });
    assertEquals([setting.type, setting.level], ["notify", "mentions"]);
    assertEquals((await phone.next("notify")).level, "mentions");
    laptop.close();
    await laptop.waitClosed();
    await using again = await TestClient.keyed(server.port, "ana", anaKey);
    const later = await again.next("conversations");
    const opsAgain = (later.items as Received[]).find((item) => item.conversation === "#ops")!;
    assertEquals([opsAgain.unread, opsAgain.mentions, opsAgain.notify], [0, 0, "mentions"]);
    // A guest gets no conversations message (a version-1 client sees nothing new).
    await using old = await TestClient.joined(server.port, "old");
    await settle(old);
    assertEquals(old.all("conversations"), []);
    // A conversation one is not in cannot be marked.
    assertEquals(
      (await ask(again, { type: "notify", conversation: "#nope", level: "all" })).code,
      "not_member",
    );
  });
});

Deno.test("read marks are rated as history pages are (each is a write to the history file)", async () => {
  await using server = await startTestServer({
    requestRates: { historyPagesPerMinute: 6, historyBurst: 3 },
  });
  await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
  for (let id = 1; id <= 5; id++) await ana.send({ type: "read", conversation: "#general", id });
  const limited = await ana.next("error");
  assertEquals(limited.code, "rate_limited");
  assert(Number(limited.wait) > 0);
});
