/**
 * The load generator of `deno task bench`: N real TCP clients in one room,
 * run as its own process so it does not share an event loop with the server.
 *
 * Owns: connecting and joining clients, pacing sends, timing every delivery
 * (send to receipt at every other client), loss, and the JSON report on
 * stdout. Progress and step boundaries go to stderr as JSON lines so the
 * parent (scripts/bench.ts) can sample the server at the right moments.
 * Traffic goes only to the loopback host it is given.
 *
 * A message's text starts with a fixed-width header, `TTTTTTTT.ttt SS `:
 * the send time (ms since this process started) and the step number. A
 * receiver decodes only those 20 BASE64 characters, so measuring costs the
 * generator far less than the server's work.
 */
import { Command } from "commander";
import process from "node:process";
import { encodeFrame, FrameDecoder } from "../lib/frame.ts";
import { Histogram } from "./latency_histogram.ts";
import { decodeTimingHeader } from "./timing_header.ts";
import { DeliveryWaits, paceStep } from "./load_pacing.ts";

interface Options {
  host: string;
  port: number;
  clients: number;
  /** Messages per second per client, one entry per step. */
  rates: number[];
  stepSeconds: number;
  drainSeconds: number;
  size: number;
  connectConcurrency: number;
  stopP99: number;
  stopRatio: number;
  broadcastOnce: boolean;
  maxWallSeconds: number;
}

/** One step's figures. */
export interface StepResult {
  step: number;
  clients: number;
  ratePerClient: number;
  offeredPerSecond: number;
  sent: number;
  expectedDeliveries: number;
  deliveries: number;
  deliveriesPerSecond: number;
  loss: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of one core the generator itself used: near 1 means it, not the server, was the limit. */
  generatorCpu: number;
}

const options = new Command()
  .name("bench_load")
  .requiredOption("--port <n>", "server port", Number)
  .option("--host <h>", "server host (loopback only)", "127.0.0.1")
  .option("--clients <n>", "clients", Number, 50)
  .option("--rates <list>", "msgs/s per client, comma separated, one per step", "0.2")
  .option("--step-seconds <s>", "seconds per step", Number, 10)
  .option("--drain-seconds <s>", "most seconds to wait for late deliveries after a step", Number, 3)
  .option("--size <bytes>", "message text size", Number, 64)
  .option("--connect-concurrency <n>", "connections opened at once", Number, 200)
  .option("--stop-p99 <ms>", "stop stepping when p99 exceeds this", Number, 200)
  .option("--stop-ratio <r>", "stop stepping when delivery ratio falls below this", Number, 0.99)
  .option(
    "--broadcast-once",
    "no rate: one client sends one message; time its arrival everywhere",
    false,
  )
  .option("--max-wall-seconds <s>", "hard limit on this process's run time", Number, 600)
  .parse(Deno.args, { from: "user" })
  .opts();

const config: Options = {
  host: options.host,
  port: options.port,
  clients: options.clients,
  rates: String(options.rates).split(",").map(Number),
  stepSeconds: options.stepSeconds,
  drainSeconds: options.drainSeconds,
  size: Math.max(32, options.size),
  connectConcurrency: options.connectConcurrency,
  stopP99: options.stopP99,
  stopRatio: options.stopRatio,
  broadcastOnce: options.broadcastOnce,
  maxWallSeconds: options.maxWallSeconds,
};
if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(config.host)) {
  throw new Error(`bench traffic stays on loopback; refusing host ${config.host}`);
}

const watchdog = setTimeout(() => {
  event({ event: "error", message: `max wall time of ${config.maxWallSeconds} s reached` });
  Deno.exit(3);
}, config.maxWallSeconds * 1000);

function event(fields: Record<string, unknown>): void {
  console.error(JSON.stringify(fields));
}

// ---- wire helpers -------------------------------------------------------------

const utf8 = new TextEncoder();
/** `{"type":"msg"` as bytes: the prefix of every chat message the server sends. */
const msgPrefix = utf8.encode('{"type":"msg"');

function frameOf(message: Record<string, unknown>): Uint8Array {
  return encodeFrame(utf8.encode(JSON.stringify(message)));
}

