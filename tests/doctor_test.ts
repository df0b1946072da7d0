/**
 * `lanchat doctor` against a running server, a closed port, ports that are
 * open but not lanchat, and an address with nothing there (inside a network
 * namespace, so no real network is touched).
 */
import { assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { UdpPeer } from "./fixtures/discovery_udp.ts";
import { denoInNamespace, Lan, netnsTest } from "./fixtures/discovery_netns.ts";
import { startDiscoveryResponder } from "../lib/discovery/discovery_responder.ts";
import { localNetworkOf, runDoctor } from "../lib/ops/doctor.ts";

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    output: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) },
  };
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then closed). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("doctor passes a running server: address, chat speaking lanchat, discovery and web page", async () => {
  await using server = await startTestServer({ webPort: 0 });
  await using responder = await startDiscoveryResponder({
    port: 0,
    host: "127.0.0.1",
    info: () => ({
      name: server.name,
      port: server.port,
      web: server.webPort,
      secure: false,
      users: server.room.size,
    }),
  });
  const result = captured();
  const code = await runDoctor(
    // A wrong --web-port: the web port the discovery answer names is the one checked.
    { address: `127.0.0.1:${server.port}`, discoveryPort: responder.port, webPort: 1 },
    result.output,
  );
  assertEquals(result.err, []);
  assertEquals(result.out, [
    `lanchat doctor: checking 127.0.0.1:${server.port} from this machine`,
    "ok       address    127.0.0.1 (an IP address)",
    "ok       network    127.0.0.1 is this machine",
    `ok       chat       127.0.0.1:${server.port} speaks lanchat: room "test room", no room password`,
    `ok       discovery  UDP 127.0.0.1:${responder.port} answered: room "test room", 0 online`,
    `ok       web page   http://127.0.0.1:${server.webPort}/ answers (HTTP 200)`,
    `The essential checks passed: \`lanchat join 127.0.0.1:${server.port}\` should work.`,
  ]);
  assertEquals(code, 0);

  // A name is looked up first (localhost comes from the hosts file, no DNS query).
  const named = captured();
  await runDoctor(
    { address: `localhost:${server.port}`, discoveryPort: responder.port, timeout: 500 },
    named.output,
  );
  assertMatch(named.out[1]!, /^ok {7}address {4}localhost is 127\.0\.0\.1$/);
  assertMatch(named.out[3]!, /^ok {7}chat {7}127\.0\.0\.1:\d+ speaks lanchat/);

  // Without an address, discovery finds the server first.
  const found = captured();
  assertEquals(
    await runDoctor(
      { discoveryPort: responder.port, targets: ["127.0.0.1"], timeout: 500 },
      found.output,
    ),
    0,
  );
  assertEquals(found.out[1], `lanchat doctor: checking 127.0.0.1:${server.port} from this machine`);
});

Deno.test("doctor on a closed port says nothing listens there and what to check, exit 1", async () => {
  await using silentUdp = await UdpPeer.open();
  const port = closedPort();
  const webPort = closedPort();
  const result = captured();
  const started = performance.now();
  const code = await runDoctor(
    { address: `127.0.0.1:${port}`, webPort, discoveryPort: silentUdp.port, timeout: 500 },
    result.output,
  );
  assertEquals(code, 1);
  const [, , , chat, discovery, web, verdict] = result.out;
  assertEquals(
    chat,
    `problem  chat       nothing listens on 127.0.0.1:${port} (connection refused; the machine ` +
      `itself answered). Is \`lanchat serve\` running there, on port ${port}? Its banner shows the port.`,
  );
  assertMatch(
    discovery!,
    /^warning {2}discovery {2}no answer to a discovery probe on UDP .* within 500 ms/,
  );
  assertMatch(discovery!, /Joining with the address still works\.$/);
  assertMatch(
    web!,
    new RegExp(`^warning  web page   http://127\\.0\\.0\\.1:${webPort}/: connection refused\\.`),
  );
  assertEquals(verdict, `A problem stops \`lanchat join 127.0.0.1:${port}\`: see above.`);
  const elapsed = performance.now() - started;
  // Chat and discovery are checked together: about one timeout, not three.
  assertEquals(elapsed < 1500, true, `took ${elapsed} ms`);
});

Deno.test("doctor tells a port that is open but not lanchat", async () => {
  await using silentUdp = await UdpPeer.open();
  // Accepts and says nothing.
  using quiet = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Accepts and speaks HTTP (bytes that are no valid frame).
  using http = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const serveHttp = (async () => {
    const conn = await http.accept();
    accepted.push(conn);
    await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
  })();
  const acceptQuiet = quiet.accept().then((conn) => accepted.push(conn));
  try {
    const one = captured();
    assertEquals(
      await runDoctor(
        { address: `127.0.0.1:${quiet.addr.port}`, discoveryPort: silentUdp.port, timeout: 400 },
        one.output,
      ),
      1,
    );
    assertMatch(
      one.out[3]!,
      /^problem {2}chat {7}127\.0\.0\.1:\d+ accepts connections but sent nothing within 400 ms: it is not lanchat/,
    );
    const two = captured();
    assertEquals(
      await runDoctor(
        { address: `127.0.0.1:${http.addr.port}`, discoveryPort: silentUdp.port, timeout: 400 },
        two.output,
      ),
      1,
    );
    assertMatch(
      two.out[3]!,
      /^problem {2}chat {7}127\.0\.0\.1:\d+ answers, but not with lanchat's protocol/,
    );
  } finally {
    await Promise.all([serveHttp, acceptQuiet]);
    for (const conn of accepted) conn.close();
  }
});

Deno.test("doctor refuses an address it cannot read, with exit 2", async () => {
  const result = captured();
  assertEquals(await runDoctor({ address: "10.0.0.1:99999" }, result.output), 2);
  assertMatch(result.err[0]!, /^lanchat: bad port "99999"/);
});

Deno.test("an address is on a local network when it shares the prefix", () => {
  const mine = [
    { interface: "eth0", address: "192.168.1.20", prefix: 24 },
    { interface: "wlan0", address: "10.77.3.4", prefix: 16 },
  ];
  assertEquals(localNetworkOf("192.168.1.200", mine)?.interface, "eth0");
  assertEquals(localNetworkOf("10.77.200.1", mine)?.interface, "wlan0");
  assertEquals(localNetworkOf("192.168.2.1", mine), null);
  assertEquals(localNetworkOf("::1", mine), null);
});

netnsTest(
  "doctor on an address with nothing there says no answer, within its time limit",
  async () => {
    await using lan = await Lan.create();
    const nobody = `${lan.network()}.99`;
    const doctor = await denoInNamespace(
      lan.client,
      ["tests/fixtures/discovery_doctor.ts", nobody, "1000"],
    );
    assertEquals(doctor.code, 1, doctor.stdout + doctor.stderr);
    const lines = doctor.stdout.split("\n");
    assertEquals(lines[1], `ok       address    ${nobody} (an IP address)`);
    assertMatch(
      lines[2]!,
      new RegExp(`^ok       network    ${nobody.replaceAll(".", "\\.")} is on your network`),
    );
    assertEquals(
      lines[3],
      `problem  chat       no answer from ${nobody}:9000 within 1000 ms: the machine is off, not at ` +
        "this address, or its firewall drops TCP port 9000. On the server, run `lanchat firewall`.",
    );
    assertMatch(lines[4]!, /^warning {2}discovery {2}no answer to a discovery probe/);
    assertEquals(lines[5], "skipped  web page   the machine did not answer at all");
  },
);
