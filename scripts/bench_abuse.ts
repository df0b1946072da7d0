/**
 * `deno task bench --preset abuse`: issue #12's floods, one at a time, each
 * against a fresh real `lanchat serve` with lanchat's default limits, while
 * one ordinary client in the room pings the server every 50 ms.
 *
 * Owns: the list of floods and what each needs of the server (web port,
 * database, room password, discovery), the pinger (TCP, sealed with the room
 * password when there is one), the server's RSS from /proc every 200 ms, the
 * real discovery probes, and the abuse table. The floods run in
 * scripts/bench_abuse_flood.ts, a process of their own, so flooding never
 * shares an event loop with the measuring. Everything stays on 127.0.0.0/8;
 * every step is bounded in time.
 */
import dgram from "node:dgram";
import { encodeFrame, FrameDecoder } from "../lib/frame.ts";
import { HandshakeState } from "../lib/wire/noise.ts";
import type { TransportCiphers } from "../lib/wire/noise.ts";
import { deriveRoomPsk, noisePrologue } from "../lib/wire/room_key.ts";
import { parseHere, probeBytes } from "../lib/discovery/discovery.ts";
import type { SecureParams } from "../lib/wire/protocol.ts";
import { lines, sampleProcess, startLanchatServer } from "./bench_server.ts";
import type { BenchServer, BenchServerOptions } from "./bench_server.ts";
import type { FloodResult } from "./bench_abuse_flood.ts";
import { textTable } from "./text_table.ts";
import { fillSearchHistory } from "./loopback_load.ts";

/** One row of the abuse report. */
export interface AbuseRow {
  flood: string;
  /** What the flood sent, e.g. "9,812 connections". */
  sent: string;
  pingsSent: number;
  pingsAnswered: number;
  /** Round trips of the answered pings; null when none was answered. */
  pingP50Ms: number | null;
  pingP99Ms: number | null;
  pingMaxMs: number | null;
  /** The five slowest pings: sent this many ms after the flood started, and their time. */
  slowestPings: { atMs: number; rttMs: number }[];
  /**
   * The server's VmRSS before the flood, its peak from the flood's start to 5 s after its
   * end (VmHWM reset at the start, and VmRSS every 200 ms), and VmRSS 5 s after the end.
   */
  rssBeforeMb: number | null;
  rssPeakMb: number | null;
  rssAfterMb: number | null;
  /** Share of one core the server used from the flood's start to its end. */
  serverCpuPercent: number | null;
  /** The server process was still running at the end. */
  alive: boolean;
  note: string;
  counts: Record<string, number>;
  /** The server's first 20 log lines during the run (it runs with --quiet). */
  serverLog: string[];
}

/** What a flood needs of its server. */
interface Flood {
  /** Name for --abuse-floods. */
  name: string;
  /** Name of the flood in scripts/bench_abuse_flood.ts. Default `name`. */
  run?: string;
  label: string;
  web?: boolean;
  /** Start with a database file (else :memory:). */
  dbFile?: boolean;
  /** The database file starts with 200,000 messages (written once per bench run). */
  filled?: boolean;
  /** Start with this room password (LANCHAT_PASSWORD); the pinger uses it. */
  password?: string;
  discovery?: boolean;
  /** More `serve` flags. Default none: lanchat's default limits. */
  serveArgs?: string[];
}

const roomPassword = "correct horse battery staple, but longer";

/** The floods, in the order they run. */
export const abuseFloods: readonly Flood[] = [
  { name: "unfinished-http", label: "unfinished HTTP", web: true },
  { name: "search", label: "search flood", dbFile: true, filled: true },
  {
    // Not the default limits: the store itself under a searcher the rate limit does not slow.
    name: "search-unlimited",
    run: "search",
    label: "search flood, no rate limit",
    dbFile: true,
    filled: true,
    serveArgs: ["--searches-per-minute", "1000000"],
  },
  { name: "websocket", label: "WebSocket flood", web: true },
  { name: "huge-websocket", label: "huge WebSocket messages", web: true },
  { name: "stalled-frames", label: "stalled frames" },
  { name: "password", label: "password guessing", password: roomPassword },
  { name: "text", label: "text flood", dbFile: true },
  { name: "room-fill", label: "room fill" },
  { name: "discovery", label: "discovery flood", discovery: true },
];

