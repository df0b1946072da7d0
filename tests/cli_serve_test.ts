/** `lanchat serve` and `lanchat history` run as a user runs them: real processes, real files. */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { TestClient, text } from "./_helpers.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-cli-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

Deno.test("serve prints where to join, and SIGTERM tells everyone, closes and exits 0", async () => {
  await using dir = await tempDir();
  await using server = lanchat(["serve", "--port", "0", "--web-port", "0", "--db", `${dir}/h.db`]);
  const listening = await server.waitForLine(/chat \(TCP\): listening on (\S+):(\d+)/);
  assertEquals(listening[1], "0.0.0.0");
  const port = Number(listening[2]);
  await server.waitForLine(/history: .*h\.db/);
  // From source the line reads `deno task join …` (the binary: `lanchat join …`): one that runs.
  const joinLines = server.output("stdout").filter((line) => / join [\d.]+:\d+/.test(line));
  assert(joinLines.length > 0, "a `… join ADDRESS:PORT` line for people to copy");
  for (const line of joinLines) {
    assertMatch(line, new RegExp(`^ {4}(lanchat|.*\\bdeno\\S* task) join [\\d.]+:${port}\\b`));
  }
  const webPort = Number((await server.waitForLine(/web page: +listening on \S+:(\d+)/))[1]);
  await server.waitForLine(new RegExp(`http://[\\d.]+:${webPort}/`));
  await using ana = await TestClient.joined(port, "ana");
  server.kill("SIGTERM");
  assertEquals((await ana.next("error")).code, "shutting_down");
  await ana.waitClosed();
  assertEquals((await server.waitForExit()).code, 0);
});

Deno.test("serve on loopback warns that only this machine can join", async () => {
  await using server = lanchat([
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-web",
    "--db",
    ":memory:",
  ]);
  await server.waitForLine(/only this machine can join/);
  await server.waitForLine(/history: in memory only/);
  server.kill("SIGINT");
  assertEquals((await server.waitForExit()).code, 0);
});

Deno.test("serve explains a busy port, a bad flag and an unusable database, with exit codes", async () => {
  await using dir = await tempDir();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await using taken = lanchat([
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(busy.addr.port),
      "--db",
      ":memory:",
    ]);
    assertEquals((await taken.waitForExit()).code, 1);
    assertMatch(taken.output("stderr").join("\n"), /chat port \d+ is already in use.*--port/);
    await using webTaken = lanchat([
      ...[
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--web-port",
        String(busy.addr.port),
        "--db",
        ":memory:",
      ],
    ]);
    assertEquals((await webTaken.waitForExit()).code, 1);
    assertMatch(webTaken.output("stderr").join("\n"), /web port \d+ is already in use.*--web-port/);
  } finally {
    busy.close();
  }
  await using badFlag = lanchat(["serve", "--port", "99999"]);
  assertEquals((await badFlag.waitForExit()).code, 2);
  assertMatch(badFlag.output("stderr").join("\n"), /0 to 65535/);
  await Deno.writeFile(`${dir}/junk.db`, crypto.getRandomValues(new Uint8Array(4096)));
  await using corrupt = lanchat(["serve", "--port", "0", "--no-web", "--db", `${dir}/junk.db`]);
  assertEquals((await corrupt.waitForExit()).code, 1);
  const said = corrupt.output("stderr").join("\n");
  assert(!said.includes("    at "), `no stack trace: ${said}`);
  assertMatch(said, /lanchat: .+\n {2}\S/);
});

Deno.test("history written by a real server is read back by `lanchat history`, filters included", async () => {
  await using dir = await tempDir();
  const db = `${dir}/h.db`;
  {
    await using server = await serveOnLoopback(["--db", db]);
    const port = server.port;
    await using ana = await TestClient.joined(port, "ana");
    await using bo = await TestClient.joined(port, "bo");
    await ana.say("Deploy finished", { ref: 1 });
    await bo.say("大家你好啊", { ref: "b" });
    await bo.next((m) => m.ref === "b"); // accepted before the next one is sent
    await ana.say("just for bo", { to: "bo", ref: 2 });
    await ana.next((m) => m.ref === 2);
    assertEquals(text(await bo.next((m) => m.to === "bo")), "just for bo");
    server.kill("SIGTERM");
    assertEquals((await server.waitForExit()).code, 0);
  }
  const run = async (...args: string[]) => {
    await using history = lanchat(["history", "--db", db, ...args]);
    assertEquals((await history.waitForExit()).code, 0, history.output().join("\n"));
    return history.output("stdout");
  };
  const all = await run();
  assertEquals(all.length, 3);
  assertMatch(all[0]!, /^\[\d{4}-\d\d-\d\d \d\d:\d\d\] <ana> Deploy finished$/);
  assertEquals((await run("--search", "你好")).length, 1);
  assertEquals((await run("--search", "DEPLOY")).length, 1);
  assertEquals((await run("--with", "bo")).length, 2);
  assertEquals((await run("--since", "1h")).length, 3);
  assertEquals(await run("--until", "2000-01-01"), ["(no messages)"]);
  const json = (await run("--json", "--limit", "1")).map((line) => JSON.parse(line));
  assertEquals(json.map((item) => [item.from, item.to, item.text]), [["ana", "bo", "just for bo"]]);
});

Deno.test("serve makes its key once beside its history, shows its fingerprint, and keeps it across restarts", async () => {
  await using dir = await tempDir();
  const keyPath = `${dir}/server_key.json`;
  const start = async (): Promise<string> => {
    await using server = await serveOnLoopback(["--db", `${dir}/h.db`]);
    const line = await server.waitForLine(/server key: (SHA256:[A-Za-z0-9+/]{43}) \((.+)\)$/);
    assertEquals(line[2], keyPath);
    server.kill("SIGTERM");
    assertEquals((await server.waitForExit()).code, 0);
    return line[1]!;
  };
  const first = await start();
  assertEquals((await Deno.stat(keyPath)).mode! & 0o777, 0o600);
  assertEquals(await start(), first, "the server key changed across a restart");

  // A key others can read is refused before anything listens.
  await Deno.chmod(keyPath, 0o644);
  await using refused = lanchat([
    "serve",
    "--port",
    "0",
    "--no-web",
    "--no-discovery",
    "--db",
    `${dir}/h.db`,
  ]);
  assertEquals((await refused.waitForExit()).code, 1);
  assertMatch(refused.output("stderr").join("\n"), /server key .* chmod 600/);
});

Deno.test("a new history is readable by its owner only, and so are its -wal and -shm", async () => {
  await using dir = await tempDir();
  await using server = await serveOnLoopback(["--db", `${dir}/h.db`]);
  await using ana = await TestClient.joined(server.port, "ana");
  await ana.say("only for this room");
  await ana.next((message) => message.type === "msg");
  for (const file of ["h.db", "h.db-wal", "h.db-shm"]) {
    assertEquals((await Deno.stat(`${dir}/${file}`)).mode! & 0o777, 0o600, file);
  }
});
