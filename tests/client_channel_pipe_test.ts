/**
 * Issue #15 item 8 with real processes: `printf 'deploy done\n' | lanchat join
 * HOST --channel ops --nick ci` posts to #ops of a `lanchat serve --db FILE`
 * process (made when missing; `ops` and `#ops` alike), read back with
 * `lanchat history --db FILE --channel ops`; `/join #name` in piped input
 * moves the later lines; --channel refuses --guest and a bad name (wrong
 * usage, exit 2) and is in `join --help`.
 */
import "./_helpers.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { lanchatToEnd, serveOnLoopback } from "./fixtures/client_process.ts";

/** A data folder (XDG_DATA_HOME) of one device, removed at the end. */
async function dataFolder(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-device-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** The texts `lanchat history --json` shows for `args`, oldest first. */
async function historyTexts(db: string, args: string[]): Promise<string[]> {
  const shown = await lanchatToEnd(["history", "--db", db, "--json", ...args]);
  assertEquals(shown.code, 0, shown.stderr);
  return shown.stdout.trim().split("\n").filter((line) => line !== "").map((line) =>
    String((JSON.parse(line) as { text: unknown }).text)
  );
}

Deno.test("piped join --channel ops posts each line to #ops, and nothing to #general", async () => {
  await using home = await dataFolder();
  const db = `${home}/history.db`;
  await using server = await serveOnLoopback(["--db", db]);
  const where = `127.0.0.1:${server.port}`;
  const env = { XDG_DATA_HOME: home };

  const posted = await lanchatToEnd(["join", where, "--channel", "ops", "--nick", "ci"], {
    input: "deploy done\nsecond line\n",
    env,
  });
  assertEquals(posted.code, 0, posted.stderr);
  // `#ops` names the same channel; a /join in the input moves the later lines.
  const again = await lanchatToEnd(["join", where, "--channel", "#OPS", "--nick", "ci"], {
    input: "third line\n/join #builds\nbuild green\n",
    env,
  });
  assertEquals(again.code, 0, again.stderr);
  const general = await lanchatToEnd(["join", where, "--nick", "ci"], {
    input: "hello everyone\n",
    env,
  });
  assertEquals(general.code, 0, general.stderr);

  assertEquals(await historyTexts(db, ["--channel", "ops"]), [
    "deploy done",
    "second line",
    "third line",
  ]);
  assertEquals(await historyTexts(db, ["--channel", "builds"]), ["build green"]);
  assertEquals(await historyTexts(db, ["--channel", "general"]), ["hello everyone"]);
});

Deno.test("join --channel: with --guest or a bad name it is wrong usage (exit 2); --help says how", async () => {
  // Nothing listens here: usage is checked before connecting.
  const guest = await lanchatToEnd(
    ["join", "127.0.0.1:1", "--channel", "ops", "--nick", "ci", "--guest"],
    { input: "x\n" },
  );
  assertEquals(guest.code, 2, guest.stderr);
  assertMatch(guest.stderr, /--channel.*--guest/);
  const bad = await lanchatToEnd(
    ["join", "127.0.0.1:1", "--channel", "no spaces", "--nick", "ci"],
    {
      input: "x\n",
    },
  );
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /--channel no spaces: a channel name may hold only letters/);
  const help = await lanchatToEnd(["join", "--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /--channel <name>/);
  assert(help.stdout.includes("--channel ops --nick ci"), help.stdout);
});

Deno.test("piped join --channel to a server that refuses the channel exits 1 and says why", async () => {
  await using home = await dataFolder();
  await using server = await serveOnLoopback(["--max-channels", "1"]);
  const join = (channel: string) =>
    lanchatToEnd(["join", `127.0.0.1:${server.port}`, "--channel", channel, "--nick", "ci"], {
      input: "deploy done\n",
      env: { XDG_DATA_HOME: home },
    });
  const first = await join("first");
  assertEquals(first.code, 0, first.stderr);
  const posted = await join("ops"); // One channel besides #general at most: refused.
  assertEquals(posted.stdout, "");
  assertEquals(posted.code, 1, posted.stderr);
  assertMatch(posted.stderr, /cannot post to #ops: /);
});
