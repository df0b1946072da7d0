/**
 * Wrong usage (issue #13): a bad HOST:PORT, a bad `history --since/--until`
 * and a `--db` (or `--salvage`) in a folder that does not exist are usage
 * problems: exit 2, a message that says what is accepted or what to do, and
 * nothing created. The default history path still gets its folders.
 * Real `main.ts` processes, each in a fresh home (tests/fixtures/test_home.ts).
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { pathExists } from "./_helpers.ts";
import { lanchat, lanchatToEnd } from "./fixtures/client_process.ts";

/** A temporary folder, removed at the end of the test. */
async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-usage-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** `serve` on a free loopback port with neither web page nor discovery. */
const serveQuietly = ["serve", "--host", "127.0.0.1", "--port", "0", "--no-web", "--no-discovery"];

Deno.test("a bad HOST:PORT for join or doctor exits 2 and says what an address looks like", async () => {
  for (
    const args of [
      ["join", "127.0.0.1:99999", "--nick", "ana"],
      ["join", ":x", "--nick", "ana"],
      ["join", "[::1", "--nick", "ana"],
      ["doctor", "bad:port"],
    ]
  ) {
    const result = await lanchatToEnd(args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, /HOST, HOST:PORT or \[IPv6\]:PORT, e\.g\. 192\.168\.1\.20/);
    assertEquals(result.stdout, "", "nothing tried: no connection, no discovery");
  }
});

Deno.test("history with a --since or --until it cannot read exits 2 and lists the forms", async () => {
  for (const args of [["--since", "yesterdayish"], ["--until", "2026-13-01"]]) {
    const result = await lanchatToEnd(["history", ...args]);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, new RegExp(`${args[0]} <time>.*"${args[1]}"`));
    assertMatch(result.stderr, /2026-11-25T14:00|exists/);
  }
  const forms = await lanchatToEnd(["history", "--since", "yesterdayish"]);
  assertMatch(forms.stderr, /a date \(2026-11-25\).*\(30m, 2h, 3d, 1w\)/);
});

Deno.test("an explicit --db or --salvage in a missing folder exits 2, says mkdir, creates nothing", async () => {
  await using dir = await tempDir();
  const missing = `${dir}/typo/history`;
  const cases: [string[], string][] = [
    [[...serveQuietly, "--db", `${missing}/h.db`], "--db"],
    [["history", "--db", `${missing}/h.db`], "--db"],
    [["history", "--db", `${dir}/any.db`, "--salvage", `${missing}/copy.db`], "--salvage"],
  ];
  for (const [args, flag] of cases) {
    // A serve that should have refused to start is killed after 15 s.
    const result = await lanchatToEnd(args, { timeoutMs: 15_000 });
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert(
      result.stderr.includes(
        `the folder ${missing} of ${flag} does not exist; create it first (mkdir -p ${missing})`,
      ),
      result.stderr,
    );
    assertEquals(await pathExists(`${dir}/typo`), false, `${args[0]} created the folder`);
  }
});

Deno.test("serve still creates the folders of its default history path", async () => {
  await using dir = await tempDir();
  const dataHome = `${dir}/data`; // does not exist yet
  await using server = lanchat(serveQuietly, { env: { XDG_DATA_HOME: dataHome } });
  await server.waitForLine(new RegExp(`history: ${dataHome}/lanchat/history\\.db$`), {
    timeoutMs: 20_000,
  });
  assert(await pathExists(`${dataHome}/lanchat/history.db`));
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);
});
