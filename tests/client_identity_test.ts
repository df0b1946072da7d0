/**
 * The client core's side of device keys and accounts (issue #14, PROTOCOL.md
 * section 8), in lib/client/session.ts against scripted servers over real
 * loopback sockets: the signed `hello` (and the keyless one for an older
 * server), the link code of the first join, `nick_owned`, `link_invalid`,
 * `key_required` and `device_removed`, `link` and `whois` requests, the
 * `linked` event; and, without sockets, the words and commands that show
 * them (/link, /whois) and the client's parser of the new server messages.
 */
import { withDeadline } from "./_helpers.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import {
  ChatSession,
  DeviceRefused,
  JoinFailure,
  LinkRefused,
  type SessionEvent,
  type SessionOptions,
} from "../lib/client/session.ts";
import { type CommandContext, runLine } from "../lib/client/commands.ts";
import {
  linkCodeText,
  linkedText,
  ownedNickAdvice,
  whoisLines,
} from "../lib/client/event_words.ts";
import { formatEvent } from "../lib/client/terminal/format.ts";
import { fingerprint, generateKeyPair, verify } from "../lib/wire/identity.ts";
import { helloSignatureBytes, nickProblem } from "../lib/wire/protocol.ts";
import { parseServerMessage } from "../lib/wire/server_message.ts";
import { greeting, type ScriptedPeer, scriptedServer } from "./fixtures/scripted_server.ts";

/** Collects session events; waits for one with a deadline. */
class Events {
  readonly all: SessionEvent[] = [];
  #listeners = new Set<() => void>();

