/**
 * The fan-out load generator of the peer benchmarks: the native one
 * (`../shared/bench/fanout_native/`, C) when it builds here, else
 * `../shared/bench/fanout.mjs` under Node, with the reason said loudly.
 *
 * Owns: building fanout_native into a temp folder (never into ../shared),
 * pinning the server to CPU 0 and the generator to CPU 1 with `taskset` where
 * that works, running one generator against a server on 127.0.0.1 within a
 * time limit, and reading its JSON report (both tools write the same field
 * names) into {@link LoadResult}. Must not import the presets or the server
 * starters: it only gets a port, an adapter name and a server PID.
 */

/** The CPU the server is pinned to, and the one the generator is pinned to. */
export const serverCpu = 0;
export const generatorCpu = 1;

/** The generator chosen for a sitting. Dispose it to remove the build folder. */
export interface LoadGenerator extends AsyncDisposable {
  /** "native" (fanout_native) or "mjs" (fanout.mjs under Node). */
  readonly kind: "native" | "mjs";
  /** Whether the server and the generator are pinned to different cores. */
  readonly pinned: boolean;
  /** For the report: "native (pinned cores 0/1)", "fanout.mjs (native unavailable: ...)". */
  readonly description: string;
  /** Why no generator can run here (no Node and no native build), or null. */
  readonly problem: string | null;
  /** Runs the generator once against a server that is already listening. */
  run(run: LoadRun): Promise<LoadResult>;
}

/** One load run: a fixed rate for a while, or a saturation ramp. */
export interface LoadRun {
  port: number;
  /** "lanchat", "irc" or "seed" (the generator's adapters). */
  adapter: string;
  clients: number;
  /** Messages per second per client (the start rate when saturating). */
  rate: number;
  /** Sampled for CPU and RSS from /proc, and pinned to {@link serverCpu}. */
  serverPid: number;
  /** Send window in seconds; with `saturate`, the window of each step. */
  seconds: number;
  saturate: boolean;
  /** New connections per second while the clients join. Default the generator's (200). */
  connectRate?: number;
}

/** The figures of one run (for a saturation, of the highest step that held). */
export interface LoadResult {
  deliveriesPerSecond: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Share of expected deliveries that never arrived, 0..1. */
  loss: number | null;
  serverCpuPercent: number | null;
  serverRssMb: number | null;
  /** The server's RSS just before the generator connected (MB). */
  serverIdleRssMb: number | null;
  /** The generator, not the server, was the limit. */
  generatorBound: boolean;
  /** Why there are no figures, or what stopped a saturation; "" otherwise. */
  note: string;
}

/** How long one generator run may take before it is stopped. */
const runDeadlineMs = 8 * 60_000;

/**
 * Picks the generator for this sitting: builds fanout_native from
 * `sharedBench`/fanout_native into a temp folder, or falls back to fanout.mjs.
 */
export async function prepareLoadGenerator(
  sharedBench: string,
  progress: (line: string) => void,
): Promise<LoadGenerator> {
  const notPinned = pinningProblem();
  const pinned = notPinned === null;
  const pinNote = pinned ? "pinned cores 0/1" : `not pinned: ${notPinned}`;
  const buildDir = await Deno.makeTempDir({ prefix: "lanchat-fanout-native-" });
  const removeBuild = () => Deno.remove(buildDir, { recursive: true }).catch(() => {});
  const built = await buildNative(`${sharedBench}/fanout_native`, buildDir);
  const fanoutMjs = `${sharedBench}/fanout.mjs`;
  let kind: "native" | "mjs";
  let description: string;
  let problem: string | null = null;
  if (built.binary !== null) {
    kind = "native";
    description = `native (${pinNote})`;
  } else {
    kind = "mjs";
    description = `fanout.mjs (native unavailable: ${built.problem}; ${pinNote})`;
    progress("!".repeat(72));
    progress(`!! NATIVE LOAD GENERATOR UNAVAILABLE: ${built.problem}`);
    progress("!! falling back to fanout.mjs under Node: its own CPU may be the limit,");
    progress("!! so figures are lower bounds and latencies include its lag");
    progress("!".repeat(72));
    problem = commandProblem("node", ["--version"], "install Node.js 20 or later") ??
      (exists(fanoutMjs) ? null : `no ${fanoutMjs} (the shared/ folder beside the repo)`);
  }
  const load = loadAverage();
  if (load > 1) {
    progress(
      `!! load average ${load} before the sitting: other processes share the cores, ` +
        "so compare only within this sitting",
    );
  }
  return {
    kind,
    pinned,
    description,
    problem,
    run: (run) => runGenerator(kind === "native" ? built.binary! : null, fanoutMjs, pinned, run),
    [Symbol.asyncDispose]: removeBuild,
  };
}

