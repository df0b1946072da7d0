/**
 * `deno task bench`: fan-out benchmark of a real `lanchat serve` process,
 * driven by real TCP clients from another process (scripts/bench_load.ts).
 *
 * Owns: the presets, starting and stopping the server for each, sampling its
 * CPU and RSS from /proc, progress on stderr, and the table + JSON report.
 * Everything stays on 127.0.0.1 and every run is bounded in time.
 * `--preset abuse` (issue #12's floods) lives in scripts/bench_abuse.ts,
 * `--preset files` (issue #16's transfers against scp) in scripts/bench_files.ts,
 * `--preset features` (issue #17: what a room password and channels cost) in
 * scripts/bench_features.ts.
 */
import { Command } from "commander";
import type { StepResult } from "./bench_load.ts";
import { lines, sampleProcess, startLanchatServer } from "./bench_server.ts";
import { peersRatios, peersTable, peersTargets, runPeers } from "./bench_peers.ts";
import type { PeersReport } from "./bench_peers.ts";
import { textTable } from "./text_table.ts";
import { abuseFloods, abuseTable, abuseVerdicts, runAbuse } from "./bench_abuse.ts";
import type { AbuseRow } from "./bench_abuse.ts";
import { filesHeading, filesNotes, filesTable, runFiles } from "./bench_files.ts";
import type { FilesReport } from "./bench_files.ts";
import { featuresText, runFeatures } from "./bench_features.ts";
import type { FeaturesReport } from "./bench_features.ts";

interface Preset {
  name: string;
  what: string;
  runs: Run[];
}

interface Run {
  label: string;
  clients: number;
  rates: number[];
  stepSeconds: number;
  db: "memory" | "file";
  broadcastOnce?: boolean;
}

/** One row of the report. */
interface Row extends StepResult {
  preset: string;
  label: string;
  serverCpuPercent: number | null;
  serverRssMb: number | null;
  serverPeakRssMb: number | null;
}

const saturateRates = [1, 1.5, 2.25, 3.4, 5, 7.5, 11, 17, 25, 38, 57, 85];

function presets(stepSeconds: number): Preset[] {
  return [
    {
      name: "chat",
      what: "50, 200 and 1,000 clients at 0.2 msg/s each",
      runs: [50, 200, 1000].map((clients) => ({
        label: `${clients} clients`,
        clients,
        rates: [0.2],
        stepSeconds: stepSeconds * 2,
        db: "memory",
      })),
    },
    {
      name: "burst",
      what: "50 clients at 2 msg/s each",
      runs: [{
        label: "50 clients",
        clients: 50,
        rates: [2],
        stepSeconds: stepSeconds * 2,
        db: "memory",
      }],
    },
    {
      name: "saturate",
      what: "500 clients, rate raised until p99 > 200 ms or loss",
      runs: [{
        label: "500 clients",
        clients: 500,
        rates: saturateRates,
        stepSeconds,
        db: "memory",
      }],
    },
    {
      name: "idle10k",
      what: "10,000 connected clients, one broadcast",
      runs: [{
        label: "10,000 clients",
        clients: 10_000,
        rates: [],
        stepSeconds,
        db: "memory",
        broadcastOnce: true,
      }],
    },
    {
      name: "persist",
      what: "saturate again with a database file instead of :memory:",
      runs: [
        {
          label: "500 clients, :memory:",
          clients: 500,
          rates: saturateRates,
          stepSeconds,
          db: "memory",
        },
        {
          label: "500 clients, db file",
          clients: 500,
          rates: saturateRates,
          stepSeconds,
          db: "file",
        },
      ],
    },
  ];
}

