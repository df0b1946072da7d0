/**
 * The client core against the real server (lib/server/server.ts, in this
 * process, over loopback TCP) for device keys and accounts (issue #14,
 * PROTOCOL.md section 8): a key claims a nick and rejoins it, another key
 * and a guest are asked for another nick (`nick_owned`), `/link`'s code
 * brings a second device into the account (both online at once, both told
 * `linked`, both get a private message, the room lists the nick once),
 * wrong and reused codes are refused, `whois` lists the devices, the
 * signature is bound to the Noise handshake in a room with a password, a
 * server without guests ends a keyless session; and join()'s line mode makes
 * the device key and prints /whois and /link.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { startTestServer, testRoomKey, withDeadline } from "./_helpers.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import {
  ChatSession,
  DeviceRefused,
  JoinFailure,
  LinkRefused,
  type SessionEvent,
  type SessionOptions,
} from "../lib/client/session.ts";
import { fingerprint, generateKeyPair, type KeyPair } from "../lib/wire/identity.ts";
import { formatLinkCode, linkCodeAlphabet, linkCodeLength } from "../lib/wire/protocol.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { join } from "../lib/client/terminal/join.ts";

/** A session and the events it reported; quits on dispose. */
interface Device extends AsyncDisposable {
  session: ChatSession;
  events: SessionEvent[];
  /** Resolves with the first event matching `predicate` (past ones count). */
  waitFor(predicate: (event: SessionEvent) => boolean, what: string): Promise<SessionEvent>;
}

function device(port: number, options: Partial<SessionOptions> = {}): Device {
  const events: SessionEvent[] = [];
  const listeners = new Set<() => void>();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    onEvent: (event) => {
      events.push(event);
      for (const listener of [...listeners]) listener();
    },
    ...options,
  });
  return {
    session,
    events,
    waitFor(predicate, what) {
      let listener: (() => void) | undefined;
      const found = new Promise<SessionEvent>((resolve) => {
        listener = () => {
          const event = events.find(predicate);
          if (event !== undefined) resolve(event);
        };
        listeners.add(listener);
        listener();
      });
      return withDeadline(found, 10_000, what).finally(() => listeners.delete(listener!));
    },
    async [Symbol.asyncDispose]() {
      await session.quit();
    },
  };
}

/** Joins and returns the device (quit on dispose). */
async function joined(port: number, options: Partial<SessionOptions>): Promise<Device> {
  const joining = device(port, options);
  await joining.session.start();
  return joining;
}

Deno.test("a device key claims its nick; another key and a guest are asked for another nick; the owner rejoins", async () => {
  await using server = await startTestServer();
  const laptop: KeyPair = generateKeyPair();
  {
    await using ana = await joined(server.port, { nick: "ana", deviceKey: laptop });
    assertEquals(ana.session.guest, false);
    const welcome = ana.events.find((event) => event.type === "welcome");
    assertEquals(welcome?.type === "welcome" && welcome.guest, false);

    // Someone else's device asks for "ana" while she is online, and after she left.
    const asked: unknown[][] = [];
    await using other = await joined(server.port, {
      nick: "ANA",
      deviceKey: generateKeyPair(),
      chooseNick: (...args) => {
        asked.push(args);
        return Promise.resolve("mallory");
      },
    });
    assertEquals(other.session.nick, "mallory");
    assertEquals(asked.length, 1);
    assertEquals(asked[0]?.[1], "ANA");
    assertEquals(asked[0]?.[2], "nick_owned");
    assertMatch(String(asked[0]?.[0]), /belongs to someone else/);
  }

  // Ana is gone: her nick is still hers. A guest may not take it, nor a look-alike of it.
  const guest = device(server.port, { nick: "ana" });
  const refused = await assertRejects(() => guest.session.start(), JoinFailure);
  assertEquals(refused.exitCode, 2);
  assertMatch(refused.message, /belongs to someone else/);
  const lookalike = device(server.port, { nick: "\u0430na", deviceKey: generateKeyPair() });
  await assertRejects(() => lookalike.session.start(), JoinFailure);

  await using back = await joined(server.port, { nick: "ana", deviceKey: laptop });
  assertEquals(back.session.nick, "ana");
  assertEquals(back.session.guest, false);

  // A guest with a free nick is a guest.
  await using carol = await joined(server.port, { nick: "carol" });
  assertEquals(carol.session.guest, true);
});

