/**
 * Suggested commands (issue #13): every command lanchat suggests must be one
 * that runs for how it was started. From a clone that is `deno task join ...` or `deno run -A
 * main.ts firewall` (lib/cli/run_command.ts), never `lanchat ...`: there is
 * no such program here. These run the real `main.ts` from source and check
 * the advice of `join` without an address (nothing found; and no network at
 * all), `join` and `doctor` against a dead port, `doctor` without an address
 * on a machine with no network, and `firewall`.
 *
 * Every child runs in a home of its own (tests/fixtures/test_home.ts). Only
 * 127.0.0.1 is contacted; the runs without an address, which broadcast, run
 * in network namespaces of their own (tests/fixtures/discovery_netns.ts: root
 * and iproute2; skipped loudly without them, failing with CI=true).
 */
import "./_helpers.ts";
import { assert, assertEquals } from "./_assert.ts";
import { lanchat, linesOf, repoRoot } from "./fixtures/client_process.ts";
import type { Finished } from "./fixtures/client_process.ts";
import { freshHome } from "./fixtures/test_home.ts";
import { ip, lanchatInNamespace, netnsTest } from "./fixtures/discovery_netns.ts";
import { commandLine, runContext } from "../lib/cli/run_command.ts";
import { recentServersPathFor } from "../lib/client/terminal/recent_servers.ts";
import { rememberServer } from "../lib/client/terminal/recent_servers.ts";

const clone = repoRoot.replace(/\/$/, "");

/** `lanchat SUBCOMMAND ARGS...` as a child started from the clone must write it. */
function expected(subcommand: string, ...args: string[]): string {
  return commandLine({ ...runContext(), cwd: clone }, subcommand, args);
}

/** A `lanchat ...` command line in `text`, which does not run from a clone. */
const documentedForm =
  /(^|[\s`(:])lanchat (serve|join|firewall|discover|history|doctor [A-Z0-9])\b/;

function assertNoDocumentedForm(lines: string[]): void {
  for (const line of lines) assert(!documentedForm.test(line), `suggests \`lanchat\`: ${line}`);
}

/** A TCP port on 127.0.0.1 where nothing listens. */
function deadPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("from source the expected prefix is deno's, not lanchat's", () => {
  assert(!expected("join").startsWith("lanchat "), expected("join"));
  assert(/ task join$/.test(expected("join")), expected("join"));
  assert(/ run -A main\.ts firewall$/.test(expected("firewall")), expected("firewall"));
});

Deno.test("join to a dead port suggests serve and firewall commands that run here", async () => {
  const port = deadPort();
  await using client = lanchat(["join", `127.0.0.1:${port}`, "--nick", "ana"]);
  assertEquals((await client.waitForExit(30_000)).code, 1);
  assertEquals(client.output("stderr"), [
    `cannot reach 127.0.0.1:${port} (connection refused). Is \`${
      expected("serve")
    }\` running there? Is port ${port}/tcp open in its firewall (run \`${
      expected("firewall", "--port", String(port))
    }\` there)? Is the address right?`,
  ]);
});

Deno.test("doctor against a dead port suggests serve, firewall and join commands that run here", async () => {
  const port = deadPort();
  await using doctor = lanchat([
    ...["doctor", `127.0.0.1:${port}`, "--discovery-port", String(port)],
    ...["--web-port", String(port), "--timeout", "1000"],
  ]);
  assertEquals((await doctor.waitForExit(30_000)).code, 1);
  const out = doctor.output("stdout");
  const said = out.join("\n");
  assert(
    said.includes(`Is \`${expected("serve")}\` running there, on port ${port}?`),
    said,
  );
  assert(said.includes(`\`${expected("join")}\` without an address will not find`), said);
  assert(said.includes(`(run \`${expected("firewall")}\` there)`), said);
  assertEquals(
    out.at(-1),
    `A problem stops \`${expected("join", `127.0.0.1:${port}`)}\`: see above.`,
  );
  assertNoDocumentedForm(out);
});

