/**
 * LAN discovery (PROTOCOL.md section 6) over real loopback UDP: the wire
 * format, the responder, the client's merging, `lanchat discover`'s output
 * and choosing a server for `lanchat join` without an address.
 * Every datagram goes to 127.0.0.0/8; broadcast is tested in discovery_netns_test.ts.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, TestClient, testServerKey } from "./_helpers.ts";
import { fingerprint } from "../lib/wire/identity.ts";
import { garbageDatagrams, UdpPeer } from "./fixtures/discovery_udp.ts";
import { lanchat, spawnProcess } from "./fixtures/client_process.ts";

/** `deno run -A SCRIPT args...` from the repository root. */
function denoScript(args: string[]) {
  return spawnProcess(Deno.execPath(), ["run", "-A", ...args]);
}
import { encodeHere, isProbe, parseHere, probeBytes } from "../lib/discovery/discovery.ts";
import type { HereInfo } from "../lib/discovery/discovery.ts";
import {
  AnswerRateLimiter,
  startDiscoveryResponder,
} from "../lib/discovery/discovery_responder.ts";
import {
  broadcastAddress,
  broadcastTargets,
  discoverServers,
  formatServerTable,
  runDiscover,
} from "../lib/discovery/discovery_client.ts";
import { chooseServer } from "../lib/client/terminal/server_choice.ts";
import type { ServerChoice } from "../lib/client/terminal/server_choice.ts";
import { rememberServer } from "../lib/client/terminal/recent_servers.ts";

const encoder = new TextEncoder();
const info: HereInfo = { name: "office", port: 9100, web: 9101, secure: false, users: 2 };

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    output: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) },
  };
}

Deno.test("the probe is exactly the JSON of PROTOCOL.md; probes of other versions are not probes", () => {
  assertEquals(new TextDecoder().decode(probeBytes), '{"type":"discover","proto":1}');
  assert(isProbe(probeBytes));
  assert(isProbe(encoder.encode('{"proto":1,"type":"discover","extra":[1]}')));
  for (const datagram of garbageDatagrams()) assert(!isProbe(datagram));
  assert(!isProbe(new Uint8Array()));
});

Deno.test("a here answer round-trips, and malformed answers are rejected", () => {
  const answer = parseHere(encodeHere(info, "abc123"));
  assertEquals(answer, { ...info, id: "abc123", key: null });
  // The key's fingerprint (issue #14) is kept when it is one, dropped when it is not.
  const key = "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk";
  assertEquals(parseHere(encodeHere({ ...info, key }))?.key, key);
  assertEquals(parseHere(encodeHere({ ...info, key: "SHA256:short" }))?.key, null);
  assertEquals(parseHere(encodeHere({ ...info, web: null, secure: true }))?.web, null);
  const valid = {
    type: "here",
    proto: 1,
    name: "x",
    port: 9000,
    web: 9001,
    secure: false,
    users: 0,
  };
  assertEquals(parseHere(encoder.encode(JSON.stringify(valid)))?.id, null);
  // Other servers may copy their `server.secure` (null or an object) into `secure`.
  assertEquals(
    parseHere(encoder.encode(JSON.stringify({ ...valid, secure: null })))?.secure,
    false,
  );
  assertEquals(parseHere(encoder.encode(JSON.stringify({ ...valid, secure: {} })))?.secure, true);
  const broken: Record<string, unknown>[] = [
    { ...valid, type: "discover" },
    { ...valid, proto: 2 },
    { ...valid, name: 7 },
    { ...valid, name: "n".repeat(201) },
    { ...valid, port: 0 },
    { ...valid, port: 65536 },
    { ...valid, port: 9000.5 },
    { ...valid, port: "9000" },
    { ...valid, web: 0 },
    { ...valid, web: "9001" },
    { ...valid, users: -1 },
    { ...valid, users: 1.5 },
    { ...valid, secure: "no" },
    { ...valid, port: undefined },
  ];
  for (const answer of broken) {
    assertEquals(parseHere(encoder.encode(JSON.stringify(answer))), null, JSON.stringify(answer));
  }
  assertEquals(parseHere(encoder.encode("[1]")), null);
  assertEquals(parseHere(new Uint8Array(5000).fill(32)), null);
  // A long room name is cut so the answer stays small.
  assertEquals(parseHere(encodeHere({ ...info, name: "n".repeat(500) }))?.name.length, 200);
});