/** Options of {@link runAbuse}. */
export interface AbuseOptions {
  /** Seconds each flood runs. Default 10 (flag --abuse-seconds). */
  seconds?: number;
  /** Names of the floods to run. Default all of {@link abuseFloods}. */
  floods?: string[];
  /** Progress lines (stderr). Default none. */
  progress?: (line: string) => void;
}

const repoRoot = new URL("../", import.meta.url).pathname;
const pingEveryMs = 50;
const rssEveryMs = 200;
const settleMs = 5000;
const fillMessages = 200_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** True once `promise` resolves, false after `ms` without it. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Runs the floods one after another; one row each. */
export async function runAbuse(options: AbuseOptions = {}): Promise<AbuseRow[]> {
  const seconds = Math.min(120, Math.max(1, options.seconds ?? 10));
  const progress = options.progress ?? (() => {});
  const wanted = options.floods ?? abuseFloods.map((flood) => flood.name);
  const rows: AbuseRow[] = [];
  const shared = await Deno.makeTempDir({ prefix: "lanchat-bench-abuse-" });
  let filled: Promise<string> | null = null;
  const filledHistory = () => filled ??= fillHistory(`${shared}/filled.db`, progress);
  try {
    for (const flood of abuseFloods.filter((flood) => wanted.includes(flood.name))) {
      rows.push(await runOrExplain(flood, seconds, progress, filledHistory));
    }
  } finally {
    await Deno.remove(shared, { recursive: true });
  }
  return rows;
}