Deno.test("firewall names the serve command that runs here", async () => {
  await using firewall = lanchat(["firewall"]);
  assertEquals((await firewall.waitForExit(30_000)).code, 0);
  const out = firewall.output("stdout");
  assert(out[0]!.includes(`the machine that runs \`${expected("serve")}\``), out[0]);
  assertNoDocumentedForm(out);
});

/** A network namespace with loopback up and, with `lan`, a LAN nobody answers on. */
async function machine(lan: boolean): Promise<string & AsyncDisposable> {
  const name = `lcsugg-${crypto.randomUUID().slice(0, 8)}`;
  const steps = [
    ["netns", "add", name],
    ["-n", name, "link", "set", "lo", "up"],
    ...(lan
      ? [
        // A cable to nowhere: lan1, its other end, has no address and answers nothing.
        ["-n", name, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"],
        ["-n", name, "addr", "add", "10.77.0.1/24", "dev", "lan0"],
        ["-n", name, "link", "set", "lan1", "up"],
        ["-n", name, "link", "set", "lan0", "up"],
        ["-n", name, "route", "add", "default", "dev", "lan0"], // 255.255.255.255 goes there too
      ]
      : []),
  ];
  for (const step of steps) {
    const done = await ip(step);
    if (done.code !== 0) {
      await ip(["netns", "del", name]);
      throw new Error(`ip ${step.join(" ")}: ${done.stderr}`);
    }
  }
  return Object.assign(name, {
    [Symbol.asyncDispose]: async () => void await ip(["netns", "del", name]),
  }) as string & AsyncDisposable;
}

/** `main.ts ...args` in namespace `ns`, in a fresh home that remembers one server. */
async function rememberingOneServer(ns: string, args: string[]): Promise<Finished> {
  const home = freshHome();
  try {
    const remembered = await rememberServer({ host: "127.0.0.1", port: 9999, name: "office" }, {
      path: recentServersPathFor(Deno.build.os, home.env),
    });
    assert(remembered, "the recent-servers file was written");
    return await lanchatInNamespace(ns, args, { env: home.env });
  } finally {
    home.remove();
  }
}

const rememberedLine = () => `  ${expected("join", "127.0.0.1:9999")}    (room "office")`;

netnsTest(
  "join without an address, nothing found: advice and servers joined before run here",
  async () => {
    await using ns = await machine(true);
    const result = await rememberingOneServer(ns, ["join", "--nick", "ana"]);
    const said = result.stderr;
    assertEquals(result.code, 1, said);
    assert(said.includes("no lanchat server answered"), said);
    assert(said.includes(`run \`${expected("firewall")}\` there`), said);
    assert(said.includes(`\`${expected("join", "ADDRESS")}\``), said);
    assert(said.includes(`\`${expected("doctor", "ADDRESS")}\``), said);
    const lines = linesOf(said);
    assertEquals(lines.at(-1), rememberedLine());
    assertNoDocumentedForm(lines);
  },
);

netnsTest(
  "join without an address and no network: says so, and the servers joined before run here",
  async () => {
    await using ns = await machine(false);
    const result = await rememberingOneServer(ns, ["join", "--nick", "ana"]);
    const said = result.stderr;
    assertEquals(result.code, 1, said);
    assert(said.includes(`no network to search:`), said);
    assert(said.includes(`or join by address: ${expected("join", "HOST:PORT")}`), said);
    assert(!said.includes("firewall"), `no firewall advice without a network: ${said}`);
    const lines = linesOf(said);
    assertEquals(lines.at(-1), rememberedLine());
    assertNoDocumentedForm(lines);
  },
);

netnsTest(
  "doctor without an address and no network says there is no network to search",
  async () => {
    await using ns = await machine(false);
    const result = await rememberingOneServer(ns, ["doctor", "--timeout", "500"]);
    assertEquals(result.code, 1, result.stdout + result.stderr);
    const said = result.stdout;
    assert(!said.includes("asked 255.255.255.255"), said);
    assert(!said.includes("UNKNOWN"), said);
    assert(
      said.includes(
        `problem  discovery  no network to search: this machine has no network interface`,
      ),
      said,
    );
    assert(said.includes(`or join by address: ${expected("join", "HOST:PORT")}`), said);
    assertNoDocumentedForm(linesOf(result.stdout));
  },
);