Deno.test("broadcast targets are each interface's broadcast address, then 255.255.255.255", () => {
  assertEquals(broadcastAddress("192.168.1.20", "255.255.255.0"), "192.168.1.255");
  assertEquals(broadcastAddress("10.1.2.3", "255.0.0.0"), "10.255.255.255");
  assertEquals(broadcastAddress("172.16.5.4", "255.255.240.0"), "172.16.15.255");
  assertEquals(broadcastAddress("fe80::1", "ffff::"), null);
  const iface = (name: string, address: string, netmask: string, prefix: number) => ({
    name,
    family: "IPv4" as const,
    address,
    netmask,
    scopeid: null,
    cidr: `${address}/${prefix}`,
    mac: "00:00:00:00:00:00",
  });
  assertEquals(
    broadcastTargets([
      iface("lo", "127.0.0.1", "255.0.0.0", 8),
      iface("eth0", "192.168.1.20", "255.255.255.0", 24),
      iface("eth0", "192.168.1.21", "255.255.255.0", 24),
      iface("wlan0", "10.0.3.7", "255.255.252.0", 22),
      iface("tun0", "10.8.0.2", "255.255.255.255", 32),
      {
        name: "eth0",
        family: "IPv6",
        address: "fe80::1",
        netmask: "ffff:ffff:ffff:ffff::",
        scopeid: 2,
        cidr: "fe80::1/64",
        mac: "00:00:00:00:00:00",
      },
    ]),
    ["192.168.1.255", "10.0.3.255", "255.255.255.255"],
  );
});

Deno.test("the responder answers a probe with a unicast here describing the server now", async () => {
  let users = 2;
  await using responder = await startDiscoveryResponder({
    port: 0,
    host: "127.0.0.1",
    info: () => ({ ...info, users }),
  });
  await using peer = await UdpPeer.open();
  await peer.send(probeBytes, responder.port);
  const [first] = await peer.waitFor(1, 3000);
  assert(first !== undefined, "an answer within 3 s");
  assertEquals(first.port, responder.port);
  assertEquals(parseHere(first.bytes), { ...info, users: 2, id: responder.id, key: null });
  users = 5;
  await peer.send(probeBytes, responder.port);
  const answers = await peer.waitFor(2, 3000);
  assertEquals(parseHere(answers[1]!.bytes)?.users, 5);
});

Deno.test("garbage, other versions and huge datagrams get no answer and change nothing", async () => {
  await using responder = await startDiscoveryResponder({
    port: 0,
    host: "127.0.0.1",
    info: () => info,
  });
  await using peer = await UdpPeer.open();
  for (const datagram of garbageDatagrams()) await peer.send(datagram, responder.port);
  await peer.send(probeBytes, responder.port);
  // Datagrams between two sockets on loopback arrive in order: the probe's
  // answer comes after any answer to garbage would have.
  const answers = await peer.waitFor(1, 3000);
  assertEquals(answers.length, 1);
  assertEquals(responder.answered, 1);
  assertEquals(parseHere(answers[0]!.bytes)?.name, "office");
});

Deno.test("one source gets a burst of answers, then no more: the responder cannot amplify a flood", async () => {
  await using responder = await startDiscoveryResponder({
    port: 0,
    host: "127.0.0.1",
    info: () => info,
    sourceBurst: 3,
    sourcePerSecond: 0.001,
  });
  await using peer = await UdpPeer.open();
  for (let index = 0; index < 20; index++) await peer.send(probeBytes, responder.port);
  assertEquals((await peer.waitFor(3, 3000)).length, 3);
  await using other = await UdpPeer.open("127.0.0.2");
  await other.send(probeBytes, responder.port);
  assertEquals((await other.waitFor(1, 3000)).length, 1, "another source is still answered");
  // The other source's answer was sent after every answer to the first one.
  assertEquals(peer.received.length, 3);
  assertEquals(responder.answered, 4);
});

Deno.test("the rate limiter refills per source and caps all sources together", () => {
  const limiter = new AnswerRateLimiter({ burst: 2, perSecond: 1, totalPerSecond: 3, now: 0 });
  assertEquals([1, 2, 3].map(() => limiter.allow("a", 0)), [true, true, false]);
  assert(!limiter.allow("a", 500), "half a token after 0.5 s");
  assert(limiter.allow("a", 1000), "one token after 1 s");
  assert(limiter.allow("b", 1000));
  assert(limiter.allow("c", 1000));
  // 3 per second for all sources together: 6 answers in the first second is the most.
  assert(!limiter.allow("d", 1000), "the overall budget is spent");
  assert(limiter.allow("d", 1400), "and comes back at 3 per second");
});