async function runOrExplain(
  flood: Flood,
  seconds: number,
  progress: (line: string) => void,
  filledHistory: () => Promise<string>,
): Promise<AbuseRow> {
  try {
    return await runFlood(flood, seconds, progress, filledHistory);
  } catch (error) {
    progress(`abuse: ${flood.label}: could not be run: ${errorText(error)}`);
    return {
      flood: flood.label,
      sent: "n/a",
      pingsSent: 0,
      pingsAnswered: 0,
      pingP50Ms: null,
      pingP99Ms: null,
      pingMaxMs: null,
      slowestPings: [],
      rssBeforeMb: null,
      rssPeakMb: null,
      rssAfterMb: null,
      serverCpuPercent: null,
      alive: false,
      note: `not measured: ${errorText(error)}`,
      counts: {},
      serverLog: [],
    };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runFlood(
  flood: Flood,
  seconds: number,
  progress: (line: string) => void,
  filledHistory: () => Promise<string>,
): Promise<AbuseRow> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat-bench-abuse-" });
  try {
    const db = flood.dbFile ? `${dir}/history.db` : ":memory:";
    if (flood.filled) {
      const filled = await filledHistory();
      for (const suffix of ["", "-wal"]) {
        if (fileBytes(filled + suffix) > 0) await Deno.copyFile(filled + suffix, db + suffix);
      }
    }
    const serverOptions: BenchServerOptions = {
      raisedLimits: false,
      web: flood.web ?? false,
      ...(flood.serveArgs === undefined ? {} : { serveArgs: flood.serveArgs }),
      ...(flood.password === undefined ? {} : { env: { LANCHAT_PASSWORD: flood.password } }),
      ...(flood.discovery ? { discoveryPort: await freeUdpPort() } : {}),
    };
    const serverLog: string[] = [];
    serverOptions.onLine = (line) => {
      // Log lines start with the time; the rest is the banner.
      if (serverLog.length < 20 && /^\d\d:\d\d:\d\d /.test(line)) serverLog.push(line);
    };
    await using server = await startLanchatServer(db, serverOptions);
    let exited = false;
    server.exited.then(() => exited = true);
    progress(
      `abuse: ${flood.label} against lanchat serve (pid ${server.pid}, port ${server.port}` +
        (server.webPort === null ? "" : `, web ${server.webPort}`) +
        (serverOptions.discoveryPort === undefined
          ? ""
          : `, discovery UDP ${serverOptions.discoveryPort}`) +
        ")",
    );
    await using pinger = await Pinger.join(server.port, flood.password);
    const dbBefore = flood.dbFile ? databaseBytes(db) : 0;
    const before = sampleProcess(server.pid);
    using rss = RssSampler.start(server.pid);
    const floodStart = performance.now();
    const flooding = Promise.withResolvers<void>();
    // Pings from the flood's first packet (the child says so), not from its process start-up.
    const startPinging = within(flooding.promise, 10_000).then(() => pinger.start());
    await using child = floodProcess(flood, server, serverOptions.discoveryPort ?? 0, seconds);
    const events = (async () => {
      for await (const line of lines(child.process.stderr)) {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line);
        } catch {
          progress(`  flood: ${line}`);
          continue;
        }
        if (event.event === "flooding") flooding.resolve();
        else if (event.event === "progress" || event.event === "error") {
          const { event: _, ...fields } = event;
          progress(`  ${flood.name}: ${JSON.stringify(fields)}`);
        }
      }
    })();
    const probes = flood.discovery
      ? realProbes(serverOptions.discoveryPort!, flooding.promise, seconds)
      : Promise.resolve(null);
    // The child stops itself at `seconds`; this is the backstop.
    const killer = setTimeout(() => child.stop(), (seconds + 75) * 1000);
    const [output, status] = await Promise.all([
      new Response(child.process.stdout).text(),
      child.process.status,
    ]);
    clearTimeout(killer);
    const end = sampleProcess(server.pid);
    const cpuPercent = before === null || end === null ? null : round(
      100 * (end.cpuSeconds - before.cpuSeconds) / ((performance.now() - floodStart) / 1000),
    );
    await events;
    flooding.resolve();
    await startPinging;
    const probed = await probes;
    const pings = await pinger.stop();
    progress(`  ${flood.name}: flood over; waiting ${settleMs / 1000} s for RSS after`);
    await sleep(settleMs);
    // The peak includes the flood's end (its connections closing) up to "after".
    const peak = rss.stop();
    const after = sampleProcess(server.pid);
    const alive = !exited && after !== null;
    let result: FloodResult;
    if (status.success) {
      result = JSON.parse(output) as FloodResult;
    } else {
      result = {
        sent: "n/a",
        counts: {},
        note: `the flood process failed (exit ${status.code}); see the progress lines`,
      };
    }
    const notes = [result.note];
    if (probed !== null) {
      notes.unshift(`real probes answered ${probed.answered}/${probed.of} within 1 s`);
      result.counts.realProbesAnswered = probed.answered;
    }
    if (flood.dbFile && !flood.filled) {
      const grown = databaseBytes(db) - dbBefore;
      result.counts.dbGrowthBytes = grown;
      notes.push(`database file grew by ${round(grown / 1024 / 1024)} MiB`);
    }
    if (pinger.dropped) notes.push(`the pinger's connection was closed (${pinger.dropped})`);
    if (serverLog.length > 0) {
      notes.push(`server log: ${serverLog.length} lines, first "${serverLog[0]!.slice(9)}"`);
    }
    progress(
      `  ${flood.name}: ${result.sent}; pings ${pings.answered}/${pings.sent}, ` +
        `p99 ${pings.p99Ms ?? "n/a"} ms; RSS ${show(before?.rssMb)} -> peak ${show(peak)} -> ` +
        `after ${show(after?.rssMb)} MB; server CPU ${cpuPercent ?? "n/a"}%; ` +
        (alive ? "alive" : "NOT ALIVE"),
    );
    return {
      flood: flood.label,
      sent: result.sent,
      pingsSent: pings.sent,
      pingsAnswered: pings.answered,
      pingP50Ms: pings.p50Ms,
      pingP99Ms: pings.p99Ms,
      pingMaxMs: pings.maxMs,
      slowestPings: pings.slowest,
      rssBeforeMb: before === null ? null : round(before.rssMb),
      rssPeakMb: peak === null ? null : round(peak),
      rssAfterMb: after === null ? null : round(after.rssMb),
      serverCpuPercent: cpuPercent,
      alive,
      note: notes.join("; "),
      counts: result.counts,
      serverLog: [...serverLog],
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function show(value: number | null | undefined): string {
  return value === null || value === undefined ? "n/a" : String(round(value));
}

/** The flood's process; disposing of it kills it if it still runs, and waits for it. */
function floodProcess(
  flood: Flood,
  server: BenchServer,
  discoveryPort: number,
  seconds: number,
): { process: Deno.ChildProcess; stop(): void } & AsyncDisposable {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      // Any host, since node:net/dgram bind source addresses across 127.0.0.0/8; the
      // script itself connects to 127.0.0.1 only.
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "scripts/bench_abuse_flood.ts",
      ...["--flood", flood.run ?? flood.name, "--port", String(server.port)],
      ...["--web-port", String(server.webPort ?? 0), "--discovery-port", String(discoveryPort)],
      ...["--seconds", String(seconds)],
    ],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let ended = false;
  const status = process.status.then((status) => {
    ended = true;
    return status;
  });
  const stop = () => {
    if (ended) return;
    try {
      process.kill("SIGKILL");
    } catch {
      // Gone already.
    }
  };
  return {
    process,
    stop,
    async [Symbol.asyncDispose]() {
      stop();
      await status;
    },
  };
}

/** Bytes of a SQLite history file with its -wal and -shm files. */
function databaseBytes(path: string): number {
  return ["", "-wal", "-shm"].reduce((sum, suffix) => sum + fileBytes(path + suffix), 0);
}

/** The size of a file; 0 when it is not there. */
function fileBytes(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** Writes the search flood's history (see fillSearchHistory); resolves with `path`. */
async function fillHistory(path: string, progress: (line: string) => void): Promise<string> {
  const started = performance.now();
  progress(`abuse: search flood: writing ${fillMessages.toLocaleString("en-US")} messages`);
  await fillSearchHistory(path, fillMessages);
  progress(
    `abuse: search flood: ${round(databaseBytes(path) / 1024 / 1024)} MiB written in ` +
      `${round((performance.now() - started) / 1000)} s`,
  );
  return path;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/**
 * 30 fresh sources (127.0.4.1-30), spread over the flood, each probing once
 * and again after 333 ms if unanswered, as `lanchat join` does; answered
 * means a `here` within 1 s.
 */
async function realProbes(
  port: number,
  flooding: Promise<void>,
  seconds: number,
): Promise<{ answered: number; of: number }> {
  const of = 30;
  const started = await within(flooding, 10_000);
  if (!started) return { answered: 0, of };
  await sleep(1000); // Let the flood spend the server's answer budget first.
  const spacing = Math.max(50, (seconds * 1000 - 2500) / of);
  const answers = await Promise.all(Array.from({ length: of }, async (_, index) => {
    await sleep(index * spacing);
    const socket = dgram.createSocket({ type: "udp4" });
    socket.on("error", () => {});
    let answered = false;
    socket.on("message", (datagram: Uint8Array) => {
      if (parseHere(new Uint8Array(datagram)) !== null) answered = true;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, `127.0.4.${1 + index}`, () => resolve());
      });
      const send = () => socket.send(probeBytes, port, "127.0.0.1");
      send();
      for (let waited = 0; waited < 1000 && !answered; waited += 10) {
        if (waited === 330) send();
        await sleep(10);
      }
      return answered;
    } catch {
      return false;
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  }));
  return { answered: answers.filter(Boolean).length, of };
}

/** The server's peak RSS while it runs: VmRSS every 200 ms, and VmHWM reset at the start. */
class RssSampler implements Disposable {
  #peak = 0;
  #timer: ReturnType<typeof setInterval>;
  #hwmReset = false;

  private constructor(readonly pid: number) {
    try {
      // "5" resets the peak (VmHWM) to the current RSS (Linux, same user).
      Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
      this.#hwmReset = true;
    } catch {
      // Not allowed: the 200 ms samples alone give the peak.
    }
    this.#timer = setInterval(() => this.#sample(), rssEveryMs);
    this.#sample();
  }

  static start(pid: number): RssSampler {
    return new RssSampler(pid);
  }

  #sample(): void {
    const figures = sampleProcess(this.pid);
    if (figures === null) return;
    this.#peak = Math.max(this.#peak, figures.rssMb, this.#hwmReset ? figures.peakRssMb : 0);
  }

  /** The peak in MB, or null when the process could not be read at all. */
  stop(): number | null {
    this.#sample();
    clearInterval(this.#timer);
    return this.#peak === 0 ? null : this.#peak;
  }

  [Symbol.dispose](): void {
    clearInterval(this.#timer);
  }
}

type Received = { type: string; [field: string]: unknown };

/** Round-trip figures of the pinger. */
interface PingFigures {
  sent: number;
  answered: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** The five slowest pings: sent this many ms after the pinging started, and their time. */
  slowest: { atMs: number; rttMs: number }[];
}

/**
 * An ordinary member of the room on 127.0.0.1 that sends `ping` every 50 ms
 * (never waiting for the previous `pong`) and times each answer.
 */
class Pinger implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = new FrameDecoder();
  #ciphers: TransportCiphers | null = null;
  /** Payloads while joining (before start): raw, for the handshake and welcome. */
  readonly #pending: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #running = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #sentAt = new Map<number, number>();
  readonly #rtts: number[] = [];
  /** The five slowest round trips: when each ping was sent (ms after start()) and its time. */
  readonly #slowest: { atMs: number; rttMs: number }[] = [];
  #startedAt = 0;
  #sent = 0;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #reading: Promise<void>;
  /** Why the server closed the pinger's connection, when it did. */
  dropped: string | null = null;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    conn.setNoDelay(true);
    this.#reading = this.#readLoop();
  }

  /** Connects, takes `server`, runs the handshake when the room has a password, joins. */
  static async join(port: number, password?: string): Promise<Pinger> {
    const pinger = new Pinger(await Deno.connect({ hostname: "127.0.0.1", port }));
    try {
      const server = JSON.parse(new TextDecoder().decode(await pinger.#next(5000))) as Received;
      if (server.type !== "server") throw new Error(`greeted with ${server.type}`);
      if (server.secure !== null && server.secure !== undefined) {
        if (password === undefined) throw new Error("the room wants a password");
        const psk = await deriveRoomPsk(password, server.secure as SecureParams);
        const state = new HandshakeState({ initiator: true, prologue: noisePrologue, psk });
        await pinger.#write(encodeFrame(state.writeMessage(new Uint8Array(0))));
        state.readMessage(await pinger.#next(5000));
        pinger.#ciphers = state.split();
      }
      await pinger.#send({ type: "hello", nick: "pinger" });
      for (let round = 0; round < 10; round++) {
        const message = pinger.#open(await pinger.#next(5000));
        if (message?.type === "welcome") return pinger;
        if (message?.type === "error") throw new Error(`refused: ${message.message}`);
      }
      throw new Error("no welcome");
    } catch (error) {
      await pinger.close();
      throw new Error(`the pinger could not join: ${errorText(error)}`);
    }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const read = await this.#conn.read(buffer);
        if (read === null) break;
        for (const payload of this.#decoder.push(buffer.subarray(0, read))) {
          if (this.#running) this.#handle(payload);
          else if (this.#pending.length < 1000) this.#pending.push(payload);
        }
        this.#wake?.();
      }
    } catch {
      // Reset, or closed here.
    } finally {
      this.#closed = true;
      this.#wake?.();
    }
  }

  async #next(ms: number): Promise<Uint8Array> {
    const until = performance.now() + ms;
    for (let round = 0; round < 1000; round++) {
      const payload = this.#pending.shift();
      if (payload !== undefined) return payload;
      if (this.#closed) throw new Error("the server closed the connection");
      const wait = until - performance.now();
      if (wait <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, wait);
      });
      clearTimeout(timer);
    }
    throw new Error(`nothing from the server in ${ms} ms`);
  }

  #open(payload: Uint8Array): Received | null {
    try {
      const bytes = this.#ciphers === null ? payload : this.#ciphers.receive.decrypt(payload);
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return null;
    }
  }

  #handle(payload: Uint8Array): void {
    const message = this.#open(payload);
    if (message === null) return;
    if (message.type === "pong" && typeof message.n === "number") {
      const sentAt = this.#sentAt.get(message.n);
      if (sentAt !== undefined) {
        this.#sentAt.delete(message.n);
        const rttMs = performance.now() - sentAt;
        this.#rtts.push(rttMs);
        this.#slowest.push({ atMs: Math.round(sentAt - this.#startedAt), rttMs: round(rttMs) });
        this.#slowest.sort((a, b) => b.rttMs - a.rttMs).splice(5);
      }
    } else if (message.type === "ping") {
      void this.#send({ type: "pong", n: message.n });
    } else if (message.type === "error" && this.dropped === null) {
      this.dropped = `told ${String(message.code)}`;
    }
  }

  #write(bytes: Uint8Array): Promise<void> {
    // One writer: frames never interleave.
    this.#writing = this.#writing.then(async () => {
      let offset = 0;
      for (let round = 0; round < 10_000 && offset < bytes.length; round++) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    }).catch(() => {});
    return this.#writing;
  }

  #send(message: Record<string, unknown>): Promise<void> {
    const payload = new TextEncoder().encode(JSON.stringify(message));
    return this.#write(
      encodeFrame(this.#ciphers === null ? payload : this.#ciphers.send.encrypt(payload)),
    );
  }

  /** Starts pinging every 50 ms. */
  start(): void {
    this.#running = true;
    this.#startedAt = performance.now();
    for (const payload of this.#pending.splice(0)) this.#handle(payload);
    this.#timer = setInterval(() => {
      if (this.#closed) return;
      const n = this.#sent++;
      this.#sentAt.set(n, performance.now());
      void this.#send({ type: "ping", n });
    }, pingEveryMs);
  }

  /** Stops pinging, waits (at most 2 s) for the answers in flight, closes; the figures. */
  async stop(): Promise<PingFigures> {
    clearInterval(this.#timer);
    for (let round = 0; round < 200 && this.#sentAt.size > 0 && !this.#closed; round++) {
      await sleep(10);
    }
    if (this.#closed && this.dropped === null) this.dropped = "closed by the server";
    await this.close();
    const sorted = this.#rtts.toSorted((a, b) => a - b);
    const at = (p: number) =>
      sorted.length === 0
        ? null
        : round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!);
    return {
      sent: this.#sent,
      answered: sorted.length,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: sorted.length === 0 ? null : round(sorted.at(-1)!),
      slowest: [...this.#slowest],
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
    await this.#reading;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The abuse rows as a text table, each row's note under it. */
export function abuseTable(rows: AbuseRow[]): string {
  const header = [
    "flood",
    "sent",
    "pings ok",
    "p50 ms",
    "p99 ms",
    "max ms",
    "RSS before",
    "peak",
    "after",
    "server CPU",
    "alive",
  ];
  const ms = (value: number | null) => value === null ? "n/a" : String(value);
  const mb = (value: number | null) => value === null ? "n/a" : `${value} MB`;
  const body = rows.map((row) => [
    row.flood,
    row.sent,
    `${row.pingsAnswered}/${row.pingsSent}`,
    ms(row.pingP50Ms),
    ms(row.pingP99Ms),
    ms(row.pingMaxMs),
    mb(row.rssBeforeMb),
    mb(row.rssPeakMb),
    mb(row.rssAfterMb),
    row.serverCpuPercent === null ? "n/a" : `${row.serverCpuPercent}%`,
    row.alive ? "yes" : "NO",
  ]);
  const notes = rows.map((row) => `  ${row.flood}: ${row.note}`);
  return [textTable(header, body), "notes:", ...notes].join("\n");
}

/** The lines printed under the table: the figure issue #12 asks for, and deaths. */
export function abuseVerdicts(rows: AbuseRow[]): string[] {
  const verdicts: string[] = [];
  const search = rows.find((row) => row.flood === "search flood");
  if (search !== undefined) {
    const p99 = search.pingP99Ms;
    verdicts.push(
      `search flood: other clients' ping p99 ${p99 ?? "n/a"} ms (issue #12 asks < 20 ms): ` +
        (p99 !== null && p99 < 20 && search.pingsAnswered === search.pingsSent ? "OK" : "NOT MET"),
    );
  }
  const unlimited = rows.find((row) => row.flood === "search flood, no rate limit");
  if (unlimited !== undefined) {
    verdicts.push(
      `search flood with the rate limit off: ping p99 ${unlimited.pingP99Ms ?? "n/a"} ms, ` +
        `max ${unlimited.pingMaxMs ?? "n/a"} ms (for the record; the default limit is above)`,
    );
  }
  const dead = rows.filter((row) => !row.alive && row.sent !== "n/a");
  if (dead.length > 0) {
    verdicts.push(`the server died under: ${dead.map((row) => row.flood).join(", ")}`);
  }
  return verdicts;
}
