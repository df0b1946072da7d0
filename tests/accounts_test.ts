/**
 * Device keys and accounts (issue #14, PROTOCOL.md section 8) over real
 * loopback sockets, with the raw protocol client of tests/_helpers.ts: what a
 * third-party client written from the page sees. First claim wins; a guest or
 * another key cannot take an owned nick; several connections are one person;
 * link codes; private history by account; whois; `--no-guests`; a device the
 * operator removes is dismissed.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { type Received, startTestServer, TestClient, testRoomKey, text } from "./_helpers.ts";
import { fingerprint, generateKeyPair, sign } from "../lib/wire/identity.ts";
import { fromBase64, toBase64 } from "../lib/wire/base64.ts";
import { helloSignatureBytes } from "../lib/wire/protocol.ts";
import { openServerHistory } from "../lib/store/history_sqlite.ts";
import { DatabaseSync } from "node:sqlite";
import { writeV1History } from "./fixtures/history_v1.ts";
import { SqliteAccounts } from "../lib/store/accounts_sqlite.ts";

/** The answer to a hello: welcome or error. */
async function answer(client: TestClient): Promise<Received> {
  return await client.next((message) => message.type === "welcome" || message.type === "error");
}

Deno.test("first claim wins: another key, a guest and a look-alike are refused with nick_owned", async () => {
  await using server = await startTestServer();
  const ana = generateKeyPair();
  const greeting = await (async () => {
    await using probe = await TestClient.connect(server.port);
    return await probe.next("server");
  })();
  assertEquals(greeting.proto, 1);
  assertEquals(greeting.version, 4);
  assertEquals(fromBase64(String(greeting.challenge)).length, 32);

  const first = await TestClient.keyed(server.port, "ana", ana);
  first.close();
  await first.waitClosed();

  await using thief = await TestClient.connect(server.port);
  await thief.next("server");
  await thief.helloWithKey("ana", generateKeyPair());
  const refused = await answer(thief);
  assertEquals(refused.code, "nick_owned");
  assertEquals(refused.message, "'ana' belongs to someone else on this server; pick another nick");
  // The connection stays open: another nick works, as after nick_taken.
  await thief.helloWithKey("eve", generateKeyPair());
  assertEquals((await answer(thief)).type, "welcome");

  await using guest = await TestClient.connect(server.port);
  await guest.next("server");
  await guest.send({ type: "hello", nick: "ANA" });
  assertEquals((await answer(guest)).code, "nick_owned");
  await guest.send({ type: "hello", nick: "\u0430na" }); // Cyrillic а
  const lookalike = await answer(guest);
  assertEquals(lookalike.code, "nick_owned");
  assertMatch(String(lookalike.message), /looks too much like 'ana', which belongs to someone/);
  await guest.send({ type: "hello", nick: "zed" });
  const welcome = await answer(guest);
  assertEquals(welcome.guest, true);
  const users = await guest.next("users");
  const entries = users.users as { nick: string; guest?: boolean }[];
  assertEquals(entries.map((user) => [user.nick, user.guest === true]), [
    ["eve", false],
    ["zed", true],
  ]);

  // The owner comes back from the same key: welcomed, not a guest.
  await using back = await TestClient.connect(server.port);
  await back.next("server");
  await back.helloWithKey("Ana", ana);
  const again = await answer(back);
  assertEquals([again.type, again.nick, again.guest], ["welcome", "ana", undefined]);
});

Deno.test("a signature for another challenge, or garbage, is refused and the connection stays", async () => {
  await using server = await startTestServer();
  const key = generateKeyPair();
  await using client = await TestClient.connect(server.port);
  await client.next("server");
  const otherChallenge = crypto.getRandomValues(new Uint8Array(32));
  await client.send({
    type: "hello",
    nick: "ana",
    key: toBase64(key.publicKey),
    sig: toBase64(sign(helloSignatureBytes(otherChallenge, null), key.secretKey)),
  });
  assertEquals((await answer(client)).code, "bad_signature");
  await client.send({ type: "hello", nick: "ana", key: "AAAA", sig: "AAAA" });
  assertEquals((await answer(client)).code, "bad_message");
  await client.send({ type: "hello", nick: "ana", key: toBase64(key.publicKey) });
  assertMatch(String((await answer(client)).message), /'sig' is required/);
  // Nothing was claimed by the failures: a right signature takes the nick.
  await client.helloWithKey("ana", key);
  assertEquals((await answer(client)).type, "welcome");
});

