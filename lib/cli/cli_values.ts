/**
 * Parsers for command-line values, shared by every subcommand.
 *
 * Owns: turning flag strings into checked numbers with messages a person can
 * act on. Throws commander's InvalidArgumentError so commander prints
 * "error: option '--port <n>' argument '70000' is invalid. ...".
 */
import { InvalidArgumentError } from "commander";
import { parseNetwork } from "../server/limits/ip_networks.ts";
import type { Network } from "../server/limits/ip_networks.ts";

/** A TCP/UDP port, 0 to 65535 (0 = any free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new InvalidArgumentError("a port is a whole number from 0 to 65535.");
  }
  return port;
}

/** A whole number of at least 1. */
export function parsePositiveInt(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError("expected a whole number of at least 1.");
  }
  return number;
}

/** A parser for a whole number from `min` to `max` (inclusive). */
export function intBetween(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return number;
  };
}

/** A repeatable CIDR flag (`--trusted-net 10.1.0.0/16`): each use adds one network. */
export function collectNetwork(value: string, previous: Network[] = []): Network[] {
  try {
    return [...previous, parseNetwork(value)];
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
