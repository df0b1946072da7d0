/**
 * The peer comparison of `deno task bench` (preset `peers`): lanchat, ngIRCd
 * and the classic Python design, each driven by the same load generator
 * (`../shared/bench/fanout.mjs` under Node), one after another in one sitting.
 *
 * Owns: starting each peer server on 127.0.0.1, the three scenarios
 * (50 clients at 2 msg/s, 1,000 at 0.2 msg/s, 500 saturated), running
 * fanout.mjs and reading its JSON report, and the comparison table. A peer
 * that is not installed is skipped and said so. Every run is bounded in time.
 */
import { sampleProcess, startLanchatServer } from "./bench_server.ts";
import { textTable } from "./text_table.ts";

/** One scenario's figures for one server. */
export interface PeerRow {
  server: string;
  scenario: string;
  deliveriesPerSecond: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  serverCpuPercent: number | null;
  serverRssMb: number | null;
  /** fanout.mjs found the generator, not the server, to be the limit. */
  generatorBound: boolean;
  /** Why a row has no figures, or what stopped a saturation. */
  note: string;
}

interface Scenario {
  name: string;
  clients: number;
  rate: number;
  saturate: boolean;
}

const scenarios: Scenario[] = [
  { name: "50 clients at 2 msg/s", clients: 50, rate: 2, saturate: false },
  { name: "1,000 clients at 0.2 msg/s", clients: 1000, rate: 0.2, saturate: false },
  { name: "500 clients saturated", clients: 500, rate: 0.5, saturate: true },
];

/** A peer server started for one scenario. */
interface PeerServer extends AsyncDisposable {
  pid: number;
  port: number;
}

interface Peer {
  name: string;
  adapter: string;
  /** Why this peer cannot run here, or null. */
  missing: () => string | null;
  start: () => Promise<PeerServer>;
}

/** How long one fanout.mjs run may take before it is stopped. */
const runDeadlineMs = 8 * 60_000;

/** Runs every scenario against every peer found; `progress` gets a line per step. */
export async function runPeers(
  options: { sharedBench: string; stepSeconds: number; progress: (line: string) => void },
): Promise<PeerRow[]> {
  const fanout = `${options.sharedBench}/fanout.mjs`;
  const rows: PeerRow[] = [];
  const nodeProblem = commandProblem("node", ["--version"], "install Node.js 20 or later");
  const fanoutProblem = exists(fanout) ? null : `no ${fanout} (the shared/ folder beside the repo)`;
  for (const peer of peers(options.sharedBench)) {
    const missing = nodeProblem ?? fanoutProblem ?? peer.missing();
    for (const scenario of scenarios) {
      if (missing !== null) {
        rows.push(emptyRow(peer.name, scenario.name, `skipped: ${missing}`));
        continue;
      }
      options.progress(`peers: ${peer.name}, ${scenario.name}`);
      await using server = await peer.start();
      rows.push(await runFanout(fanout, peer, server, scenario, options.stepSeconds));
    }
    if (missing !== null) options.progress(`peers: ${peer.name} SKIPPED: ${missing}`);
  }
  return rows;
}

/** The comparison as a text table. */
export function peersTable(rows: PeerRow[]): string {
  const header = [
    "server",
    "scenario",
    "deliveries/s",
    "p50 ms",
    "p99 ms",
    "server CPU",
    "RSS",
    "note",
  ];
  const show = (value: number | null, suffix = "") => value === null ? "-" : `${value}${suffix}`;
  const body = rows.map((row) => [
    row.server,
    row.scenario,
    show(row.deliveriesPerSecond) + (row.generatorBound ? "*" : ""),
    show(row.p50Ms),
    show(row.p99Ms),
    show(row.serverCpuPercent, "%"),
    show(row.serverRssMb, " MB"),
    row.note,
  ]);
  return textTable(header, body);
}

function peers(sharedBench: string): Peer[] {
  const ngircd = ["/usr/sbin/ngircd", "/usr/bin/ngircd"].find(exists) ?? null;
  return [
    {
      name: "lanchat",
      adapter: "lanchat",
      missing: () => null,
      start: () => startLanchatServer(":memory:"),
    },
    {
      name: "ngIRCd",
      adapter: "irc",
      missing: () => ngircd === null ? "ngIRCd is not installed (apt-get install ngircd)" : null,
      // ngircd.conf listens on 127.0.0.1:17002.
      start: () =>
        startProcess(ngircd!, ["--nodaemon", "--config", `${sharedBench}/ngircd.conf`], 17002),
    },
    {
      name: "Python seed",
      adapter: "seed",
      missing: () => commandProblem("python3", ["--version"], "install python3"),
      start: async () => {
        const port = freePort();
        return await startProcess(
          "python3",
          [`${sharedBench}/seed_server.py`, "--host", "127.0.0.1", "--port", String(port)],
          port,
        );
      },
    },
  ];
}