/** Payload prefixes of the server messages the generator must read. */
const controlPrefixes = ["server", "welcome", "ping", "error"].map((type) =>
  utf8.encode(`{"type":"${type}"`)
);

function startsWithAny(payload: Uint8Array, prefixes: Uint8Array[]): boolean {
  return prefixes.some((prefix) =>
    payload.length >= prefix.length && prefix.every((byte, index) => payload[index] === byte)
  );
}

function startsWithMsg(payload: Uint8Array): boolean {
  if (payload.length < msgPrefix.length) return false;
  for (let index = 0; index < msgPrefix.length; index++) {
    if (payload[index] !== msgPrefix[index]) return false;
  }
  return true;
}

/**
 * Reads the send time and step of a chat message without parsing its JSON:
 * with no `ref`, `body` is the last field, so it sits between the last two
 * quotes. Returns null for anything else.
 */
function readHeader(payload: Uint8Array): { sentAt: number; step: number } | null {
  const end = payload.length - 2; // index of the closing quote of body
  if (payload[end] !== 0x22 || payload[end + 1] !== 0x7d) return null;
  let start = end - 1;
  while (start > 0 && payload[start] !== 0x22) start--;
  start++;
  if (end - start < 20) return null;
  return decodeTimingHeader(payload, start);
}

// ---- clients --------------------------------------------------------------------

class BenchClient {
  readonly index: number;
  readonly nick: string;
  conn: Deno.TcpConn | null = null;
  joined = false;
  nextSendAt = 0;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(index: number) {
    this.index = index;
    this.nick = `b${index}`;
  }

  send(bytes: Uint8Array): void {
    const conn = this.conn;
    if (conn === null) return;
    this.#writing = this.#writing.then(async () => {
      let offset = 0;
      while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    }).catch(() => {});
  }
}

const started = performance.now();
const now = () => performance.now() - started;
let currentStep = 0;
let histogram = new Histogram();
let deliveries = 0;
let lateOrForeign = 0;
let protocolErrors = 0;
let joinedCount = 0;
const joinWaiters: (() => void)[] = [];
const deliveryWaits = new DeliveryWaits();

function onPayload(client: BenchClient, payload: Uint8Array): void {
  if (startsWithMsg(payload)) {
    const header = readHeader(payload);
    if (header === null || header.step !== currentStep) {
      lateOrForeign++;
      return;
    }
    histogram.add(now() - header.sentAt);
    deliveries++;
    deliveryWaits.arrived();
    return;
  }
  // Only the few control messages the generator acts on are parsed; users
  // lists (large with 10,000 clients), joins and leaves are skipped unread.
  if (!startsWithAny(payload, controlPrefixes)) return;
  const message = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  switch (message.type) {
    case "server":
      client.send(frameOf({ type: "hello", nick: client.nick, client: "lanchat-bench" }));
      break;
    case "welcome":
      client.joined = true;
      joinedCount++;
      for (const resolve of joinWaiters.splice(0)) resolve();
      break;
    case "ping":
      client.send(frameOf({ type: "pong", n: message.n }));
      break;
    case "error":
      protocolErrors++;
      if (protocolErrors <= 5) {
        event({ event: "server-error", code: message.code, message: message.message });
      }
      break;
  }
}

async function readLoop(client: BenchClient): Promise<void> {
  const decoder = new FrameDecoder();
  const buffer = new Uint8Array(64 * 1024);
  const conn = client.conn!;
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      for (const payload of decoder.push(buffer.subarray(0, count))) onPayload(client, payload);
    }
  } catch {
    // Reset or closed: counted as a lost client below.
  }
  if (client.joined) {
    client.joined = false;
    joinedCount--;
  }
}

async function connectAll(clients: BenchClient[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const client = clients[next++]!;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          client.conn = await Deno.connect({ hostname: config.host, port: config.port });
          client.conn.setNoDelay(true);
          break;
        } catch (error) {
          if (attempt === 4) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
        }
      }
      void readLoop(client);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(config.connectConcurrency, clients.length) }, worker),
  );
  const deadline = performance.now() + 60_000;
  while (joinedCount < clients.length && performance.now() < deadline) {
    await new Promise<void>((resolve) => {
      joinWaiters.push(resolve);
      setTimeout(resolve, 500);
    });
    event({ event: "progress", phase: "join", joined: joinedCount, of: clients.length });
  }
  if (joinedCount < clients.length) {
    throw new Error(`only ${joinedCount} of ${clients.length} clients joined within 60 s`);
  }
}

