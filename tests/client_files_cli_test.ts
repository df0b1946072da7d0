/**
 * `lanchat send` and `lanchat get` as a person or a script runs them: real
 * CLI processes against a real `lanchat serve` process. A file sent is the
 * file fetched, byte for byte; --json says what was sent; progress lines go
 * to stderr; an interrupted `get` run again resumes from its `.part` and
 * fetches only the rest; a `send` whose connection is cut mid-way resumes
 * after the reconnect without sending again what the server has; wrong
 * usage exits 2, a dead server or a missing file exits 1, saying why.
 */
import { assert, assertEquals } from "./_assert.ts";
import {
  type Finished,
  lanchat,
  lanchatToEnd,
  linesOf,
  repoRoot,
  runToEnd,
  serveOnLoopback,
} from "./fixtures/client_process.ts";
import { freshHome } from "./fixtures/test_home.ts";
import { CuttingProxy } from "./fixtures/cutting_proxy.ts";
import { createHash } from "node:crypto";
import { transferWindowBytes } from "../lib/wire/file_chunk.ts";

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

/** A temporary folder for the files of one test, removed on dispose. */
async function workFolder(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-files-cli-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** A home shared by several runs (one device key, so one account). */
function sharedHome(): { env: Record<string, string> } & Disposable {
  const home = freshHome();
  return { env: home.env, [Symbol.dispose]: () => home.remove() };
}

function onlyJson(stdout: string): Record<string, unknown> {
  const lines = linesOf(stdout);
  assertEquals(lines.length, 1, stdout);
  return JSON.parse(lines[0]!);
}

/** The CLI run to its end in the folder `cwd` (where `get` saves without -o). */
function lanchatIn(cwd: string, args: string[]): Promise<Finished> {
  return runToEnd(Deno.execPath(), ["run", "-A", `${repoRoot}main.ts`, ...args], { cwd });
}

/** Size of `path`, 0 when missing. */
function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** A port nothing listens on. */
function deadPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("a file sent with lanchat send is the file lanchat get saves, byte for byte; --json says what was sent", async () => {
  await using server = await serveOnLoopback();
  await using folder = await workFolder();
  using ana = sharedHome();
  const address = `127.0.0.1:${server.port}`;
  const bytes = randomBytes(3 * 1024 * 1024 + 999);
  const source = `${folder.path}/report.pdf`;
  await Deno.writeFile(source, bytes);

  const sent = await lanchatToEnd(["send", address, source, "--nick", "ana", "--json"], {
    env: ana.env,
  });
  assertEquals(sent.code, 0, sent.stderr);
  const record = onlyJson(sent.stdout);
  assertEquals(record.name, "report.pdf");
  assertEquals(record.size, bytes.length);
  assertEquals(record.sha256, sha256Hex(bytes));
  assertEquals(record.mime, "application/pdf");
  assertEquals(record.channel, "#general");
  assertEquals(record.bytesSent, bytes.length);
  assert(typeof record.id === "number" && record.id > 0, sent.stdout);
  assert(
    linesOf(sent.stderr).some((line) => /^report\.pdf: \d+0% \(/.test(line)),
    `progress lines on stderr when it is not a terminal:\n${sent.stderr}`,
  );

  // The same device again, without --nick: its account sends.
  const again = await lanchatToEnd(["send", address, source], { env: ana.env });
  assertEquals(again.code, 0, again.stderr);
  assert(
    /^sent report\.pdf \(3\.1 MB\) to #general as file \d+$/.test(again.stdout.trim()),
    again.stdout,
  );

  const saved = `${folder.path}/copy.pdf`;
  const got = await lanchatToEnd(
    ["get", address, String(record.id), "-o", saved, "--nick", "bob", "--json"],
  );
  assertEquals(got.code, 0, got.stderr);
  assertEquals(sha256Hex(await Deno.readFile(saved)), sha256Hex(bytes));
  const fetched = onlyJson(got.stdout);
  assertEquals(fetched.path, saved);
  assertEquals(fetched.sha256, sha256Hex(bytes));
  assertEquals(fetched.bytesReceived, bytes.length);
  assertEquals(sizeOf(`${saved}.part`), 0, "no .part is left");

  const refused = await lanchatToEnd(["get", address, String(record.id), "-o", saved, "--guest"]);
  assertEquals(refused.code, 1, refused.stderr);
  assert(refused.stderr.includes("exists already; use --force"), refused.stderr);
  const forced = await lanchatToEnd(
    ["get", address, String(record.id), "-o", saved, "--guest", "--force"],
  );
  assertEquals(forced.code, 0, forced.stderr);

  // Without -o: under its own name, here.
  const here = `${folder.path}/here`;
  await Deno.mkdir(here);
  const named = await lanchatIn(here, ["get", address, String(record.id), "--guest"]);
  assertEquals(named.code, 0, named.stderr);
  assertEquals(named.stdout.trim(), "saved report.pdf (3.1 MB) as report.pdf");
  assertEquals(sha256Hex(await Deno.readFile(`${here}/report.pdf`)), sha256Hex(bytes));
  assertEquals([...Deno.readDirSync(here)].map((entry) => entry.name), ["report.pdf"]);
});

Deno.test("an interrupted lanchat get, run again, resumes from its .part and fetches only the rest", async () => {
  await using server = await serveOnLoopback();
  await using folder = await workFolder();
  const address = `127.0.0.1:${server.port}`;
  const bytes = randomBytes(8 * 1024 * 1024);
  const source = `${folder.path}/disk.img`;
  await Deno.writeFile(source, bytes);
  const sent = await lanchatToEnd(["send", address, source, "--nick", "ana", "--json"]);
  assertEquals(sent.code, 0, sent.stderr);
  const id = String(onlyJson(sent.stdout).id);

  // The network hangs after 3 MiB towards the client; the person gives up (kill -9).
  await using proxy = new CuttingProxy(
    server.port,
    (index) =>
      index === 0 ? { direction: "down", afterBytes: 3 * 1024 * 1024, action: "stall" } : null,
  );
  const saved = `${folder.path}/disk-copy.img`;
  const part = `${saved}.part`;
  {
    await using interrupted = lanchat([
      "get",
      `127.0.0.1:${proxy.port}`,
      id,
      "-o",
      saved,
      "--guest",
    ]);
    await proxy.until(() => proxy.connections[0]?.acted === true, 20_000, "the stall");
    // Bounded: the bytes before the stall reach the .part within the deadline.
    const deadline = Date.now() + 10_000;
    while (sizeOf(part) < 1024 * 1024 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    interrupted.kill("SIGKILL");
    await interrupted.status;
  }
  const held = sizeOf(part);
  // The sink writes a batch (1 MiB) at a time: a kill loses at most the batch it held.
  assert(held >= 1024 * 1024 && held < bytes.length, `the .part holds ${held} bytes`);
  assertEquals(sizeOf(saved), 0, "nothing under the final name yet");

  const resumed = await lanchatToEnd(["get", address, id, "-o", saved, "--guest", "--json"]);
  assertEquals(resumed.code, 0, resumed.stderr);
  assertEquals(onlyJson(resumed.stdout).bytesReceived, bytes.length - held, "only the rest came");
  assertEquals(sha256Hex(await Deno.readFile(saved)), sha256Hex(bytes));
  assertEquals(sizeOf(part), 0);
});

Deno.test("lanchat send cut mid-way reconnects and sends only what the server does not have", async () => {
  await using server = await serveOnLoopback();
  await using folder = await workFolder();
  const size = 8 * 1024 * 1024;
  const bytes = randomBytes(size);
  const source = `${folder.path}/backup.tar`;
  await Deno.writeFile(source, bytes);
  await using proxy = new CuttingProxy(
    server.port,
    (index) => index === 0 ? { direction: "up", afterBytes: 4 * 1024 * 1024, action: "cut" } : null,
  );
  const sent = await lanchatToEnd(
    ["send", `127.0.0.1:${proxy.port}`, source, "--nick", "ana", "--json"],
  );
  assertEquals(sent.code, 0, sent.stderr);
  assert(/lost the connection|connection.*lost/i.test(sent.stderr), sent.stderr);
  assertEquals(proxy.connections.length, 2, "one reconnect");
  const first = proxy.connections[0]!.up, second = proxy.connections[1]!.up;
  assert(second < size * 0.75, `the second connection carried ${second} of ${size} bytes`);
  // Counted: both connections together carried the file once, plus framing (17 bytes a chunk), the
  // sessions' JSON, and what the cut lost on its way (the reset drops what the server had not read
  // yet: at most the window, 4 MiB, that the client keeps in flight).
  const extra = first + second - size;
  assert(
    extra < size * 0.0003 + transferWindowBytes + 8192,
    `${extra} bytes more than the file were sent`,
  );
  const record = onlyJson(sent.stdout);
  assertEquals(record.sha256, sha256Hex(bytes));

  const saved = `${folder.path}/backup-copy.tar`;
  const got = await lanchatToEnd([
    "get",
    `127.0.0.1:${server.port}`,
    String(record.id),
    "-o",
    saved,
    "--guest",
  ]);
  assertEquals(got.code, 0, got.stderr);
  assertEquals(sha256Hex(await Deno.readFile(saved)), sha256Hex(bytes));
});

Deno.test("lanchat send and get: wrong usage exits 2, a dead server, a missing file or id exits 1, saying why", async () => {
  await using server = await serveOnLoopback();
  await using folder = await workFolder();
  const address = `127.0.0.1:${server.port}`;
  const file = `${folder.path}/a.txt`;
  await Deno.writeTextFile(file, "hello\n");

  const unknownFlag = await lanchatToEnd(["send", address, file, "--bogus"]);
  assertEquals(unknownFlag.code, 2);
  assert(unknownFlag.stderr.includes("unknown option '--bogus'"), unknownFlag.stderr);

  const both = await lanchatToEnd(["send", address, file, "--channel", "ops", "--to", "bob"]);
  assertEquals(both.code, 2);
  assert(both.stderr.includes("cannot be used with"), both.stderr);

  const badId = await lanchatToEnd(["get", address, "abc"]);
  assertEquals(badId.code, 2);
  assert(badId.stderr.includes("expected a whole number"), badId.stderr);

  const missing = await lanchatToEnd(["send", address, `${folder.path}/nope.txt`]);
  assertEquals(missing.code, 1);
  assert(missing.stderr.includes("nope.txt: no such file"), missing.stderr);

  const noAccount = await lanchatToEnd(["send", address, file]);
  assertEquals(noAccount.code, 2, noAccount.stderr);
  assert(noAccount.stderr.includes("give --nick NICK"), noAccount.stderr);

  const dead = deadPort();
  const unreachable = await lanchatToEnd(["send", `127.0.0.1:${dead}`, file, "--nick", "ana"]);
  assertEquals(unreachable.code, 1);
  assert(unreachable.stderr.includes(`cannot reach 127.0.0.1:${dead}`), unreachable.stderr);

  const here = `${folder.path}/here`;
  await Deno.mkdir(here);
  const deadGet = await lanchatIn(here, ["get", `127.0.0.1:${dead}`, "5", "--guest"]);
  assertEquals(deadGet.code, 1);
  assert(deadGet.stderr.includes("cannot reach"), deadGet.stderr);
  const noSuchFile = await lanchatIn(here, ["get", address, "999999", "--guest"]);
  assertEquals(noSuchFile.code, 1);
  assert(noSuchFile.stderr.includes("cannot get file 999999"), noSuchFile.stderr);
  assertEquals([...Deno.readDirSync(here)], [], "no .part left behind");

  const help = await lanchatToEnd(["get", "--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.includes("--force"), help.stdout);
});
