/** Tests of lib/client/address.ts: reading HOST[:PORT] as a person types it. */
import { assertEquals, assertThrows } from "./_assert.ts";
import { formatAddress, parseAddress, parsePort } from "../lib/client/address.ts";

Deno.test("parseAddress reads host, host:port, [IPv6]:port and bare IPv6", () => {
  assertEquals(parseAddress("192.168.1.20", 9000), { host: "192.168.1.20", port: 9000 });
  assertEquals(parseAddress("192.168.1.20:9100", 9000), { host: "192.168.1.20", port: 9100 });
  assertEquals(parseAddress("chat.local:1", 9000), { host: "chat.local", port: 1 });
  assertEquals(parseAddress("[::1]:9100", 9000), { host: "::1", port: 9100 });
  assertEquals(parseAddress("[fe80::1%eth0]", 9000), { host: "fe80::1%eth0", port: 9000 });
  assertEquals(parseAddress("::1", 9000), { host: "::1", port: 9000 });
  assertEquals(parseAddress("2001:db8::7", 9200), { host: "2001:db8::7", port: 9200 });
  assertEquals(parseAddress("  host  ", 9000), { host: "host", port: 9000 });
});

Deno.test("parseAddress uses 127.0.0.1 and the default port when parts are missing", () => {
  assertEquals(parseAddress(undefined, 9000), { host: "127.0.0.1", port: 9000 });
  assertEquals(parseAddress("", 9100), { host: "127.0.0.1", port: 9100 });
  assertEquals(parseAddress(":9300", 9000), { host: "127.0.0.1", port: 9300 });
});

Deno.test("parseAddress rejects a bad port with a message naming it and the range", () => {
  for (
    const text of ["host:", "host:0", "host:65536", "host:abc", "host:-1", "host:90 00", "[::1]:x"]
  ) {
    const error = assertThrows(() => parseAddress(text, 9000), Error);
    assertEquals(
      /bad port ".*" in ".*": a port is a number from 1 to 65535/.test(error.message),
      true,
    );
  }
  const error = assertThrows(() => parseAddress("[::1", 9000), Error);
  assertEquals(error.message.includes("[ADDRESS]:PORT"), true);
  assertThrows(() => parseAddress("[]:9000", 9000), Error);
});

Deno.test("parsePort accepts 1..65535 only", () => {
  assertEquals(parsePort("1"), 1);
  assertEquals(parsePort("65535"), 65535);
  assertThrows(() => parsePort("0"), Error);
  assertThrows(() => parsePort("1e3"), Error);
  assertThrows(() => parsePort("+80"), Error);
});

Deno.test("formatAddress brackets IPv6 hosts", () => {
  assertEquals(formatAddress({ host: "::1", port: 9000 }), "[::1]:9000");
  assertEquals(formatAddress({ host: "10.0.0.2", port: 9000 }), "10.0.0.2:9000");
});
