/**
 * lib/server/limits/connection_gate.ts: connections per address, connections not yet
 * joined, users per network. The counting is pure and tested here; the
 * end-to-end tests (real processes, a network namespace for one /24 with
 * several hosts) are in tests/hardening_test.ts.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { ConnectionGate } from "../lib/server/limits/connection_gate.ts";
import type { Admission, Ticket } from "../lib/server/limits/connection_gate.ts";
import { parseNetwork } from "../lib/server/limits/ip_networks.ts";
import { denoInNamespace, ip, Lan, netnsTest } from "./fixtures/discovery_netns.ts";

function admitted(admission: Admission): Ticket {
  if ("refused" in admission) throw new Error(`refused: ${admission.refused}`);
  return admission;
}

Deno.test("one address holds at most maxConnectionsPerIp connections; a closed one frees its place", () => {
  const gate = new ConnectionGate({ maxConnectionsPerIp: 2 });
  const first = admitted(gate.admit("10.0.0.5"));
  admitted(gate.admit("10.0.0.5"));
  const third = gate.admit("10.0.0.5");
  assert("refused" in third);
  assertMatch(third.refused, /too many connections from 10\.0\.0\.5 \(at most 2\)/);
  admitted(gate.admit("10.0.0.6"));
  first.release();
  first.release(); // twice is harmless
  admitted(gate.admit("10.0.0.5"));
  assert("refused" in gate.admit("10.0.0.5"));
});

Deno.test("connections that have not joined are capped in total; joining frees the place", () => {
  const gate = new ConnectionGate({ maxPendingConnections: 3 });
  const tickets = [1, 2, 3].map((n) => admitted(gate.admit(`10.0.${n}.1`)));
  assertEquals(gate.pending, 3);
  const refused = gate.admit("10.0.9.1");
  assert("refused" in refused);
  assertMatch(refused.refused, /not joined yet; retry in a few seconds/);
  assertEquals(tickets[0]!.join(), null);
  assertEquals(gate.pending, 2);
  admitted(gate.admit("10.0.9.1"));
  tickets[1]!.release();
  assertEquals(gate.pending, 2);
});

Deno.test("users per /24 are limited; loopback and trusted networks are not", () => {
  const gate = new ConnectionGate({
    maxUsersPerNet: 2,
    trustedNets: [parseNetwork("10.9.0.0/16")],
  });
  const join = (ip: string) => admitted(gate.admit(ip)).join();
  assertEquals(join("192.168.1.10"), null);
  assertEquals(join("192.168.1.11"), null);
  assertMatch(join("192.168.1.12") ?? "", /too many users from your network 192\.168\.1\.0\/24/);
  assertEquals(join("192.168.2.10"), null, "another /24 has its own count");
  for (let index = 0; index < 5; index++) {
    assertEquals(join("127.0.0.1"), null);
    assertEquals(join(`10.9.${index}.1`), null);
  }
});

Deno.test("a refused nick gives the network's place back; a retry is counted again", () => {
  const gate = new ConnectionGate({ maxUsersPerNet: 1 });
  const ana = admitted(gate.admit("192.168.1.10"));
  assertEquals(ana.join(), null);
  ana.leave(); // e.g. the room said nick_taken after the gate allowed the join
  assertEquals(gate.pending, 1);
  const bo = admitted(gate.admit("192.168.1.11"));
  assertEquals(bo.join(), null);
  assert(ana.join() !== null, "the retry is counted against the full network");
  bo.release();
  assertEquals(ana.join(), null);
  ana.release();
  assertEquals(gate.pending, 0);
  assertEquals(admitted(gate.admit("192.168.1.12")).join(), null);
});

netnsTest("users per /24 are limited over a real network; --trusted-net lifts it", async () => {
  await using lan = await Lan.create();
  const net = lan.network();
  // Four more hosts of the client's /24, all in the client namespace.
  const sources = [2, 3, 4, 5, 6].map((host) => `${net}.${host}`);
  for (const source of sources.slice(1)) {
    const added = await ip([
      "-n",
      lan.client,
      "addr",
      "add",
      `${source}/24`,
      "dev",
      `lc${lan.suffix}c0`,
    ]);
    assertEquals(added.code, 0, added.stderr);
  }
  for (const trusted of [false, true]) {
    await using server = lan.deno(lan.server, [
      "main.ts",
      "serve",
      ...["--host", "0.0.0.0", "--port", "0", "--no-web", "--no-discovery", "--db", ":memory:"],
      ...["--max-users-per-net", "3"],
      ...(trusted ? ["--trusted-net", `${net}.0/24`] : []),
    ]);
    const port = Number((await server.waitForLine(/chat \(TCP\): listening on \S+:(\d+)/))[1]);
    const joins = await denoInNamespace(lan.client, [
      "tests/fixtures/join_from.ts",
      lan.serverAddress(),
      String(port),
      sources.join(","),
    ]);
    const results = joins.stdout.split("\n").filter((line) => line !== "").map((line) =>
      JSON.parse(line)
    );
    assertEquals(
      results.map((result) => result.type),
      trusted
        ? ["welcome", "welcome", "welcome", "welcome", "welcome"]
        : ["welcome", "welcome", "welcome", "error", "error"],
      joins.stderr,
    );
    if (!trusted) {
      assertEquals(results[3].code, "server_full");
      assertMatch(
        results[3].message,
        new RegExp(
          `too many users from your network ${net.replaceAll(".", "\\.")}\\.0/24 \\(at most 3\\)`,
        ),
      );
    }
  }
});
