/**
 * Discovery with no network (issue #13): on a machine with no network,
 * `lanchat discover` (and `join` without an address, which discovers) said
 * "send UNKNOWN 255.255.255.255:9000". They must say that there is no network
 * to search and what to do instead.
 *
 * The machine with no network is a fresh network namespace holding only
 * loopback (up, as on a real machine, or down), made with `ip netns` like the
 * other discovery tests (tests/fixtures/discovery_netns.ts: root and
 * iproute2; skipped loudly without them, failing with CI=true). Each
 * `main.ts` runs in a fresh home (tests/fixtures/test_home.ts).
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { ip, lanchatInNamespace, netnsTest } from "./fixtures/discovery_netns.ts";

/** A network namespace with only `lo` in it, deleted at the end. */
async function machineWithoutNetwork(loopbackUp: boolean): Promise<string & AsyncDisposable> {
  const name = `lcnonet-${crypto.randomUUID().slice(0, 8)}`;
  const added = await ip(["netns", "add", name]);
  if (added.code !== 0) throw new Error(`ip netns add ${name}: ${added.stderr}`);
  if (loopbackUp) {
    const up = await ip(["-n", name, "link", "set", "lo", "up"]);
    if (up.code !== 0) {
      await ip(["netns", "del", name]);
      throw new Error(`ip link set lo up: ${up.stderr}`);
    }
  }
  return Object.assign(name, {
    [Symbol.asyncDispose]: async () => void await ip(["netns", "del", name]),
  }) as string & AsyncDisposable;
}

const noNetwork =
  /no network to search: this machine has no network interface with a broadcast address \(only loopback\?\)\. Connect it to the LAN \(cable or Wi-Fi\), or join by address: .*join HOST:PORT/;

netnsTest(
  "discover with only loopback says there is no network to search, not 'send UNKNOWN'",
  async () => {
    for (const loopbackUp of [true, false]) {
      await using ns = await machineWithoutNetwork(loopbackUp);
      const result = await lanchatInNamespace(ns, ["discover", "--timeout", "300"]);
      assertEquals(result.code, 1, result.stderr);
      assertEquals(result.stdout, "");
      assertMatch(result.stderr, noNetwork);
      assert(!result.stderr.includes("UNKNOWN"), result.stderr);
      // Said once, and no advice about servers and firewalls that cannot apply.
      assertEquals(result.stderr.split(/no network to search/).length, 2, result.stderr);
      assert(!result.stderr.includes("firewall"), result.stderr);
    }
  },
);

netnsTest(
  "join without an address and only loopback says there is no network to search",
  async () => {
    await using ns = await machineWithoutNetwork(true);
    const result = await lanchatInNamespace(ns, ["join", "--nick", "ana"]);
    assertEquals(result.code, 1, result.stdout + result.stderr);
    const said = result.stdout + result.stderr;
    assertMatch(said, noNetwork);
    assert(!said.includes("UNKNOWN"), said);
    assertEquals(said.split(/no network to search/).length, 2, said);
  },
);
