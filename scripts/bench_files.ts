/**
 * `deno task bench --preset files` (issue #16): a random file (1 GiB by
 * default) sent to and fetched from 127.0.0.1 by scp, against a private sshd
 * (scripts/bench_scp.ts), and by `lanchat send` / `lanchat get`, against
 * `lanchat serve` plain and with a room password; rounds alternate in one
 * sitting. Then the chat latency of a 50-client room (scripts/bench_load.ts)
 * once without transfers and once while an upload and a download run.
 *
 * Owns: the test file, the rounds, running lanchat from source as a person
 * runs it (`deno run -A main.ts send|get`, each client with its own data
 * folder; the server started by scripts/bench_server.ts), medians and ratios,
 * and the files table with the issue's goals. Must not import lib/: it drives
 * the real CLI and the real scp. Every process it starts is stopped by PID,
 * every temp folder removed, every command bounded in time (scripts/bench_timed.ts);
 * traffic stays on 127.0.0.1.
 */
import { lines, sampleProcess, startLanchatServer } from "./bench_server.ts";
import type { BenchServer } from "./bench_server.ts";
import type { StepResult } from "./bench_load.ts";
import { scpRound, startScpServer } from "./bench_scp.ts";
import type { SshServer } from "./bench_scp.ts";
import { checkSize, lastLine, settle, timedCommand } from "./bench_timed.ts";
import type { CommandOptions, Timed } from "./bench_timed.ts";
import { textTable } from "./text_table.ts";

/** What {@link runFiles} is asked to do. Every field documents its default. */
export interface FilesOptions {
  /** Size of the test file in MiB. Default 1024 (1 GiB). */
  fileMib?: number;
  /** Rounds of every transfer, alternating tools. Default 3. */
  rounds?: number;
  /** Seconds each chat measurement runs. Default 12. */
  chatSeconds?: number;
  /** Messages per second of each of the 50 chat clients. Default 0.2 (the `chat` preset's). */
  chatRate?: number;
  /** Gets a line per step. Default none. */
  progress?: (line: string) => void;
}

/** One tool and direction: its median over the rounds. */
export interface TransferRow {
  tool: "scp" | "lanchat" | "lanchat + password";
  direction: "upload" | "download";
  /** Median MB/s (10^6 bytes a second, of the command's wall time); null when none ran. */
  mbPerSecond: number | null;
  /** MB/s of each round that succeeded, in order. */
  rounds: number[];
  /** mbPerSecond / scp's for the same direction; null without both. */
  ofScp: number | null;
  /** The least share of scp the issue asks for; null for scp itself. */
  goal: number | null;
  note: string;
}

/** One chat measurement. */
export interface ChatRow {
  label: string;
  clients: number;
  ratePerClient: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  loss: number | null;
  /** Transfers that finished during the measurement, e.g. "2 uploads + 3 downloads done". */
  transfers: string;
  /** Share of one core the server used during the measurement. */
  serverCpuPercent: number | null;
  /** Share of one core all processes of the machine used together (200% = two cores busy). */
  machineCpuPercent: number | null;
  note: string;
}

/** Everything the preset measured. */
export interface FilesReport {
  fileBytes: number;
  rounds: number;
  transfers: TransferRow[];
  chat: ChatRow[];
  /** The cipher scp negotiated, null when scp did not run. */
  scpCipher: string | null;
  /** `ssh -V`, null when scp did not run. */
  scpVersion: string | null;
  /** Why scp was not measured, or null. */
  scpSkipped: string | null;
  /** Why lanchat was not measured, or null. */
  lanchatSkipped: string | null;
  /** Seconds `deno run -A main.ts send --help` takes: start-up from source, in every figure. */
  lanchatStartSeconds: number | null;
  /** /proc/loadavg's 1-minute figure at the start and the end: other work on the machine. */
  loadBefore: number | null;
  loadAfter: number | null;
}

/** Goals of issue #16. */
export const filesGoals = { plainOfScp: 0.8, passwordOfScp: 0.5, chatP99Ms: 10 } as const;

