/**
 * Starts a real `lanchat serve` process on 127.0.0.1 for the benchmarks and
 * finds its port; reads a process's CPU and RSS from /proc.
 *
 * Owns: the serve flags every benchmark uses (no web, no discovery, limits
 * raised for thousands of clients from one address, the V8 flags of the
 * binary; the abuse preset keeps lanchat's default limits and may add the
 * web port, discovery and flags of its own). Used by scripts/bench.ts,
 * scripts/bench_peers.ts and scripts/bench_abuse.ts.
 */

/** A running benchmark server. */
export interface BenchServer extends AsyncDisposable {
  readonly pid: number;
  readonly port: number;
  /** The web port, when started with `web: true`; else null. */
  readonly webPort: number | null;
  /** Resolves when the server process has exited (for whatever reason). */
  readonly exited: Promise<Deno.CommandStatus>;
}

/** Options of {@link startLanchatServer}. Every field documents its default. */
export interface BenchServerOptions {
  /**
   * Raise --max-users and --max-connections-per-ip to 20,000, as the fan-out
   * presets need (all their clients connect from 127.0.0.1). Default true;
   * false keeps lanchat's own defaults.
   */
  raisedLimits?: boolean;
  /** Serve the web page on a free port (`--web-port 0`) instead of `--no-web`. Default false. */
  web?: boolean;
  /** Answer LAN discovery on this UDP port instead of `--no-discovery`. Default none. */
  discoveryPort?: number;
  /** More `serve` flags, after the others. Default none. */
  serveArgs?: string[];
  /** Extra environment of the server process (e.g. LANCHAT_PASSWORD). Default none. */
  env?: Record<string, string>;
  /** Called with every line the server prints on stdout after its banner. Default none. */
  onLine?: (line: string) => void;
}

import { v8FlagsArgument } from "./runtime_flags.ts";

const repoRoot = new URL("../", import.meta.url).pathname;

/** Starts `lanchat serve` with `db` (":memory:" or a file path); throws when it does not start. */
export async function startLanchatServer(
  db: string,
  options: BenchServerOptions = {},
): Promise<BenchServer> {
  const web = options.web ?? false;
  // Its own data folder (the server key of a history in memory lives there), not the person's.
  const dataHome = await Deno.makeTempDir({ prefix: "lanchat-bench-data-" });
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      v8FlagsArgument,
      "main.ts",
      "serve",
      ...["--host", "127.0.0.1", "--port", "0", "--quiet"],
      ...(web ? ["--web-port", "0"] : ["--no-web"]),
      ...(options.discoveryPort === undefined
        ? ["--no-discovery"]
        : ["--discovery-port", String(options.discoveryPort)]),
      // Every fan-out bench client connects from 127.0.0.1.
      ...(options.raisedLimits ?? true
        ? ["--max-users", "20000", "--max-connections-per-ip", "20000"]
        : []),
      ...["--db", db],
      ...(options.serveArgs ?? []),
    ],
    env: { XDG_DATA_HOME: dataHome, ...options.env },
    cwd: repoRoot,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    try {
      server.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await server.status;
    await Deno.remove(dataHome, { recursive: true }).catch(() => {});
  };
  let port = 0;
  let webPort = 0;
  const serverLines = lines(server.stdout);
  for (let index = 0; index < 50 && (port === 0 || (web && webPort === 0)); index++) {
    const next = await serverLines.next();
    if (next.done) break;
    const found = Number(next.value.match(/listening on \S+:(\d+)/)?.[1] ?? 0);
    if (/web page:/.test(next.value)) webPort ||= found;
    else port ||= found;
  }
  if (port === 0 || (web && webPort === 0)) {
    await stop();
    throw new Error("lanchat serve did not start");
  }
  void (async () => {
    for await (const line of serverLines) options.onLine?.(line);
  })();
  return {
    pid: server.pid,
    port,
    webPort: web ? webPort : null,
    exited: server.status,
    [Symbol.asyncDispose]: stop,
  };
}

const clockTicks = 100; // USER_HZ on Linux

/** CPU seconds used so far and current/peak RSS of a process, from /proc (Linux). */
export function sampleProcess(
  pid: number,
): { cpuSeconds: number; rssMb: number; peakRssMb: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0);
    return { cpuSeconds, rssMb: kb("VmRSS") / 1024, peakRssMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** The lines of a byte stream. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered !== "") yield buffered;
}