Deno.test("sources that have not asked lately are answered from a reserve the busy ones cannot spend", () => {
  const limiter = new AnswerRateLimiter({
    burst: 2,
    perSecond: 1,
    totalPerSecond: 3,
    reservePerSecond: 2,
    now: 0,
  });
  // Three busy sources spend the overall budget...
  assertEquals(["a", "a", "b"].map((source) => limiter.allow(source, 0)), [true, true, true]);
  assert(!limiter.allow("b", 0), "a busy source past the overall budget waits");
  // ...newcomers still get answers, from the reserve, while it lasts.
  assert(limiter.allow("new1", 0));
  assert(limiter.allow("new2", 0));
  assert(!limiter.allow("new3", 0), "the reserve is bounded too");
});

Deno.test("discoverServers merges repeated answers, never the same id from two addresses", async () => {
  // Two fake servers: one (id "same") answering from 127.0.0.2 and 127.0.0.3, one from 127.0.0.4.
  await using first = await UdpPeer.open("127.0.0.2");
  const port = first.port;
  await using second = await UdpPeer.open("127.0.0.3", port);
  await using third = await UdpPeer.open("127.0.0.4", port);
  await using liar = await UdpPeer.open("127.0.0.5", port);
  const answerProbes = (peer: UdpPeer, bytes: Uint8Array | string) => {
    peer.reply = (datagram) => isProbe(datagram.bytes) ? bytes : null;
  };
  answerProbes(first, encodeHere(info, "same"));
  answerProbes(second, encodeHere({ ...info, users: 3 }, "same"));
  answerProbes(third, encodeHere({ ...info, name: "lab", web: null }, "other"));
  answerProbes(
    liar,
    '{"type":"here","proto":1,"name":"bad","port":0,"web":null,"secure":false,"users":0}',
  );
  const found = await discoverServers({
    port,
    timeoutMs: 1000,
    targets: ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"],
  });
  // Two targets, each probed twice (the second round a third of the way in).
  assertEquals(first.received.length, 4, "127.0.0.2 was asked four times and answered each");
  const byAddress = [...found].sort((a, b) => a.addresses[0]!.localeCompare(b.addresses[0]!));
  assertEquals(
    byAddress.length,
    3,
    "an id is no proof: the same id from two addresses is two rooms",
  );
  assertEquals(byAddress.map((entry) => [entry.addresses, entry.id, entry.sameIdElsewhere]), [
    [["127.0.0.2"], "same", 1],
    [["127.0.0.3"], "same", 1],
    [["127.0.0.4"], "other", 0],
  ]);
  assertEquals(byAddress[1]!.users, 3);
});

Deno.test("discover shows a live server's name, address, web page and users, as a table and as JSON", async () => {
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
      key: fingerprint(testServerKey.publicKey),
    }),
  });
  await using _ana = await TestClient.joined(server.port, "ana");
  const table = captured();
  const code = await runDiscover(
    { port: responder.port, timeout: 500, targets: ["127.0.0.1"] },
    table.output,
  );
  assertEquals(code, 0);
  assertEquals(table.err, []);
  assertMatch(table.out[0]!, /^NAME +ADDRESS +WEB +SECURE +USERS +KEY$/);
  assertMatch(
    table.out[1]!,
    new RegExp(
      `^test room +127\\.0\\.0\\.1:${server.port} +http://127\\.0\\.0\\.1:${server.webPort}/ +no +1 +` +
        fingerprint(testServerKey.publicKey).slice(0, 19).replace(/[+/]/g, "\\$&") + "$",
    ),
  );
  assertEquals(
    table.out[2],
    `join it with: lanchat join 127.0.0.1:${server.port}   (or just: lanchat join)`,
  );

  const json = captured();
  assertEquals(
    await runDiscover(
      { port: responder.port, timeout: 500, targets: ["127.0.0.1"], json: true },
      json.output,
    ),
    0,
  );
  assertEquals(json.out.map((line) => JSON.parse(line)), [{
    name: "test room",
    join: `127.0.0.1:${server.port}`,
    addresses: ["127.0.0.1"],
    port: server.port,
    web: server.webPort,
    url: `http://127.0.0.1:${server.webPort}/`,
    secure: false,
    users: 1,
    sameIdElsewhere: 0,
    key: fingerprint(testServerKey.publicKey),
  }]);
});

