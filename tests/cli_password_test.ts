/**
 * The room password as people use it, with real processes: `lanchat serve`
 * with LANCHAT_PASSWORD / --password-file, `lanchat join` with the right,
 * a wrong and no password; and the password never shows up in the process
 * list, the output or the history database.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { TestClient, text } from "./_helpers.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { startTestServer } from "./_helpers.ts";
import { createRoomKey } from "../lib/wire/room_key.ts";
import { join } from "../lib/client/terminal/join.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-pw-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

function readAll(path: string): string {
  try {
    return new TextDecoder("latin1").decode(Deno.readFileSync(path));
  } catch {
    return "";
  }
}

Deno.test("serve with LANCHAT_PASSWORD: joiners need it, and it is in no process list, output or database", async () => {
  await using dir = await tempDir();
  const marker = `pw-${crypto.randomUUID()}`;
  await using server = await serveOnLoopback(["--db", `${dir}/h.db`], {
    env: { LANCHAT_PASSWORD: marker },
  });
  const port = server.port;
  await server.waitForLine(/room password: required/);
  const cmdline = readAll(`/proc/${server.pid}/cmdline`);
  assert(cmdline.includes("serve"), "read the server's own command line");
  assert(!cmdline.includes(marker), "the password is not in the process list");

  // Right password, piped: the line arrives and join exits 0.
  await using reader = lanchat(["join", `127.0.0.1:${port}`, "--nick", "reader"], {
    stdin: "piped",
    env: { LANCHAT_PASSWORD: marker },
  });
  await server.waitForLine(/reader joined/);
  await using writer = lanchat(["join", `127.0.0.1:${port}`, "--nick", "writer"], {
    stdin: "piped",
    env: { LANCHAT_PASSWORD: marker },
  });
  await writer.write("sealed hello\n");
  await writer.closeStdin();
  assertEquals((await writer.waitForExit()).code, 0, writer.output().join("\n"));
  await reader.waitForLine(/<writer> sealed hello/, { stream: "stdout" });
  assert(!readAll(`/proc/${reader.pid}/cmdline`).includes(marker));
  await reader.closeStdin();
  assertEquals((await reader.waitForExit()).code, 0);

  // Wrong password: one clear line, exit 1, no stack trace.
  await using wrong = lanchat(["join", `127.0.0.1:${port}`, "--nick", "wrong"], {
    stdin: "piped",
    env: { LANCHAT_PASSWORD: `${marker}-not` },
  });
  assertEquals((await wrong.waitForExit()).code, 1);
  const wrongErr = wrong.output("stderr");
  assertEquals(wrongErr.length, 1, wrongErr.join("\n"));
  assertMatch(wrongErr[0]!, /^wrong room password\b/);

  // No password when piped: says what to set, exit 2.
  await using none = lanchat(["join", `127.0.0.1:${port}`, "--nick", "none"], { stdin: "piped" });
  assertEquals((await none.waitForExit()).code, 2);
  assertEquals(none.output("stderr").length, 1);
  assertMatch(none.output("stderr")[0]!, /needs a password: set LANCHAT_PASSWORD/);

  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);
  for (const process of [server, reader, writer, wrong, none]) {
    const output = process.output().join("\n");
    assert(!output.includes(marker), `no output shows the password:\n${output}`);
  }
  for (const file of ["h.db", "h.db-wal", "h.db-shm"]) {
    assert(!readAll(`${dir}/${file}`).includes(marker), `${file} does not hold the password`);
  }
  assert(readAll(`${dir}/h.db`).length > 0, "the history database was written");
});

Deno.test("serve --password-file reads the first line; --password with a value is refused", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir}/pw`, "from a file\n");
  await using server = await serveOnLoopback(["--password-file", `${dir}/pw`]);
  const port = server.port;
  await using joiner = lanchat(["join", `127.0.0.1:${port}`, "--nick", "filer"], {
    stdin: "piped",
    env: { LANCHAT_PASSWORD: "from a file" },
  });
  await joiner.write("via the file\n");
  await joiner.closeStdin();
  assertEquals((await joiner.waitForExit()).code, 0, joiner.output().join("\n"));
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);

  await using plain = lanchat([
    "serve",
    "--port",
    "0",
    "--db",
    ":memory:",
    "--password",
    "hunter2",
  ]);
  assertEquals((await plain.waitForExit()).code, 2);
  assertMatch(plain.output("stderr").join("\n"), /too many arguments|unknown/);
  assert(!plain.output().some((line) => /listening/.test(line)), "it did not start");

  await using missing = lanchat(["serve", "--port", "0", "--password-file", `${dir}/nope`]);
  assertEquals((await missing.waitForExit()).code, 2);
  assertMatch(
    missing.output("stderr").join("\n"),
    /cannot read the password file .*does not exist/,
  );
});

Deno.test("a joined client survives a restart of a secure room (new salt) without asking again", async () => {
  const first = await createRoomKey("reconnect pw");
  const server = await startTestServer({ roomKey: first });
  const port = server.port;
  let asked = 0;
  const lines: string[] = [];
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const writer = input.writable.getWriter();
  let restarted: Awaited<ReturnType<typeof startTestServer>> | null = null;
  try {
    await using observer = await TestClient.secureJoined(port, "observer", first.psk);
    const joined = join({
      host: "127.0.0.1",
      port,
      nick: "bot",
      interactive: false,
      input: input.readable,
      writeOut: (line) => lines.push(line),
      writeErr: (line) => lines.push(line),
      askPassword: () => {
        asked++;
        return Promise.resolve("reconnect pw");
      },
      reconnectDelaysMs: [200, 400, 800, 1600],
    });
    await observer.next((m) => m.type === "joined" && m.nick === "bot");
    await writer.write(new TextEncoder().encode("first\n"));
    assertEquals(text(await observer.next((m) => m.type === "msg" && m.from === "bot")), "first");
    await server.close();
    const second = await createRoomKey("reconnect pw");
    assert(second.params.salt !== first.params.salt);
    restarted = await startTestServer({ port, roomKey: second });
    await using watcher = await TestClient.secureJoined(port, "watcher", second.psk);
    await watcher.next((m) => m.type === "joined" && String(m.nick).startsWith("bot"), 8000);
    await writer.write(new TextEncoder().encode("second\n"));
    assertEquals(
      text(await watcher.next((m) => m.type === "msg" && String(m.from).startsWith("bot"), 5000)),
      "second",
    );
    await writer.close();
    assertEquals(await joined, 0, lines.join("\n"));
    assertEquals(asked, 1, "the password was asked once, then kept for the new salt");
  } finally {
    await server.close();
    await restarted?.close();
  }
});

Deno.test("a password typed after the hello deadline still joins, on a fresh connection, asked once", async () => {
  const key = await createRoomKey("slow typist");
  await using server = await startTestServer({ roomKey: key, limits: { helloTimeoutMs: 200 } });
  await using observer = await TestClient.secureJoined(server.port, "observer", key.psk);
  let asked = 0;
  const lines: string[] = [];
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const writer = input.writable.getWriter();
  const joined = join({
    host: "127.0.0.1",
    port: server.port,
    nick: "slow",
    interactive: false,
    input: input.readable,
    writeOut: (line) => lines.push(line),
    writeErr: (line) => lines.push(line),
    // A person who takes longer than the server's hello deadline (simulated: 700 ms > 200 ms).
    askPassword: async () => {
      asked++;
      await new Promise((resolve) => setTimeout(resolve, 700));
      return "slow typist";
    },
  });
  await observer.next((m) => m.type === "joined" && m.nick === "slow", 5000);
  await writer.write(new TextEncoder().encode("made it\n"));
  await writer.close();
  assertEquals(await joined, 0, lines.join("\n"));
  assertEquals(text(await observer.next((m) => m.type === "msg" && m.from === "slow")), "made it");
  assertEquals(asked, 1);
});
