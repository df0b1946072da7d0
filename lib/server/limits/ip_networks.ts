/**
 * IP networks for per-network limits: which /24 (IPv4) or /64 (IPv6) an
 * address belongs to, and whether it lies in a CIDR range such as
 * `--trusted-net 10.1.0.0/16`.
 *
 * Owns: parsing IPv4 and IPv6 literals (IPv4-mapped IPv6 reads as IPv4) and
 * CIDR ranges, and the loopback rule. Pure: no sockets, no I/O. Imports only
 * lib/discovery/lan_addresses.ts (the IPv4 arithmetic).
 */
import { ipv4ToNumber } from "../../discovery/lan_addresses.ts";

/** An address as bits: 32 for IPv4, 128 for IPv6. */
interface Bits {
  family: 4 | 6;
  value: bigint;
}

/** A parsed CIDR range. */
export interface Network {
  family: 4 | 6;
  /** The range's first address, as bits. */
  base: bigint;
  prefix: number;
  /** As written, normalised (e.g. "10.1.0.0/16"). */
  text: string;
}

/** Parses an IPv4 or IPv6 literal (brackets and a `%zone` allowed); null when it is not one. */
function parseAddress(address: string): Bits | null {
  const plain = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = ipv4ToNumber(plain);
  if (v4 !== null) return { family: 4, value: BigInt(v4) };
  const v6 = parseIpv6(plain);
  if (v6 === null) return null;
  // ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket.
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffff_ffffn };
  return { family: 6, value: v6 };
}

function parseIpv6(text: string): bigint | null {
  if (!text.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [index, piece] of pieces.entries()) {
      if (index === pieces.length - 1 && piece.includes(".")) {
        const v4 = ipv4ToNumber(piece);
        if (v4 === null) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(piece)) return null;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string): boolean {
  const bits = parseAddress(address);
  if (bits === null) return false;
  return bits.family === 4 ? bits.value >> 24n === 127n : bits.value === 1n;
}

/**
 * Parses `10.1.0.0/16`, `fd00::/8`, or a bare address (a /32 or /128).
 * Throws a RangeError saying what is wrong.
 */
export function parseNetwork(text: string): Network {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const bits = parseAddress(address);
  if (bits === null || extra !== undefined) {
    throw new RangeError(`'${text}' is not a network: write it as 10.1.0.0/16 or fd00::/64`);
  }
  const width = bits.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (
    !Number.isInteger(prefix) || prefix < 0 || prefix > width || !/^\d*$/.test(prefixText ?? "")
  ) {
    throw new RangeError(`'${text}': the prefix length must be 0 to ${width}`);
  }
  const base = maskTo(bits.value, prefix, width);
  return { family: bits.family, base, prefix, text: `${address}/${prefix}` };
}

function maskTo(value: bigint, prefix: number, width: number): bigint {
  const hostBits = BigInt(width - prefix);
  return (value >> hostBits) << hostBits;
}

/** True when `address` lies in `network`. */
export function inNetwork(address: string, network: Network): boolean {
  const bits = parseAddress(address);
  if (bits === null || bits.family !== network.family) return false;
  return maskTo(bits.value, network.prefix, bits.family === 4 ? 32 : 128) === network.base;
}

/**
 * Who an address is, for limits on one person's attempts (new accounts, link
 * codes): an IPv6 address counts as its /64 (one machine may hold a whole
 * /64), an IPv4 address as itself (a colleague on the same /24 must not pay
 * for another's attempts).
 */
export function attemptKey(address: string): string {
  return address.includes(":") ? networkKey(address) : address;
}

/**
 * The network an address is counted in for per-network limits: its /24 for
 * IPv4 ("192.168.1.0/24"), its /64 for IPv6. An address that is not an IP
 * literal counts as its own network.
 */
export function networkKey(address: string): string {
  const bits = parseAddress(address);
  if (bits === null) return address;
  if (bits.family === 4) {
    const base = Number(maskTo(bits.value, 24, 32));
    return `${[24, 16, 8].map((shift) => (base >>> shift) & 255).join(".")}.0/24`;
  }
  const base = maskTo(bits.value, 64, 128) >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((shift) => ((base >> shift) & 0xffffn).toString(16));
  return `${groups.join(":")}::/64`;
}
