/**
 * History on read-only media (issue #13): `lanchat history` only reads, so
 * it reads a history on a read-only file system (a mounted backup, a
 * read-only share) too.
 *
 * The file system is made read-only for real: the tests run as root, where
 * `chmod a-w` stops no write, so the history's folder is bind-mounted onto
 * itself read-only inside a private mount namespace (`unshare -m`), where
 * even root cannot write (a probe `touch` checks it), and `main.ts history`
 * runs in there. Where that cannot be done (not Linux, not root, no
 * `unshare`), the tests are skipped with a loud message; with CI=true they fail.
 * Each `main.ts` runs in a fresh home (tests/fixtures/test_home.ts).
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { pathExists } from "./_helpers.ts";
import { lanchatToEnd, runToEnd } from "./fixtures/client_process.ts";
import type { Finished } from "./fixtures/client_process.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import { encodeBody } from "../lib/wire/protocol.ts";

/**
 * Runs `command args...` with `folder` read-only (a read-only bind mount of
 * itself in a new mount namespace, gone when the command ends). Exit 98: the
 * mount failed; 99: the folder could still be written.
 */
function withReadOnlyFolder(folder: string, command: string[]): Promise<Finished> {
  const script = 'dir="$1"; shift; ' +
    'mount --bind "$dir" "$dir" && mount -o remount,bind,ro "$dir" || exit 98; ' +
    'if touch "$dir/.write-probe" 2>/dev/null; then echo "$dir is still writable" >&2; exit 99; fi; ' +
    'exec "$@"';
  return runToEnd("unshare", ["-m", "sh", "-c", script, "sh", folder, ...command]);
}

async function readOnlyProblem(): Promise<string | null> {
  if (Deno.build.os !== "linux") {
    return `read-only bind mounts need Linux (this is ${Deno.build.os})`;
  }
  if (Deno.uid() !== 0) return "a read-only mount needs root (run the tests as root, as CI does)";
  const probe = await Deno.makeTempDir({ prefix: "lanchat-ro-probe-" });
  try {
    const result = await withReadOnlyFolder(probe, ["true"]);
    if (result.code === 0) return null;
    return `cannot make a read-only mount with unshare -m (exit ${result.code}): ${result.stderr.trim()}`;
  } catch (error) {
    return `cannot run unshare (util-linux): ${error instanceof Error ? error.message : error}`;
  } finally {
    await Deno.remove(probe, { recursive: true });
  }
}

const problem = await readOnlyProblem();
const inCi = Deno.env.get("CI") === "true";
if (problem !== null && !inCi) {
  console.error(
    `\n!!! SKIPPING the read-only history tests: ${problem}.\n` +
      "!!! `lanchat history` on read-only media is NOT tested on this machine. In CI (CI=true) this fails.\n",
  );
}

function readOnlyTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: problem !== null && !inCi,
    async fn() {
      if (problem !== null) throw new Error(`this test needs a read-only mount, and ${problem}`);
      await fn();
    },
  });
}

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-readonly-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

const at = (minute: number) => new Date(2026, 10, 25, 14, minute).getTime();

function message(text: string, ts: number) {
  return { ts, from: "ana", to: null, kind: "text" as const, text, body: encodeBody(text) };
}

/** `main.ts history --db FOLDER/h.db` with FOLDER read-only, in a fresh home. */
function historyReadOnly(folder: string): Promise<Finished> {
  return withReadOnlyFolder(
    folder,
    [Deno.execPath(), "run", "-A", "main.ts", "history", "--db", `${folder}/h.db`],
  );
}

readOnlyTest("history reads a closed WAL history on a read-only file system", async () => {
  await using dir = await tempDir();
  const folder = `${dir}/backup`;
  await Deno.mkdir(folder);
  const history = openSqliteHistory(`${folder}/h.db`);
  await history.append(message("kept on the backup disk", at(3)));
  await history.append(message("second line", at(4)));
  await history.close();
  // The state a cleanly stopped server leaves: everything in h.db, no -wal, no -shm.
  assertEquals(await pathExists(`${folder}/h.db-wal`), false);
  assertEquals(await pathExists(`${folder}/h.db-shm`), false);

  const result = await historyReadOnly(folder);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout.trimEnd().split("\n"), [
    "[2026-11-25 14:03] <ana> kept on the backup disk",
    "[2026-11-25 14:04] <ana> second line",
  ]);
  assertEquals(result.stderr, "");
  assertEquals(await pathExists(`${folder}/h.db-shm`), false, "nothing was written beside it");
});

/**
 * A copy of an open history's files taken while it is open: what a server
 * killed without warning leaves (messages in h.db-wal, not yet in h.db).
 */
async function crashedCopy(folder: string, files: string[]): Promise<void> {
  const live = `${folder}-live`;
  await Deno.mkdir(live);
  await Deno.mkdir(folder);
  const history = openSqliteHistory(`${live}/h.db`);
  try {
    await history.append(message("only in the -wal", at(7)));
    assert((await Deno.stat(`${live}/h.db-wal`)).size > 0);
    for (const file of files) await Deno.copyFile(`${live}/${file}`, `${folder}/${file}`);
  } finally {
    await history.close();
  }
}

readOnlyTest("history reads the -wal of a crashed server on a read-only file system", async () => {
  await using dir = await tempDir();
  const folder = `${dir}/crashed`;
  await crashedCopy(folder, ["h.db", "h.db-wal", "h.db-shm"]);
  const result = await historyReadOnly(folder);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout.trimEnd(), "[2026-11-25 14:07] <ana> only in the -wal");
});

readOnlyTest(
  "history says to copy a -wal it cannot read in place (no -shm, read-only)",
  async () => {
    await using dir = await tempDir();
    const folder = `${dir}/no-shm`;
    await crashedCopy(folder, ["h.db", "h.db-wal"]);
    const result = await historyReadOnly(folder);
    assertEquals(result.code, 1, result.stdout);
    assertMatch(result.stderr, /cannot be read in place: its last messages are in .*h\.db-wal/);
    assertMatch(result.stderr, /copy both to a writable folder and read the copy/);

    // What the message says works: the copy in a writable folder is read, -wal included.
    const copy = `${dir}/copy`;
    await Deno.mkdir(copy);
    for (const file of ["h.db", "h.db-wal"]) {
      await Deno.copyFile(`${folder}/${file}`, `${copy}/${file}`);
    }
    const fromCopy = await lanchatToEnd(["history", "--db", `${copy}/h.db`]);
    assertEquals(fromCopy.code, 0, fromCopy.stderr);
    assertEquals(fromCopy.stdout.trimEnd(), "[2026-11-25 14:07] <ana> only in the -wal");
  },
);