Deno.test("discover with no answer says so within its timeout, with what to try, and exits 1", async () => {
  await using silent = await UdpPeer.open(); // a port where nobody answers
  const result = captured();
  const started = performance.now();
  const code = await runDiscover(
    { port: silent.port, timeout: 300, targets: ["127.0.0.1"] },
    result.output,
  );
  const elapsed = performance.now() - started;
  assertEquals(code, 1);
  assert(elapsed >= 290 && elapsed < 2000, `took ${elapsed} ms`);
  assertEquals(result.out, []);
  assertEquals(
    result.err[0],
    `no lanchat server answered within 300 ms (asked UDP port ${silent.port} at 127.0.0.1).`,
  );
  const advice = result.err.join("\n");
  assertMatch(advice, /same network/);
  assertMatch(
    advice,
    new RegExp(`firewall must let UDP port ${silent.port} in: run \`lanchat firewall\``),
  );
  assertMatch(advice, /lanchat join ADDRESS/);
});

Deno.test("a hostile room name is printed inert in the discover table", () => {
  const lines = formatServerTable([{
    ...info,
    name: "evil\x1b[2J\nroom",
    id: null,
    key: null,
    addresses: ["10.0.0.1", "10.0.1.1"],
    sameIdElsewhere: 0,
  }]);
  assertEquals(lines.length, 3);
  assert(!lines.join("").includes("\x1b"), "no escape character");
  assertMatch(
    lines[1]!,
    /^evil␛\[2J␤room +10\.0\.0\.1:9100 +http:\/\/10\.0\.0\.1:9101\/ +no +2 +-$/,
  );
  assertMatch(lines[2]!, /^ +10\.0\.1\.1:9100 +http:\/\/10\.0\.1\.1:9101\/$/);
});

Deno.test("join without an address: one server is chosen, several ask, or list when piped", async () => {
  await using dir = await tempDir();
  const recentPath = `${dir}/recent.json`;
  await using one = await startDiscoveryResponder({ port: 0, host: "127.0.0.1", info: () => info });
  const said: string[] = [];
  const chosen = await chooseServer({
    discoveryPort: one.port,
    timeoutMs: 300,
    targets: ["127.0.0.1"],
    interactive: false,
    recentPath,
    write: (line) => said.push(line),
  });
  assertEquals(chosen, { host: "127.0.0.1", port: 9100, name: "office" });
  assertEquals(said.at(-1), 'found room "office" at 127.0.0.1:9100; joining');

  // Two servers behind one discovery port: two responders sharing it (reuseAddr),
  // reached at two loopback addresses.
  await using lab = await startDiscoveryResponder({
    port: one.port,
    host: "127.0.0.3",
    info: () => ({ ...info, name: "lab", port: 9200 }),
  });
  await using office = await startDiscoveryResponder({
    port: one.port,
    host: "127.0.0.2",
    info: () => info,
  });
  const targets = ["127.0.0.2", "127.0.0.3"];
  const piped: string[] = [];
  const none = await chooseServer({
    discoveryPort: lab.port,
    timeoutMs: 300,
    targets,
    interactive: false,
    recentPath,
    write: (line) => piped.push(line),
  });
  assertEquals(none, null);
  assertEquals(piped[1], "2 servers answered; say which one to join:");
  assertEquals(piped.slice(2).sort(), [
    '  lanchat join 127.0.0.2:9100    (room "office")',
    '  lanchat join 127.0.0.3:9200    (room "lab")',
  ]);

  let offered: ServerChoice[] = [];
  const picked = await chooseServer({
    discoveryPort: office.port,
    timeoutMs: 300,
    targets,
    interactive: true,
    recentPath,
    write: () => {},
    select: (_message, choices) => {
      offered = choices;
      return Promise.resolve(choices.find((choice) => choice.value.name === "lab")!.value);
    },
  });
  assertEquals(picked, { host: "127.0.0.3", port: 9200, name: "lab" });
  assertEquals(offered.length, 2);
  assertEquals(
    offered.map((choice) => choice.label).sort(),
    ["lab  127.0.0.3:9200  (2 online)", "office  127.0.0.2:9100  (2 online)"],
  );
});

Deno.test("join without an address and no answer: what to try, then the servers joined before", async () => {
  await using dir = await tempDir();
  const recentPath = `${dir}/recent.json`;
  await using silent = await UdpPeer.open();
  const options = {
    discoveryPort: silent.port,
    timeoutMs: 200,
    targets: ["127.0.0.1"],
    recentPath,
  };

  const first: string[] = [];
  assertEquals(
    await chooseServer({ ...options, interactive: true, write: (line) => first.push(line) }),
    null,
  );
  assertMatch(
    first.join("\n"),
    /no lanchat server answered within 200 ms[\s\S]*lanchat join ADDRESS/,
  );

  await rememberServer({ host: "192.168.1.20", port: 9000, name: "office" }, {
    path: recentPath,
    now: () => 1,
  });
  await rememberServer({ host: "10.0.0.7", port: 9100 }, { path: recentPath, now: () => 2 });
  const piped: string[] = [];
  assertEquals(
    await chooseServer({ ...options, interactive: false, write: (line) => piped.push(line) }),
    null,
  );
  assertEquals(piped.slice(-3), [
    "Servers you joined before:",
    "  lanchat join 10.0.0.7:9100",
    '  lanchat join 192.168.1.20:9000    (room "office")',
  ]);

  let message = "";
  const chosen = await chooseServer({
    ...options,
    interactive: true,
    write: () => {},
    select: (question, choices) => {
      message = question;
      return Promise.resolve(choices[1]!.value);
    },
  });
  assertEquals(message, "No server answered. Join one you used before?");
  assertEquals(chosen, { host: "192.168.1.20", port: 9000, name: "office" });
});

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-discovery-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

Deno.test("a rogue answer copying a real server's id is another room: join asks, and says why", async () => {
  await using dir = await tempDir();
  const recentPath = `${dir}/recent.json`;
  await using real = await startDiscoveryResponder({
    port: 0,
    host: "127.0.0.2",
    info: () => info,
  });
  // The rogue answers every probe at once, with the real server's id, from another address.
  await using rogue = await UdpPeer.open("127.0.0.9", real.port);
  rogue.reply = (datagram) =>
    isProbe(datagram.bytes) ? encodeHere({ ...info, port: 9666 }, real.id) : null;
  const targets = ["127.0.0.9", "127.0.0.2"];
  const said: string[] = [];
  const piped = await chooseServer({
    discoveryPort: real.port,
    timeoutMs: 300,
    targets,
    interactive: false,
    recentPath,
    write: (line) => said.push(line),
  });
  assertEquals(piped, null, "never joined without asking");
  assertMatch(said.join("\n"), /claim to be the same server from different addresses/);
  assertEquals(said.filter((line) => line.startsWith("  lanchat join")).sort(), [
    '  lanchat join 127.0.0.2:9100    (room "office")',
    '  lanchat join 127.0.0.9:9666    (room "office")',
  ]);
  let offered: ServerChoice[] = [];
  await chooseServer({
    discoveryPort: real.port,
    timeoutMs: 300,
    targets,
    interactive: true,
    recentPath,
    write: () => {},
    select: (_message, choices) => {
      offered = choices;
      return Promise.resolve(null);
    },
  });
  assertEquals(offered.length, 2);
  for (const choice of offered) {
    assertMatch(choice.label, /another address claims to be this server/);
  }
});

Deno.test("a probe flood from 250 addresses does not starve real probers of answers", async () => {
  // A real server process answers; this process floods and probes.
  const free = await UdpPeer.open();
  const discoveryPort = free.port;
  await free[Symbol.asyncDispose]();
  await using server = lanchat([
    "serve",
    ...["--host", "127.0.0.1", "--port", "0", "--no-web", "--db", ":memory:"],
    ...["--discovery-port", String(discoveryPort), "--quiet"],
  ]);
  await server.waitForLine(/discovery: +answering on UDP/, { timeoutMs: 20_000 });
  // The flood comes from another process, as from other machines.
  await using flood = denoScript([
    "tests/fixtures/discovery_udp.ts",
    "flood",
    "127.0.0.1",
    String(discoveryPort),
    "4",
  ]);
  await flood.waitForLine(/^flooding$/, { timeoutMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 300)); // the flood is under way
  let answered = 0;
  for (let person = 0; person < 30; person++) {
    // Thirty people, each on their own machine, run `lanchat join` once.
    await using prober = await UdpPeer.open(`127.0.3.${1 + person}`);
    // As `lanchat join` does (lib/discovery/discovery_client.ts): a probe, another after a third of
    // the second it waits, and an answer within that second counts.
    await prober.send(probeBytes, discoveryPort, "127.0.0.1");
    await prober.waitFor(1, 333);
    if (prober.received.length === 0) {
      await prober.send(probeBytes, discoveryPort, "127.0.0.1");
      await prober.waitFor(1, 667);
    }
    if (prober.received.some((datagram) => parseHere(datagram.bytes) !== null)) answered++;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const flooded = await flood.waitForLine(/^sent \d+ probes.*$/, { timeoutMs: 20_000 });
  console.log(`probe flood: ${flooded[0]}; ${answered} of 30 real probes answered`);
  // Before the reserve, 21-23 of 30 here with one probe each (the issue saw 12); now 30 of 30
  // with the fresh-source reserve and the second probe of lanchat join. A probe lost
  // in a busy kernel queue is no budget's fault, hence not 30.
  assert(answered >= 28, `only ${answered} of 30 real probes were answered during the flood`);
});