/** Builds fanout_native's copied sources in `buildDir`; the binary's path or why not. */
async function buildNative(
  sourceDir: string,
  buildDir: string,
): Promise<{ binary: string; problem: null } | { binary: null; problem: string }> {
  try {
    await Deno.copyFile(`${sourceDir}/fanout.c`, `${buildDir}/fanout.c`);
    await Deno.copyFile(`${sourceDir}/Makefile`, `${buildDir}/Makefile`);
  } catch (error) {
    return { binary: null, problem: `cannot copy ${sourceDir}: ${(error as Error).message}` };
  }
  const binary = `${buildDir}/fanout`;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("make", {
      args: ["-C", buildDir, "fanout"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch {
    return { binary: null, problem: "no make on PATH (apt-get install build-essential)" };
  }
  if (!output.success || !exists(binary)) {
    const errors = new TextDecoder().decode(output.stderr).trim().split("\n");
    const why = errors.find((line) => /error/i.test(line)) ?? errors.at(-1) ?? "";
    return { binary: null, problem: `make failed (exit ${output.code}): ${why}` };
  }
  return { binary, problem: null };
}

/** Null when this process can pin children to the two CPUs with taskset, else why not. */
export function pinningProblem(): string | null {
  if (navigator.hardwareConcurrency < 2) return "fewer than 2 CPUs";
  for (const cpu of [serverCpu, generatorCpu]) {
    const problem = commandProblem(
      "taskset",
      ["-c", String(cpu), "true"],
      "install util-linux for taskset",
    );
    if (problem !== null) return problem;
  }
  return null;
}

/** Pins every thread of a running process to `cpu`; false when taskset refused. */
export async function pinProcess(pid: number, cpu: number): Promise<boolean> {
  try {
    const output = await new Deno.Command("taskset", {
      args: ["-a", "-p", "-c", String(cpu), String(pid)],
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false;
  }
}

async function runGenerator(
  nativeBinary: string | null,
  fanoutMjs: string,
  pinned: boolean,
  run: LoadRun,
): Promise<LoadResult> {
  const tool = nativeBinary === null ? "fanout.mjs" : "fanout_native";
  if (pinned && !await pinProcess(run.serverPid, serverCpu)) {
    return emptyResult(`taskset could not pin the server (pid ${run.serverPid}) to CPU 0`);
  }
  const idleRssMb = residentMb(run.serverPid);
  const out = await Deno.makeTempFile({ prefix: "lanchat-peers-", suffix: ".json" });
  try {
    const common = [
      ...["--port", String(run.port), "--adapter", run.adapter],
      ...["--clients", String(run.clients), "--rate", String(run.rate)],
      ...["--server-pid", String(run.serverPid), "--out", out],
      ...(run.saturate
        ? ["--saturate", "--step-duration", String(run.seconds)]
        : ["--duration", String(run.seconds)]),
      ...(run.connectRate === undefined ? [] : ["--connect-rate", String(run.connectRate)]),
    ];
    const [command, args] = nativeBinary === null
      ? ["node", [fanoutMjs, ...common]]
      : [nativeBinary, [
        ...common,
        ...(pinned ? ["--cpu", String(generatorCpu)] : []),
        ...["--max-wall", String(Math.floor(runDeadlineMs / 1000) - 60)],
      ]];
    // fanout.mjs cannot pin itself: taskset starts it on the generator's CPU.
    const pinnedCommand = pinned && nativeBinary === null
      ? ["taskset", ["-c", String(generatorCpu), command, ...args]] as const
      : [command, args] as const;
    const child = new Deno.Command(pinnedCommand[0], {
      args: [...pinnedCommand[1]],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const deadline = setTimeout(() => child.kill("SIGKILL"), runDeadlineMs);
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    clearTimeout(deadline);
    let report: FanoutReport;
    try {
      report = JSON.parse(await Deno.readTextFile(out));
    } catch {
      const last = stderr.trim().split("\n").slice(-1)[0] ?? "";
      return emptyResult(`${tool} failed (exit ${status.code}): ${last}`.trim());
    }
    const result = run.saturate ? saturationResult(report) : stepResult(report.runs?.[0]);
    const roundedIdle = idleRssMb === null ? null : Math.round(idleRssMb * 10) / 10;
    return result.deliveriesPerSecond === null
      ? result
      : { ...result, serverIdleRssMb: roundedIdle };
  } finally {
    await Deno.remove(out);
  }
}

/** The parts of the generators' JSON report read here (same names in both tools). */
interface FanoutReport {
  runs?: FanoutStep[];
  saturate?: {
    held_step: number | null;
    stop_reason: string | null;
  };
}

interface FanoutStep {
  step: number;
  deliveries_per_s: number;
  delivery_ratio: number | null;
  latency_ms: { p50: number | null; p99: number | null; max: number | null };
  resources?: { server_cpu_pct?: number | null; server_rss_peak_mb?: number | null };
  generator_bound?: boolean;
}

function stepResult(step: FanoutStep | undefined): LoadResult {
  if (step === undefined) return emptyResult("no step in the report");
  const loss = step.delivery_ratio === null ? 1 : Math.max(0, 1 - step.delivery_ratio);
  return {
    deliveriesPerSecond: Math.round(step.deliveries_per_s),
    p50Ms: step.latency_ms.p50,
    p99Ms: step.latency_ms.p99,
    maxMs: step.latency_ms.max,
    loss,
    serverCpuPercent: step.resources?.server_cpu_pct ?? null,
    serverRssMb: step.resources?.server_rss_peak_mb ?? null,
    serverIdleRssMb: null,
    generatorBound: step.generator_bound ?? false,
    note: loss > 0 ? `lost ${(100 * loss).toFixed(2)}%` : "",
  };
}

function saturationResult(report: FanoutReport): LoadResult {
  const heldStep = report.saturate?.held_step ?? null;
  const held = report.runs?.find((step) => step.step === heldStep);
  const result = held === undefined
    ? emptyResult("no step held")
    : { ...stepResult(held), note: "highest rate held" };
  result.note = `${result.note}; stopped: ${report.saturate?.stop_reason ?? "?"}`;
  return result;
}

/** A result without figures, saying why. */
export function emptyResult(note: string): LoadResult {
  return {
    deliveriesPerSecond: null,
    p50Ms: null,
    p99Ms: null,
    maxMs: null,
    loss: null,
    serverCpuPercent: null,
    serverRssMb: null,
    serverIdleRssMb: null,
    generatorBound: false,
    note,
  };
}

/** A process's resident memory (VmRSS) in MB from /proc (Linux), or null. */
function residentMb(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kilobytes = status.match(/VmRSS:\s+(\d+) kB/)?.[1];
    return kilobytes === undefined ? null : Number(kilobytes) / 1024;
  } catch {
    return null;
  }
}

/** The 1-minute load average from /proc (Linux), or 0 when unknown. */
function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]) || 0;
  } catch {
    return 0;
  }
}

/** Whether `path` exists (any kind of file). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Null when `command args` runs and exits 0, else what to do. */
export function commandProblem(command: string, args: string[], fix: string): string | null {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success
      ? null
      : `${command} does not run: ${fix}`;
  } catch {
    return `no ${command} on PATH: ${fix}`;
  }
}
