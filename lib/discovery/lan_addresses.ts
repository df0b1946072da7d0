/**
 * The IPv4 addresses this machine can be reached at on its networks.
 *
 * Owns: picking which interface addresses to show people, and IPv4 number
 * arithmetic for subnets and broadcast addresses. Pure apart from
 * `Deno.networkInterfaces()` in lanAddresses(); no sockets.
 */

/** An IPv4 address of a network interface. */
export interface LanAddress {
  interface: string;
  address: string;
  /** Prefix length, e.g. 24 for a /24. */
  prefix: number;
}

/** Non-loopback IPv4 addresses among `interfaces`, in interface order. */
export function pickLanAddresses(interfaces: Deno.NetworkInterfaceInfo[]): LanAddress[] {
  const seen = new Set<string>();
  const addresses: LanAddress[] = [];
  for (const info of interfaces) {
    if (info.family !== "IPv4" || info.address.startsWith("127.")) continue;
    if (seen.has(info.address)) continue;
    seen.add(info.address);
    const prefix = Number(info.cidr.split("/")[1] ?? 32);
    addresses.push({ interface: info.name, address: info.address, prefix });
  }
  return addresses;
}

/** This machine's LAN IPv4 addresses; empty when they cannot be read. */
export function lanAddresses(): LanAddress[] {
  try {
    return pickLanAddresses(Deno.networkInterfaces());
  } catch {
    return [];
  }
}

/** True when `host` binds only the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host.startsWith("127.") || host === "::1";
}

/** A dotted IPv4 address as a 32-bit number, or null when it is not one. */
export function ipv4ToNumber(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

/** A 32-bit number as a dotted IPv4 address. */
export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}
