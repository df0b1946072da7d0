/**
 * Parsers for command-line values, shared by every subcommand.
 *
 * Owns: turning flag and argument strings into checked values with messages a
 * person can act on. Throws commander's InvalidArgumentError so commander
 * prints "error: option '--port <n>' argument '70000' is invalid. ..." and
 * main.ts exits 2 (wrong usage). Imports nothing of lanchat beyond lib/cli/:
 * parsers of lanchat's own values (addresses, times, networks) come in
 * through {@link checkedWith} and {@link collectedWith}, so this base folder
 * stays below the folders that use it.
 */
import { dirname } from "node:path";
import { InvalidArgumentError } from "commander";
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

/**
 * A flag or argument parser from `parse`, which throws an Error saying what
 * is wrong: its message becomes commander's (wrong usage, exit 2). Returns
 * what `parse` returns.
 *
 * @example
 * new Option("--since <time>").argParser(checkedWith((text) => parseTime(text, Date.now())));
 */
export function checkedWith<T>(parse: (value: string) => T): (value: string) => T {
  return (value: string) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

/**
 * A repeatable flag (`--trusted-net 10.1.0.0/16 --trusted-net ...`): each
 * use adds one value checked by `parse` (see {@link checkedWith}).
 */
export function collectedWith<T>(
  parse: (value: string) => T,
): (value: string, previous?: T[]) => T[] {
  const checked = checkedWith(parse);
  return (value: string, previous: T[] = []) => [...previous, checked(value)];
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

const sizeUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/**
 * A size in bytes as people write it: `2GiB`, `2G` (1024-based), `500MB` (1000-based), `1048576`.
 * Throws a message saying the accepted forms.
 */
export function parseSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = sizeUnits[match?.[2]?.toLowerCase() ?? "?"];
  const bytes = match === null || unit === undefined ? NaN : Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new Error(`'${value}' is not a size: write it like 2GiB, 500MB, 64K or 1048576 (bytes)`);
  }
  return bytes;
}
