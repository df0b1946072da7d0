/**
 * Acceptance for LAN discovery over real broadcast: two network namespaces
 * joined by veth pairs, each set up like a LAN host; `lanchat serve` in one,
 * `lanchat discover` and `lanchat join` (no address) in the other, as a user
 * runs them. Traffic stays inside the namespaces (10.77.x.x / 10.78.x.x).
 *
 * Needs root and iproute2: with CI=true these tests fail without them;
 * elsewhere they are skipped with a loud message (tests/fixtures/discovery_netns.ts).
 */
import { assertEquals, assertMatch } from "./_assert.ts";
import { linesOf, repoRoot } from "./fixtures/client_process.ts";
import { denoInNamespace, Lan, lanchatInNamespace, netnsTest } from "./fixtures/discovery_netns.ts";

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let wired: Promise<void> | null = null;
/** Fails with a clear message until main.ts has the discover command. */
function requireWiredCli(): Promise<void> {
  return wired ??= (async () => {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "discover", "--help"],
      cwd: repoRoot,
      stdout: "piped",
      stderr: "null",
    }).output();
    // Without the command, commander prints the program's help and exits 0 too.
    if (code !== 0 || !new TextDecoder().decode(stdout).includes("Usage: lanchat discover")) {
      throw new Error(
        "`main.ts discover --help` failed: main.ts has no `discover` command yet. Wire " +
          "lib/discovery/discovery_client.ts (runDiscover), lib/client/terminal/server_choice.ts (join without an address) " +
          "and the serve flag --discovery-port into main.ts and lib/server/server.ts first.",
      );
    }
  })();
}

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-netns-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

netnsTest(
  "discover and join without an address find the server on the LAN, and they chat",
  async () => {
    await requireWiredCli();
    await using lan = await Lan.create();
    await using data = await tempDir();
    const env = { XDG_DATA_HOME: data }; // the recent-servers file goes here, not in ~
    const address = lan.serverAddress();
    await using server = lan.deno(lan.server, [
      "main.ts",
      "serve",
      "--db",
      ":memory:",
      "--name",
      "netns room",
    ]);
    await server.waitForLine(/chat \(TCP\): listening on 0\.0\.0\.0:9000/, { timeoutMs: 30_000 });
    await server.waitForLine(/discovery: +answering on UDP 9000/);
    await server.waitForLine(/open the firewall: .*\bfirewall$/);
    const serverKey = (await server.waitForLine(/server key: (SHA256:\S+)/))[1]!;
    await server.waitForLine(/press Ctrl-C to stop/);

    // Garbage to the discovery port first: no answer, and nothing changes after it.
    const garbage = await denoInNamespace(
      lan.client,
      ["tests/fixtures/discovery_udp.ts", "garbage", address, "9000"],
    );
    assertEquals(garbage.code, 0, garbage.stderr);
    assertMatch(garbage.stdout, /got 0 answers/);

    const discover = await lanchatInNamespace(lan.client, ["discover"]);
    assertEquals(discover.code, 0, `discover failed:\n${discover.stdout}\n${discover.stderr}`);
    const a = escape(address);
    assertMatch(discover.stdout, /^NAME +ADDRESS +WEB +SECURE +USERS +KEY$/m);
    assertMatch(
      discover.stdout,
      new RegExp(
        `^netns room +${a}:9000 +http://${a}:9001/ +no +0 +${escape(serverKey.slice(0, 19))}$`,
        "m",
      ),
    );

    const json = await lanchatInNamespace(lan.client, ["discover", "--json"]);
    assertEquals(json.code, 0, json.stderr);
    assertEquals(linesOf(json.stdout).map((line) => JSON.parse(line)), [{
      name: "netns room",
      join: `${address}:9000`,
      addresses: [address],
      port: 9000,
      web: 9001,
      url: `http://${address}:9001/`,
      secure: false,
      users: 0,
      sameIdElsewhere: 0,
      key: serverKey,
    }]);

    // bob joins by address and listens; x joins with no address, piped, and posts. Two people,
    // so two data folders: one data folder is one device key, one person (issue #14).
    await using bobData = await tempDir();
    await using bob = lan.deno(lan.client, ["main.ts", "join", address, "--nick", "bob"], {
      stdin: "piped",
      env: { XDG_DATA_HOME: bobData },
    });
    await server.waitForLine(/bob joined from/, { timeoutMs: 30_000 });
    // printf 'hi\n' | lanchat join --nick x
    const posted = await lanchatInNamespace(lan.client, ["join", "--nick", "x"], {
      input: "hi\n",
      env,
    });
    assertEquals(posted.code, 0, `join without an address failed:\n${posted.stderr}`);
    assertMatch(posted.stderr, new RegExp(`found room "netns room" at ${a}:9000; joining`));
    await bob.waitForLine(/<x> hi$/, { stream: "stdout" });

    // The server x joined is remembered for when discovery finds nothing.
    const recent = JSON.parse(await Deno.readTextFile(`${data}/lanchat/recent_servers.json`));
    assertEquals(recent.servers[0].host, address);
    assertEquals(recent.servers[0].port, 9000);

    // Still answering after all that, with bob counted.
    const again = await lanchatInNamespace(lan.client, ["discover"]);
    assertMatch(again.stdout, new RegExp(`^netns room +${a}:9000 .* no +1 +SHA256:`, "m"));

    server.kill("SIGTERM");
    assertEquals((await server.waitForExit()).code, 0);
    const trouble = server.output("stderr");
    assertEquals(trouble, [], "the server wrote no errors");
  },
);

