/**
 * The peer comparison of `deno task bench` (preset `peers`): lanchat, ngIRCd
 * and the classic Python design, each driven by the same load generator
 * (scripts/bench_native.ts: fanout_native pinned on its own core, else
 * fanout.mjs), in alternating rounds of one sitting.
 *
 * Owns: starting each peer server on 127.0.0.1, the three scenarios
 * (50 clients at 2 msg/s, 1,000 at 0.2 msg/s, 500 saturated), the order of
 * the rounds (A/B/C, then C/B/A), the comparison table and lanchat's ratios
 * to each peer. A peer that is not installed is skipped and said so. Every
 * run is bounded in time. Must not import scripts/bench.ts.
 */
import { sampleProcess, startLanchatServer } from "./bench_server.ts";
import { commandProblem, emptyResult, prepareLoadGenerator } from "./bench_native.ts";
import type { LoadResult } from "./bench_native.ts";
import { textTable } from "./text_table.ts";

/** One scenario's figures for one server in one round. */
export interface PeerRow extends LoadResult {
  round: number;
  server: string;
  scenario: string;
}

/** What `runPeers` measured, and with which generator. */
export interface PeersReport {
  /** "native (pinned cores 0/1)" or "fanout.mjs (native unavailable: ...)". */
  generator: string;
  rows: PeerRow[];
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
  // Starts low (25k deliveries/s) so that a busy machine still holds a step.
  { name: "500 clients saturated", clients: 500, rate: 0.1, saturate: true },
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

/**
 * Runs every scenario against every peer found, `rounds` times (default 2),
 * the peers' order reversed every other round; `progress` gets a line per run.
 */
export async function runPeers(
  options: {
    sharedBench: string;
    stepSeconds: number;
    rounds?: number;
    progress: (line: string) => void;
  },
): Promise<PeersReport> {
  await using generator = await prepareLoadGenerator(options.sharedBench, options.progress);
  options.progress(`peers: load generator: ${generator.description}`);
  const rows: PeerRow[] = [];
  const all = peers(options.sharedBench);
  const missing = new Map(all.map((peer) => [peer.name, generator.problem ?? peer.missing()]));
  for (const [name, why] of missing) {
    if (why !== null) options.progress(`peers: ${name} SKIPPED: ${why}`);
  }
  const rounds = options.rounds ?? 2;
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? all : [...all].reverse();
    for (const scenario of scenarios) {
      for (const peer of order) {
        const why = missing.get(peer.name) ?? null;
        const row = { round, server: peer.name, scenario: scenario.name };
        if (why !== null) {
          rows.push({ ...row, ...emptyResult(`skipped: ${why}`) });
          continue;
        }
        options.progress(`peers: round ${round}/${rounds}, ${peer.name}, ${scenario.name}`);
        await using server = await peer.start();
        const result = await generator.run({
          port: server.port,
          adapter: peer.adapter,
          clients: scenario.clients,
          rate: scenario.rate,
          serverPid: server.pid,
          seconds: scenario.saturate ? options.stepSeconds : options.stepSeconds * 2,
          saturate: scenario.saturate,
        });
        rows.push({ ...row, ...result });
      }
    }
  }
  return { generator: generator.description, rows };
}

const show = (value: number | null, suffix = "") => value === null ? "-" : `${value}${suffix}`;

/** The comparison as a text table, one row per scenario, server and round. */
export function peersTable(rows: PeerRow[]): string {
  const header = [
    "scenario",
    "server",
    "round",
    "deliveries/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "loss",
    "server CPU",
    "RSS",
    "note",
  ];
  const sorted = [...rows].sort((a, b) =>
    scenarios.findIndex((scenario) => scenario.name === a.scenario) -
      scenarios.findIndex((scenario) => scenario.name === b.scenario) ||
    a.server.localeCompare(b.server) || a.round - b.round
  );
  const body = sorted.map((row) => [
    row.scenario,
    row.server,
    String(row.round),
    show(row.deliveriesPerSecond) + (row.generatorBound ? "*" : ""),
    show(row.p50Ms),
    show(row.p99Ms),
    show(row.maxMs),
    row.loss === null ? "-" : `${(100 * row.loss).toFixed(2)}%`,
    show(row.serverCpuPercent, "%"),
    show(row.serverRssMb, " MB"),
    row.note,
  ]);
  return textTable(header, body);
}

/**
 * lanchat's figures divided by each peer's, per scenario and round: deliveries/s
 * (above 1 is better for lanchat), p99, max and server CPU (below 1 is better).
 */
export function peersRatios(rows: PeerRow[]): string {
  const header = ["scenario", "round", "lanchat vs", "deliveries/s", "p99", "max", "server CPU"];
  const ratio = (a: number | null, b: number | null) =>
    a === null || b === null || b === 0 ? "-" : `${(a / b).toFixed(2)}x`;
  const body: string[][] = [];
  for (const lanchat of rows.filter((row) => row.server === "lanchat")) {
    for (
      const peer of rows.filter((row) =>
        row.server !== "lanchat" && row.scenario === lanchat.scenario &&
        row.round === lanchat.round
      )
    ) {
      body.push([
        lanchat.scenario,
        String(lanchat.round),
        peer.server,
        ratio(lanchat.deliveriesPerSecond, peer.deliveriesPerSecond),
        ratio(lanchat.p99Ms, peer.p99Ms),
        ratio(lanchat.maxMs, peer.maxMs),
        ratio(lanchat.serverCpuPercent, peer.serverCpuPercent),
      ]);
    }
  }
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