Deno.test("/link's code adds a second device: both online at once under one nick, both told, both get a private message; the code works once", async () => {
  await using server = await startTestServer();
  const laptopKey = generateKeyPair();
  const phoneKey = generateKeyPair();
  await using laptop = await joined(server.port, { nick: "ana", deviceKey: laptopKey });
  await using bob = await joined(server.port, { nick: "bob", deviceKey: generateKeyPair() });

  const { code, expires } = await laptop.session.requestLinkCode();
  assertEquals(code.length, linkCodeLength);
  assert([...code].every((char) => linkCodeAlphabet.includes(char)), `odd code ${code}`);
  assert(expires > Date.now() + 9 * 60_000 && expires <= Date.now() + 10 * 60_000 + 1000);

  // Typed as people read it, in lower case: the server reads it all the same. No nick given.
  await using phone = await joined(server.port, {
    deviceKey: phoneKey,
    linkCode: formatLinkCode(code).toLowerCase(),
  });
  assertEquals(phone.session.nick, "ana");
  assertEquals(phone.session.guest, false);
  const phonePrint = fingerprint(phoneKey.publicKey);
  for (const side of [laptop, phone]) {
    const linked = await side.waitFor((event) => event.type === "linked", "linked");
    assertEquals(linked.type === "linked" && linked.fingerprint, phonePrint);
  }

  const who = await bob.session.whois("ana");
  assertEquals(who.guest, false);
  assertEquals(who.nick, "ana");
  assertEquals(
    who.devices.map((entry) => [entry.fingerprint, entry.online]),
    [[fingerprint(laptopKey.publicKey), true], [phonePrint, true]],
  );

  // The room shows ana once.
  bob.session.requestUsers();
  const users = await bob.waitFor(
    (event) => event.type === "users" && event.users.some((user) => user.nick === "ana"),
    "a users list with ana",
  );
  assertEquals(
    users.type === "users" && users.users.filter((user) => user.nick === "ana").length,
    1,
  );

  await bob.session.say("for ana's eyes", { to: "ana" });
  for (const side of [laptop, phone]) {
    await side.waitFor(
      (event) => event.type === "message" && event.text === "for ana's eyes",
      "bob's private message",
    );
  }

  // The code was used: a third device cannot use it again; a made-up code fails too.
  for (const tried of [code, "ZZZZ-ZZZZ"]) {
    const third = device(server.port, { deviceKey: generateKeyPair(), linkCode: tried });
    const failure = await assertRejects(() => third.session.start(), LinkRefused);
    assertEquals(failure.exitCode, 1);
  }
  assertEquals((await bob.session.whois("ana")).devices.length, 2);
});

Deno.test("whois: a guest, and a nick nobody holds is refused with the server's words", async () => {
  await using server = await startTestServer();
  await using carol = await joined(server.port, { nick: "carol" });
  await using ana = await joined(server.port, { nick: "ana", deviceKey: generateKeyPair() });
  const guest = await ana.session.whois("carol");
  assertEquals([guest.nick, guest.guest, guest.devices], ["carol", true, []]);
  const error = await assertRejects(() => ana.session.whois("nobody-here"), Error);
  assert(error.message.length > 0);
  await assertRejects(() => carol.session.requestLinkCode(), Error);
});

Deno.test("in a room with a password the device's signature covers the Noise handshake, and the server takes it", async () => {
  const key = await testRoomKey("correct horse");
  await using server = await startTestServer({ roomKey: key });
  const laptop = generateKeyPair();
  const options: Partial<SessionOptions> = {
    nick: "ana",
    deviceKey: laptop,
    roomKey: () => Promise.resolve(key.psk),
  };
  {
    await using ana = await joined(server.port, options);
    assert(ana.session.encrypted);
    assertEquals(ana.session.guest, false);
  }
  // The nick is owned now: a guest in the same room is refused it.
  const guest = device(server.port, { nick: "ana", roomKey: () => Promise.resolve(key.psk) });
  await assertRejects(() => guest.session.start(), JoinFailure);
  await using again = await joined(server.port, options);
  assertEquals(again.session.nick, "ana");
});

