/**
 * How a person runs lanchat on this machine, for every command line lanchat
 * suggests (the serve banner, `--help` examples, "what to try" advice).
 *
 * The rule, from how this process was started:
 * - the compiled binary (`Deno.build.standalone`): its name when that name on
 *   PATH is this binary (`lanchat join HOST:PORT`), else its full path;
 * - from source: `serve` and `join` through their deno.json tasks
 *   (`deno task join HOST:PORT`), every other command as
 *   `deno run -A main.ts COMMAND`; `deno` is the word `deno` when PATH finds
 *   this very runtime, `npx -y deno@VERSION` when it runs from npx's cache
 *   (gone from PATH once npx returns), else the runtime's full path. From a
 *   working folder outside the clone, the task gets `--config` and main.ts
 *   its path.
 *
 * Owns: that rule ({@link runContext} reads the facts, {@link commandLine} is
 * pure) and {@link lanchatCommand}, the one function the rest calls.
 * Imports nothing of lanchat.
 */
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Subcommands that have a deno.json task of their own (`deno task serve`). */
const taskCommands = new Set(["serve", "join"]);

/** The facts about this process that decide how lanchat is typed here. */
export interface RunContext {
  /** True in the compiled binary (`Deno.build.standalone`). */
  standalone: boolean;
  /** `Deno.execPath()`: the binary, or the Deno runtime running main.ts. */
  execPath: string;
  /** The word that runs `execPath` from a shell: a name PATH finds, or null when none does. */
  nameOnPath: string | null;
  /** main.ts, as a file path, or a URL when it was not loaded from a file. */
  mainScript: string;
  /** The working folder. */
  cwd: string;
  /** `Deno.version.deno`, for the npx form. */
  denoVersion: string;
}

/**
 * The command line that runs `lanchat SUBCOMMAND ARGS...` in `context`
 * (args are used as given: quote them beforehand with {@link shellWord}
 * when they may hold spaces).
 *
 * @example
 * commandLine(context, "join", ["192.168.1.20:9000"]);
 * // "lanchat join 192.168.1.20:9000" (binary), "deno task join 192.168.1.20:9000" (clone)
 */
export function commandLine(context: RunContext, subcommand: string, args: string[] = []): string {
  return [...programWords(context, subcommand), subcommand, ...args].join(" ");
}

/** The words before SUBCOMMAND: `lanchat`, `deno task`, `deno run -A main.ts`, ... */
function programWords(context: RunContext, subcommand: string): string[] {
  if (context.standalone) return [context.nameOnPath ?? shellWord(context.execPath)];
  const runtime = /[\\/]_npx[\\/]/.test(context.execPath)
    ? ["npx", "-y", `deno@${context.denoVersion}`]
    : [context.nameOnPath ?? shellWord(context.execPath)];
  if (/^[a-z][a-z0-9+.-]*:/i.test(context.mainScript) && !isAbsolute(context.mainScript)) {
    return [...runtime, "run", "-A", shellWord(context.mainScript)]; // main.ts from a URL
  }
  const clone = dirname(context.mainScript);
  const cwdInClone = relative(clone, context.cwd);
  const insideClone = cwdInClone === "" ||
    (cwdInClone !== ".." && !cwdInClone.startsWith(`..${sep}`) && !isAbsolute(cwdInClone));
  if (taskCommands.has(subcommand)) {
    // deno finds deno.json in the working folder or above it; elsewhere it must be told.
    return insideClone
      ? [...runtime, "task"]
      : [...runtime, "task", "--config", shellWord(join(clone, "deno.json"))];
  }
  const script = relative(context.cwd, context.mainScript);
  return [...runtime, "run", "-A", shellWord(insideClone ? script : context.mainScript)];
}

let current: RunContext | undefined;

/** The facts of this process, read once (PATH lookups need --allow-env and --allow-read). */
export function runContext(): RunContext {
  if (current !== undefined) return current;
  const execPath = Deno.execPath();
  const standalone = Deno.build.standalone;
  const mainUrl = new URL("../../main.ts", import.meta.url);
  current = {
    standalone,
    execPath,
    nameOnPath: nameOnPath(execPath, standalone ? basename(execPath) : "deno"),
    mainScript: mainUrl.protocol === "file:" ? fileURLToPath(mainUrl) : mainUrl.href,
    cwd: safely(() => Deno.cwd()) ?? ".",
    denoVersion: Deno.version.deno,
  };
  return current;
}

/**
 * `lanchat SUBCOMMAND ARGS...` as it is typed on this machine: the one
 * function every suggested command goes through.
 *
 * @example
 * lanchatCommand("join", "192.168.1.20:9000"); // "deno task join 192.168.1.20:9000" from a clone
 */
export function lanchatCommand(subcommand: string, ...args: string[]): string {
  return commandLine(runContext(), subcommand, args);
}

/** A function that writes `lanchat SUBCOMMAND ARGS...` for the person reading. */
export type CommandFormat = (subcommand: string, ...args: string[]) => string;

/**
 * The command lines as the documentation writes them (`lanchat join ...`):
 * the default of library functions that suggest commands, so they stay pure;
 * the CLI passes {@link lanchatCommand}.
 */
export const documentedCommand: CommandFormat = (subcommand, ...args) =>
  ["lanchat", subcommand, ...args].join(" ");

/**
 * `name` when looking it up on PATH finds `execPath` itself (symlinks
 * followed, `.exe` tried on Windows), with `.exe` dropped; else null.
 */
function nameOnPath(execPath: string, name: string): string | null {
  const self = safely(() => Deno.realPathSync(execPath));
  const path = safely(() => Deno.env.get("PATH"));
  if (self === undefined || path === undefined) return null;
  const windows = Deno.build.os === "windows";
  const bare = windows ? name.replace(/\.exe$/i, "") : name;
  const candidates = windows ? [bare, `${bare}.exe`] : [bare];
  for (const folder of path.split(windows ? ";" : ":")) {
    if (folder === "") continue;
    for (const candidate of candidates) {
      if (safely(() => Deno.realPathSync(join(folder, candidate))) === self) return bare;
    }
    // The first folder that has the name decides, as the shell's lookup does.
    if (candidates.some((candidate) => safely(() => Deno.statSync(join(folder, candidate))))) {
      return null;
    }
  }
  return null;
}

function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined; // Not allowed, not there: the caller falls back to a full path.
  }
}

/**
 * `word` as one POSIX shell word, quoted only when it needs to be.
 *
 * @example
 * shellWord("/tmp/my chat.db"); // "'/tmp/my chat.db'"
 */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
