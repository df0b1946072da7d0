/**
 * The tests keep out of the person's own lanchat data folder (issue #13):
 * this process and every lanchat process a test starts use temporary homes
 * (tests/fixtures/test_home.ts), and scripts/test.ts can tell when a run
 * touched the real folder anyway.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { pathExists, startTestServer } from "./_helpers.ts";
import { dataDirFor, defaultDbPath } from "../lib/cli/data_dir.ts";
import {
  defaultRecentServersPath,
  loadRecentServers,
} from "../lib/client/terminal/recent_servers.ts";
import { lanchat } from "./fixtures/client_process.ts";
import { folderChanges, homeEnv, isolatedRoot, listFolder } from "./fixtures/test_home.ts";

const testsDir = new URL("./", import.meta.url);

Deno.test("this test process keeps its lanchat files in a temporary home, not the person's", () => {
  const root = isolatedRoot();
  assert(root !== null, "no temporary home: tests/fixtures/test_home.ts did not run");
  assertMatch(root.replaceAll("\\", "/"), /\/lanchat_test_[^/]+$/);
  for (const path of [defaultDbPath(), defaultRecentServersPath()]) {
    assert(path.startsWith(root), `${path} is outside the temporary root ${root}`);
  }
});

Deno.test("every lanchat a test starts remembers servers in a home of its own, deleted after it", async () => {
  await using server = await startTestServer();
  const joinOnce = async (nick: string, env?: Record<string, string>) => {
    const join = lanchat(["join", `127.0.0.1:${server.port}`, "--nick", nick], {
      stdin: "piped",
      ...(env === undefined ? {} : { env }),
    });
    await join.closeStdin();
    assertEquals((await join.waitForExit()).code, 0, join.output().join("\n"));
    return join;
  };
  const recentIn = async (dataDir: string) =>
    (await loadRecentServers(`${dataDir}/recent_servers.json`)).map((entry) => entry.port);

  await using first = await joinOnce("first");
  await using second = await joinOnce("second");
  assert(first.home !== null && second.home !== null);
  assert(first.home !== second.home, "two processes, two homes");
  for (const home of [first.home, second.home]) {
    assert(home.startsWith(isolatedRoot()!), `${home} is inside the run's temporary root`);
    assertEquals(await recentIn(dataDirFor(Deno.build.os, homeEnv(home))), [server.port]);
  }
  const shared = defaultRecentServersPath();
  assert(
    !(await loadRecentServers(shared)).some((entry) => entry.port === server.port),
    `the test process's own ${shared} stays out of it`,
  );
  await first[Symbol.asyncDispose]();
  assert(!(await pathExists(first.home)), "the home goes with the process");

  // A test that names the data folder itself (to share it between joins) keeps it.
  const chosen = await Deno.makeTempDir({ dir: isolatedRoot()!, prefix: "chosen_" });
  await using third = await joinOnce("third", { XDG_DATA_HOME: chosen });
  assertEquals(third.home, null);
  if (Deno.build.os === "linux") assertEquals(await recentIn(`${chosen}/lanchat`), [server.port]);
  await Deno.remove(chosen, { recursive: true });
});

/** The relative imports of a tests/ module, resolved; only those inside tests/. */
function importsOf(file: URL, source: string): URL[] {
  const found: URL[] = [];
  for (const match of source.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)) {
    const target = new URL(match[1]!, file);
    if (target.href.startsWith(testsDir.href)) found.push(target);
  }
  return found;
}

/** Every .ts file under tests/. */
function testFiles(folder = testsDir): URL[] {
  const files: URL[] = [];
  for (const entry of Deno.readDirSync(folder)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), folder);
    if (entry.isDirectory) files.push(...testFiles(url));
    else if (entry.name.endsWith(".ts")) files.push(url);
  }
  return files;
}

Deno.test("every test file that starts main.ts or asks for the default data folder is guarded at import", () => {
  const sources = new Map(testFiles().map((url) => [url.href, Deno.readTextFileSync(url)]));
  const code = (source: string) =>
    source.split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
  // A guard runs `isolateThisProcess();` at the top level of its module.
  const guards = new Set(
    [...sources].filter(([, source]) => /^isolateThisProcess\(\);/m.test(source)).map(([h]) => h),
  );
  const guarded = (href: string, seen = new Set<string>()): boolean => {
    if (guards.has(href)) return true;
    if (seen.has(href)) return false;
    seen.add(href);
    const source = sources.get(href) ?? "";
    return importsOf(new URL(href), source).some((target) => guarded(target.href, seen));
  };
  // Starts a process and names main.ts (not just a string about it), or reads a default path.
  const risky = [...sources].filter(([, source]) => {
    const text = code(source);
    return (/new Deno\.Command\(/.test(text) && /\bmain\.ts\b/.test(text)) ||
      /\bdefault(DbPath|RecentServersPath)\(/.test(text);
  });
  assert(
    risky.length >= 4,
    `found only ${risky.length} files that start main.ts: is the scan broken?`,
  );
  const unguarded = risky.map(([href]) => href).filter((href) => !guarded(href))
    .map((href) => href.slice(testsDir.href.length));
  assertEquals(
    unguarded,
    [],
    "these start lanchat (or read its default paths) but import neither tests/_helpers.ts " +
      "nor a fixture that calls isolateThisProcess(), so plain `deno test` may let them write " +
      'into the person\'s data folder. Add `import "./_helpers.ts";` (or call ' +
      "isolateThisProcess() from tests/fixtures/test_home.ts) at the top",
  );
});

Deno.test("a folder listing tells what appeared, changed and went, and nothing when untouched", async () => {
  const root = await Deno.makeTempDir({ dir: isolatedRoot()!, prefix: "listing_" });
  try {
    const folder = `${root}/lanchat`;
    const missing = await listFolder(folder);
    assertEquals(missing.size, 0);
    await Deno.mkdir(folder);
    await Deno.writeTextFile(`${folder}/history.db`, "old");
    const before = await listFolder(folder);
    assertEquals(folderChanges(folder, before, await listFolder(folder)), []);
    assertEquals(folderChanges(folder, missing, before), [
      `appeared: ${folder} (folder)`,
      `appeared: ${folder}/history.db (${before.get("history.db")})`,
    ]);

    await Deno.writeTextFile(`${folder}/history.db`, "longer");
    await Deno.writeTextFile(`${folder}/recent_servers.json`, "{}");
    const after = await listFolder(folder);
    const changes = folderChanges(folder, before, after);
    assertEquals(changes.length, 2, changes.join("\n"));
    assertMatch(changes[0]!, /^appeared: .*\/recent_servers\.json \(file of 2 bytes/);
    assertMatch(
      changes[1]!,
      /^changed: .*\/history\.db \(was file of 3 bytes.*now file of 6 bytes/,
    );
    assertEquals(folderChanges(folder, after, missing).length, 3, "all three went");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
