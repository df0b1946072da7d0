/**
 * `lanchat join` with a device key (issue #14), as a person runs it: real
 * `lanchat serve` and `lanchat join` processes, each person with a data
 * folder of their own. The first join makes the key silently (the one
 * `whoami` shows, the one the server lists); another data folder asking for
 * the nick is refused with what to do (`--link`); `--link CODE` brings a
 * second device in under the account's nick; a bad code is wrong usage, a
 * refused one says the server's words; `--guest` joins without the key;
 * and a device the operator removes (`lanchat accounts remove-device`) is
 * told so and exits 1 without reconnecting.
 */
import "./_helpers.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { withDeadline } from "./_helpers.ts";
import { lanchat, lanchatToEnd, serveOnLoopback } from "./fixtures/client_process.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { chatDevice } from "./fixtures/chat_device.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";
import { formatLinkCode } from "../lib/wire/protocol.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-identity-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** A piped `join` with `args` that says `lines`, run to its end, in the data folder `home`. */
async function pipedJoin(
  port: number,
  home: string,
  args: string[],
  lines: string[] = ["hello"],
): Promise<{ code: number; stderr: string }> {
  await using join = lanchat(["join", `127.0.0.1:${port}`, ...args], {
    stdin: "piped",
    env: { XDG_DATA_HOME: home },
  });
  for (const line of lines) await join.write(`${line}\n`);
  await join.closeStdin();
  const { code } = await join.waitForExit(20_000);
  return { code, stderr: join.output("stderr").join("\n") };
}

/** `whoami --json` of the data folder `home`: this device's fingerprint. */
async function whoami(home: string): Promise<string> {
  const result = await lanchatToEnd(["whoami", "--json"], { env: { XDG_DATA_HOME: home } });
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).fingerprint;
}

Deno.test("join's --link must look like a code and cannot go with --guest (wrong usage, exit 2)", async () => {
  const bad = await lanchatToEnd(["join", "127.0.0.1:1", "--link", "K7QM-3XP"]);
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /a link code is 8 letters and digits, as \/link shows it/);
  const both = await lanchatToEnd(["join", "127.0.0.1:1", "--link", "K7QM-3XPA", "--guest"]);
  assertEquals(both.code, 2, both.stderr);
  assertMatch(both.stderr, /--link.*cannot be used with.*--guest/);
  const help = await lanchatToEnd(["join", "--help"]);
  assertMatch(help.stdout, /--link <code>/);
  assertMatch(help.stdout, /--guest/);
});

Deno.test("the first join makes this device's key silently and the server knows the nick by it; another data folder is refused the nick and told about --link", async () => {
  await using dir = await tempDir();
  await using server = await serveOnLoopback();
  const ana = `${dir}/ana`;
  const first = await pipedJoin(server.port, ana, ["--nick", "ana"]);
  assertEquals(first.code, 0, first.stderr);
  const info = await Deno.stat(`${ana}/lanchat/device_key.json`);
  assertEquals(info.mode === null ? 0o600 : info.mode & 0o777, 0o600);
  const print = await whoami(ana);

  await using bob = await chatDevice(server.port, "bob", generateKeyPair());
  const who = await bob.session.whois("ana");
  assertEquals(who.guest, false);
  assertEquals(who.devices.map((entry) => entry.fingerprint), [print]);

  // Another person (their own data folder, so their own key) asks for "ana".
  await using observer = await RawClient.join(server.port, "observer");
  const impostor = await pipedJoin(server.port, `${dir}/mallory`, ["--nick", "ana"], ["as ana"]);
  assertEquals(impostor.code, 2, impostor.stderr);
  assertMatch(impostor.stderr, /"ana": 'ana' belongs to someone else on this server/);
  assertMatch(impostor.stderr, /If "ana" is yours, type \/link .* --link CODE/);
  // --guest cannot take it either; a guest takes a free nick, as a guest.
  const guest = await pipedJoin(server.port, `${dir}/mallory`, ["--nick", "ana", "--guest"]);
  assertEquals(guest.code, 2, guest.stderr);
  const free = await pipedJoin(server.port, `${dir}/carol`, ["--nick", "carol", "--guest"], [
    "from a guest",
  ]);
  assertEquals(free.code, 0, free.stderr);
  await observer.waitForMessages((message) => message.text === "from a guest", 1);
  await Deno.stat(`${dir}/carol/lanchat/device_key.json`).then(
    () => assert(false, "--guest made a device key"),
    (error) => assert(error instanceof Deno.errors.NotFound, String(error)),
  );
  assertEquals(
    observer.messages().filter((message) => message.from === "ana").map((m) => m.text),
    [],
    "the refused joins said something as ana",
  );

  // Ana's own device comes back and is ana.
  const again = await pipedJoin(server.port, ana, ["--nick", "ana"], ["ana again"]);
  assertEquals(again.code, 0, again.stderr);
  const back = await observer.waitForMessages((message) => message.from === "ana", 1);
  assertEquals(back.map((message) => message.text), ["ana again"]);
});

Deno.test("join --link CODE brings a second device in under the account's nick (no --nick needed); a refused code says why, exit 1", async () => {
  await using dir = await tempDir();
  await using server = await serveOnLoopback();
  await using laptop = await chatDevice(server.port, "ana", generateKeyPair());
  await using observer = await RawClient.join(server.port, "observer");
  const { code } = await laptop.session.requestLinkCode();
  const phone = `${dir}/phone`;
  const linked = await pipedJoin(server.port, phone, ["--link", formatLinkCode(code)], [
    "hello from the phone",
  ]);
  assertEquals(linked.code, 0, linked.stderr);
  const said = await observer.waitForMessages((m) => m.text === "hello from the phone", 1);
  assertEquals(said[0]?.from, "ana");
  const print = await whoami(phone);
  const event = laptop.events.find((seen) => seen.type === "linked");
  assertEquals(event?.type === "linked" && event.fingerprint, print);
  const who = await laptop.session.whois("ana");
  assert(who.devices.some((entry) => entry.fingerprint === print), JSON.stringify(who));

  // The same code again, from a third device: refused, with the server's words.
  const reused = await pipedJoin(server.port, `${dir}/tablet`, ["--link", code], ["never"]);
  assertEquals(reused.code, 1, reused.stderr);
  assertMatch(reused.stderr, /did not add this device to an account: .+/);
  assertMatch(reused.stderr, /wrong, used already or expired.*\/link in the terminal/);
  assert(!observer.messages().some((message) => message.text === "never"), "the refused sent");
});

Deno.test("a device the operator removes while it is online is told so and exits 1 without reconnecting", async () => {
  await using dir = await tempDir();
  const db = `${dir}/h.db`;
  await using server = await serveOnLoopback(["--db", db]);
  const ana = `${dir}/ana`;
  await using observer = await RawClient.join(server.port, "observer");
  await using join = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "ana"], {
    stdin: "piped",
    env: { XDG_DATA_HOME: ana },
  });
  await join.write("online now\n");
  await observer.waitForMessages((message) => message.text === "online now", 1);
  const print = await whoami(ana);
  const removed = await lanchatToEnd(["accounts", "remove-device", print, "--db", db]);
  assertEquals(removed.code, 0, removed.stderr);
  const status = await withDeadline(join.waitForExit(20_000), 25_000, "the join to end");
  const stderr = join.output("stderr").join("\n");
  assertEquals(status.code, 1, stderr);
  assertMatch(stderr, /removed this device/);
  assert(!/reconnecting/.test(stderr), stderr);
});
