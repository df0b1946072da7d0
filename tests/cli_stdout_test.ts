/**
 * A reader that goes away (`lanchat --help | head -3`) ends every printing
 * command quietly with exit 0: real `main.ts` processes whose stdout pipe is
 * closed by the test, once before they write anything and once after the
 * first bytes (that one is a race, so it is repeated).
 */
import { assert, assertEquals } from "./_assert.ts";
import { repoRoot } from "./fixtures/client_process.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

interface Ended {
  code: number;
  stderr: string;
}

/**
 * Runs `main.ts args`, reads `readBytes` of its stdout (0: none), then closes
 * the pipe and waits for the exit.
 */
async function runWithClosedStdout(args: string[], readBytes: number): Promise<Ended> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let seen = 0;
  while (seen < readBytes) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value.length;
  }
  await reader.cancel(); // the reading end closes, as when `head` exits
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const { code } = await child.status;
    return { code, stderr: await stderr };
  } finally {
    clearTimeout(timer);
  }
}

function assertQuietExit(ended: Ended, what: string): void {
  assertEquals(ended.code, 0, `${what} exited ${ended.code}:\n${ended.stderr}`);
  assert(
    !/EPIPE|BrokenPipe|Broken pipe|Uncaught|\n\s+at /.test(ended.stderr),
    `${what}:\n${ended.stderr}`,
  );
}

const helpCommands: string[][] = [
  ["--help"],
  ["--version"],
  ...["serve", "join", "discover", "firewall", "doctor", "history", "whoami"].map((name) => [
    name,
    "--help",
  ]),
];

Deno.test("every --help and --version ends quietly with exit 0 when stdout is closed", async () => {
  for (const args of helpCommands) {
    assertQuietExit(
      await runWithClosedStdout(args, 0),
      `main.ts ${args.join(" ")} (closed at once)`,
    );
    for (let round = 0; round < 3; round++) {
      assertQuietExit(
        await runWithClosedStdout(args, 1),
        `main.ts ${args.join(" ")} (closed after the first bytes, round ${round + 1})`,
      );
    }
  }
});

Deno.test("history, firewall and doctor end quietly with exit 0 when stdout is closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-stdout-" });
  try {
    const db = `${dir}/history.db`;
    const history = openSqliteHistory(db);
    const start = Date.now() - 3_600_000;
    await Promise.all(
      Array.from({ length: 3000 }, (_, index) => {
        const text = `line ${index} ${"x".repeat(60)}`;
        return history.append({
          ts: start + index,
          from: "ana",
          to: null,
          kind: "text",
          text,
          body: encodeBody(text),
        });
      }),
    );
    await history.close();
    const printing: string[][] = [
      ["history", "--db", db, "--limit", "3000"],
      ["history", "--db", db, "--limit", "3000", "--json"],
      ["firewall"],
      ["doctor", "127.0.0.1:1", "--timeout", "500", "--discovery-port", "1"],
    ];
    for (const args of printing) {
      assertQuietExit(await runWithClosedStdout(args, 0), `main.ts ${args.join(" ")} (at once)`);
      assertQuietExit(
        await runWithClosedStdout(args, 1),
        `main.ts ${args.join(" ")} (after bytes)`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