const repoRoot = new URL("../", import.meta.url).pathname;
const loopback = "127.0.0.1";
const roomPassword = "bench-files-password-1";
const chatClients = 50;

type Tool = TransferRow["tool"];
type Direction = TransferRow["direction"];

/** Runs the preset; never leaves a process or a temp folder behind. */
export async function runFiles(options: FilesOptions = {}): Promise<FilesReport> {
  const fileMib = options.fileMib ?? 1024;
  const rounds = options.rounds ?? 3;
  const progress = options.progress ?? (() => {});
  const fileBytes = fileMib * 1024 * 1024;
  /** Most time one transfer may take: a minute plus 2 MB/s. */
  const transferDeadlineMs = 60_000 + fileBytes / 2_000;
  const loadBefore = loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "lanchat-bench-files-" });
  const report: FilesReport = {
    fileBytes,
    rounds,
    transfers: [],
    chat: [],
    scpCipher: null,
    scpVersion: null,
    scpSkipped: null,
    lanchatSkipped: null,
    lanchatStartSeconds: null,
    loadBefore,
    loadAfter: null,
  };
  let sshd: SshServer | null = null;
  try {
    const file = `${dir}/random-${fileMib}MiB.bin`;
    progress(`files: writing ${fileMib} MiB of random bytes to ${file}`);
    await writeRandomFile(file, fileBytes);

    const scpServer = await startScpServer(`${dir}/ssh`, progress);
    if ("problem" in scpServer) {
      report.scpSkipped = scpServer.problem;
      progress(`files: SCP SKIPPED, measuring lanchat alone: ${report.scpSkipped}`);
    } else {
      sshd = scpServer;
      report.scpCipher = sshd.cipher;
      report.scpVersion = sshd.version;
      progress(
        `files: sshd pid ${sshd.pid} on ${loopback}:${sshd.port}; scp negotiates ${sshd.cipher}`,
      );
    }
    const lanchat = await lanchatStart();
    report.lanchatSkipped = lanchat.problem;
    report.lanchatStartSeconds = lanchat.startSeconds;
    if (report.lanchatSkipped !== null) {
      progress(`files: LANCHAT SKIPPED: ${report.lanchatSkipped}`);
    }

    const tools: Tool[] = [
      ...(sshd === null ? [] : ["scp" as const]),
      ...(report.lanchatSkipped === null
        ? ["lanchat" as const, "lanchat + password" as const]
        : []),
    ];
    const seconds = new Map<string, number[]>();
    const failures = new Map<string, string>();
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next tool, so no tool always runs first.
      const order = tools.map((_, index) => tools[(index + round) % tools.length]!);
      for (const tool of order) {
        progress(`files: round ${round + 1} of ${rounds}, ${tool}`);
        const results = await (tool === "scp"
          ? scpRound(sshd!, file, `${dir}/scp`, transferDeadlineMs)
          : lanchatRound(tool === "lanchat + password", file, `${dir}/lanchat`, {
            deadlineMs: transferDeadlineMs,
          })).catch((error) => {
            const failed: Timed = { seconds: 0, stdout: "", problem: errorText(error) };
            return { upload: failed, download: failed };
          });
        for (const [direction, result] of Object.entries(results) as [Direction, Timed][]) {
          const key = `${tool} ${direction}`;
          if (result.problem === null) {
            seconds.set(key, [...seconds.get(key) ?? [], result.seconds]);
            progress(`  ${key}: ${megabytesPerSecond(fileBytes, result.seconds)} MB/s`);
          } else {
            failures.set(key, result.problem);
            progress(`  ${key} FAILED: ${result.problem}`);
          }
        }
      }
    }
    report.transfers = transferRows(fileBytes, seconds, failures, report);

    if (report.lanchatSkipped === null) {
      // Long enough for one whole plain transfer, so both run through the measurement.
      const transferSeconds = Math.max(
        ...["upload", "download"].map((direction) =>
          median(seconds.get(`lanchat ${direction}`) ?? []) ?? 0
        ),
      );
      report.chat = await chatRuns({
        file,
        dir: `${dir}/chat`,
        seconds: Math.max(options.chatSeconds ?? 12, Math.ceil(transferSeconds)),
        rate: options.chatRate ?? 0.2,
        deadlineMs: transferDeadlineMs,
        progress,
      });
    }
  } finally {
    if (sshd !== null) await sshd[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  report.loadAfter = loadAverage();
  return report;
}

// ---- the table -------------------------------------------------------------------

/** The line above the table: what was measured, and the issue's goals. */
export function filesHeading(): string {
  const share = (goal: number) => `${Math.round(100 * goal)}%`;
  return `files, issue #16, one sitting on 127.0.0.1 (goals: lanchat >= ` +
    `${share(filesGoals.plainOfScp)} of scp plain, >= ${share(filesGoals.passwordOfScp)} with a ` +
    `password; chat p99 < ${filesGoals.chatP99Ms} ms while two transfers run):`;
}

/** The preset's one table: transfers, then chat, each with its goal. */
export function filesTable(report: FilesReport): string {
  const header = ["run", "result", "rounds / detail", "of scp", "goal", "met"];
  const show = (value: number | null, suffix = "") => value === null ? "-" : `${value}${suffix}`;
  const body = report.transfers.map((row) => [
    `${row.tool} ${row.direction}`,
    show(row.mbPerSecond, " MB/s"),
    [row.rounds.join(", "), row.note].filter((part) => part !== "").join("; "),
    row.ofScp === null ? "-" : `${Math.round(100 * row.ofScp)}%`,
    row.goal === null ? "-" : `>= ${Math.round(100 * row.goal)}% of scp`,
    row.goal === null || row.ofScp === null ? "-" : row.ofScp >= row.goal ? "yes" : "NO",
  ]);
  for (const row of report.chat) {
    body.push([
      row.label,
      row.p99Ms === null ? "-" : `p99 ${row.p99Ms} ms`,
      row.p50Ms === null
        ? row.note
        : `p50 ${row.p50Ms}, max ${row.maxMs} ms, loss ${show(percent(row.loss), "%")}, ` +
          `CPU server ${show(row.serverCpuPercent, "%")} machine ` +
          `${show(row.machineCpuPercent, "%")}` +
          (row.transfers === "" ? "" : `; ${row.transfers}`),
      "-",
      `p99 < ${filesGoals.chatP99Ms} ms`,
      row.p99Ms === null ? "-" : row.p99Ms < filesGoals.chatP99Ms ? "yes" : "NO",
    ]);
  }
  return textTable(header, body);
}

/** Lines under the table: how it was measured and what could not run. */
export function filesNotes(report: FilesReport): string[] {
  const notes = [
    `file: ${report.fileBytes / 1024 / 1024} MiB of random bytes; MB/s = 10^6 bytes per second ` +
    `of the command's wall time (start-up, lanchat's SHA-256 included), median of ` +
    `${report.rounds} alternating rounds`,
  ];
  if (report.scpSkipped !== null) notes.push(`scp NOT measured: ${report.scpSkipped}`);
  else {
    notes.push(
      `scp: ${report.scpVersion}, cipher ${report.scpCipher}, SFTP protocol (scp's default ` +
        "since OpenSSH 9.0), to a private sshd on 127.0.0.1",
    );
  }
  if (report.lanchatSkipped !== null) notes.push(`lanchat NOT measured: ${report.lanchatSkipped}`);
  else {
    notes.push(
      `lanchat: deno run -A main.ts send/get from source (start-up ` +
        `${report.lanchatStartSeconds} s, in every figure), a fresh lanchat serve per round; ` +
        `chat: ${chatClients} guests of bench_load.ts in #general of the plain server, the ` +
        "transfer clients (at nice 19, the download into /dev/shm: they stand in for other " +
        "machines) and the generator on the same cores as the server (CPU: share of " +
        `one core; machine = every process together, ${navigator.hardwareConcurrency * 100}% ` +
        "= all cores busy)",
    );
  }
  notes.push(
    `load average (1 min) ${report.loadBefore ?? "?"} before the preset (other work: above ` +
      `~0.5 it shared the cores and the figures are noisy), ${report.loadAfter ?? "?"} at ` +
      "the end (its own processes included)",
  );
  return notes;
}

// ---- rows ---------------------------------------------------------------------------

function transferRows(
  fileBytes: number,
  seconds: Map<string, number[]>,
  failures: Map<string, string>,
  report: FilesReport,
): TransferRow[] {
  const rows: TransferRow[] = [];
  for (const direction of ["upload", "download"] as const) {
    const scp = median(
      (seconds.get(`scp ${direction}`) ?? []).map((s) => megabytesPerSecond(fileBytes, s)),
    );
    for (const tool of ["scp", "lanchat", "lanchat + password"] as const) {
      const rates = (seconds.get(`${tool} ${direction}`) ?? []).map((s) =>
        megabytesPerSecond(fileBytes, s)
      );
      const rate = median(rates);
      const skipped = tool === "scp" ? report.scpSkipped : report.lanchatSkipped;
      rows.push({
        tool,
        direction,
        mbPerSecond: rate === null ? null : round(rate),
        rounds: rates,
        ofScp: rate === null || scp === null || tool === "scp" ? null : rate / scp,
        goal: tool === "scp"
          ? null
          : tool === "lanchat"
          ? filesGoals.plainOfScp
          : filesGoals.passwordOfScp,
        note: skipped !== null
          ? "not measured"
          : failures.has(`${tool} ${direction}`)
          ? `failed: ${failures.get(`${tool} ${direction}`)}`
          : "",
      });
    }
  }
  return rows;
}

// ---- lanchat -------------------------------------------------------------------------

/**
 * Whether `lanchat send` and `lanchat get` exist in this tree (`problem`
 * says why not), and the seconds `deno run -A main.ts send --help` takes
 * once Deno's cache is warm: the start-up every lanchat command's time includes.
 */
async function lanchatStart(): Promise<{ problem: string | null; startSeconds: number | null }> {
  const times: number[] = [];
  for (const command of ["send", "get", "send"]) {
    const help = await timedCommand(Deno.execPath(), ["run", "-A", "main.ts", command, "--help"], {
      deadlineMs: 120_000,
    });
    if (help.problem !== null || !help.stdout.includes(`lanchat ${command}`)) {
      const problem = `\`deno run -A main.ts ${command} --help\` does not show the command ` +
        "(not written yet in this tree?)";
      return { problem, startSeconds: null };
    }
    times.push(help.seconds);
  }
  return { problem: null, startSeconds: Math.round(100 * Math.min(...times)) / 100 };
}

/**
 * A lanchat client of one server: its own data folder (device key, pinned
 * server key) and the nick its account claims.
 */
interface LanchatClient {
  env: Record<string, string>;
  address: string;
  nick: string;
}

async function lanchatClient(
  server: BenchServer,
  dataHome: string,
  options: { password: boolean; nick: string },
): Promise<LanchatClient> {
  await Deno.mkdir(dataHome, { recursive: true });
  return {
    env: {
      XDG_DATA_HOME: dataHome,
      ...(options.password ? { LANCHAT_PASSWORD: roomPassword } : {}),
    },
    address: `${loopback}:${server.port}`,
    nick: options.nick,
  };
}

/**
 * `lanchat send ADDRESS FILE --json --nick NICK`; the file's id is read from
 * its output. A send that moved fewer bytes than the file (a resume) is a problem.
 */
async function lanchatSend(
  client: LanchatClient,
  file: string,
  options: CommandOptions,
): Promise<Timed & { id: number | null }> {
  const sent = await timedCommand(
    Deno.execPath(),
    ["run", "-A", "main.ts", "send", client.address, file, "--json", "--nick", client.nick],
    { ...options, env: client.env },
  );
  const answer = lastJsonObject(sent.stdout);
  const id = Number(answer?.id);
  if (sent.problem !== null) return { ...sent, id: null };
  if (!Number.isSafeInteger(id) || id < 1) {
    return { ...sent, id: null, problem: `no file id in: ${lastLine(sent.stdout)}` };
  }
  return { ...sent, id, problem: wholeTransfer(answer, "bytesSent") };
}

/** `lanchat get ADDRESS ID -o PATH --nick NICK --json`; a resumed get is a problem. */
async function lanchatGet(
  client: LanchatClient,
  id: number,
  path: string,
  options: CommandOptions,
): Promise<Timed> {
  const got = await timedCommand(
    Deno.execPath(),
    [
      ...["run", "-A", "main.ts", "get", client.address, String(id)],
      ...["-o", path, "--nick", client.nick, "--json"],
    ],
    { ...options, env: client.env },
  );
  return got.problem !== null
    ? got
    : { ...got, problem: wholeTransfer(lastJsonObject(got.stdout), "bytesReceived") };
}

/** Null when the answer's `field` (bytes on the wire) is its `size`: the whole file moved. */
function wholeTransfer(answer: Record<string, unknown> | null, field: string): string | null {
  const moved = answer?.[field], size = answer?.size;
  if (typeof moved !== "number" || typeof size !== "number") return null; // Not said: trusted.
  return moved === size ? null : `only ${moved} of ${size} bytes moved (a resume?)`;
}

/** The last line of `stdout` that is a JSON object. */
function lastJsonObject(stdout: string): Record<string, unknown> | null {
  for (const line of stdout.trim().split("\n").reverse()) {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        return value as Record<string, unknown>;
      }
    } catch {
      // Not JSON.
    }
  }
  return null;
}