const flags = new Command()
  .name("deno task bench")
  .description("Fan-out benchmark: a real lanchat serve process and real TCP clients on 127.0.0.1.")
  .option(
    "--preset <names>",
    "comma-separated: chat, burst, saturate, idle10k, persist, peers (lanchat, ngIRCd and " +
      "the Python design, driven by ../shared/bench/fanout_native on CPU 1 with the " +
      "server on CPU 0, else fanout.mjs: 50 x 2 msg/s, 1,000 x 0.2, 500 saturated, 10,000 " +
      "idle with RSS per connection; two alternating rounds, with ratios and issue #17's " +
      "targets; about 13 minutes), or all " +
      "(all of these); and abuse (not in all: issue #12's floods, each against a fresh " +
      "server with default limits, while a client pings it every 50 ms; about 3 minutes); " +
      "and files (not in all: issue #16's 1 GiB upload and download, plain and with a room " +
      "password, against scp to a private sshd, then chat latency of 50 clients while two " +
      "transfers run; installs openssh-server when missing; about 3 minutes); and features " +
      "(not in all: issue #17's cost of the features: 500 clients saturated without and with " +
      "a room password, and a 50-member channel on a 50-user and on a 1,000-user server; " +
      "generator on CPU 1, server on CPU 0; two alternating rounds; about 6 minutes, 3 with " +
      "--step-seconds 3)",
    "all",
  )
  .option("--step-seconds <s>", "seconds per measured step", Number, 6)
  .option("--abuse-seconds <s>", "abuse: seconds each flood runs", Number, 10)
  .option(
    "--abuse-floods <names>",
    `abuse: comma-separated floods to run (${abuseFloods.map((flood) => flood.name).join(", ")})`,
  )
  .option("--file-mib <n>", "files: size of the random test file in MiB", Number, 1024)
  .option("--file-rounds <n>", "files: rounds of every transfer, tools alternating", Number, 3)
  .option(
    "--shared-bench <dir>",
    "folder of fanout_native/, fanout.mjs, ngircd.conf and seed_server.py",
    new URL("../../shared/bench", import.meta.url).pathname,
  )
  .option("--json <file>", "also write the JSON report to FILE")
  .parse(Deno.args, { from: "user" })
  .opts<{
    preset: string;
    stepSeconds: number;
    abuseSeconds: number;
    abuseFloods?: string;
    fileMib: number;
    fileRounds: number;
    sharedBench: string;
    json?: string;
  }>();

const all = presets(flags.stepSeconds);
const presetNames = [...all.map((preset) => preset.name), "peers"];
const wanted = flags.preset === "all" ? presetNames : flags.preset.split(",");
for (const name of wanted) {
  if (
    !presetNames.includes(name) && name !== "abuse" && name !== "files" && name !== "features"
  ) {
    console.error(
      `unknown preset '${name}'; choose from ${
        presetNames.join(", ")
      }, abuse, files, features, all`,
    );
    Deno.exit(2);
  }
}
if (
  !(Number.isSafeInteger(flags.fileMib) && flags.fileMib > 0) ||
  !(Number.isSafeInteger(flags.fileRounds) && flags.fileRounds > 0)
) {
  console.error("--file-mib and --file-rounds take a whole number above 0");
  Deno.exit(2);
}
const floodNames = abuseFloods.map((flood) => flood.name);
const wantedFloods = flags.abuseFloods?.split(",") ?? floodNames;
for (const name of wantedFloods) {
  if (!floodNames.includes(name)) {
    console.error(`unknown flood '${name}'; choose from ${floodNames.join(", ")}`);
    Deno.exit(2);
  }
}

const repoRoot = new URL("../", import.meta.url).pathname;

function progress(line: string): void {
  console.error(`[bench ${new Date().toTimeString().slice(0, 8)}] ${line}`);
}

