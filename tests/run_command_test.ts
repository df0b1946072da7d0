/**
 * lib/cli/run_command.ts (issue #13), the one rule for how lanchat is typed on
 * this machine (the compiled binary, a clone with deno, npx's deno, from
 * inside or outside the clone), on made-up facts. What a real process prints
 * and that it runs: cli_run_command_test.ts.
 */
import { assertEquals } from "./_assert.ts";
import { commandLine } from "../lib/cli/run_command.ts";
import type { RunContext } from "../lib/cli/run_command.ts";

const clone: RunContext = {
  standalone: false,
  execPath: "/usr/lib/node_modules/deno/deno",
  nameOnPath: "deno",
  mainScript: "/home/ana/lanchat/main.ts",
  cwd: "/home/ana/lanchat",
  denoVersion: "2.9.6",
};

Deno.test("commandLine: the binary by its name on PATH, else by its path", () => {
  const binary = {
    ...clone,
    standalone: true,
    execPath: "/usr/local/bin/lanchat",
    nameOnPath: "lanchat",
  };
  assertEquals(
    commandLine(binary, "join", ["192.168.1.20:9000"]),
    "lanchat join 192.168.1.20:9000",
  );
  assertEquals(
    commandLine({ ...binary, execPath: "/home/ana/My Apps/lanchat", nameOnPath: null }, "serve"),
    "'/home/ana/My Apps/lanchat' serve",
  );
});

Deno.test("commandLine: from a clone, tasks for serve and join, main.ts for the rest", () => {
  assertEquals(commandLine(clone, "join", ["HOST:PORT"]), "deno task join HOST:PORT");
  assertEquals(commandLine(clone, "serve"), "deno task serve");
  assertEquals(commandLine(clone, "discover"), "deno run -A main.ts discover");
  assertEquals(
    commandLine({ ...clone, cwd: "/home/ana/lanchat/lib" }, "firewall", ["--port", "9100"]),
    "deno run -A ../main.ts firewall --port 9100",
  );
  // Outside the clone: the task needs --config, main.ts its full path.
  const outside = { ...clone, cwd: "/home/ana" };
  assertEquals(
    commandLine(outside, "join"),
    "deno task --config /home/ana/lanchat/deno.json join",
  );
  assertEquals(commandLine(outside, "doctor"), "deno run -A /home/ana/lanchat/main.ts doctor");
  assertEquals(
    commandLine({ ...clone, cwd: "/home/ana/lanchat-old" }, "serve"),
    "deno task --config /home/ana/lanchat/deno.json serve",
  );
});

Deno.test("commandLine: npx's deno as npx, a deno PATH does not find by its path", () => {
  const npx = {
    ...clone,
    execPath: "/root/.npm/_npx/8f1c/node_modules/deno/deno",
    nameOnPath: "deno", // npx puts its own bin folder on PATH only while it runs
  };
  assertEquals(commandLine(npx, "join"), "npx -y deno@2.9.6 task join");
  assertEquals(commandLine(npx, "history"), "npx -y deno@2.9.6 run -A main.ts history");
  assertEquals(
    commandLine({ ...clone, execPath: "/opt/deno 2/deno", nameOnPath: null }, "serve"),
    "'/opt/deno 2/deno' task serve",
  );
});
