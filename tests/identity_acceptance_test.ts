/**
 * Issue #14's acceptance walk, with real `lanchat serve` and `lanchat join`
 * processes, each person with a data folder of their own: ana (device 1) and
 * bob exchange private messages; another data folder asking for "ana" is
 * refused with nick_owned and sees nothing private; a version-1 client (no
 * key) asking for "ana" is refused; ana's device 1 rejoins and sees its
 * private history; ana links device 2 with a code, both are online at once,
 * both get a new private message from bob, the online list shows ana once;
 * a wrong code and a reused code are refused (an expired one: accounts_test.ts).
 *
 * Where the walk needs to look at what a device sees (its history, the
 * online list), it opens a session in this process with that data folder's
 * own key file: the same device, seen from inside.
 */
import "./_helpers.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { TestClient } from "./_helpers.ts";
import { type ChildProcess, lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { chatDevice, untilEvent } from "./fixtures/chat_device.ts";
import type { ChatSession, SessionEvent } from "../lib/client/session.ts";
import { readKey } from "../lib/identity/key_file.ts";
import { formatLinkCode } from "../lib/wire/protocol.ts";
import type { KeyPair } from "../lib/wire/identity.ts";

/** A data folder (XDG_DATA_HOME) of one device, removed at the end. */
async function dataFolder(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-device-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** The device key a `lanchat join` made in data folder `home`. */
async function keyOf(home: string): Promise<KeyPair> {
  const stored = await readKey(`${home}/lanchat/device_key.json`, "device");
  assert(stored !== null, `no device key in ${home}`);
  return stored.keyPair;
}

/** A piped `lanchat join` in data folder `home`, kept running until its stdin is closed. */
function pipedJoin(port: number, home: string, args: string[]): ChildProcess {
  return lanchat(["join", `127.0.0.1:${port}`, ...args], {
    stdin: "piped",
    env: { XDG_DATA_HOME: home },
  });
}

/** Waits (bounded) until `events` holds a message with `text`. */
async function received(events: SessionEvent[], text: string): Promise<void> {
  await untilEvent(
    events,
    (event) => event.type === "message" && event.text === text ? true : undefined,
    `the message '${text}'`,
  );
}

/** Waits (bounded) until `events` holds `joined` for `nick`: that process is in the room. */
async function joinedEvent(events: SessionEvent[], nick: string): Promise<void> {
  await untilEvent(
    events,
    (event) => event.type === "joined" && event.nick === nick ? true : undefined,
    `${nick} joining`,
    30_000,
  );
}

/** The texts of the newest 50 messages `session` may see. */
async function historyOf(session: ChatSession): Promise<string[]> {
  const page = await session.history({ limit: 50 });
  assert(page !== null, "the history request was not answered");
  return page.items.map((item) => item.text);
}

Deno.test("issue #14 acceptance: first claim wins, private history by account, two devices of one person", async () => {
  await using db = await dataFolder();
  await using server = await serveOnLoopback(["--db", `${db}/history.db`]);
  await using anaHome = await dataFolder();
  await using bobHome = await dataFolder();
  await using thiefHome = await dataFolder();
  await using phoneHome = await dataFolder();

  // A guest in this process watches who comes in (a piped join prints nothing when it joins).
  await using watcher = await chatDevice(server.port, "watcher", undefined);
  // bob joins from his own data folder (its key made silently), and stays: a piped join.
  await using bobJoin = pipedJoin(server.port, bobHome, ["--nick", "bob"]);
  await using ana = pipedJoin(server.port, anaHome, ["--nick", "ana"]);
  await joinedEvent(watcher.events, "bob");
  await joinedEvent(watcher.events, "ana");
  await ana.write("/msg bob hi bob, from ana\n");
  await bobJoin.waitForLine(/hi bob, from ana/, { timeoutMs: 20_000 });
  await bobJoin.write("/msg ana hi ana, from bob\n");
  await ana.waitForLine(/hi ana, from bob/, { timeoutMs: 10_000 });
  await ana.write("a public line\n");
  await bobJoin.waitForLine(/a public line/, { timeoutMs: 10_000 });
  await ana.closeStdin();
  assertEquals((await ana.waitForExit(10_000)).code, 0);

  // Another data folder asking for "ana": refused, with the new code's words and what to do.
  await using thief = pipedJoin(server.port, thiefHome, ["--nick", "ana"]);
  await thief.closeStdin();
  const refused = await thief.waitForExit(20_000);
  assertEquals(refused.code, 2, thief.output("stderr").join("\n"));
  const words = thief.output("stderr").join("\n");
  assertMatch(words, /'ana' belongs to someone else on this server/);
  assertMatch(words, /--link/);
  // That folder's device, under a free nick, sees nothing private of ana's or bob's.
  await using thiefJoin = pipedJoin(server.port, thiefHome, ["--nick", "mallory"]);
  await thiefJoin.closeStdin();
  assertEquals((await thiefJoin.waitForExit(20_000)).code, 0);
  {
    await using mallory = await chatDevice(server.port, "mallory", await keyOf(thiefHome));
    assertEquals(await historyOf(mallory.session), ["a public line"]);
    assertEquals(await mallory.session.search("hi"), []);
  }

  // A version-1 client (no key) asking for "ana": refused the same way.
  await using old = await TestClient.connect(server.port);
  await old.next("server");
  await old.send({ type: "hello", nick: "ana" });
  assertEquals((await old.next("error")).code, "nick_owned");

  // ana's device 1 rejoins and sees its private history.
  await using laptop = await chatDevice(server.port, "ana", await keyOf(anaHome));
  assertEquals(await historyOf(laptop.session), [
    "hi bob, from ana",
    "hi ana, from bob",
    "a public line",
  ]);

  // ana links device 2 (another data folder) with a code from device 1.
  const { code } = await laptop.session.requestLinkCode();
  await using phone = pipedJoin(server.port, phoneHome, ["--link", formatLinkCode(code)]);
  await untilEvent(
    laptop.events,
    (event) => event.type === "linked" ? true : undefined,
    "the linked line on device 1",
    20_000,
  );
  // Both online at once; bob's list shows ana once; both get bob's new private message.
  await using bob = await chatDevice(server.port, "bob", await keyOf(bobHome));
  bob.session.requestUsers();
  const users = await untilEvent(
    bob.events,
    (event) => event.type === "users" ? event.users : undefined,
    "bob's user list",
  );
  assertEquals(users.map((user) => user.nick).filter((nick) => nick === "ana"), ["ana"]);
  await bob.session.say("to both of ana's devices", { to: "ana" });
  await received(laptop.events, "to both of ana's devices");
  await phone.waitForLine(/to both of ana's devices/, { timeoutMs: 10_000 });
  await phone.closeStdin();
  assertEquals((await phone.waitForExit(10_000)).code, 0);
  // The phone's key is now ana's: it rejoins as ana without a code, and sees her history.
  {
    await using phoneAgain = await chatDevice(server.port, "whoever", await keyOf(phoneHome));
    assertEquals(phoneAgain.session.nick, "ana");
    assert((await historyOf(phoneAgain.session)).includes("hi ana, from bob"));
  }

  // A reused code and a wrong one are refused, exit 1, with the server's words.
  await using reusedHome = await dataFolder();
  for (const typed of [formatLinkCode(code), "ZZZZ-ZZZZ"]) {
    await using again = pipedJoin(server.port, reusedHome, ["--link", typed]);
    await again.closeStdin();
    const ended = await again.waitForExit(20_000);
    assertEquals(ended.code, 1, again.output("stderr").join("\n"));
    assertMatch(again.output("stderr").join("\n"), /wrong, used already or expired/);
  }
  await bobJoin.closeStdin();
  await bobJoin.waitForExit(10_000);
});
