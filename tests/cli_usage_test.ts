/**
 * Issue #13, wrong usage: a bad HOST:PORT, a bad `history --since/--until`
 * and a `--db` (or `--salvage`) in a folder that does not exist are usage
 * problems: exit 2, a message that says what is accepted or what to do, and
 * nothing created. The default history path still gets its folders.
 * Real `main.ts` processes, each with XDG_DATA_HOME in a temporary folder.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { lanchat } from "./fixtures/client_process.ts";

const repoRoot = new URL("../", import.meta.url).pathname;

/** A temporary folder, removed at the end of the test. */
async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-fixes-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `deno run -A main.ts ...args` to its end, with this test's data folder;
 * killed after `timeoutMs` (a serve that should have refused to start).
 */
async function run(args: string[], dataHome: string, timeoutMs = 20_000): Promise<Ran> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: repoRoot,
    env: { XDG_DATA_HOME: dataHome, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("a bad HOST:PORT for join or doctor exits 2 and says what an address looks like", async () => {
  await using dir = await tempDir();
  for (
    const args of [
      ["join", "127.0.0.1:99999", "--nick", "ana"],
      ["join", ":x", "--nick", "ana"],
      ["join", "[::1", "--nick", "ana"],
      ["doctor", "bad:port"],
    ]
  ) {
    const result = await run(args, `${dir}/data`);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, /HOST, HOST:PORT or \[IPv6\]:PORT, e\.g\. 192\.168\.1\.20/);
    assertEquals(result.stdout, "", "nothing tried: no connection, no discovery");
  }
});

Deno.test("history with a --since or --until it cannot read exits 2 and lists the forms", async () => {
  await using dir = await tempDir();
  for (const args of [["--since", "yesterdayish"], ["--until", "2026-13-01"]]) {
    const result = await run(["history", ...args], `${dir}/data`);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, new RegExp(`${args[0]} <time>.*"${args[1]}"`));
    assertMatch(result.stderr, /2026-11-25T14:00|exists/);
  }
  const forms = await run(["history", "--since", "yesterdayish"], `${dir}/data`);
  assertMatch(forms.stderr, /a date \(2026-11-25\).*\(30m, 2h, 3d, 1w\)/);
});

Deno.test("an explicit --db or --salvage in a missing folder exits 2, says mkdir, creates nothing", async () => {
  await using dir = await tempDir();
  const missing = `${dir}/typo/history`;
  const cases: [string[], string][] = [
    [[
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-web",
      "--no-discovery",
      "--db",
      `${missing}/h.db`,
    ], "--db"],
    [["history", "--db", `${missing}/h.db`], "--db"],
    [["history", "--db", `${dir}/any.db`, "--salvage", `${missing}/copy.db`], "--salvage"],
  ];
  for (const [args, flag] of cases) {
    const result = await run(args, `${dir}/data`, 15_000);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert(
      result.stderr.includes(
        `the folder ${missing} of ${flag} does not exist; create it first (mkdir -p ${missing})`,
      ),
      result.stderr,
    );
    assertEquals(await exists(`${dir}/typo`), false, `${args[0]} created the folder`);
  }
});

Deno.test("serve still creates the folders of its default history path", async () => {
  await using dir = await tempDir();
  const dataHome = `${dir}/data`; // does not exist yet
  await using server = lanchat(
    ["serve", "--host", "127.0.0.1", "--port", "0", "--no-web", "--no-discovery"],
    { env: { XDG_DATA_HOME: dataHome } },
  );
  await server.waitForLine(new RegExp(`history: ${dataHome}/lanchat/history\\.db$`), {
    timeoutMs: 20_000,
  });
  assert(await exists(`${dataHome}/lanchat/history.db`));
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);
});
