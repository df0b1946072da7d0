/**
 * `lanchat serve`'s limits as an operator meets them, with real processes:
 * a guessable room password is refused (or warned about), the open-file limit
 * is raised at start and the banner warns when it still holds fewer
 * connections than --max-users, and bad limit flags say what is wrong.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { serveUnderFileLimit } from "./fixtures/abuse.ts";

Deno.test("serve refuses a room password under 8 characters unless --weak-password-ok", async () => {
  await using short = lanchat(["serve", "--port", "0", "--no-web", "--no-discovery"], {
    env: { LANCHAT_PASSWORD: "abc123" },
  });
  const status = await short.waitForExit();
  assertEquals(status.code, 2);
  assertMatch(
    short.output("stderr").join("\n"),
    /6 characters; at least 8 are needed.*--weak-password-ok/,
  );
  await using allowed = await serveOnLoopback(["--weak-password-ok"], {
    env: { LANCHAT_PASSWORD: "abc123" },
  });
  await allowed.waitForLine(/room password: required/);
  await allowed.waitForLine(/warning: the room password has 6 characters/);
});

Deno.test("serve warns about a short or simple room password but starts", async () => {
  await using server = await serveOnLoopback([], { env: { LANCHAT_PASSWORD: "abcdefghij" } });
  await server.waitForLine(/warning: the room password is short or simple/);
  await using strong = await serveOnLoopback([], {
    env: { LANCHAT_PASSWORD: "correct horse battery staple" },
  });
  await strong.waitForLine(/press Ctrl-C to stop/);
  assert(!strong.output().some((line) => /short or simple/.test(line)));
});

Deno.test("serve raises its open-file limit to the hard limit", async () => {
  await using server = await serveUnderFileLimit([], { softFiles: 256, hardFiles: 4096 });
  await server.waitForLine(/press Ctrl-C to stop/);
  const limits = Deno.readTextFileSync(`/proc/${server.pid}/limits`);
  assertMatch(limits, /^Max open files\s+4096\s+4096/m);
  assert(!server.output().some((line) => /may open \d+ files/.test(line)));
});

Deno.test("serve says so when the open-file limit holds fewer connections than --max-users", async () => {
  await using server = await serveUnderFileLimit(["--max-users", "1000"], { softFiles: 512 });
  const warning = await server.waitForLine(
    /warning: this process may open 512 files, room for about (\d+) connections/,
  );
  assertEquals(Number(warning[1]), 448);
  await server.waitForLine(/ulimit -n 2024/);
  await using fits = await serveUnderFileLimit(["--max-users", "400"], { softFiles: 512 });
  await fits.waitForLine(/press Ctrl-C to stop/);
  assert(!fits.output().some((line) => /may open \d+ files/.test(line)));
});

Deno.test("bad limit flags say what is wrong, exit 2", async () => {
  for (
    const [args, pattern] of [
      [["--trusted-net", "office"], /--trusted-net.*'office' is not a network/],
      [["--trusted-net", "10.0.0.0/40"], /prefix length must be 0 to 32/],
      [["--max-users-per-net", "0"], /--max-users-per-net.*at least 1/],
      [["--searches-per-minute", "x"], /--searches-per-minute.*whole number/],
    ] as const
  ) {
    await using serve = lanchat(["serve", "--port", "0", "--no-web", "--no-discovery", ...args]);
    const status = await serve.waitForExit();
    assertEquals(status.code, 2, args.join(" "));
    assertMatch(serve.output("stderr").join("\n"), pattern);
  }
});

Deno.test("join refused at the door says why, not that the port may be wrong", async () => {
  await using server = await serveOnLoopback(["--max-connections-per-ip", "1"]);
  const held = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await using join = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", "bob"], {
      env: { XDG_DATA_HOME: await Deno.makeTempDir({ prefix: "lanchat_refused_join_" }) },
    });
    assertEquals((await join.waitForExit()).code, 1);
    const said = join.output().join("\n");
    assertMatch(
      said,
      /refused the connection: too many connections from 127\.0\.0\.1 \(at most 1\)/,
    );
    assert(!/chat port \(not its web port\)/.test(said), said);
  } finally {
    held.close();
  }
});