async function runFanout(
  fanout: string,
  peer: Peer,
  server: PeerServer,
  scenario: Scenario,
  stepSeconds: number,
): Promise<PeerRow> {
  const out = await Deno.makeTempFile({ prefix: "lanchat-peers-", suffix: ".json" });
  try {
    const args = [
      fanout,
      ...["--port", String(server.port), "--adapter", peer.adapter],
      ...["--clients", String(scenario.clients), "--rate", String(scenario.rate)],
      ...["--server-pid", String(server.pid), "--out", out],
      ...(scenario.saturate
        ? ["--saturate", "--step-duration", String(stepSeconds)]
        : ["--duration", String(stepSeconds * 2)]),
    ];
    const child = new Deno.Command("node", { args, stdout: "null", stderr: "null" }).spawn();
    const deadline = setTimeout(() => child.kill("SIGKILL"), runDeadlineMs);
    const status = await child.status;
    clearTimeout(deadline);
    let report: FanoutReport;
    try {
      report = JSON.parse(await Deno.readTextFile(out));
    } catch {
      return emptyRow(peer.name, scenario.name, `fanout.mjs failed (exit ${status.code})`);
    }
    return scenario.saturate
      ? saturationRow(peer.name, scenario.name, report)
      : stepRow(peer.name, scenario.name, report.runs?.[0]);
  } finally {
    await Deno.remove(out);
  }
}

/** The parts of fanout.mjs's JSON report read here. */
interface FanoutReport {
  runs?: FanoutStep[];
  saturate?: {
    held_step: number | null;
    held_deliveries_per_s: number | null;
    stop_reason: string | null;
  };
}

interface FanoutStep {
  step: number;
  deliveries_per_s: number;
  delivery_ratio: number | null;
  latency_ms: { p50: number | null; p99: number | null };
  resources?: { server_cpu_pct?: number | null; server_rss_peak_mb?: number | null };
  generator_bound?: boolean;
}

function stepRow(server: string, scenario: string, step: FanoutStep | undefined): PeerRow {
  if (step === undefined) return emptyRow(server, scenario, "no step in the report");
  const lost = step.delivery_ratio === null ? 1 : 1 - step.delivery_ratio;
  return {
    server,
    scenario,
    deliveriesPerSecond: Math.round(step.deliveries_per_s),
    p50Ms: step.latency_ms.p50,
    p99Ms: step.latency_ms.p99,
    serverCpuPercent: step.resources?.server_cpu_pct ?? null,
    serverRssMb: step.resources?.server_rss_peak_mb ?? null,
    generatorBound: step.generator_bound ?? false,
    note: lost > 0 ? `lost ${(100 * lost).toFixed(2)}%` : "",
  };
}

function saturationRow(server: string, scenario: string, report: FanoutReport): PeerRow {
  const heldStep = report.saturate?.held_step ?? null;
  const held = report.runs?.find((step) => step.step === heldStep);
  const row = held === undefined
    ? emptyRow(server, scenario, "no step held")
    : { ...stepRow(server, scenario, held), note: "highest rate held" };
  row.note = `${row.note}; stopped: ${report.saturate?.stop_reason ?? "?"}`;
  return row;
}

function emptyRow(server: string, scenario: string, note: string): PeerRow {
  return {
    server,
    scenario,
    deliveriesPerSecond: null,
    p50Ms: null,
    p99Ms: null,
    serverCpuPercent: null,
    serverRssMb: null,
    generatorBound: false,
    note,
  };
}

/** Starts `command` and waits (at most 10 s) until it accepts TCP on 127.0.0.1:`port`. */
async function startProcess(command: string, args: string[], port: number): Promise<PeerServer> {
  const child = new Deno.Command(command, { args, stdout: "null", stderr: "null" }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const probe = await Deno.connect({ hostname: "127.0.0.1", port });
      probe.close();
      if (sampleProcess(child.pid) !== null) {
        return { pid: child.pid, port, [Symbol.asyncDispose]: stop };
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await stop();
  throw new Error(`${command} did not start listening on 127.0.0.1:${port}`);
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Null when `command args` runs and exits 0, else what to do. */
function commandProblem(command: string, args: string[], fix: string): string | null {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success
      ? null
      : `${command} does not run: ${fix}`;
  } catch {
    return `no ${command} on PATH: ${fix}`;
  }
}