Deno.test("a connection may try 4 device keys; a fifth gets bad_message", async () => {
  await using server = await startTestServer();
  await using _owner = await TestClient.keyed(server.port, "ana", generateKeyPair());
  await using client = await TestClient.connect(server.port);
  await client.next("server");
  for (let index = 0; index < 4; index++) {
    await client.helloWithKey("ana", generateKeyPair());
    assertEquals((await answer(client)).code, "nick_owned");
  }
  await client.helloWithKey("ana", generateKeyPair());
  const fifth = await answer(client);
  assertEquals(fifth.code, "bad_message");
  assertMatch(String(fifth.message), /4 device keys/);
});

Deno.test("one account on two connections: listed once, joined and left once, both get privates", async () => {
  await using server = await startTestServer();
  const ana = generateKeyPair();
  await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());
  await using laptop = await TestClient.keyed(server.port, "ana", ana);
  await bob.next((message) => message.type === "joined" && message.nick === "ana");
  await using phone = await TestClient.keyed(server.port, "ana", ana);
  await bob.send({ type: "users" });
  const users = await bob.next("users");
  assertEquals((users.users as { nick: string }[]).map((user) => user.nick), ["bob", "ana"]);

  await bob.say("for ana only", { to: "ana", ref: 1 });
  await bob.next((message) => message.type === "msg" && message.ref === 1);
  for (const device of [laptop, phone]) {
    const got = await device.next("msg");
    assertEquals([got.from, got.to, text(got)], ["bob", "ana", "for ana only"]);
  }
  // A reply from the phone reaches bob, the phone (with its ref) and the laptop (without).
  await phone.say("thanks", { to: "bob", ref: "r" });
  assertEquals((await phone.next("msg")).ref, "r");
  assertEquals((await laptop.next("msg")).ref, undefined);
  assertEquals(text(await bob.next("msg")), "thanks");

  phone.close();
  await phone.waitClosed();
  await bob.send({ type: "ping", n: 7 });
  await bob.next("pong");
  assertEquals(bob.all("joined").filter((message) => message.nick === "ana").length, 1);
  assertEquals(bob.all("left").length, 0, "ana is still online on the laptop");
  laptop.close();
  const left = await bob.next("left");
  assertEquals(left.nick, "ana");
});

Deno.test("a rename moves ownership: the old nick is free, the new one owned, and all devices follow", async () => {
  await using server = await startTestServer();
  const ana = generateKeyPair();
  await using laptop = await TestClient.keyed(server.port, "ana", ana);
  await using phone = await TestClient.keyed(server.port, "ana", ana);
  await phone.send({ type: "nick", nick: "anna" });
  for (const device of [laptop, phone]) {
    const renamed = await device.next("renamed");
    assertEquals([renamed.from, renamed.to], ["ana", "anna"]);
  }
  await using other = await TestClient.connect(server.port);
  await other.next("server");
  await other.send({ type: "hello", nick: "anna" });
  assertEquals((await answer(other)).code, "nick_owned");
  await other.send({ type: "hello", nick: "ana" });
  assertEquals((await answer(other)).type, "welcome", "the old nick is free");
  // A guest cannot rename into an owned nick either.
  await other.next("users");
  await other.send({ type: "nick", nick: "ANNA" });
  assertEquals((await other.next("error")).code, "nick_owned");
});