function messageFrame(step: number, filler: string): Uint8Array {
  const header = `${now().toFixed(3).padStart(12, "0")} ${String(step).padStart(2, "0")} `;
  const text = header + filler;
  return frameOf({ type: "say", body: utf8.encode(text).toBase64() });
}

async function runStep(clients: BenchClient[], step: number, rate: number): Promise<StepResult> {
  currentStep = step;
  histogram = new Histogram();
  deliveries = 0;
  let sent = 0, expected = 0;
  const filler = "x".repeat(config.size - 16);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  event({ event: "step-start", step, rate, clients: clients.length });
  await paceStep({
    senders: clients,
    ratePerSender: rate,
    now,
    stepEnd: now() + config.stepSeconds * 1000,
    ready: (client) => client.joined,
    send: (client) => {
      client.send(messageFrame(step, filler));
      sent++;
      expected += joinedCount;
    },
    progress: () =>
      event({
        event: "progress",
        phase: "step",
        step,
        sent,
        deliveries,
        p99: histogram.percentile(0.99),
      }),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const busyWall = performance.now() - wallBefore;
  // Drain: wait until every expected delivery arrived or the drain time passed.
  const drainEnd = performance.now() + config.drainSeconds * 1000;
  await deliveryWaits.until(() => deliveries >= expected, drainEnd);
  event({ event: "step-end", step });
  return {
    step,
    clients: clients.length,
    ratePerClient: rate,
    offeredPerSecond: rate * clients.length,
    sent,
    expectedDeliveries: expected,
    deliveries,
    deliveriesPerSecond: Math.round(deliveries / (config.stepSeconds)),
    loss: expected === 0 ? 0 : Math.max(0, 1 - deliveries / expected),
    p50Ms: round(histogram.percentile(0.5)),
    p99Ms: round(histogram.percentile(0.99)),
    maxMs: round(histogram.max),
    generatorCpu: round((cpu.user + cpu.system) / 1000 / busyWall),
  };
}

async function broadcastOnce(clients: BenchClient[]): Promise<StepResult> {
  currentStep = 1;
  histogram = new Histogram();
  deliveries = 0;
  event({ event: "step-start", step: 1, rate: 0, clients: clients.length });
  clients[0]!.send(messageFrame(1, "hello, ten thousand"));
  const deadline = performance.now() + 30_000;
  await deliveryWaits.until(() => deliveries >= joinedCount, deadline);
  event({ event: "step-end", step: 1 });
  return {
    step: 1,
    clients: clients.length,
    ratePerClient: 0,
    offeredPerSecond: 0,
    sent: 1,
    expectedDeliveries: joinedCount,
    deliveries,
    deliveriesPerSecond: 0,
    loss: joinedCount === 0 ? 0 : Math.max(0, 1 - deliveries / joinedCount),
    p50Ms: round(histogram.percentile(0.5)),
    p99Ms: round(histogram.percentile(0.99)),
    maxMs: round(histogram.max),
    generatorCpu: 0,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const clients = Array.from({ length: config.clients }, (_, index) => new BenchClient(index));
await connectAll(clients);
const results: StepResult[] = [];
if (config.broadcastOnce) {
  results.push(await broadcastOnce(clients));
} else {
  for (let step = 0; step < config.rates.length; step++) {
    const result = await runStep(clients, step + 1, config.rates[step]!);
    results.push(result);
    event({ event: "step-result", ...result });
    if (result.p99Ms > config.stopP99 || 1 - result.loss < config.stopRatio) break;
  }
}
console.log(JSON.stringify({ results, protocolErrors, lateOrForeign }));
for (const client of clients) {
  try {
    client.conn?.close();
  } catch {
    // Already closed.
  }
}
clearTimeout(watchdog);
Deno.exit(0);
