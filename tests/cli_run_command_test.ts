/**
 * Commands printed from source run (issue #13): the serve banner and `--help`
 * said `lanchat join ...`, which does not run from a clone. They print the
 * command that runs here, worked out by one function (lib/cli/run_command.ts):
 * these tests run what is printed. The rule itself, for the binary and npx
 * too: run_command_test.ts.
 * Real `main.ts` processes, each with XDG_DATA_HOME in a temporary folder.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { linesOf, repoRoot, runToEnd, serveOnLoopback } from "./fixtures/client_process.ts";

/** The repository root without its last slash: the clone these tests run from. */
const clone = repoRoot.replace(/\/$/, "");

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-run-command-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** Runs `line` in sh from `cwd`, as a person pasting it would. */
function shell(line: string, options: { cwd: string; env: Record<string, string> }) {
  return runToEnd("sh", ["-c", line], { ...options, timeoutMs: 60_000 });
}

Deno.test("the serve banner from source prints a join command that joins", async () => {
  await using dir = await tempDir();
  const env = { XDG_DATA_HOME: `${dir}/data` };
  await using server = await serveOnLoopback([], { env });
  const joinLine = await server.waitForLine(/^ {2}join it with: {2}(.+)$/);
  const command = joinLine[1]!;
  assert(!command.startsWith("lanchat "), `no lanchat binary here, yet: ${command}`);
  assertMatch(command, new RegExp(` join 127\\.0\\.0\\.1:${server.port}$`));
  for (const line of server.output("stdout")) {
    assert(!/(^|[\s(:])lanchat (join|discover|firewall)\b/.test(line), `banner line: ${line}`);
  }

  const joined = await shell(`printf 'hello from the banner\\n' | ${command} --nick ana`, {
    cwd: clone,
    env,
  });
  assertEquals(joined.code, 0, joined.stdout + joined.stderr);
});

Deno.test("--help examples from source are commands that run, in and outside the clone", async () => {
  await using dir = await tempDir();
  const env = { XDG_DATA_HOME: `${dir}/data` };
  for (const cwd of [clone, dir as string]) {
    const help = await runToEnd(Deno.execPath(), ["run", "-A", `${clone}/main.ts`, "--help"], {
      cwd,
      env,
    });
    assertEquals(help.code, 0);
    const text = linesOf(help.stdout);
    const examples = text.slice(text.indexOf("Examples:") + 1).filter((line) =>
      line.startsWith("  ")
    );
    assert(examples.length >= 6, text.join("\n"));
    for (const line of examples) assert(!line.trimStart().startsWith("lanchat "), line);
    const serveExample = examples[0]!.trim().split(/ {2,}/)[0]!;
    const discoverExample = examples[3]!.trim().split(/ {2,}/)[0]!;
    assertMatch(serveExample, / serve$/);
    assertMatch(discoverExample, / discover$/);
    for (const [example, usage] of [[serveExample, "serve"], [discoverExample, "discover"]]) {
      const ran = await shell(`${example} --help`, { cwd, env });
      assertEquals(ran.code, 0, `${example} --help from ${cwd}:\n${ran.stderr}`);
      assert(
        linesOf(ran.stdout).some((line) => line.startsWith(`Usage: lanchat ${usage}`)),
        ran.stdout,
      );
    }
  }
});