Deno.test("link codes: a second device joins the account; wrong, reused and expired codes are refused; guessing slows", async () => {
  let now = Date.now();
  await using server = await startTestServer({ linkCodes: {}, identity: {} });
  const ana = generateKeyPair(), phone = generateKeyPair();
  await using laptop = await TestClient.keyed(server.port, "ana", ana);
  await laptop.send({ type: "link", ref: "l" });
  const issued = await laptop.next("link_code");
  assertEquals(issued.ref, "l");
  assertMatch(String(issued.code), /^[0-9A-HJKMNP-TV-Z]{8}$/);
  assert(
    Number(issued.expires) - now > 9 * 60_000 && Number(issued.expires) - now <= 600_000 + 5_000,
  );
  now = Date.now();

  const typed = `${String(issued.code).slice(0, 4).toLowerCase()}-${String(issued.code).slice(4)}`;
  await using second = await TestClient.keyed(server.port, "whatever", phone, { link: typed });
  const welcome = second.all("welcome")[0]!;
  assertEquals(welcome.nick, "ana");
  for (const device of [laptop, second]) {
    const linked = await device.next("linked");
    assertEquals(linked.fingerprint, fingerprint(phone.publicKey));
  }
  // The phone is now ana's without a code.
  await using _again = await TestClient.keyed(server.port, "ana", phone);

  // Reused.
  await using reuse = await TestClient.connect(server.port);
  await reuse.next("server");
  await reuse.helloWithKey("x", generateKeyPair(), { link: issued.code });
  const reused = await answer(reuse);
  assertEquals(reused.code, "link_invalid");
  assertMatch(String(reused.message), /wrong, used already or expired/);

  // Wrong codes: 5 are answered link_invalid, then the address waits.
  const codes: string[] = [];
  const guesser = generateKeyPair();
  for (let index = 0; index < 7; index++) {
    await reuse.helloWithKey("x", guesser, { link: "ZZZZ-ZZZZ" });
    codes.push(String((await answer(reuse)).code));
  }
  assertEquals(codes.slice(0, 4), ["link_invalid", "link_invalid", "link_invalid", "link_invalid"]);
  assertEquals(codes.at(-1), "rate_limited");
  const limited = reuse.all("error").at(-1)!;
  assert(Number(limited.wait) >= 1, `wait ${limited.wait}`);

  // A guest has no account to link.
  await using guest = await TestClient.joined(server.port, "zed");
  await guest.send({ type: "link", ref: 2 });
  const noAccount = await guest.next("error");
  assertEquals([noAccount.code, noAccount.ref], ["bad_message", 2]);
});

Deno.test("an expired code is refused", async () => {
  await using server = await startTestServer({ linkCodes: { ttlMs: 300 } });
  await using laptop = await TestClient.keyed(server.port, "ana", generateKeyPair());
  await laptop.send({ type: "link" });
  const { code } = await laptop.next("link_code");
  await new Promise((resolve) => setTimeout(resolve, 500));
  await using late = await TestClient.connect(server.port);
  await late.next("server");
  await late.helloWithKey("ana", generateKeyPair(), { link: code });
  assertEquals((await answer(late)).code, "link_invalid");
});

