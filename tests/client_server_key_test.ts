/**
 * The server's key, as a person meets it (issue #14, item 6): `lanchat join`
 * remembers the key a server proved the first time, and refuses, before it
 * sends anything, an address that answers with another key or shows a key
 * it cannot prove; `--forget-server-key` accepts a key that really changed.
 * Real `lanchat serve` processes with their own data folders, a person with
 * a data folder of their own, and a raw TCP impostor.
 */
import "./_helpers.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { withDeadline } from "./_helpers.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { encodeFrame, FrameDecoder } from "../lib/frame.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-server-key-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** A piped `join` that says one line, to its end. */
async function joinOnce(
  port: number,
  home: string,
  line: string,
  extra: string[] = [],
): Promise<{ code: number; stderr: string }> {
  await using join = lanchat(["join", `127.0.0.1:${port}`, "--nick", "ana", ...extra], {
    stdin: "piped",
    env: { XDG_DATA_HOME: home },
  });
  await join.write(`${line}\n`);
  await join.closeStdin();
  const { code } = await join.waitForExit();
  return { code, stderr: join.output("stderr").join("\n") };
}

Deno.test("join remembers a server's key, refuses the address when another key answers there, and --forget-server-key accepts it", async () => {
  await using dir = await tempDir();
  const person = `${dir}/ana`;
  await Deno.mkdir(`${dir}/room-a`);
  const first = await serveOnLoopback(["--db", `${dir}/room-a/h.db`], {});
  const port = first.port;
  let firstKey: string;
  try {
    const line = await first.waitForLine(/server key: (SHA256:\S+)/);
    firstKey = line[1]!;
    const joined = await joinOnce(port, person, "hello room a");
    assertEquals(joined.code, 0, joined.stderr);
    const marks = JSON.parse(await Deno.readTextFile(`${person}/lanchat/recent_servers.json`));
    assertEquals(marks.serverKeys.map((mark: { fingerprint: string }) => mark.fingerprint), [
      firstKey,
    ]);
  } finally {
    first.kill("SIGTERM");
    await first.waitForExit();
    await first[Symbol.asyncDispose]();
  }

  // Another machine (another key) on the same address.
  await Deno.mkdir(`${dir}/room-b`);
  await using second = await serveOnLoopback(["--db", `${dir}/room-b/h.db`], { port });
  const secondKey = (await second.waitForLine(/server key: (SHA256:\S+)/))[1]!;
  assert(secondKey !== firstKey);
  await using observer = await RawClient.join(port, "observer");
  const refused = await joinOnce(port, person, "for room a only");
  assertEquals(refused.code, 1, refused.stderr);
  assertMatch(refused.stderr, /answered with another server key/);
  assertMatch(refused.stderr, new RegExp(`\\(${secondKey.replace(/[+/]/g, "\\$&")}\\)`));
  assertMatch(refused.stderr, /nothing was sent .*--forget-server-key/s);

  // Its operator says the room was set up again: forget the old key, and the new one is kept.
  const accepted = await joinOnce(port, person, "hello room b", ["--forget-server-key"]);
  assertEquals(accepted.code, 0, accepted.stderr);
  const said = await observer.waitForMessages((message) => message.from === "ana", 1);
  assertEquals(said.map((message) => message.text), ["hello room b"], "the refused join sent");
  const marks = JSON.parse(await Deno.readTextFile(`${person}/lanchat/recent_servers.json`));
  assertEquals(marks.serverKeys.map((mark: { fingerprint: string }) => mark.fingerprint), [
    secondKey,
  ]);
});

Deno.test("join refuses an address that shows a server's key but cannot prove it, and sends nothing", async () => {
  await using dir = await tempDir();
  // A real key, shown by an impostor that does not have its secret half.
  const stolenKey = crypto.getRandomValues(new Uint8Array(32));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: string[] = [];
  const served = (async () => {
    const conn = await listener.accept();
    const decoder = new FrameDecoder();
    const send = (message: unknown) =>
      conn.write(encodeFrame(new TextEncoder().encode(JSON.stringify(message))));
    await send({
      type: "server",
      proto: 1,
      name: "office",
      secure: null,
      key: stolenKey.toBase64(),
    });
    const buffer = new Uint8Array(4096);
    // Bounded: the client hangs up after the failed proof.
    for (let reads = 0; reads < 100; reads++) {
      const count = await conn.read(buffer).catch(() => null);
      if (count === null) break;
      for (const payload of decoder.push(buffer.subarray(0, count))) {
        const message = JSON.parse(new TextDecoder().decode(payload));
        seen.push(message.type);
        if (message.type === "prove") {
          await send({ type: "proof", sig: crypto.getRandomValues(new Uint8Array(64)).toBase64() });
        }
      }
    }
    conn.close();
  })();
  try {
    const result = await joinOnce(listener.addr.port, `${dir}/ana`, "secret plans");
    assertEquals(result.code, 1, result.stderr);
    assertMatch(result.stderr, /showed a server key but did not prove it has it/);
    await withDeadline(served, 5000, "the client to hang up");
    assertEquals(seen, ["prove"], "the client sent more than its proof request");
  } finally {
    listener.close();
  }
});
