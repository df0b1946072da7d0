/** lib/server/limits/ip_networks.ts: networks of addresses, CIDR ranges, loopback. */
import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import {
  inNetwork,
  isLoopbackAddress,
  networkKey,
  parseNetwork,
} from "../lib/server/limits/ip_networks.ts";

Deno.test("an address counts in its /24 (IPv4) or /64 (IPv6) network", () => {
  assertEquals(networkKey("192.168.1.77"), "192.168.1.0/24");
  assertEquals(networkKey("10.0.3.1"), "10.0.3.0/24");
  assertEquals(networkKey("::ffff:192.168.1.77"), "192.168.1.0/24");
  assertEquals(networkKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assertEquals(networkKey("[fe80::1%eth0]"), "fe80:0:0:0::/64");
  assertEquals(networkKey("not an address"), "not an address");
});

Deno.test("CIDR ranges contain their addresses and no others", () => {
  const office = parseNetwork("10.1.0.0/16");
  assertEquals(inNetwork("10.1.200.3", office), true);
  assertEquals(inNetwork("10.2.0.1", office), false);
  assertEquals(inNetwork("::ffff:10.1.0.9", office), true);
  assertEquals(inNetwork("fd00::1", office), false);
  const v6 = parseNetwork("fd00:aa::/32");
  assertEquals(inNetwork("fd00:aa:ff::2", v6), true);
  assertEquals(inNetwork("fd00:ab::2", v6), false);
  assertEquals(inNetwork("10.9.9.9", parseNetwork("10.9.9.9")), true);
  assertEquals(inNetwork("anything", parseNetwork("0.0.0.0/0")), false);
  assertEquals(inNetwork("8.8.8.8", parseNetwork("0.0.0.0/0")), true);
});

Deno.test("a bad network says how to write one", () => {
  assertMatch(assertThrows(() => parseNetwork("10.1.0.0/33"), RangeError).message, /0 to 32/);
  assertMatch(assertThrows(() => parseNetwork("office"), RangeError).message, /10\.1\.0\.0\/16/);
  assertThrows(() => parseNetwork("10.1.0.0/16/2"), RangeError);
  assertThrows(() => parseNetwork("1:2:3:4:5:6:7:8:9/64"), RangeError);
  assertThrows(() => parseNetwork("10.1.0.0/1x"), RangeError);
});

Deno.test("loopback is 127.0.0.0/8 and ::1, mapped or not", () => {
  for (const address of ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
    assertEquals(isLoopbackAddress(address), true, address);
  }
  for (const address of ["128.0.0.1", "::2", "10.0.0.1", "localhost"]) {
    assertEquals(isLoopbackAddress(address), false, address);
  }
});
