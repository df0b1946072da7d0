/**
 * Tests of lib/cli/data_dir.ts: every platform's rule, on any machine.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { dataDirFor, dbPathFor, defaultDbPath } from "../lib/cli/data_dir.ts";
import { isolatedRoot, isolateThisProcess } from "./fixtures/test_home.ts";

// defaultDbPath() below reads this process's environment: a temporary home's.
isolateThisProcess();

Deno.test("on Linux the history goes under XDG_DATA_HOME when it is an absolute path", () => {
  assertEquals(
    dbPathFor("linux", { HOME: "/home/ana", XDG_DATA_HOME: "/data/ana" }),
    "/data/ana/lanchat/history.db",
  );
});

Deno.test("on Linux a missing, empty or relative XDG_DATA_HOME means ~/.local/share", () => {
  for (const xdg of [undefined, "", "relative/share"]) {
    const env = xdg === undefined
      ? { HOME: "/home/ana" }
      : { HOME: "/home/ana", XDG_DATA_HOME: xdg };
    assertEquals(dbPathFor("linux", env), "/home/ana/.local/share/lanchat/history.db");
  }
});

Deno.test("other Unixes follow the Linux rule", () => {
  assertEquals(
    dbPathFor("freebsd", { HOME: "/usr/home/bo" }),
    "/usr/home/bo/.local/share/lanchat/history.db",
  );
});

Deno.test("on macOS the history goes under ~/Library/Application Support, whatever XDG says", () => {
  assertEquals(
    dbPathFor("darwin", { HOME: "/Users/ana", XDG_DATA_HOME: "/elsewhere" }),
    "/Users/ana/Library/Application Support/lanchat/history.db",
  );
});

Deno.test("on Windows the history goes under %APPDATA%, else the profile's AppData\\Roaming", () => {
  assertEquals(
    dbPathFor("windows", {
      APPDATA: "C:\\Users\\Ana\\AppData\\Roaming",
      USERPROFILE: "C:\\Users\\Ana",
    }),
    "C:\\Users\\Ana\\AppData\\Roaming\\lanchat\\history.db",
  );
  assertEquals(
    dbPathFor("windows", { USERPROFILE: "C:\\Users\\Ana" }),
    "C:\\Users\\Ana\\AppData\\Roaming\\lanchat\\history.db",
  );
});

Deno.test("without a home folder the error says to pass --db", () => {
  for (const os of ["linux", "darwin", "windows"]) {
    const error = assertThrows(() => dbPathFor(os, {}), Error);
    assertMatch(error.message, /--db PATH/);
  }
});

Deno.test("the data folder is the history's folder, on every platform", () => {
  const cases: [string, Record<string, string>][] = [
    ["linux", { HOME: "/home/ana" }],
    ["linux", { HOME: "/home/ana", XDG_DATA_HOME: "/data/ana" }],
    ["darwin", { HOME: "/Users/ana" }],
    ["windows", { USERPROFILE: "C:\\Users\\Ana" }],
  ];
  for (const [os, env] of cases) {
    const separator = os === "windows" ? "\\" : "/";
    assertEquals(`${dataDirFor(os, env)}${separator}history.db`, dbPathFor(os, env));
  }
  assertEquals(dataDirFor("linux", { HOME: "/home/ana" }), "/home/ana/.local/share/lanchat");
  assertThrows(() => dataDirFor("linux", {}), Error);
});

Deno.test("the default path on this machine ends in lanchat/history.db, in the tests' temporary home", () => {
  const path = defaultDbPath();
  assert(path.replaceAll("\\", "/").endsWith("/lanchat/history.db"), path);
  const root = isolatedRoot();
  assert(root !== null && path.startsWith(root), `${path} is outside the temporary home`);
});
