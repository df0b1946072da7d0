/**
 * End-to-end tests of `lanchat join` (lib/client/): the real CLI as a
 * subprocess against a real server over loopback TCP, checked by a raw
 * protocol observer. No sleeps: every wait is on output or messages with a
 * deadline.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startServer } from "../lib/server/server.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { encodeFrame } from "../lib/frame.ts";
import { encodePayload } from "../lib/wire/protocol.ts";

function count(lines: string[], pattern: RegExp): number {
  return lines.filter((line) => pattern.test(line)).length;
}

Deno.test("piped join posts every line in order, shows others' messages, exits 0 after the echoes", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using observer = await RawClient.join(server.port, "watcher");
  await observer.say("said before bot joined: piped mode shows no history");
  await observer.waitForMessages(() => true, 1);
  await using bot = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "bot"], {
    stdin: "piped",
  });
  await observer.waitFor((message) => message.type === "joined" && message.nick === "bot");
  await observer.say("hello bot \x1b[2J");
  await bot.waitForLine(/^\[\d\d:\d\d\] <watcher> hello bot ␛\[2J$/, { stream: "stdout" });

  await bot.write("one\n\ntwo\r\nthree");
  await bot.closeStdin();
  const status = await bot.waitForExit();
  assertEquals(status.code, 0, bot.output().join("\n"));

  const seen = await observer.waitForMessages((message) => message.from === "bot", 3);
  assertEquals(seen.map((message) => message.text), ["one", "two", "three"]);
  // Its own lines are not printed back; only the other person's message is on stdout.
  assertEquals(bot.output("stdout").length, 1);
  assertEquals(bot.output("stderr"), []);
  await observer.waitFor((message) => message.type === "left" && message.nick === "bot");
});

Deno.test("piped join runs /commands like a person typing: /me, /msg, // escapes, /quit stops", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using observer = await RawClient.join(server.port, "watcher");
  await using bot = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "bot"], {
    stdin: "piped",
  });
  await observer.waitFor((message) => message.type === "joined" && message.nick === "bot");
  await bot.write("hello\n/me waves\n/msg watcher psst\n//not a command\n/quit\nnever sent\n");
  await bot.closeStdin();
  assertEquals((await bot.waitForExit()).code, 0, bot.output().join("\n"));
  const seen = await observer.waitForMessages((message) => message.from === "bot", 4);
  assertEquals(
    seen.map((message) => [message.text, message.kind, message.to ?? null]),
    [["hello", "text", null], ["waves", "action", null], ["psst", "text", "watcher"], [
      "/not a command",
      "text",
      null,
    ]],
  );
  await observer.waitFor((message) => message.type === "left" && message.nick === "bot");
  assertEquals(observer.messages().filter((message) => message.text === "never sent").length, 0);
});

Deno.test("piped join with an unknown /command says so and exits 1 after sending the rest", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using observer = await RawClient.join(server.port, "watcher");
  await using bot = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "bot"], {
    stdin: "piped",
  });
  await bot.write("/frobnicate now\nafter\n");
  await bot.closeStdin();
  assertEquals((await bot.waitForExit()).code, 1);
  assertMatch(bot.output("stderr").join("\n"), /frobnicate/);
  const seen = await observer.waitForMessages((message) => message.from === "bot", 1);
  assertEquals(seen.map((message) => message.text), ["after"]);
});

Deno.test("piped join of 1,000 lines and a 40 KB line of Chinese and emoji delivers all, in order", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using observer = await RawClient.join(server.port, "watcher");
  const lines = Array.from({ length: 1000 }, (_, index) => `line ${index + 1} 你好 🎉`);
  const long = "中文和表情😀".repeat(2150); // 40,850 bytes of UTF-8
  const longBytes = new TextEncoder().encode(long).length;
  assert(longBytes >= 40_000 && longBytes <= 46 * 1024, `long line is ${longBytes} bytes`);
  lines.splice(500, 0, long);

  await using bot = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "bulk"], {
    stdin: "piped",
  });
  const started = Date.now();
  await bot.write(lines.join("\n") + "\n");
  await bot.closeStdin();
  const status = await bot.waitForExit(60_000);
  const elapsedMs = Date.now() - started;
  assertEquals(status.code, 0, bot.output().slice(-10).join("\n"));

  const seen = await observer.waitForMessages((message) => message.from === "bulk", lines.length);
  assertEquals(seen.length, lines.length);
  assert(seen.every((message, index) => message.text === lines[index]), "every line, in order");
  console.log(`    piped ${lines.length} lines (one of ${longBytes} bytes) in ${elapsedMs} ms`);
});

Deno.test("piped join refuses an over-long line with a clear message and exits 1", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using observer = await RawClient.join(server.port, "watcher");
  await using bot = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "bot"], {
    stdin: "piped",
  });
  await bot.write(`first\n${"x".repeat(50_000)}\nlast\n`);
  await bot.closeStdin();
  const status = await bot.waitForExit();
  assertEquals(status.code, 1);
  assertMatch(bot.output("stderr").join("\n"), /not sent: .*longer than \d+ bytes; split it/);
  const seen = await observer.waitForMessages((message) => message.from === "bot", 2);
  assertEquals(seen.map((message) => message.text), ["first", "last"]);
});

Deno.test("piped join without --nick exits 2 and says what to give", async () => {
  await using bot = lanchat(["join", "127.0.0.1:1"], { stdin: "piped" });
  await bot.closeStdin();
  const status = await bot.waitForExit();
  assertEquals(status.code, 2);
  assertEquals(bot.output("stderr"), ["give --nick NICK when input is piped"]);
});

Deno.test("piped join with a nick that is taken exits 2 with the server's reason", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using _observer = await RawClient.join(server.port, "ana");
  await using bot = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "ANA"], {
    stdin: "piped",
  });
  await bot.closeStdin();
  const status = await bot.waitForExit();
  assertEquals(status.code, 2);
  assertMatch(bot.output("stderr").join("\n"), /refused the nick "ANA": .*--nick NICK/);
});

Deno.test("piped join to a room with a password and no LANCHAT_PASSWORD says what to set and exits 2", async () => {
  // A listener plays only the first frame of a room with a password: a
  // \`server\` greeting with \`secure\` set (tests/cli_password_test.ts uses a real one).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const greeting = encodeFrame(encodePayload({
    type: "server",
    proto: 1,
    name: "locked",
    secure: {
      noise: "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
      kdf: "scrypt",
      salt: "AAAAAAAAAAAAAAAAAAAAAA==",
      N: 32768,
      r: 8,
      p: 1,
    },
  }));
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.write(greeting);
    // Hold the connection until the client hangs up.
    await conn.read(new Uint8Array(1024)).catch(() => null);
    conn.close();
  })();
  try {
    await using client = lanchat(["join", `127.0.0.1:${listener.addr.port}`, "--nick", "ana"], {
      stdin: "piped",
    });
    const status = await client.waitForExit();
    assertEquals(status.code, 2);
    assertEquals(client.output("stderr"), [
      "this room needs a password: set LANCHAT_PASSWORD (input is piped, so it cannot be asked)",
    ]);
  } finally {
    await serving;
    listener.close();
  }
});

Deno.test("join with no server at all fails at once with the cause and what to check", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // Nothing listens there now.
  await using client = lanchat(["join", `127.0.0.1:${port}`, "--nick", "ana"], { stdin: "piped" });
  const status = await client.waitForExit();
  assertEquals(status.code, 1);
  // The commands are written as they run here (from source: deno task serve, deno run -A main.ts).
  const stderr = client.output("stderr");
  assertEquals(stderr.length, 1, stderr.join("\n"));
  assertMatch(
    stderr[0]!,
    new RegExp(
      `^cannot reach 127\\.0\\.0\\.1:${port} \\(connection refused\\)\\. Is \`\\S[^\`]* serve\` ` +
        `running there\\? Is port ${port}/tcp open in its firewall \\(run \`\\S[^\`]* firewall ` +
        `--port ${port}\` there\\)\\? Is the address right\\?$`,
    ),
  );
  assertEquals(client.output("stdout"), []);
});

for (const storage of ["a history file", "history in memory"] as const) {
  Deno.test(`join reconnects after the server (${storage}) is killed and restarted on the same port, showing each later message once`, async () => {
    const directory = await Deno.makeTempDir({ prefix: "lanchat-client-test-" });
    const db = storage === "a history file" ? `${directory}/history.db` : ":memory:";
    // The same server restarted: the same data folder, so the same server key (issue #14).
    const serverEnv = { XDG_DATA_HOME: `${directory}/server-data` };
    let server = await serveOnLoopback(["--db", db, "--quiet"], { env: serverEnv });
    const port = server.port;
    try {
      await using client = lanchat(["join", `127.0.0.1:${port}`, "--nick", "stay"], {
        stdin: "piped",
      });
      {
        await using before = await RawClient.join(port, "before");
        await before.waitFor((message) => message.type === "joined" && message.nick === "stay");
        await before.say("before the crash");
        await client.waitForLine(/<before> before the crash$/, { stream: "stdout" });
      }

      server.kill("SIGKILL");
      await server.waitForExit();
      await client.waitForLine(/^! lost the connection to 127\.0\.0\.1:\d+/, { stream: "stderr" });
      server = await serveOnLoopback(["--db", db, "--quiet"], { port, env: serverEnv });

      await using after = await RawClient.join(port, "after");
      // Said at once: they reach the client as missed messages or live, depending on timing.
      await after.say("after restart 1");
      await after.say("after restart 2");
      await client.waitForLine(/^-- back in the room/, { stream: "stderr", timeoutMs: 15_000 });
      await after.say("after restart 3");
      await client.waitForLine(/<after> after restart 3$/, { stream: "stdout" });

      await client.closeStdin();
      assertEquals((await client.waitForExit()).code, 0, client.output().join("\n"));
      const out = client.output("stdout");
      for (
        const text of ["before the crash", "after restart 1", "after restart 2", "after restart 3"]
      ) {
        assertEquals(
          count(out, new RegExp(`<\\w+> ${text}$`)),
          1,
          `${text} once in:\n${out.join("\n")}`,
        );
      }
    } finally {
      await server[Symbol.asyncDispose]();
      await Deno.remove(directory, { recursive: true });
    }
  });
}

Deno.test("join gives up after 3 reconnect attempts when the server is gone for good", async () => {
  const server = await serveOnLoopback(["--quiet"]);
  try {
    await using observer = await RawClient.join(server.port, "watcher");
    await using client = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "stay"], {
      stdin: "piped",
    });
    await observer.waitFor((message) => message.type === "joined" && message.nick === "stay");
    server.kill("SIGKILL");
    await server.waitForExit();
    const status = await client.waitForExit(30_000);
    assertEquals(status.code, 1);
    const errors = client.output("stderr");
    assertEquals(
      count(errors, /^! attempt \d of 3 failed: connection refused$/),
      3,
      errors.join("\n"),
    );
    // The commands are the ones that run here (from a clone: `deno task serve`, ...).
    assertMatch(
      errors.at(-1) ?? "",
      new RegExp(
        `^lost the connection to 127\\.0\\.0\\.1:${server.port} and 3 reconnect attempts failed\\. ` +
          `Is \`[^\`]*\\bserve\` still running there\\? Is port ${server.port}/tcp open in its firewall ` +
          `\\(run \`[^\`]*\\bfirewall --port ${server.port}\` there\\)\\? Is the address right\\?$`,
      ),
    );
  } finally {
    await server[Symbol.asyncDispose]();
  }
});
