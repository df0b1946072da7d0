/**
 * What a discovery probe that could not be sent means (issue #13;
 * lib/discovery/discovery_client.ts sendProblem), on made-up interfaces. The
 * real machine without a network: discovery_no_network_test.ts.
 */
import { assertEquals, assertMatch } from "./_assert.ts";
import { sendProblem } from "../lib/discovery/discovery_client.ts";

const loopback: Deno.NetworkInterfaceInfo = {
  family: "IPv4",
  name: "lo",
  address: "127.0.0.1",
  netmask: "255.0.0.0",
  scopeid: null,
  cidr: "127.0.0.1/8",
  mac: "00:00:00:00:00:00",
};
const lan: Deno.NetworkInterfaceInfo = {
  ...loopback,
  name: "eth0",
  address: "192.168.1.20",
  netmask: "255.255.255.0",
  cidr: "192.168.1.20/24",
  mac: "52:54:00:12:34:56",
};
const unknown = Object.assign(new Error("send UNKNOWN 255.255.255.255:9000"), { code: "UNKNOWN" });

Deno.test("sendProblem: only loopback, or no interface at all, is no network to search", () => {
  for (const interfaces of [[loopback], []]) {
    const problem = sendProblem(
      "255.255.255.255",
      unknown,
      interfaces,
      (...words) => ["deno task", ...words].join(" "),
    );
    assertEquals(
      problem,
      "no network to search: this machine has no network interface with a broadcast address " +
        "(only loopback?). Connect it to the LAN (cable or Wi-Fi), or join by address: " +
        "deno task join HOST:PORT",
    );
  }
});

Deno.test("sendProblem: with a LAN, the network that refused is named with the reason", () => {
  assertMatch(
    sendProblem("192.168.1.255", unknown, [loopback, lan]),
    /^could not send to 192\.168\.1\.255: send UNKNOWN .*; is the network it belongs to connected\?$/,
  );
  const unreachable = Object.assign(new Error("send ENETUNREACH"), { code: "ENETUNREACH" });
  assertEquals(
    sendProblem("10.0.0.255", unreachable, [loopback, lan]),
    "could not send to 10.0.0.255: no route to that network; is the network it belongs to connected?",
  );
  // Interfaces that could not be read: nothing is claimed about the network.
  assertMatch(
    sendProblem("255.255.255.255", unknown, null),
    /^could not send to 255\.255\.255\.255/,
  );
});
