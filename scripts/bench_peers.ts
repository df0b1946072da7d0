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
import { commandProblem, emptyResult, exists, prepareLoadGenerator } from "./bench_native.ts";
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
  /** Only these servers (default all). */
  servers?: string[];
  /** New connections per second while joining (default the generator's 200). */
  connectRate?: number;
}

const quiet = "50 clients at 2 msg/s";
const thousand = "1,000 clients at 0.2 msg/s";
const saturated = "500 clients saturated";
const tenThousand = "10,000 idle clients, 1 msg/s";

const scenarios: Scenario[] = [
  { name: quiet, clients: 50, rate: 2, saturate: false },
  { name: thousand, clients: 1000, rate: 0.2, saturate: false },
  // Starts low (25k deliveries/s) so that a busy machine still holds a step.
  { name: saturated, clients: 500, rate: 0.1, saturate: true },
  // Memory: idle10k's one broadcast a second (the Python seed collapses at 1,000 already).
  {
    name: tenThousand,
    clients: 10_000,
    rate: 0.0001,
    saturate: false,
    servers: ["lanchat", "ngIRCd"],
    connectRate: 2000,
  },
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
      for (const peer of order.filter((peer) => scenario.servers?.includes(peer.name) ?? true)) {
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
          ...(scenario.connectRate === undefined ? {} : { connectRate: scenario.connectRate }),
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
    "RSS idle",
    "RSS",
    "KiB/conn",
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
    show(row.serverIdleRssMb, " MB"),
    show(row.serverRssMb, " MB"),
    show(kibPerConnection(row)),
    row.note,
  ]);
  return textTable(header, body);
}

/** Peak RSS during the run minus RSS before it, per client, in KiB (1 decimal). */
function kibPerConnection(row: PeerRow): number | null {
  if (row.serverRssMb === null || row.serverIdleRssMb === null) return null;
  const clients = scenarios.find((scenario) => scenario.name === row.scenario)?.clients ?? 0;
  if (clients === 0) return null;
  return Math.round((row.serverRssMb - row.serverIdleRssMb) * 1024 / clients * 10) / 10;
}

/**
 * Issue #17's targets, checked per round: each line says the figures and
 * "holds" or "MISSED". Rounds without the figures (a peer missing) are
 * said so.
 */
export function peersTargets(rows: PeerRow[]): string[] {
  const lines: string[] = [];
  const find = (server: string, scenario: string, round: number) =>
    rows.find((row) => row.server === server && row.scenario === scenario && row.round === round);
  const verdict = (ok: boolean) => ok ? "holds" : "MISSED";
  const rounds = [...new Set(rows.map((row) => row.round))].sort();
  for (const round of rounds) {
    const lanchat = (scenario: string) => find("lanchat", scenario, round);
    const ngircd = (scenario: string) => find("ngIRCd", scenario, round);
    const seed = (scenario: string) => find("Python seed", scenario, round);
    const say = (what: string, ok: boolean | null, figures: string) =>
      lines.push(
        `round ${round}: ${what}: ${figures} -> ${ok === null ? "no figures" : verdict(ok)}`,
      );
    {
      const [a, b, c] = [lanchat(saturated), ngircd(saturated), seed(saturated)];
      const ok = a?.deliveriesPerSecond == null || b?.deliveriesPerSecond == null
        ? null
        : a.deliveriesPerSecond >= b.deliveriesPerSecond &&
          (c?.deliveriesPerSecond == null || a.deliveriesPerSecond >= 5 * c.deliveriesPerSecond);
      say(
        "500 saturated >= ngIRCd and >= 5x seed",
        ok,
        `${show(a?.deliveriesPerSecond ?? null)} vs ${show(b?.deliveriesPerSecond ?? null)}, ` +
          `seed ${show(c?.deliveriesPerSecond ?? null)}`,
      );
    }
    {
      const [a, b] = [lanchat(thousand), ngircd(thousand)];
      const ok = a?.p99Ms == null || b?.p99Ms == null || a.maxMs === null
        ? null
        : a.loss === 0 && a.p99Ms <= b.p99Ms && a.maxMs <= 100;
      say(
        "1,000 x 0.2: no loss, p99 <= ngIRCd's, max <= 100 ms",
        ok,
        `p99 ${show(a?.p99Ms ?? null)} vs ${show(b?.p99Ms ?? null)} ms, max ${
          show(a?.maxMs ?? null)
        } ms, loss ${a?.loss ?? "-"}`,
      );
    }
    {
      const [a, b] = [lanchat(quiet), ngircd(quiet)];
      const ok = a?.p99Ms == null || a.serverCpuPercent === null || b?.serverCpuPercent == null
        ? null
        : a.p99Ms <= 3 && a.serverCpuPercent <= 2 * b.serverCpuPercent;
      say(
        "50 x 2: p99 <= 3 ms, CPU <= 2x ngIRCd's",
        ok,
        `p99 ${show(a?.p99Ms ?? null)} ms, CPU ${show(a?.serverCpuPercent ?? null, "%")} vs ${
          show(b?.serverCpuPercent ?? null, "%")
        }`,
      );
    }
    {
      const a = lanchat(thousand);
      const perConnection = a === undefined ? null : kibPerConnection(a);
      say(
        "RSS at 1,000 minus idle <= 20 KiB per connection",
        perConnection === null ? null : perConnection <= 20,
        `${show(perConnection)} KiB`,
      );
      const b = lanchat(tenThousand);
      say(
        "RSS at 10,000 idle <= 300 MB",
        b?.serverRssMb == null ? null : b.serverRssMb <= 300,
        `${show(b?.serverRssMb ?? null, " MB")}`,
      );
    }
  }
  return lines;
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
