/**
 * Parsers for command-line values, shared by every subcommand.
 *
 * Owns: turning flag and argument strings into checked values with messages a
 * person can act on. Throws commander's InvalidArgumentError so commander
 * prints "error: option '--port <n>' argument '70000' is invalid. ..." and
 * main.ts exits 2 (wrong usage). Imports the parsers of lib/client/address.ts,
 * lib/store/time_parse.ts and lib/server/limits/ip_networks.ts, nothing with
 * sockets.
 */
import { dirname } from "node:path";
import { InvalidArgumentError } from "commander";
import { parseNetwork } from "../server/limits/ip_networks.ts";
import type { Network } from "../server/limits/ip_networks.ts";
import { parseAddress } from "../client/address.ts";
import { parseTime } from "../store/time_parse.ts";
import { shellWord } from "./run_command.ts";

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

/**
 * A server address argument (`join ADDRESS`, `doctor ADDRESS`): HOST,
 * HOST:PORT, [IPv6]:PORT or a bare IPv6 address, checked here so a bad one is
 * wrong usage (exit 2). Returns the text as typed: the port that `--port`
 * gives is applied later, by parseAddress.
 */
export function checkServerAddress(value: string): string {
  try {
    parseAddress(value, 9000);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value;
}

/**
 * A time flag (`history --since/--until`): one of the forms of parseTime,
 * checked here so a bad one is wrong usage (exit 2). Returns the text as
 * typed; runHistoryCommand reads it against its own `now`.
 */
export function checkTime(value: string): string {
  try {
    parseTime(value, Date.now());
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value;
}

/**
 * A parser for a database path given on the command line (`--db`,
 * `--salvage`): its folder must exist. lanchat creates the folders of its
 * default path only; a typo in an explicit one would otherwise start an
 * empty history somewhere new. ":memory:" passes. A folder that cannot be
 * looked at (no permission) passes too: opening the file says why.
 *
 * @example
 * new Option("--db <path>").argParser(existingFolderPath("--db"));
 */
export function existingFolderPath(flag: string): (value: string) => string {
  return (value: string) => {
    if (value === ":memory:") return value;
    const folder = dirname(value);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(folder);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) return value;
      const mkdir = Deno.build.os === "windows" ? "mkdir" : "mkdir -p";
      throw new InvalidArgumentError(
        `the folder ${folder} of ${flag} does not exist; create it first ` +
          `(${mkdir} ${shellWord(folder)}) or fix the path.`,
      );
    }
    if (!info.isDirectory) {
      throw new InvalidArgumentError(
        `${folder} in ${flag} is a file, not a folder; fix the path.`,
      );
    }
    return value;
  };
}