Deno.test("a server without guests ends a keyless session with key_required, and takes one with a key", async () => {
  await using server = await startTestServer({ identity: { guests: false } });
  const guest = device(server.port, { nick: "old" });
  const failure = await assertRejects(() => guest.session.start(), DeviceRefused);
  assertEquals(failure.code, "key_required");
  const retrying = device(server.port, {
    nick: "old",
    keepRetrying: { maxDelayMs: 50, fromFirstJoin: true },
  });
  await retrying.session.start();
  const end = await withDeadline(retrying.session.ended, 10_000, "the session to end");
  assertEquals(end.kind === "gave_up" ? end.code : end.kind, "key_required");
  await using keyed = await joined(server.port, { nick: "new", deviceKey: generateKeyPair() });
  assertEquals(keyed.session.nick, "new");
  await using observer = await RawClient.join(server.port, "x").catch(() => null);
  assertEquals(observer, null, "a raw keyless client was let in");
});

Deno.test("line mode: join makes the device key in the file it is given, and /whois and /link print their answers", async () => {
  await using server = await startTestServer();
  await using owner = await joined(server.port, { nick: "ana", deviceKey: generateKeyPair() });
  const dir = await Deno.makeTempDir({ prefix: "lanchat-line-identity-" });
  try {
    const keyPath = `${dir}/device_key.json`;
    const lines: string[] = [];
    const listeners = new Set<() => void>();
    const typed = new TransformStream<Uint8Array, Uint8Array>();
    const writer = typed.writable.getWriter();
    const type = (line: string) => writer.write(new TextEncoder().encode(`${line}\n`));
    const shown = (pattern: RegExp) => {
      let listener: (() => void) | undefined;
      const found = new Promise<string>((resolve) => {
        listener = () => {
          const line = lines.find((text) => pattern.test(text));
          if (line !== undefined) resolve(line);
        };
        listeners.add(listener);
        listener();
      });
      return withDeadline(found, 10_000, `a line matching ${pattern}; got ${lines.join(" | ")}`)
        .finally(() => listeners.delete(listener!));
    };
    const errors: string[] = [];
    const running = join({
      host: "127.0.0.1",
      port: server.port,
      nick: "bob",
      interactive: true,
      input: typed.readable,
      writeOut: (line) => {
        lines.push(line);
        for (const listener of [...listeners]) listener();
      },
      writeErr: (line) => errors.push(line),
      deviceKeyPath: keyPath,
      command: (subcommand, ...args) => ["lanchat", subcommand, ...args].join(" "),
    });
    await shown(/you are bob; type \/help/);
    const made = JSON.parse(await Deno.readTextFile(keyPath));
    const bobPrint = fingerprint(Uint8Array.fromBase64(made.publicKey));
    assertEquals((await owner.session.whois("bob")).devices[0]?.fingerprint, bobPrint);

    await type("/whois ana");
    await shown(/^ana: account since \d{4}-\d\d-\d\d, 1 device$/);
    await type("/link");
    const code = await shown(/^Code [0-9A-Z]{4}-[0-9A-Z]{4}: on the new device run/);
    assertMatch(
      code,
      new RegExp(
        `run \`lanchat join 127\\.0\\.0\\.1:${server.port} --link [0-9A-Z]{4}-[0-9A-Z]{4}\``,
      ),
    );
    await type("/quit");
    await writer.close();
    assertEquals(await running, 0, errors.join("\n"));

    // A key file that cannot be used ends the join before it connects, saying what to do.
    await Deno.writeTextFile(`${dir}/damaged.json`, "{ not a key", { mode: 0o600 });
    const refused: string[] = [];
    const code2 = await join({
      host: "127.0.0.1",
      port: server.port,
      nick: "bob",
      interactive: false,
      input: new Blob(["never\n"]).stream(),
      writeOut: () => {},
      writeErr: (line) => refused.push(line),
      deviceKeyPath: `${dir}/damaged.json`,
    });
    assertEquals(code2, 1);
    assertMatch(refused.join("\n"), /--guest/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
