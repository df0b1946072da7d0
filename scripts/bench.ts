/**
 * `deno task bench`: fan-out benchmark of a real `lanchat serve` process,
 * driven by real TCP clients from another process (scripts/bench_load.ts).
 *
 * Owns: the presets, starting and stopping the server for each, sampling its
 * CPU and RSS from /proc, progress on stderr, and the table + JSON report.
 * Everything stays on 127.0.0.1 and every run is bounded in time.
 */
import { Command } from "commander";
import type { StepResult } from "./bench_load.ts";

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
    "comma-separated: chat, burst, saturate, idle10k, persist, or all",
    "all",
  )
  .option("--step-seconds <s>", "seconds per measured step", Number, 6)
  .option("--json <file>", "also write the JSON report to FILE")
  .parse(Deno.args, { from: "user" })
  .opts<{ preset: string; stepSeconds: number; json?: string }>();

const all = presets(flags.stepSeconds);
const wanted = flags.preset === "all" ? all.map((preset) => preset.name) : flags.preset.split(",");
for (const name of wanted) {
  if (!all.some((preset) => preset.name === name)) {
    console.error(
      `unknown preset '${name}'; choose from ${all.map((preset) => preset.name).join(", ")}, all`,
    );
    Deno.exit(2);
  }
}

const repoRoot = new URL("../", import.meta.url).pathname;
const clockTicks = 100; // USER_HZ on Linux

function progress(line: string): void {
  console.error(`[bench ${new Date().toTimeString().slice(0, 8)}] ${line}`);
}

/** CPU seconds used so far and current/peak RSS of a process, from /proc (Linux). */
function sampleProcess(
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

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
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

async function runOne(preset: Preset, run: Run): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-bench-" });
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "main.ts",
      "serve",
      ...["--host", "127.0.0.1", "--port", "0", "--no-web", "--no-discovery", "--quiet"],
      // Every bench client connects from 127.0.0.1.
      ...["--max-users", "20000", "--max-connections-per-ip", "20000"],
      ...["--db", run.db === "memory" ? ":memory:" : `${dir}/bench.db`],
    ],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    let port = 0;
    const serverLines = lines(server.stdout);
    for (let index = 0; index < 50 && port === 0; index++) {
      const next = await serverLines.next();
      if (next.done) break;
      port = Number(next.value.match(/listening on \S+:(\d+)/)?.[1] ?? 0);
    }
    if (port === 0) throw new Error("lanchat serve did not start");
    void (async () => {
      for await (const _ of serverLines) { /* keep draining */ }
    })();
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
    try {
      server.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
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
    String(row.deliveriesPerSecond) + (row.generatorCpu > 0.9 ? "*" : ""),
    `${round(100 * row.loss)}%`,
    String(row.p50Ms),
    String(row.p99Ms),
    String(row.maxMs),
    row.serverCpuPercent === null ? "n/a" : `${row.serverCpuPercent}%`,
    row.serverPeakRssMb === null ? "n/a" : `${row.serverPeakRssMb} MB`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column]!.length))
  );
  const format = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ");
  return [format(header), widths.map((width) => "-".repeat(width)).join("  "), ...body.map(format)]
    .join("\n");
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
console.log(table(rows));
console.log("* the generator, not the server, was the limit (it used over 90% of a core)");
if (summary.persist) console.log(`persist: ${JSON.stringify(summary.persist)}`);
const json = JSON.stringify({ summary, rows });
console.log(json);
if (flags.json !== undefined) await Deno.writeTextFile(flags.json, json + "\n");