/** Starts a fresh `lanchat serve` with its files under `dir`. */
async function startFilesServer(dir: string, password: boolean): Promise<BenchServer> {
  await Deno.mkdir(dir, { recursive: true });
  return await startLanchatServer(`${dir}/history.db`, {
    env: password ? { LANCHAT_PASSWORD: roomPassword } : {},
  });
}

/** One lanchat upload and one download of `file` against a fresh server; `dir` is removed after. */
async function lanchatRound(
  password: boolean,
  file: string,
  dir: string,
  options: { deadlineMs: number },
): Promise<Record<Direction, Timed>> {
  const bytes = (await Deno.stat(file)).size;
  try {
    await using server = await startFilesServer(`${dir}/server`, password);
    const client = await lanchatClient(server, `${dir}/client`, { password, nick: "bench" });
    const upload = await lanchatSend(client, file, options);
    await settle();
    if (upload.id === null) {
      return { upload, download: { seconds: 0, stdout: "", problem: "no upload to fetch" } };
    }
    const fetched = `${dir}/fetched.bin`;
    const download = await checkSize(
      await lanchatGet(client, upload.id, fetched, options),
      fetched,
      bytes,
    );
    await Deno.remove(fetched).catch(() => {});
    await settle();
    return { upload, download };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

// ---- chat latency during transfers ------------------------------------------------------

interface ChatOptions {
  file: string;
  dir: string;
  seconds: number;
  rate: number;
  deadlineMs: number;
  progress: (line: string) => void;
}

/** A file path in /dev/shm for the download of the chat run, or null without it. */
async function memoryFolder(): Promise<string | null> {
  try {
    if (!(await Deno.stat("/dev/shm")).isDirectory) return null;
  } catch {
    return null;
  }
  return `/dev/shm/lanchat-bench-${crypto.randomUUID()}.bin`;
}

/** The 50-client room on a fresh plain server: without transfers, then with two running. */
async function chatRuns(options: ChatOptions): Promise<ChatRow[]> {
  const { dir, file, progress } = options;
  const label = (what: string) =>
    `chat, ${chatClients} x ${options.rate} msg/s for ${options.seconds} s, ${what}`;
  try {
    await using server = await startFilesServer(`${dir}/server`, false);
    const uploader = await lanchatClient(server, `${dir}/uploader`, {
      password: false,
      nick: "benchup",
    });
    const downloader = await lanchatClient(server, `${dir}/downloader`, {
      password: false,
      nick: "benchdown",
    });
    progress(`files: chat: one upload first, for the download to fetch`);
    const first = await lanchatSend(uploader, file, { deadlineMs: options.deadlineMs });
    if (first.id === null) {
      const note = `the first upload failed: ${first.problem}`;
      return [emptyChatRow(label("no transfers"), options.rate, note)];
    }
    const fileId = first.id;
    await settle();
    progress(`files: chat: ${chatClients} clients at ${options.rate} msg/s, no transfers`);
    const quiet = await chatLoad(server, options, null);
    progress(`files: chat: the same while an upload and a download run over and over`);
    // The transfer clients stand in for people on other machines: with their own cores and disk
    // they take none of the server's. Here they run at the lowest priority, and the download is
    // written to memory (/dev/shm), so that its final sync of 1 GiB does not hold up the server's
    // SQLite commits on the shared disk.
    const fetched = await memoryFolder() ?? `${dir}/fetched.bin`;
    const busy = await chatLoad(server, options, (signal) => {
      const commandOptions = { deadlineMs: options.deadlineMs, signal, lowPriority: true };
      return [
        () => lanchatSend(uploader, file, commandOptions),
        async () => {
          const got = await lanchatGet(downloader, fileId, fetched, commandOptions);
          await Deno.remove(fetched).catch(() => {});
          return got;
        },
      ];
    });
    // The download stopped mid-way at the end of the run leaves its `.part` (in memory, maybe).
    await Deno.remove(`${fetched}.part`).catch(() => {});
    return [
      { ...quiet, label: label("no transfers") },
      { ...busy, label: label("upload + download running") },
    ];
  } catch (error) {
    return [emptyChatRow(label("no transfers"), options.rate, errorText(error))];
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * One bench_load.ts step against `server`. With `transfers`, each of the
 * commands it makes runs again and again from the generator's start to the
 * step's end (the last one is stopped there), on connections of its own.
 */
async function chatLoad(
  server: BenchServer,
  options: ChatOptions,
  transfers: ((signal: AbortSignal) => (() => Promise<Timed>)[]) | null,
): Promise<Omit<ChatRow, "label">> {
  const generator = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      "scripts/bench_load.ts",
      ...["--port", String(server.port), "--clients", String(chatClients)],
      ...["--rates", String(options.rate), "--step-seconds", String(options.seconds)],
      ...["--max-wall-seconds", String(options.seconds + 120)],
    ],
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stopTransfers = new AbortController();
  const finished = { uploads: 0, downloads: 0, failed: [] as string[] };
  // The transfers start with the generator, so an upload is past its hashing
  // (and both are moving bytes) by the time the clients have joined and the step starts.
  const loops = (transfers?.(stopTransfers.signal) ?? []).map((run, index) =>
    (async () => {
      while (!stopTransfers.signal.aborted) {
        const done = await run();
        if (stopTransfers.signal.aborted) break;
        if (done.problem !== null) {
          finished.failed.push(done.problem);
          break;
        }
        if (index === 0) finished.uploads++;
        else finished.downloads++;
      }
    })()
  );
  const cpu = { server: null as number | null, machine: null as number | null };
  let stepStart: { wall: number; server: number | null; machine: number | null } | null = null;
  const events = (async () => {
    for await (const line of lines(generator.stderr)) {
      let event: { event?: string };
      try {
        event = JSON.parse(line);
      } catch {
        options.progress(`  generator: ${line}`);
        continue;
      }
      if (event.event === "step-start") {
        stepStart = {
          wall: performance.now(),
          server: sampleProcess(server.pid)?.cpuSeconds ?? null,
          machine: machineCpuSeconds(),
        };
      } else if (event.event === "step-end") {
        stopTransfers.abort();
        if (stepStart !== null) {
          const seconds = (performance.now() - stepStart.wall) / 1000;
          const share = (before: number | null, after: number | null) =>
            before === null || after === null ? null : round(100 * (after - before) / seconds);
          cpu.server = share(stepStart.server, sampleProcess(server.pid)?.cpuSeconds ?? null);
          cpu.machine = share(stepStart.machine, machineCpuSeconds());
        }
      } else if (event.event === "server-error" || event.event === "error") {
        options.progress(`  generator: ${line}`);
      }
    }
  })();
  try {
    const [output, status] = await Promise.all([
      new Response(generator.stdout).text(),
      generator.status,
    ]);
    await events;
    stopTransfers.abort();
    await Promise.all(loops);
    if (!status.success) {
      return chatFigures(null, options.rate, "", `bench_load.ts exited ${status.code}`, cpu);
    }
    const result = (JSON.parse(output) as { results: StepResult[] }).results[0] ?? null;
    const transferText = transfers === null
      ? ""
      : `${finished.uploads} uploads + ${finished.downloads} downloads done`;
    const note = finished.failed.length === 0 ? "" : `transfer failed: ${finished.failed[0]}`;
    options.progress(
      `  p50 ${result?.p50Ms} ms, p99 ${result?.p99Ms} ms; server CPU ${cpu.server}%, ` +
        `machine ${cpu.machine}%` + (transferText === "" ? "" : `; ${transferText}`) +
        (note === "" ? "" : `; ${note}`),
    );
    return chatFigures(result, options.rate, transferText, note, cpu);
  } finally {
    stopTransfers.abort();
    try {
      generator.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await generator.status;
    await Promise.all(loops);
  }
}

function chatFigures(
  result: StepResult | null,
  rate: number,
  transfers: string,
  note: string,
  cpu: { server: number | null; machine: number | null } = { server: null, machine: null },
): Omit<ChatRow, "label"> {
  return {
    clients: chatClients,
    ratePerClient: rate,
    p50Ms: result?.p50Ms ?? null,
    p99Ms: result?.p99Ms ?? null,
    maxMs: result?.maxMs ?? null,
    loss: result?.loss ?? null,
    transfers,
    serverCpuPercent: cpu.server,
    machineCpuPercent: cpu.machine,
    note: result === null && note === "" ? "no result" : note,
  };
}

function emptyChatRow(label: string, rate: number, note: string): ChatRow {
  return { label, ...chatFigures(null, rate, "", note) };
}

// ---- small helpers ---------------------------------------------------------------------

/** Writes `bytes` random bytes to `path` (random, so nothing on the way can compress them). */
async function writeRandomFile(path: string, bytes: number): Promise<void> {
  using handle = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(1024 * 1024);
  for (let written = 0; written < bytes; written += block.length) {
    const part = block.subarray(0, Math.min(block.length, bytes - written));
    for (let offset = 0; offset < part.length; offset += 65_536) {
      crypto.getRandomValues(part.subarray(offset, offset + 65_536));
    }
    for (let offset = 0; offset < part.length;) {
      offset += await handle.write(part.subarray(offset));
    }
  }
  await settle();
}

/** CPU seconds all cores spent busy since boot, from /proc/stat (Linux); null elsewhere. */
function machineCpuSeconds(): number | null {
  try {
    const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/)
      .slice(1, 9).map(Number);
    const idle = fields[3]! + fields[4]!; // idle + iowait
    return (fields.reduce((sum, value) => sum + value, 0) - idle) / 100; // USER_HZ
  } catch {
    return null;
  }
}

function loadAverage(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return null;
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function megabytesPerSecond(bytes: number, seconds: number): number {
  return round(bytes / seconds / 1e6);
}

function percent(share: number | null): number | null {
  return share === null ? null : round(100 * share);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