  readonly push = (event: SessionEvent): void => {
    this.all.push(event);
    for (const listener of [...this.#listeners]) listener();
  };

  async waitFor(predicate: (event: SessionEvent) => boolean, timeoutMs = 10_000) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let listener: (() => void) | undefined;
    try {
      return await new Promise<SessionEvent>((resolve, reject) => {
        listener = () => {
          const found = this.all.find(predicate);
          if (found !== undefined) resolve(found);
        };
        this.#listeners.add(listener);
        listener();
        timer = setTimeout(() => {
          reject(
            new Error(`no such event within ${timeoutMs} ms; got ${JSON.stringify(this.all)}`),
          );
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      if (listener !== undefined) this.#listeners.delete(listener);
    }
  }

  types(): string[] {
    return this.all.map((event) => event.type);
  }
}

function session(
  port: number,
  events: Events,
  options: Partial<SessionOptions> = {},
): ChatSession {
  return new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    onEvent: events.push,
    reconnectDelaysMs: [20],
    answerTimeoutMs: 5_000,
    ...options,
  });
}

/** Fails unless `run` rejects with an Error whose message contains `words`. */
async function rejectsWith(run: () => Promise<unknown>, words: string): Promise<void> {
  const error = await assertRejects(run, Error);
  assert(error.message.includes(words), `"${error.message}" does not say "${words}"`);
}

function bytes(text: unknown): Uint8Array {
  return Uint8Array.fromBase64(String(text));
}

/** Greets, takes the hello, welcomes it as `nick`; returns the hello and the challenge. */
async function welcomeOne(
  peer: ScriptedPeer,
  nick: string,
  extra: Record<string, unknown> = {},
) {
  const hello = greeting();
  await peer.send(hello.message);
  const sent = await peer.next("hello");
  assert(sent !== null, "the client sent no hello");
  await peer.send({ type: "welcome", nick, last: 0, ...extra });
  await peer.send({ type: "users", users: [{ nick, since: 1 }] });
  return { hello: sent, challenge: hello.challenge };
}

Deno.test("every hello carries the device key and its signature of that connection's challenge; a reconnect signs the new one", async () => {
  const key = generateKeyPair();
  const hellos: { hello: Record<string, unknown>; challenge: Uint8Array }[] = [];
  await using server = scriptedServer(async (peer, index) => {
    hellos.push(await welcomeOne(peer, "ana"));
    if (index === 0) {
      await peer.next("say"); // The test's cue to drop this connection.
      peer.close();
    } else {
      await peer.next("bye");
    }
  });
  const events = new Events();
  const ana = session(server.port, events, { nick: "ana", deviceKey: key });
  try {
    await ana.start();
    await ana.say("drop me");
    await events.waitFor((event) => event.type === "resumed");
  } finally {
    await ana.quit();
  }
  assertEquals(hellos.length, 2);
  const [first, second] = hellos as [typeof hellos[0], typeof hellos[0]];
  for (const { hello, challenge } of hellos) {
    assertEquals(hello.key, key.publicKey.toBase64());
    assert(
      verify(bytes(hello.sig), helloSignatureBytes(challenge, null), key.publicKey),
      "the signature does not verify over this connection's challenge",
    );
    assertEquals(hello.link, undefined);
  }
  assert(
    !verify(bytes(second.hello.sig), helloSignatureBytes(first.challenge, null), key.publicKey),
    "the reconnect's signature is worth something on the first connection",
  );
  assertEquals(second.hello.after, 0, "the reconnect did not resume");
  const welcome = events.all.find((event) => event.type === "welcome");
  assertEquals(welcome, { type: "welcome", nick: "ana", reconnect: false, guest: false });
});

Deno.test("an older server (no challenge) gets a hello without a key; a keyless session on a new server is a guest", async () => {
  const key = generateKeyPair();
  const hellos: Record<string, unknown>[] = [];
  await using older = scriptedServer(async (peer) => {
    await peer.send({ type: "server", proto: 1, name: "old", secure: null });
    const hello = await peer.next("hello");
    if (hello !== null) hellos.push(hello);
    await peer.send({ type: "welcome", nick: "ana", last: 0 });
    await peer.next("bye");
  });
  const events = new Events();
  const ana = session(older.port, events, { nick: "ana", deviceKey: key });
  try {
    await ana.start();
    assertEquals(ana.guest, false);
    await rejectsWith(() => ana.whois("bob"), "older lanchat");
    await rejectsWith(() => ana.requestLinkCode(), "older lanchat");
  } finally {
    await ana.quit();
  }
  assertEquals(Object.keys(hellos[0] ?? {}).sort(), ["client", "nick", "type"]);

  const guestSent = Promise.withResolvers<string[]>();
  await using newer = scriptedServer(async (peer) => {
    const { hello } = await welcomeOne(peer, "bob", { guest: true });
    hellos.push(hello);
    await peer.next("bye");
    guestSent.resolve(peer.sent.map((message) => message.type));
  });
  const guestEvents = new Events();
  const bob = session(newer.port, guestEvents, { nick: "bob" });
  try {
    await bob.start();
    assertEquals(bob.guest, true);
    await rejectsWith(() => bob.requestLinkCode(), "guest");
  } finally {
    await bob.quit();
  }
  assertEquals(hellos[1]?.key, undefined);
  assertEquals(hellos[1]?.sig, undefined);
  const welcome = guestEvents.all.find((event) => event.type === "welcome");
  assertEquals(welcome, { type: "welcome", nick: "bob", reconnect: false, guest: true });
  assertEquals(
    await withDeadline(guestSent.promise, 5000, "the guest's bye"),
    ["hello", "bye"],
    "a guest's link request went out",
  );
});

Deno.test("a link code goes with the first join only; the nick is the account's from welcome, also after a reconnect", async () => {
  const key = generateKeyPair();
  const other = fingerprint(generateKeyPair().publicKey);
  const hellos: Record<string, unknown>[] = [];
  await using server = scriptedServer(async (peer, index) => {
    // The account's nick is "ana"; renamed to "anna" from another device while this one was away.
    const { hello } = await welcomeOne(peer, index === 0 ? "ana" : "anna");
    hellos.push(hello);
    if (index === 0) {
      await peer.send({ type: "linked", fingerprint: other, ts: 1_796_557_800_000 });
      await peer.next("say");
      peer.close();
    } else {
      await peer.next("bye");
    }
  });
  const events = new Events();
  let asked = 0;
  const phone = session(server.port, events, {
    deviceKey: key,
    linkCode: "K7QM3XPA",
    chooseNick: () => {
      asked++;
      return Promise.resolve("never");
    },
  });
  try {
    await phone.start();
    assertEquals(phone.nick, "ana");
    await events.waitFor((event) => event.type === "linked");
    await phone.say("drop me");
    await events.waitFor((event) => event.type === "resumed");
    assertEquals(phone.nick, "anna");
  } finally {
    await phone.quit();
  }
  assertEquals(asked, 0, "a device joining with a code was asked for a nick");
  assertEquals(hellos[0]?.link, "K7QM3XPA");
  assertEquals(nickProblem(String(hellos[0]?.nick)), null, "the placeholder nick is not a nick");
  assertEquals(hellos[1]?.link, undefined, "the code was sent again on the reconnect");
  assertEquals(hellos[1]?.nick, "ana");
  assertEquals(typeof hellos[1]?.sig, "string");
  const linked = events.all.find((event) => event.type === "linked");
  assertEquals(linked, { type: "linked", fingerprint: other, ts: 1_796_557_800_000, own: false });
});

Deno.test("a refused link code fails the first join with the server's words, and a retrying session ends with link: true", async () => {
  const refusal = "that code was used already; ask for a new one with /link";
  await using server = scriptedServer(async (peer) => {
    await peer.send(greeting().message);
    const hello = await peer.next("hello");
    assertEquals(hello?.link, "K7QM3XPA");
    await peer.send({ type: "error", code: "link_invalid", message: refusal });
    await peer.next(); // The client hangs up.
  });
  const events = new Events();
  const once = session(server.port, events, { deviceKey: generateKeyPair(), linkCode: "K7QM3XPA" });
  const failure = await assertRejects(() => once.start(), LinkRefused);
  assert(failure instanceof JoinFailure);
  assertEquals(failure.exitCode, 1);
  assertMatch(failure.message, /that code was used already/);

  const retrying = session(server.port, new Events(), {
    deviceKey: generateKeyPair(),
    linkCode: "K7QM3XPA",
    keepRetrying: { maxDelayMs: 50, fromFirstJoin: true },
  });
  await retrying.start();
  const end = await retrying.ended;
  assertEquals(end.kind, "gave_up");
  assert(end.kind === "gave_up");
  assertEquals(end.link, true);
  assertMatch(end.message, /that code was used already/);
  assertEquals(server.connections, 2, "a refused code was tried again");
});

Deno.test("a link code with an older server fails before hello; linkCode without deviceKey is a programming error", async () => {
  await using older = scriptedServer(async (peer) => {
    await peer.send({ type: "server", proto: 1, name: "old", secure: null });
    await peer.next();
  });
  const phone = session(older.port, new Events(), {
    deviceKey: generateKeyPair(),
    linkCode: "K7QM3XPA",
  });
  const failure = await assertRejects(() => phone.start(), LinkRefused);
  assertMatch(failure.message, /older lanchat without accounts/);
  await withDeadline(older.peers[0]!.done, 5000, "the client to hang up");
  assertEquals(older.peers[0]?.sent, [], "the client sent something to a server it cannot link on");
  let thrown: unknown = null;
  try {
    session(older.port, new Events(), { linkCode: "K7QM3XPA" });
  } catch (error) {
    thrown = error;
  }
  assert(thrown instanceof TypeError, "linkCode without deviceKey was accepted");
});

Deno.test("nick_owned asks for another nick with the server's reason, as nick_taken does; without a chooser the join fails (exit 2)", async () => {
  const owned = "'ana' belongs to someone else on this server; pick another nick";
  await using server = scriptedServer(async (peer) => {
    await peer.send(greeting().message);
    for (;;) {
      const hello = await peer.next("hello");
      if (hello === null) return;
      if (hello.nick === "ana") {
        await peer.send({ type: "error", code: "nick_owned", message: owned });
        continue;
      }
      await peer.send({ type: "welcome", nick: String(hello.nick), last: 0 });
      await peer.next("bye");
      return;
    }
  });
  const asked: unknown[][] = [];
  const events = new Events();
  const second = session(server.port, events, {
    nick: "ana",
    deviceKey: generateKeyPair(),
    chooseNick: (...args) => {
      asked.push(args);
      return Promise.resolve("ana2");
    },
  });
  try {
    await second.start();
    assertEquals(second.nick, "ana2");
  } finally {
    await second.quit();
  }
  assertEquals(asked, [[owned, "ana", "nick_owned"]]);

  const noChooser = session(server.port, new Events(), { nick: "ana" });
  const failure = await assertRejects(() => noChooser.start(), JoinFailure);
  assertEquals(failure.exitCode, 2);
  assertMatch(failure.message, /belongs to someone else on this server/);
  assertMatch(failure.message, /--link CODE/);
});

Deno.test("key_required at hello ends the session for good, also one that keeps retrying", async () => {
  const words = "this server admits only clients with a device key; update lanchat";
  await using server = scriptedServer(async (peer) => {
    await peer.send(greeting().message);
    await peer.next("hello");
    await peer.send({ type: "error", code: "key_required", message: words });
  });
  const once = session(server.port, new Events(), { nick: "old" });
  const failure = await assertRejects(() => once.start(), DeviceRefused);
  assertEquals(failure.code, "key_required");
  assertEquals(failure.exitCode, 1);
  assertMatch(failure.message, /admits only clients with a device key/);

  const events = new Events();
  const retrying = session(server.port, events, {
    nick: "old",
    keepRetrying: { maxDelayMs: 20, fromFirstJoin: true },
  });
  await retrying.start();
  const end = await retrying.ended;
  assertEquals(end.kind === "gave_up" ? end.code : end.kind, "key_required");
  assertEquals(server.connections, 2, "the refused session tried again");
  assertEquals(events.types().includes("reconnecting"), false);
});

Deno.test("device_removed while online ends the session without reconnecting, with the server's words", async () => {
  const words = "this device was removed from the account 'ana' by the server's operator";
  await using server = scriptedServer(async (peer) => {
    await welcomeOne(peer, "ana");
    await peer.next("say");
    await peer.send({ type: "error", code: "device_removed", message: words });
    peer.close();
  });
  const events = new Events();
  const ana = session(server.port, events, {
    nick: "ana",
    deviceKey: generateKeyPair(),
    keepRetrying: { maxDelayMs: 20 },
  });
  await ana.start();
  await ana.say("hello");
  const end = await ana.ended;
  assert(end.kind === "gave_up", `ended ${end.kind}`);
  assertEquals(end.code, "device_removed");
  assertMatch(end.message, /removed from the account 'ana'/);
  assertEquals(server.connections, 1, "the removed device came back");
  assertEquals(events.types().filter((type) => type === "lost" || type === "reconnecting"), []);
  await ana.quit();
});

Deno.test("requestLinkCode and whois get the answers that carry their refs, reject with the server's words, and reject when the connection drops", async () => {
  const fp = fingerprint(generateKeyPair().publicKey);
  await using server = scriptedServer(async (peer) => {
    await welcomeOne(peer, "ana");
    const first = await peer.next("link");
    // An answer to someone else's request first: not this one's.
    await peer.send({ type: "link_code", code: "AAAAAAAA", expires: 5, ref: "not-yours" });
    await peer.send({ type: "link_code", code: "K7QM3XPA", expires: 600_000, ref: first?.ref });
    const second = await peer.next("link");
    await peer.send({
      type: "error",
      code: "rate_limited",
      message: "too many codes at once",
      ref: second?.ref,
    });
    const who = await peer.next("whois");
    assertEquals(who?.nick, "ana");
    await peer.send({
      type: "whois",
      nick: "ana",
      guest: false,
      since: 1000,
      devices: [{ fingerprint: fp, added: 1000, online: true }],
      ref: who?.ref,
    });
    const nobody = await peer.next("whois");
    await peer.send({
      type: "error",
      code: "no_such_user",
      message: "nobody is called 'zed' here",
      ref: nobody?.ref,
    });
    await peer.next("link"); // Never answered: the connection drops.
    peer.close();
  });
  const events = new Events();
  const ana = session(server.port, events, {
    nick: "ana",
    deviceKey: generateKeyPair(),
    keepRetrying: { maxDelayMs: 1000 },
    reconnectDelaysMs: [60_000],
  });
  try {
    await ana.start();
    assertEquals(await ana.requestLinkCode(), { code: "K7QM3XPA", expires: 600_000 });
    await rejectsWith(() => ana.requestLinkCode(), "too many codes at once");
    assertEquals(await ana.whois("ana"), {
      nick: "ana",
      guest: false,
      since: 1000,
      devices: [{ fingerprint: fp, added: 1000, online: true }],
    });
    await rejectsWith(() => ana.whois("zed"), "nobody is called 'zed' here");
    await rejectsWith(() => ana.requestLinkCode(), "connection was lost");
    await rejectsWith(() => ana.whois("ana"), "not connected");
  } finally {
    await ana.quit();
  }
});

// ---- words, commands and parsing (no sockets) -------------------------------------------

Deno.test("/link shows the code as people read it, how to use it and for how long; /whois lists the devices", async () => {
  const printed: string[] = [];
  const done = Promise.withResolvers<void>();
  const context: CommandContext = {
    say: () => {},
    rename: () => {},
    requestUsers: () => {},
    quit: () => {},
    print: (text) => {
      printed.push(text);
      if (printed.length === 1 || printed.length === 3 || printed.length === 4) done.resolve();
    },
    requestLinkCode: () => Promise.resolve({ code: "K7QM3XPA", expires: 1_000 + 600_000 }),
    linkCommand: (code) => `lanchat join 192.168.1.20:9000 --link ${code}`,
    now: () => 1_000,
    whois: (nick) =>
      nick === "ana"
        ? Promise.resolve({
          nick: "ana",
          guest: false,
          since: new Date(2026, 11, 1, 9, 0).getTime(),
          devices: [
            {
              fingerprint: "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",
              added: new Date(2026, 11, 1, 9, 0).getTime(),
              online: true,
            },
            {
              fingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
              added: new Date(2026, 11, 2, 9, 0).getTime(),
              seen: new Date(2026, 11, 3, 14, 5).getTime(),
              online: false,
            },
          ],
        })
        : Promise.reject(new Error("nobody is called 'zed' here")),
  };
  runLine("/link", context);
  await done.promise;
  assertEquals(printed, [
    "Code K7QM-3XPA: on the new device run `lanchat join 192.168.1.20:9000 --link K7QM-3XPA` " +
    "or use the page's 'I have a code'; valid 10 minutes, once",
  ]);
  printed.length = 0;
  const whoisDone = Promise.withResolvers<void>();
  context.print = (text) => {
    printed.push(text);
    if (printed.length === 3) whoisDone.resolve();
  };
  runLine("/whois ana", context);
  await whoisDone.promise;
  assertEquals(printed, [
    "ana: account since 2026-12-01, 2 devices",
    "  SHA256:If4x36FUomFi…  added 2026-12-01  online",
    "  SHA256:abcdefghijkl…  added 2026-12-02  last seen 2026-12-03 14:05",
  ]);
  printed.length = 0;
  const refused = Promise.withResolvers<void>();
  context.print = (text) => {
    printed.push(text);
    refused.resolve();
  };
  runLine("/whois zed", context);
  await refused.promise;
  assertEquals(printed, ["! nobody is called 'zed' here"]);

  // A client that cannot ask says so, and a wrong use prints the usage.
  const bare: string[] = [];
  const plain: CommandContext = {
    say: () => {},
    rename: () => {},
    requestUsers: () => {},
    quit: () => {},
    print: (text) => bare.push(text),
  };
  runLine("/link", plain);
  runLine("/whois", plain);
  assertEquals(bare, [
    "! /link works only in the interactive client; usage: /link",
    "! usage: /whois NICK",
  ]);
});

Deno.test("the words: a guest's whois, the linked line, a nick that belongs to someone else", () => {
  assertEquals(whoisLines({ nick: "bob", guest: true, devices: [] }), [
    "bob: guest (joined without a device key; the nick is not theirs to keep)",
  ]);
  const ts = new Date(2026, 11, 6, 14, 3).getTime();
  const fp = "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk";
  assertEquals(
    linkedText(fp, ts),
    "A device was added to your account: SHA256:If4x36FUomFi… (2026-12-06 14:03)",
  );
  assertEquals(formatEvent({ type: "linked", fingerprint: fp, ts, own: false }), [
    {
      kind: "status",
      text: "-- A device was added to your account: SHA256:If4x36FUomFi… (2026-12-06 14:03)",
    },
  ]);
  // On the device that just joined with the code.
  assertEquals(formatEvent({ type: "linked", fingerprint: fp, ts, own: true }), [
    {
      kind: "status",
      text: "-- This device was added to your account: SHA256:If4x36FUomFi… (2026-12-06 14:03)",
    },
  ]);
  assertEquals(
    ownedNickAdvice("ana", "choose 'I have a code'"),
    "If ana is yours, type /link on a device where you are ana, then choose 'I have a code'.",
  );
  assertEquals(
    linkCodeText({ code: "K7QM3XPA", expires: 61_000 }, 0, "x"),
    "Code K7QM-3XPA: on the new device run `x` or use the page's 'I have a code'; valid 1 minute, once",
  );
  assertEquals(
    formatEvent({ type: "welcome", nick: "bob", reconnect: false, guest: true })[0]?.text,
    "-- you are bob (a guest: the nick is not kept for you); type /help for commands",
  );
});

Deno.test("the client reads version 2's server messages: version, challenge, guest, link_code, linked, whois", () => {
  const parse = (message: unknown) =>
    parseServerMessage(new TextEncoder().encode(JSON.stringify(message)));
  assertEquals(
    parse({ type: "server", proto: 1, version: 2, name: "o", secure: null, challenge: "AA==" }),
    { type: "server", proto: 1, version: 2, name: "o", secure: null, challenge: "AA==" },
  );
  assertEquals(parse({ type: "welcome", nick: "a", last: 0, guest: true }), {
    type: "welcome",
    nick: "a",
    last: 0,
    guest: true,
  });
  assertEquals(parse({ type: "users", users: [{ nick: "a", since: 1, guest: true }] }), {
    type: "users",
    users: [{ nick: "a", since: 1, guest: true }],
  });
  assertEquals(parse({ type: "link_code", code: "K7QM3XPA", expires: 9, ref: "r" }), {
    type: "link_code",
    code: "K7QM3XPA",
    expires: 9,
    ref: "r",
  });
  assertEquals(parse({ type: "linked", fingerprint: "SHA256:x", ts: 3 }), {
    type: "linked",
    fingerprint: "SHA256:x",
    ts: 3,
  });
  assertEquals(
    parse({
      type: "whois",
      nick: "a",
      guest: false,
      since: 1,
      devices: [{ fingerprint: "SHA256:x", added: 1, seen: 2, online: false }],
    }),
    {
      type: "whois",
      nick: "a",
      guest: false,
      since: 1,
      devices: [{ fingerprint: "SHA256:x", added: 1, seen: 2, online: false }],
    },
  );
  let refused = false;
  try {
    parse({ type: "whois", nick: "a", guest: false, devices: [{ fingerprint: 5 }] });
  } catch {
    refused = true;
  }
  assert(refused, "a device without a string fingerprint was read");
});