async function runOne(preset: Preset, run: Run): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-bench-" });
  try {
    await using server = await startLanchatServer(
      run.db === "memory" ? ":memory:" : `${dir}/bench.db`,
    );
    const port = server.port;
    progress(
      `${preset.name}: ${run.label} against lanchat serve (pid ${server.pid}, port ${port})`,
    );

    const generator = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-env",
        "scripts/bench_load.ts",
        ...["--port", String(port), "--clients", String(run.clients)],
        ...["--rates", run.rates.join(",") || "0", "--step-seconds", String(run.stepSeconds)],
        ...(run.broadcastOnce ? ["--broadcast-once"] : []),
      ],
      cwd: repoRoot,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stepSamples = new Map<
      number,
      { start: ReturnType<typeof sampleProcess>; wall: number }
    >();
    const serverFigures = new Map<
      number,
      Pick<Row, "serverCpuPercent" | "serverRssMb" | "serverPeakRssMb">
    >();
    const events = (async () => {
      for await (const line of lines(generator.stderr)) {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line);
        } catch {
          progress(`generator: ${line}`);
          continue;
        }
        const step = Number(event.step ?? 0);
        if (event.event === "step-start") {
          stepSamples.set(step, { start: sampleProcess(server.pid), wall: performance.now() });
          progress(`  step ${step}: ${event.clients} clients at ${event.rate} msg/s each`);
        } else if (event.event === "step-end") {
          const begin = stepSamples.get(step);
          const end = sampleProcess(server.pid);
          serverFigures.set(step, {
            serverCpuPercent: begin?.start && end
              ? round(
                100 * (end.cpuSeconds - begin.start.cpuSeconds) /
                  ((performance.now() - begin.wall) / 1000),
              )
              : null,
            serverRssMb: end ? round(end.rssMb) : null,
            serverPeakRssMb: end ? round(end.peakRssMb) : null,
          });
        } else if (event.event === "progress" && event.phase === "join") {
          progress(`  joined ${event.joined} of ${event.of}`);
        } else if (event.event === "step-result") {
          progress(
            `  step ${step}: ${event.deliveriesPerSecond} deliveries/s, p99 ${event.p99Ms} ms, ` +
              `loss ${round(100 * Number(event.loss))}%`,
          );
        } else if (event.event === "server-error" || event.event === "error") {
          progress(`  ${JSON.stringify(event)}`);
        }
      }
    })();
    const [output, status] = await Promise.all([
      new Response(generator.stdout).text(),
      generator.status,
    ]);
    await events;
    if (!status.success) throw new Error(`the load generator failed (exit ${status.code})`);
    const report = JSON.parse(output) as { results: StepResult[] };
    return report.results.map((result) => ({
      preset: preset.name,
      label: run.label,
      ...result,
      ...(serverFigures.get(result.step) ??
        { serverCpuPercent: null, serverRssMb: null, serverPeakRssMb: null }),
    }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The generator used over 90% of a core: it, not the server, was the limit. */
function generatorBound(row: Row): boolean {
  return row.generatorCpu > 0.9;
}

function table(rows: Row[]): string {
  const header = [
    "preset",
    "run",
    "rate/client",
    "deliveries/s",
    "loss",
    "p50 ms",
    "p99 ms",
    "max ms",
    "server CPU",
    "server RSS",
  ];
  const body = rows.map((row) => [
    row.preset,
    row.label,
    String(row.ratePerClient),
    String(row.deliveriesPerSecond) + (generatorBound(row) ? "*" : ""),
    `${round(100 * row.loss)}%`,
    String(row.p50Ms),
    String(row.p99Ms),
    String(row.maxMs),
    row.serverCpuPercent === null ? "n/a" : `${row.serverCpuPercent}%`,
    row.serverPeakRssMb === null ? "n/a" : `${row.serverPeakRssMb} MB`,
  ]);
  return textTable(header, body);
}

const machine =
  `${navigator.hardwareConcurrency} cores, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
progress(`machine: ${machine}; presets: ${wanted.join(", ")}`);
const rows: Row[] = [];
for (const preset of all.filter((preset) => wanted.includes(preset.name))) {
  progress(`${preset.name}: ${preset.what}`);
  for (const run of preset.runs) rows.push(...await runOne(preset, run));
}
const saturation = (label: string) =>
  Math.max(
    0,
    ...rows.filter((row) => row.label === label && row.p99Ms <= 200 && row.loss < 0.01)
      .map((row) => row.deliveriesPerSecond),
  );
const summary: Record<string, unknown> = { machine };
if (wanted.includes("persist")) {
  const memory = saturation("500 clients, :memory:"), file = saturation("500 clients, db file");
  summary.persist = {
    memory,
    file,
    costPercent: memory === 0 ? null : round(100 * (1 - file / memory)),
  };
}
let peers: PeersReport | null = null;
if (wanted.includes("peers")) {
  progress("peers: lanchat, ngIRCd and the Python design, same generator, two alternating rounds");
  peers = await runPeers({
    sharedBench: flags.sharedBench,
    stepSeconds: flags.stepSeconds,
    progress,
  });
}
let abuseRows: AbuseRow[] = [];
if (wanted.includes("abuse")) {
  progress(
    `abuse: ${wantedFloods.length} floods of ${flags.abuseSeconds} s, each against a fresh ` +
      "lanchat serve with default limits, pinged every 50 ms",
  );
  abuseRows = await runAbuse({ seconds: flags.abuseSeconds, floods: wantedFloods, progress });
}
let filesReport: FilesReport | null = null;
if (wanted.includes("files")) {
  progress(
    `files: ${flags.fileMib} MiB up and down by scp and lanchat (plain, password), ` +
      `${flags.fileRounds} rounds; then chat latency while two transfers run`,
  );
  filesReport = await runFiles({
    fileMib: flags.fileMib,
    rounds: flags.fileRounds,
    chatSeconds: flags.stepSeconds * 2,
    progress,
  });
}
let featuresReport: FeaturesReport | null = null;
if (wanted.includes("features")) {
  progress(
    "features: 500 clients saturated without and with a room password; a 50-member channel " +
      "on a 50-user and a 1,000-user server; two alternating rounds",
  );
  featuresReport = await runFeatures({ stepSeconds: flags.stepSeconds, progress });
}
if (rows.length > 0) {
  console.log(table(rows));
  if (rows.some(generatorBound)) {
    console.log("* the generator, not the server, was the limit (it used over 90% of a core)");
  }
}
if (summary.persist) console.log(`persist: ${JSON.stringify(summary.persist)}`);
if (peers !== null) {
  console.log(`\npeers, one sitting, load generator: ${peers.generator}`);
  console.log(peersTable(peers.rows));
  if (peers.rows.some((row) => row.generatorBound)) {
    console.log("* the generator, not the server, was the limit (a lower bound)");
  }
  console.log(
    "\nlanchat / peer (deliveries/s: above 1 is better; p99, max, CPU: below 1 is better):",
  );
  console.log(peersRatios(peers.rows));
  console.log("\nissue #17's targets (every round must hold):");
  for (const line of peersTargets(peers.rows)) console.log(`  ${line}`);
}
if (abuseRows.length > 0) {
  console.log(
    `\nabuse, issue #12's floods (${flags.abuseSeconds} s each; lanchat's default limits ` +
      "unless the row says otherwise):",
  );
  console.log(abuseTable(abuseRows));
  for (const line of abuseVerdicts(abuseRows)) console.log(line);
}
if (filesReport !== null) {
  console.log(`\n${filesHeading()}`);
  console.log(filesTable(filesReport));
  for (const line of filesNotes(filesReport)) console.log(line);
}
if (featuresReport !== null) console.log(`\n${featuresText(featuresReport)}`);
const json = JSON.stringify({
  summary,
  rows,
  ...(peers !== null ? { peers } : {}),
  ...(abuseRows.length > 0 ? { abuse: abuseRows } : {}),
  ...(filesReport !== null ? { files: filesReport } : {}),
  ...(featuresReport !== null ? { features: featuresReport } : {}),
});
console.log(json);
if (flags.json !== undefined) await Deno.writeTextFile(flags.json, json + "\n");