netnsTest(
  "with no server, discover says none answered within its timeout; join explains",
  async () => {
    await requireWiredCli();
    await using lan = await Lan.create();
    await using data = await tempDir();
    const result = await lanchatInNamespace(lan.client, ["discover", "--timeout", "700"]);
    assertEquals(result.code, 1);
    assertEquals(result.stdout, "");
    assertMatch(
      result.stderr,
      new RegExp(
        `^no lanchat server answered within 700 ms \\(asked UDP port 9000 at ` +
          `${escape(lan.network())}\\.255, 255\\.255\\.255\\.255\\)\\.$`,
        "m",
      ),
    );
    assertMatch(result.stderr, /run `[^`]*\bfirewall` there/);
    assertMatch(result.stderr, / join ADDRESS/);

    const joined = await lanchatInNamespace(lan.client, ["join", "--nick", "x"], {
      input: "", // stdin piped and closed at once
      env: { XDG_DATA_HOME: data },
    });
    assertEquals(joined.code, 1);
    assertMatch(joined.stderr, /no lanchat server answered within 1000 ms/);
    assertMatch(joined.stderr, /Give the address instead: `[^`]* join ADDRESS`/);
  },
);

netnsTest("a server on two LANs is two entries, marked as claiming one id; join asks", async () => {
  await requireWiredCli();
  await using lan = await Lan.create({ links: 2 });
  await using server = lan.deno(lan.server, [
    "main.ts",
    "serve",
    "--db",
    ":memory:",
    "--no-web",
    "--port",
    "9100",
    "--discovery-port",
    "9200",
    "--name",
    "two nets",
  ]);
  await server.waitForLine(/discovery: +answering on UDP 9200/, { timeoutMs: 30_000 });
  await server.waitForLine(/ firewall --port 9100 --no-web --discovery-port 9200$/);
  const json = await lanchatInNamespace(lan.client, ["discover", "--json", "--port", "9200"]);
  assertEquals(json.code, 0, json.stderr);
  // Anyone can copy a server's id, so the same id from two addresses is not merged (issue #12).
  const found = linesOf(json.stdout).map((line) => JSON.parse(line));
  assertEquals(
    found.map((entry) => entry.addresses[0]).sort(),
    [lan.serverAddress(0), lan.serverAddress(1)].sort(),
  );
  for (const entry of found) {
    assertEquals([entry.name, entry.port, entry.web, entry.sameIdElsewhere], [
      "two nets",
      9100,
      null,
      1,
    ]);
  }
  const table = await lanchatInNamespace(lan.client, ["discover", "--port", "9200"]);
  assertMatch(table.stdout, /^two nets \* +/m);
  assertMatch(table.stdout, /claim to be the same server from different addresses/);
  const join = await lanchatInNamespace(
    lan.client,
    ["join", "--nick", "x", "--discovery-port", "9200"],
    { stdin: "piped" }, // and left open: a piped join must not wait for a choice
  );
  assertEquals(join.code, 1, "piped: two answers, so no choice is made");
  assertMatch(join.stderr, /2 servers answered; say which one to join/);
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);
});
