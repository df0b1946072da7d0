/** The recently joined servers file: where it lives, what it keeps, and surviving a bad file. */
import { assert, assertEquals } from "./_assert.ts";
import {
  loadRecentServers,
  maxRecentServers,
  recentServersPathFor,
  rememberServer,
} from "../lib/client/terminal/recent_servers.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-recent-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

Deno.test("the recent servers file sits beside the history file in the data folder", () => {
  assertEquals(
    recentServersPathFor("linux", { HOME: "/home/ana" }),
    "/home/ana/.local/share/lanchat/recent_servers.json",
  );
  assertEquals(
    recentServersPathFor("linux", { HOME: "/home/ana", XDG_DATA_HOME: "/data" }),
    "/data/lanchat/recent_servers.json",
  );
  assertEquals(
    recentServersPathFor("darwin", { HOME: "/Users/ana" }),
    "/Users/ana/Library/Application Support/lanchat/recent_servers.json",
  );
  assertEquals(
    recentServersPathFor("windows", { APPDATA: "C:\\Users\\ana\\AppData\\Roaming" }),
    "C:\\Users\\ana\\AppData\\Roaming\\lanchat\\recent_servers.json",
  );
});

Deno.test("remembered servers come back most recent first, once each, at most five", async () => {
  await using dir = await tempDir();
  const path = `${dir}/sub/folder/recent.json`; // folders are created
  assertEquals(await loadRecentServers(path), []);
  let clock = 100;
  const now = () => clock++;
  assert(await rememberServer({ host: "192.168.1.20", port: 9000, name: "office" }, { path, now }));
  assert(await rememberServer({ host: "10.0.0.7", port: 9100 }, { path, now }));
  // Joined again by address: moves to the front and keeps the name discovery gave it.
  assert(await rememberServer({ host: "192.168.1.20", port: 9000 }, { path, now }));
  assertEquals(await loadRecentServers(path), [
    { host: "192.168.1.20", port: 9000, name: "office", lastJoined: 102 },
    { host: "10.0.0.7", port: 9100, lastJoined: 101 },
  ]);
  for (let index = 1; index <= 6; index++) {
    await rememberServer({ host: `10.1.0.${index}`, port: 9000 }, { path, now });
  }
  const kept = await loadRecentServers(path);
  assertEquals(kept.length, maxRecentServers);
  assertEquals(kept.map((server) => server.host), [
    "10.1.0.6",
    "10.1.0.5",
    "10.1.0.4",
    "10.1.0.3",
    "10.1.0.2",
  ]);
  const leftovers = [...Deno.readDirSync(`${dir}/sub/folder`)].map((entry) => entry.name);
  assertEquals(leftovers, ["recent.json"], "no temporary files left behind");
});

Deno.test("a corrupt, foreign or unreadable file reads as no servers, and is replaced on the next join", async () => {
  await using dir = await tempDir();
  const path = `${dir}/recent.json`;
  for (
    const content of [
      "{not json",
      "[]",
      '{"servers": 7}',
      "null",
      "x".repeat(70_000),
    ]
  ) {
    await Deno.writeTextFile(path, content);
    assertEquals(await loadRecentServers(path), [], content.slice(0, 20));
  }
  // Bad entries are skipped, good ones kept.
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      servers: [
        { host: "10.0.0.1", port: 9000, lastJoined: 5 },
        { host: "10.0.0.2", port: 70000, lastJoined: 6 },
        { host: "evil\u001b[2J", port: 9000, lastJoined: 7 },
        { host: "10.0.0.3", port: 9000 },
        "10.0.0.4",
      ],
    }),
  );
  assertEquals(await loadRecentServers(path), [{ host: "10.0.0.1", port: 9000, lastJoined: 5 }]);

  await Deno.writeTextFile(path, "{not json");
  assert(await rememberServer({ host: "10.0.0.9", port: 9000 }, { path, now: () => 1 }));
  assertEquals(await loadRecentServers(path), [{ host: "10.0.0.9", port: 9000, lastJoined: 1 }]);

  // A folder where the file should be: nothing to read, and remembering fails quietly.
  const folder = `${dir}/is-a-folder`;
  await Deno.mkdir(folder);
  assertEquals(await loadRecentServers(folder), []);
  assertEquals(await rememberServer({ host: "10.0.0.9", port: 9000 }, { path: folder }), false);
  // A path under a file cannot be created either.
  assertEquals(
    await rememberServer({ host: "10.0.0.9", port: 9000 }, { path: `${path}/inside.json` }),
    false,
  );
});
