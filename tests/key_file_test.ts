/**
 * lib/identity/key_file.ts and `lanchat whoami` with real files: a key is
 * made once with mode 0600 and read back the same; it is never replaced, also
 * when many makers race; a file others can read, a damaged file or another
 * kind of key is refused with what to do, and left as it is.
 */
import "./_helpers.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { KeyFileError, loadOrCreateKey, readKey } from "../lib/identity/key_file.ts";
import { deviceKeyPathFor, serverKeyPathFor } from "../lib/identity/device_key.ts";
import { fingerprint } from "../lib/wire/identity.ts";
import { lanchatToEnd } from "./fixtures/client_process.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-key-" });
  return Object.assign(dir, {
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  });
}

Deno.test("a key is made once, private to its owner, and read back the same", async () => {
  await using dir = await tempDir();
  const path = `${dir}/data/lanchat/device_key.json`;
  const first = await loadOrCreateKey(path, "device", { now: () => 1_800_000_000_000 });
  assert(first.made);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(`${dir}/data/lanchat`)).mode! & 0o777, 0o700);
  const again = await loadOrCreateKey(path, "device");
  assert(!again.made);
  assertEquals(again.key.keyPair.publicKey, first.key.keyPair.publicKey);
  assertEquals(again.key.keyPair.secretKey, first.key.keyPair.secretKey);
  assertEquals(again.key.created, 1_800_000_000_000);
  assertEquals([...Deno.readDirSync(`${dir}/data/lanchat`)].map((entry) => entry.name), [
    "device_key.json",
  ]);
});

Deno.test("makers racing for the same file all get one key", async () => {
  await using dir = await tempDir();
  const path = `${dir}/device_key.json`;
  const results = await Promise.all(
    Array.from({ length: 16 }, () => loadOrCreateKey(path, "device")),
  );
  assertEquals(results.filter((result) => result.made).length, 1);
  const prints = new Set(results.map((result) => fingerprint(result.key.keyPair.publicKey)));
  assertEquals(prints.size, 1);
  assertEquals([...Deno.readDirSync(dir)].length, 1, "temporary files were left behind");
});

Deno.test("a key file others can read is refused with the chmod that fixes it", async () => {
  await using dir = await tempDir();
  const path = `${dir}/device_key.json`;
  await loadOrCreateKey(path, "device");
  await Deno.chmod(path, 0o644);
  const error = await assertRejects(() => loadOrCreateKey(path, "device"), KeyFileError);
  assertMatch(error.message, /can be read by other users .*chmod 600/);
  await Deno.chmod(path, 0o600);
  assert(await readKey(path, "device") !== null);
});

Deno.test("a damaged key, or a key of another kind, is refused and never overwritten", async () => {
  await using dir = await tempDir();
  const path = `${dir}/device_key.json`;
  const { key } = await loadOrCreateKey(path, "device");
  const good = await Deno.readTextFile(path);
  const json = JSON.parse(good);
  const other = (await loadOrCreateKey(`${dir}/other.json`, "device")).key;
  const damages: [string, RegExp][] = [
    ["{ not json", /not JSON/],
    [JSON.stringify({ ...json, lanchat: "server-key" }), /not a lanchat device key/],
    [JSON.stringify({ ...json, version: 2 }), /version 2/],
    [JSON.stringify({ ...json, secretKey: "%%%" }), /not BASE64/],
    [JSON.stringify({ ...json, secretKey: "AAAA" }), /not 32 bytes/],
    [
      JSON.stringify({ ...json, publicKey: other.keyPair.publicKey.toBase64() }),
      /does not belong/,
    ],
  ];
  for (const [content, why] of damages) {
    await Deno.writeTextFile(path, content, { mode: 0o600 });
    const error = await assertRejects(() => loadOrCreateKey(path, "device"), KeyFileError);
    assertMatch(error.message, why);
    assertMatch(error.message, /does not replace it/);
    assertEquals(await Deno.readTextFile(path), content, "the damaged file was changed");
  }
  await Deno.writeTextFile(path, good);
  assertEquals((await readKey(path, "device"))?.keyPair.publicKey, key.keyPair.publicKey);
});

Deno.test("the device key lives beside the history in lanchat's data folder", () => {
  assertEquals(
    deviceKeyPathFor("linux", { HOME: "/home/ana" }),
    "/home/ana/.local/share/lanchat/device_key.json",
  );
  assertEquals(
    deviceKeyPathFor("windows", { APPDATA: "C:\\Users\\ana\\AppData\\Roaming" }),
    "C:\\Users\\ana\\AppData\\Roaming\\lanchat\\device_key.json",
  );
});

Deno.test("the server key lives beside the server's history, or in the data folder for one in memory", () => {
  assertEquals(
    serverKeyPathFor("/srv/lanchat/history.db", "linux", { HOME: "/home/ana" }),
    "/srv/lanchat/server_key.json",
  );
  assertEquals(
    serverKeyPathFor("C:\\lanchat\\h.db", "windows", { APPDATA: "C:\\x" }),
    "C:\\lanchat\\server_key.json",
  );
  assertEquals(
    serverKeyPathFor(":memory:", "linux", { HOME: "/home/ana" }),
    "/home/ana/.local/share/lanchat/server_key.json",
  );
});

Deno.test("lanchat whoami makes the key once, prints where and its fingerprint; --json too", async () => {
  await using home = await tempDir();
  const env = { XDG_DATA_HOME: home };
  const first = await lanchatToEnd(["whoami"], { env });
  assertEquals(first.code, 0, first.stderr);
  const path = `${home}/lanchat/device_key.json`;
  const print = /this device: (SHA256:[A-Za-z0-9+/]{43})\n/.exec(first.stdout)?.[1];
  assert(print !== undefined, first.stdout);
  assertMatch(first.stdout, new RegExp(`key: ${path} \\(made just now\\)`));
  const json = await lanchatToEnd(["whoami", "--json"], { env });
  assertEquals(json.code, 0, json.stderr);
  const answer = JSON.parse(json.stdout);
  assertEquals([answer.fingerprint, answer.path, answer.made], [print, path, false]);

  await Deno.chmod(path, 0o640);
  const refused = await lanchatToEnd(["whoami"], { env });
  assertEquals(refused.code, 1);
  assertMatch(refused.stderr, /chmod 600/);
});
