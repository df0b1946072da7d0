/**
 * Timed commands for `deno task bench --preset files`: a command's wall time
 * from spawn to exit, with stdin closed, output kept, a deadline (SIGKILL)
 * and an abort signal (SIGTERM), so every command the preset runs is bounded.
 * Used by scripts/bench_files.ts and scripts/bench_scp.ts.
 *
 * Owns: running and timing one command, checking a received file's size,
 * flushing written pages between runs. Must not import lib/.
 */

const repoRoot = new URL("../", import.meta.url).pathname;

/** A command's wall time, or why it did not succeed. */
export interface Timed {
  seconds: number;
  /** null when it exited 0 (and the bytes arrived whole). */
  problem: string | null;
  stdout: string;
}

/** How {@link timedCommand} runs a command. */
export interface CommandOptions {
  /** Environment added to this process's. Default none. */
  env?: Record<string, string>;
  /** Default: the repository's root. */
  cwd?: string;
  /** SIGKILL after this long. */
  deadlineMs: number;
  /** SIGTERM when it aborts. */
  signal?: AbortSignal;
  /** Runs it at the lowest CPU priority (`nice -n 19`, which then becomes the command). */
  lowPriority?: boolean;
}

/** Runs `command` with stdin closed; times it from spawn to exit. */
export async function timedCommand(
  command: string,
  args: string[],
  options: CommandOptions,
): Promise<Timed> {
  const started = performance.now();
  const child = new Deno.Command(options.lowPriority === true ? "nice" : command, {
    args: options.lowPriority === true ? ["-n", "19", command, ...args] : args,
    env: options.env,
    cwd: options.cwd ?? repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const signalChild = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    signalChild("SIGKILL");
  }, options.deadlineMs);
  const onAbort = () => signalChild("SIGTERM");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const [status, stdout, stderr] = await Promise.all([
    child.status.then((status) => ({ status, seconds: (performance.now() - started) / 1000 })),
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  clearTimeout(deadline);
  options.signal?.removeEventListener("abort", onAbort);
  const said = lastLine(stderr) || lastLine(stdout);
  return {
    seconds: status.seconds,
    stdout,
    problem: status.status.success
      ? null
      : timedOut
      ? `${command} took over ${Math.round(options.deadlineMs / 1000)} s and was stopped`
      : `${command} exited ${status.status.code}${said === "" ? "" : `: ${said}`}`,
  };
}

/** The last non-empty line of `text`, cut at 300 characters. */
export function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim().slice(0, 300) ?? "";
}

/** `problem` set when `path` is not `bytes` long. */
export async function checkSize(timed: Timed, path: string, bytes: number): Promise<Timed> {
  if (timed.problem !== null) return timed;
  const size = await Deno.stat(path).then((info) => info.size, () => -1);
  return size === bytes ? timed : { ...timed, problem: `${path} has ${size} bytes, not ${bytes}` };
}

/** Flushes written pages so one run's write-back does not slow the next. */
export async function settle(): Promise<void> {
  await timedCommand("sync", [], { deadlineMs: 120_000 }).catch(() => {});
}