Deno.test("private history belongs to accounts: a later holder of a nick and guests see none of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_accounts_" });
  try {
    await using server = await startTestServer({
      history: await openServerHistory(`${dir}/h.db`),
    });
    const ana = generateKeyPair(), bob = generateKeyPair();
    {
      await using a = await TestClient.keyed(server.port, "ana", ana);
      await using b = await TestClient.keyed(server.port, "bob", bob);
      await a.say("secret to bob", { to: "bob", ref: 1 });
      await a.next((message) => message.type === "msg" && message.ref === 1);
      await b.next("msg");
      await b.say("public line", { ref: 2 });
      await b.next((message) => message.type === "msg" && message.ref === 2);
      // ana renames: her old nick is free, and whoever takes it sees nothing of hers.
      await a.send({ type: "nick", nick: "ana2" });
      await a.next("renamed");
    }
    const viewsOf = async (client: TestClient): Promise<string[][]> => {
      await client.send({ type: "history", limit: 50, ref: "h" });
      const page = await client.next((message) => message.type === "history");
      await client.send({ type: "search", q: "secret", ref: "s" });
      const found = await client.next((message) => message.type === "results");
      await client.send({ type: "history", with: "bob", limit: 50, ref: "w" });
      const withBob = await client.next((message) => message.type === "history");
      return [page, found, withBob].map((answer) =>
        (answer.items as Received[]).map((item) => text(item))
      );
    };
    // A new key takes the freed nick "ana": nothing private.
    await using newAna = await TestClient.keyed(server.port, "ana", generateKeyPair());
    assertEquals(await viewsOf(newAna), [["public line"], [], []]);
    // A guest under a free nick: nothing private.
    await using guest = await TestClient.joined(server.port, "carl");
    assertEquals(await viewsOf(guest), [["public line"], [], []]);
    // The real ana, under her new nick, and bob: both see it.
    await using realAna = await TestClient.keyed(server.port, "ana2", ana);
    assertEquals(await viewsOf(realAna), [["secret to bob", "public line"], ["secret to bob"], [
      "secret to bob",
    ]]);
    await using realBob = await TestClient.keyed(server.port, "bob", bob);
    await realBob.send({ type: "history", with: "ana2", limit: 50 });
    const withAna = await realBob.next("history");
    assertEquals((withAna.items as Received[]).map((item) => text(item)), ["secret to bob"]);
    // Resume with after=0 replays only what each may see.
    await using resumed = await TestClient.connect(server.port);
    await resumed.next("server");
    await resumed.helloWithKey("bob", bob, { after: 0 });
    await resumed.next("welcome");
    await resumed.next("users");
    const replay = [await resumed.next("msg"), await resumed.next("msg")];
    assertEquals(replay.map((item) => text(item)), ["secret to bob", "public line"]);
    await using resumedGuest = await TestClient.joined(server.port, "dan", { after: 0 });
    assertEquals(text(await resumedGuest.next("msg")), "public line");
    await resumedGuest.send({ type: "ping", n: 1 });
    await resumedGuest.next("pong");
    assertEquals(resumedGuest.all("msg").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("whois shows an account's devices and a guest as a guest; unknown nicks get no_such_user", async () => {
  await using server = await startTestServer();
  const ana = generateKeyPair(), phone = generateKeyPair();
  await using laptop = await TestClient.keyed(server.port, "ana", ana);
  await laptop.send({ type: "link" });
  const { code } = await laptop.next("link_code");
  (await TestClient.keyed(server.port, "x", phone, { link: code })).close();
  await using guest = await TestClient.joined(server.port, "zed");
  await guest.send({ type: "whois", nick: "ANA", ref: 3 });
  const card = await guest.next("whois");
  assertEquals([card.nick, card.guest, card.ref], ["ana", false, 3]);
  assert(typeof card.since === "number");
  const devices = card.devices as { fingerprint: string; online: boolean }[];
  assertEquals(
    devices.map((device) => [device.fingerprint, device.online]).sort(),
    [[fingerprint(ana.publicKey), true], [fingerprint(phone.publicKey), false]].sort(),
  );
  await laptop.send({ type: "whois", nick: "zed" });
  const guestCard = await laptop.next("whois");
  assertEquals([guestCard.guest, guestCard.devices], [true, []]);
  await laptop.send({ type: "whois", nick: "nobody", ref: "n" });
  const none = await laptop.next("error");
  assertEquals([none.code, none.ref], ["no_such_user", "n"]);
});

Deno.test("--no-guests refuses a keyless hello with key_required and closes", async () => {
  await using server = await startTestServer({ identity: { guests: false } });
  await using guest = await TestClient.connect(server.port);
  await guest.next("server");
  await guest.send({ type: "hello", nick: "old" });
  const refused = await guest.next("error");
  assertEquals(refused.code, "key_required");
  await guest.waitClosed();
  (await TestClient.keyed(server.port, "new", generateKeyPair())).close();
});

Deno.test("claims are limited per address and in all", async () => {
  await using server = await startTestServer({
    identity: { accountBurst: 2, accountsPerHour: 2, maxAccounts: 3 },
  });
  (await TestClient.keyed(server.port, "a1", generateKeyPair())).close();
  (await TestClient.keyed(server.port, "a2", generateKeyPair())).close();
  await using third = await TestClient.connect(server.port);
  await third.next("server");
  await third.helloWithKey("a3", generateKeyPair());
  const limited = await answer(third);
  assertEquals(limited.code, "rate_limited");
  assertMatch(String(limited.message), /too many new nicks from your address/);
  assert(Number(limited.wait) > 60_000, `wait ${limited.wait}`);
  // A device that has its account joins whatever the rate.
  await using _guest = await TestClient.joined(server.port, "zed");
});

Deno.test("the number of accounts is limited: server_full says what the operator can do", async () => {
  await using server = await startTestServer({ identity: { maxAccounts: 1 } });
  (await TestClient.keyed(server.port, "a1", generateKeyPair())).close();
  await using second = await TestClient.connect(server.port);
  await second.next("server");
  await second.helloWithKey("a2", generateKeyPair());
  const full = await answer(second);
  assertEquals(full.code, "server_full");
  assertMatch(String(full.message), /release unused nicks/);
});

Deno.test("on a secure server the hello signature is bound to the handshake", async () => {
  const roomKey = await testRoomKey("correct horse battery staple");
  await using server = await startTestServer({ roomKey });
  const key = generateKeyPair();
  await using client = await TestClient.secure(server.port, roomKey.psk);
  // Signed without the handshake hash, as a relay that only saw the challenge could: refused.
  const greeting = client.received.find((message) => message.type === "server")!;
  await client.send({
    type: "hello",
    nick: "ana",
    key: toBase64(key.publicKey),
    sig: toBase64(
      sign(helloSignatureBytes(fromBase64(String(greeting.challenge)), null), key.secretKey),
    ),
  });
  assertEquals((await answer(client)).code, "bad_signature");
  await client.helloWithKey("ana", key);
  assertEquals((await answer(client)).type, "welcome");
});

Deno.test("a device the operator removes while online is dismissed with device_removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_accounts_" });
  try {
    const path = `${dir}/h.db`;
    const history = await openServerHistory(path);
    await using server = await startTestServer({
      history,
      accounts: history.accounts,
      tickMs: 100,
    });
    const stolen = generateKeyPair();
    await using thief = await TestClient.keyed(server.port, "ana", stolen);
    await using bob = await TestClient.joined(server.port, "bob");
    // The operator, from another process's connection to the same file.
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      new SqliteAccounts(db, path).removeDevice(fingerprint(stolen.publicKey));
    } finally {
      db.close();
    }
    const dismissed = await thief.next("error");
    assertEquals(dismissed.code, "device_removed");
    await thief.waitClosed();
    const left = await bob.next("left");
    assertEquals([left.nick, left.reason], ["ana", "kicked"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a history written before accounts: its private messages go to the first claimer of their nicks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_accounts_" });
  try {
    const path = `${dir}/h.db`;
    writeV1History(path, [
      { ts: 1, from: "Ana", to: "bob", text: "ana to bob" },
      { ts: 2, from: "carl", to: null, text: "old public" },
      { ts: 3, from: "bob", to: "Ana", text: "bob to ana" },
      { ts: 4, from: "carl", to: "dan", text: "carl to dan" },
    ]);
    const history = await openServerHistory(path);
    await using server = await startTestServer({ history, accounts: history.accounts });
    const privates = async (client: TestClient) => {
      await client.send({ type: "history", limit: 50 });
      return ((await client.next("history")).items as Received[]).map((item) => text(item));
    };
    // A guest as "ana" sees nothing private; then a key claims "ana" and gets her old messages.
    await using guest = await TestClient.joined(server.port, "ana");
    assertEquals(await privates(guest), ["old public"]);
    guest.close();
    await guest.waitClosed();
    await using ana = await TestClient.keyed(server.port, "ANA", generateKeyPair());
    assertEquals(await privates(ana), ["ana to bob", "old public", "bob to ana"]);
    // bob has not claimed yet; when he does he gets his side, carl's and dan's stay hidden.
    await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());
    assertEquals(await privates(bob), ["ana to bob", "old public", "bob to ana"]);
    await using eve = await TestClient.keyed(server.port, "eve", generateKeyPair());
    assertEquals(await privates(eve), ["old public"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an account's renames are rate limited (each one is a write to the history file)", async () => {
  await using server = await startTestServer();
  await using ana = await TestClient.keyed(server.port, "ana", generateKeyPair());
  for (let index = 0; index < 10; index++) {
    await ana.send({ type: "nick", nick: `ana${index}` });
    await ana.next((message) => message.type === "renamed" && message.to === `ana${index}`);
  }
  await ana.send({ type: "nick", nick: "ana-again" });
  const limited = await ana.next("error");
  assertEquals(limited.code, "rate_limited");
  assert(Number(limited.wait) > 1000, `wait ${limited.wait}`);
});

Deno.test("'аlice' (Cyrillic а) is refused while 'alice' is owned, even with alice offline", async () => {
  await using server = await startTestServer();
  (await TestClient.keyed(server.port, "alice", generateKeyPair())).close();
  await using other = await TestClient.connect(server.port);
  await other.next("server");
  await other.helloWithKey("\u0430lice", generateKeyPair());
  const refused = await answer(other);
  assertEquals(refused.code, "nick_owned");
  assertEquals(
    refused.message,
    "'\u0430lice' looks too much like 'alice', which belongs to someone on this server; pick another nick",
  );
  await other.send({ type: "hello", nick: "\u0430lice" });
  assertEquals((await answer(other)).code, "nick_owned");
});

Deno.test("a device of an account joins under the account's nick whatever hello.nick says, and renames nothing", async () => {
  await using server = await startTestServer();
  const ana = generateKeyPair();
  await using laptop = await TestClient.keyed(server.port, "ana", ana);
  // A script on the same device, or a reconnect that remembers an old nick.
  await using script = await TestClient.keyed(server.port, "ci-bot", ana);
  assertEquals(script.all("welcome")[0]!.nick, "ana");
  await laptop.send({ type: "ping", n: 1 });
  await laptop.next("pong");
  assertEquals(laptop.all("renamed"), []);
  await using guest = await TestClient.joined(server.port, "ci-bot");
  assertEquals(guest.all("welcome")[0]!.guest, true, "ci-bot was never claimed");
});

Deno.test("joined says guest for a member without a key, and nothing for an account", async () => {
  await using server = await startTestServer();
  await using watcher = await TestClient.joined(server.port, "watcher");
  (await TestClient.keyed(server.port, "ana", generateKeyPair())).close();
  const ana = await watcher.next("joined");
  assertEquals([ana.nick, ana.guest], ["ana", undefined]);
  (await TestClient.joined(server.port, "zed")).close();
  const zed = await watcher.next((message) => message.type === "joined" && message.nick === "zed");
  assertEquals(zed.guest, true);
});

Deno.test("signatures asked of the server are limited per address: reconnecting to make it verify garbage gets rate_limited", async () => {
  await using server = await startTestServer({ requestRates: { keyChecksPerSecond: 1 } });
  const codes: string[] = [];
  for (let index = 0; index < 3; index++) {
    // A new connection each time: the per-connection cap of 4 keys does not help here.
    await using client = await TestClient.connect(server.port);
    await client.next("server");
    await client.send({
      type: "hello",
      nick: "x",
      key: toBase64(generateKeyPair().publicKey),
      sig: toBase64(new Uint8Array(64)),
    });
    codes.push(String((await answer(client)).code));
  }
  assertEquals(codes, ["bad_signature", "bad_signature", "rate_limited"]);
  // prove takes from the same budget.
  await using prover = await TestClient.connect(server.port);
  await prover.next("server");
  await prover.send({ type: "prove", nonce: toBase64(new Uint8Array(32)) });
  const refused = await prover.next("error");
  assertEquals(refused.code, "rate_limited");
  assert(Number(refused.wait) >= 1);
});
