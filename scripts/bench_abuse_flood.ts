/**
 * The attacking side of `deno task bench --preset abuse`: one of issue #12's
 * floods against a real `lanchat serve`, run as its own process so that the
 * flood never shares an event loop with the pinger that measures the server
 * (scripts/bench_abuse.ts).
 *
 * Owns: the floods, how many connections each opens and from which source
 * addresses, and what each saw. Progress goes to stderr as JSON lines
 * (`{"event":"flooding"}` once the flood has begun); the result is one JSON
 * object on stdout. Traffic goes only to 127.0.0.1, from source addresses in
 * 127.0.0.0/8 (Linux routes all of it to the loopback interface, so they look
 * like many machines). Every loop is bounded in count and in time.
 *
 *   deno run --allow-net --allow-read --allow-env scripts/bench_abuse_flood.ts \
 *     --flood stalled --port 9000 --seconds 10
 */
import { Command } from "commander";
import dgram from "node:dgram";
import net from "node:net";
import { encodeFrame, FrameDecoder } from "../lib/frame.ts";
import { encodeBody, maxTextBytes } from "../lib/wire/protocol.ts";
import { HandshakeState } from "../lib/wire/noise.ts";
import { noisePrologue } from "../lib/wire/room_key.ts";
import { encodeWebSocketHeader, opcodes } from "../lib/server/transport/websocket_frames.ts";
import { probeBytes } from "../lib/discovery/discovery.ts";
import { connectFrom, loopbackSource } from "./loopback_load.ts";

/** What one flood did, as the child prints it on stdout. */
export interface FloodResult {
  /** What it sent, for the table: "9,812 connections". */
  sent: string;
  /** The figures behind the note, for the JSON report. */
  counts: Record<string, number>;
  /** One line for a person: what the server did with it. */
  note: string;
}

type Received = { type: string; [field: string]: unknown };

/** Where to flood and for how long. */
interface Target {
  port: number;
  webPort: number;
  discoveryPort: number;
  /** performance.now() at which the flood stops. */
  deadline: number;
}

/** How long a flood connection may take to connect before it counts as failed. */
const connectTimeoutMs = 3000;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const latin1 = new TextDecoder("latin1");

function event(fields: Record<string, unknown>): void {
  console.error(JSON.stringify(fields));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function left(target: Target): number {
  return target.deadline - performance.now();
}

/** `n` with thousands separators. */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Resolves when `socket` closes, or after `ms`. */
function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Writes `bytes`; resolves once the socket takes more (drain), closes, or `ms` passes. */
function write(socket: net.Socket, bytes: Uint8Array, ms: number): Promise<void> {
  if (socket.destroyed || socket.write(bytes)) return Promise.resolve();
  return drained(socket, ms);
}

/** Resolves once `socket` drains its write buffer, closes, or `ms` passes. */
function drained(socket: net.Socket, ms: number): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    socket.once("drain", done);
    socket.once("close", done);
  });
}

/** Destroys every socket, waiting (bounded) until each has closed. */
async function closeAll(sockets: Iterable<net.Socket>): Promise<void> {
  await Promise.all([...sockets].map((socket) => {
    const closed = closedWithin(socket, 3000);
    socket.destroy();
    return closed;
  }));
}

function jsonFrame(message: Record<string, unknown>): Uint8Array {
  return encodeFrame(utf8.encode(JSON.stringify(message)));
}

function parseJson(payload: Uint8Array): Received | null {
  try {
    const value = JSON.parse(fromUtf8.decode(payload));
    return typeof value === "object" && value !== null && typeof value.type === "string"
      ? value
      : null;
  } catch {
    return null;
  }
}

/** Calls `handle` with every payload the server sends on `socket` (frames of section 1). */
function onPayloads(socket: net.Socket, handle: (payload: Uint8Array) => void): void {
  const decoder = new FrameDecoder();
  socket.on("data", (chunk: Uint8Array) => {
    try {
      for (const payload of decoder.push(chunk)) handle(payload);
    } catch {
      socket.destroy(); // Bad framing from the server: nothing more to learn here.
    }
  });
}

/** Runs `task(0..count-1)` at most `concurrency` at a time, starting none after the deadline. */
async function forEachBounded(
  total: number,
  concurrency: number,
  target: Target,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total && left(target) > 0) await task(next++);
  }));
}

/** The `p` quantile (0..1) of `values`; 0 when empty. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]!;
}

/** Adds one to `counts[key]`. */
function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** An error sentence with its numbers and addresses taken out, to group refusals by reason. */
function reasonOf(message: Received): string {
  return `${message.code}: ${String(message.message ?? "").split(";")[0]}`
    .replace(/\d+(\.\d+)*/g, "N").slice(0, 80);
}

/** A joined chat client that answers the server's pings and queues what it gets. */
class ChatClient {
  readonly socket: net.Socket;
  /** Called with every message; return true to consume it (not queued). */
  onMessage: ((message: Received) => boolean) | null = null;
  readonly #queue: Received[] = [];
  #wake: (() => void) | null = null;
  #closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    onPayloads(socket, (payload) => {
      const message = parseJson(payload);
      if (message === null) return;
      if (message.type === "ping") {
        socket.write(jsonFrame({ type: "pong", n: message.n }));
        return;
      }
      if (this.onMessage?.(message)) return;
      this.#queue.push(message);
      if (this.#queue.length > 10_000) this.#queue.shift(); // Bounded: nobody asked for it.
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connects from `localAddress` and joins as `nick`; throws when refused. */
  static async join(localAddress: string, port: number, nick: string): Promise<ChatClient> {
    const client = new ChatClient(await connectFrom(localAddress, port, connectTimeoutMs));
    await client.next((m) => m.type === "server", 5000);
    client.send({ type: "hello", nick });
    const answer = await client.next((m) => m.type === "welcome" || m.type === "error", 5000);
    if (answer?.type !== "welcome") {
      client.socket.destroy();
      throw new Error(`${nick} could not join: ${JSON.stringify(answer)}`);
    }
    return client;
  }

  send(message: Record<string, unknown>): Promise<void> {
    return write(this.socket, jsonFrame(message), 10_000);
  }

  /** The next queued message matching `match`, or null after `ms` or once closed. */
  async next(match: (message: Received) => boolean, ms: number): Promise<Received | null> {
    const until = performance.now() + ms;
    for (let round = 0; round < 100_000; round++) {
      const index = this.#queue.findIndex(match);
      if (index >= 0) return this.#queue.splice(index, 1)[0]!;
      const wait = until - performance.now();
      if (this.#closed || wait <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, wait);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    return null;
  }

  async close(): Promise<void> {
    await closeAll([this.socket]);
  }
}

// ---- 1. unfinished HTTP requests on the web port ----------------------------------------

async function unfinishedHttp(target: Target): Promise<FloodResult> {
  const slots = 1500, sources = 8;
  const counts: Record<string, number> = {};
  const open = new Set<net.Socket>();
  const request = utf8.encode("GET / HTTP/1.1\r\nHost: x\r\n");
  let flooding = false;
  const slot = async (index: number) => {
    // Each slot keeps one unfinished request open, re-opening as the server closes it.
    for (let round = 0; round < 500 && left(target) > 0; round++) {
      let socket: net.Socket;
      try {
        socket = await connectFrom(
          loopbackSource(index % sources),
          target.webPort,
          connectTimeoutMs,
        );
      } catch {
        bump(counts, "connectFailed");
        await sleep(100);
        continue;
      }
      bump(counts, "opened");
      open.add(socket);
      if (!flooding) {
        flooding = true;
        event({ event: "flooding" });
      }
      let answer = "";
      socket.on("data", (chunk: Uint8Array) => {
        if (answer.length < 200) answer += latin1.decode(chunk);
      });
      const opened = performance.now();
      socket.write(request);
      const closed = await closedWithin(socket, left(target));
      open.delete(socket);
      if (!closed) {
        socket.destroy();
        break;
      }
      const status = answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1];
      bump(counts, status === undefined ? "closedUnanswered" : `answered${status}`);
      if (status === undefined && performance.now() - opened >= 4000) bump(counts, "heldToTimeout");
      await sleep(20);
    }
  };
  const reporter = setInterval(
    () => event({ event: "progress", open: open.size, ...counts }),
    2000,
  );
  try {
    await Promise.all(Array.from({ length: slots }, (_, index) => slot(index)));
  } finally {
    clearInterval(reporter);
    await closeAll(open);
  }
  const opened = counts.opened ?? 0;
  return {
    sent: `${count(opened)} connections`,
    counts,
    note: `${count(counts.heldToTimeout ?? 0)} held to the header timeout, ` +
      `${count(counts.answered503 ?? 0)} told 503, ` +
      `${count(counts.closedUnanswered ?? 0)} closed unanswered, ` +
      `${count(counts.connectFailed ?? 0)} connects failed`,
  };
}

// ---- 2. searches as fast as the server allows ---------------------------------------------

async function searchFlood(target: Target): Promise<FloodResult> {
  const client = await ChatClient.join(loopbackSource(0), target.port, "searcher");
  const counts: Record<string, number> = { searches: 0, results: 0, rateLimited: 0 };
  let slowest = 0;
  event({ event: "flooding" });
  try {
    for (let index = 0; index < 100_000 && left(target) > 0; index++) {
      const ref = `s${index}`;
      const started = performance.now();
      await client.send({ type: "search", q: index % 2 === 0 ? "É" : "ab", ref });
      counts.searches!++;
      const answer = await client.next(
        (m) => m.ref === ref && (m.type === "results" || m.type === "error"),
        15_000,
      );
      if (answer === null) {
        bump(counts, "unanswered");
        break;
      }
      if (answer.type === "results") {
        counts.results!++;
        bump(counts, "items", (answer.items as unknown[] | undefined)?.length ?? 0);
        slowest = Math.max(slowest, performance.now() - started);
      } else if (answer.code === "rate_limited") {
        counts.rateLimited!++;
        // The server says how long to wait: honour it, as a well-behaved fast client would.
        await sleep(Math.min(Number(answer.wait) || 100, left(target)));
      } else {
        bump(counts, `error_${answer.code}`);
      }
    }
  } finally {
    await client.close();
  }
  counts.slowestAnswerMs = Math.round(slowest);
  return {
    sent: `${count(counts.searches!)} searches`,
    counts,
    note: `${count(counts.results!)} answered (slowest ${counts.slowestAnswerMs} ms), ` +
      `${count(counts.rateLimited!)} rate_limited (wait honoured)`,
  };
}

// ---- 3. a WebSocket client sending big messages without reading ------------------------------

async function webSocketFlood(target: Target): Promise<FloodResult> {
  const counts: Record<string, number> = { messages: 0 };
  const socket = new WebSocket(`ws://127.0.0.1:${target.webPort}/ws`);
  socket.binaryType = "arraybuffer";
  let closeCode = 0;
  const closed = new Promise<void>((resolve) =>
    socket.onclose = (event) => {
      closeCode = event.code;
      resolve();
    }
  );
  const welcome = new Promise<boolean>((resolve) => {
    socket.onmessage = (message) => {
      const data = typeof message.data === "string"
        ? message.data
        : fromUtf8.decode(message.data as ArrayBuffer);
      if (data.includes('"welcome"')) resolve(true);
    };
    setTimeout(() => resolve(false), 5000);
  });
  socket.onopen = () => socket.send(JSON.stringify({ type: "hello", nick: "flooder" }));
  if (!await welcome) {
    socket.close();
    await Promise.race([closed, sleep(2000)]);
    throw new Error("the WebSocket flooder could not join");
  }
  // From here on nothing is read by this script (Deno's WebSocket still takes the frames
  // off the socket and drops them, since there is no listener).
  socket.onmessage = null;
  const text = "w".repeat(45_000);
  const say = JSON.stringify({ type: "say", body: encodeBody(text) }); // about 60 KB
  event({ event: "flooding" });
  for (let round = 0; round < 10_000_000 && left(target) > 0; round++) {
    if (socket.readyState !== WebSocket.OPEN) break;
    if (socket.bufferedAmount > 8 * 1024 * 1024) {
      await sleep(1); // As fast as the connection takes it, not into this process's memory.
      continue;
    }
    socket.send(say);
    counts.messages!++;
    if (round % 32 === 31) await sleep(0);
  }
  const queued = socket.bufferedAmount;
  const droppedByServer = socket.readyState !== WebSocket.OPEN;
  counts.bytesSent = counts.messages! * say.length - queued;
  counts.closedByServer = droppedByServer ? 1 : 0;
  socket.close();
  await Promise.race([closed, sleep(3000)]);
  counts.closeCode = closeCode;
  return {
    sent: `${count(counts.messages!)} msgs of 60 KB`,
    counts,
    note: `${(counts.bytesSent / 1e6).toFixed(0)} MB taken by the server; ` +
      (droppedByServer ? `the server closed it (code ${closeCode})` : "still connected at the end"),
  };
}

// ---- 4. WebSocket messages announced as 60 MB ---------------------------------------------

async function hugeWebSocket(target: Target): Promise<FloodResult> {
  const workers = 32;
  const counts: Record<string, number> = { upgrades: 0, payloadBytes: 0 };
  const announced = 60 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024);
  const mask = new Uint8Array([1, 2, 3, 4]);
  const writtenBytes: number[] = [];
  const closedAfter: number[] = [];
  const open = new Set<net.Socket>();
  const worker = async (index: number) => {
    for (let round = 0; round < 1000 && left(target) > 0; round++) {
      let socket: net.Socket;
      try {
        socket = await connectFrom(loopbackSource(index % 4), target.webPort, connectTimeoutMs);
      } catch {
        bump(counts, "connectFailed");
        await sleep(100);
        continue;
      }
      open.add(socket);
      let answer = new Uint8Array(0);
      socket.on("data", (data: Uint8Array) => {
        if (answer.length < 65_536) {
          const joined = new Uint8Array(answer.length + data.length);
          joined.set(answer);
          joined.set(data, answer.length);
          answer = joined;
        }
      });
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${target.webPort}\r\nUpgrade: websocket\r\n` +
          "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      for (let wait = 0; wait < 300 && !latin1.decode(answer).includes("\r\n\r\n"); wait++) {
        if (socket.destroyed) break;
        await sleep(10);
      }
      const head = latin1.decode(answer);
      const headEnd = head.indexOf("\r\n\r\n");
      if (!/^HTTP\/1\.1 101 /.test(head) || headEnd < 0) {
        bump(counts, `upgrade_${head.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? "unanswered"}`);
        open.delete(socket);
        await closeAll([socket]);
        await sleep(50);
        continue;
      }
      counts.upgrades!++;
      let taken = 0;
      const headerAt = performance.now();
      let endedAt = 0;
      const ended = () => endedAt ||= performance.now();
      socket.once("end", ended);
      socket.once("close", ended);
      socket.write(encodeWebSocketHeader(opcodes.binary, announced, { mask }));
      for (let sent = 0; sent < announced && !socket.destroyed && left(target) > 0;) {
        sent += chunk.length;
        const ok = socket.write(chunk, (error) => {
          if (!error) taken += chunk.length;
        });
        if (!ok) await drained(socket, Math.min(1000, left(target)));
      }
      await closedWithin(socket, Math.min(1000, Math.max(0, left(target))));
      // The close frame (0x88) ends what the server sent: its code says why.
      const frames = answer.subarray(headEnd + 4);
      const closeAt = frames.lastIndexOf(0x88);
      const code = closeAt >= 0 && closeAt + 3 < frames.length
        ? (frames[closeAt + 2]! << 8) | frames[closeAt + 3]!
        : 0;
      bump(counts, code === 0 ? "noCloseFrame" : `close${code}`);
      counts.payloadBytes! += taken;
      writtenBytes.push(taken);
      if (endedAt > 0) closedAfter.push(endedAt - headerAt);
      open.delete(socket);
      await closeAll([socket]);
    }
  };
  event({ event: "flooding" });
  const reporter = setInterval(
    () => event({ event: "progress", open: open.size, ...counts }),
    2000,
  );
  try {
    await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  } finally {
    clearInterval(reporter);
    await closeAll(open);
  }
  counts.writtenKiBP50 = Math.round(percentile(writtenBytes, 0.5) / 1024);
  counts.writtenKiBMax = Math.round(percentile(writtenBytes, 1) / 1024);
  counts.closedAfterMsP50 = Math.round(percentile(closedAfter, 0.5));
  counts.closedAfterMsMax = Math.round(percentile(closedAfter, 1));
  return {
    sent: `${count(counts.upgrades!)} upgrades x 60 MB`,
    counts,
    note: `closed by the server ${counts.closedAfterMsP50} ms after the 60 MB header ` +
      `(p50; max ${counts.closedAfterMsMax} ms), after ${counts.writtenKiBP50} KiB of payload ` +
      `written (p50; max ${counts.writtenKiBMax} KiB, kernel buffers included); ` +
      `close code 1009 read on ${count(counts.close1009 ?? 0)}, the rest reset before it ` +
      `could be read; ${count(counts.connectFailed ?? 0)} connects failed`,
  };
}

// ---- 5. frames announced at 65,535 bytes and never sent ------------------------------------

async function stalledFrames(target: Target): Promise<FloodResult> {
  const total = 12_000, sources = 200;
  const counts: Record<string, number> = { connected: 0, gotServer: 0, closedByServer: 0 };
  const held = new Set<net.Socket>();
  const stall = new Uint8Array(5);
  new DataView(stall.buffer).setUint32(0, 65_535); // and 1 byte of the body
  const reasons: Record<string, number> = {};
  let flooding = false;
  const reporter = setInterval(
    () => event({ event: "progress", held: held.size, ...counts }),
    2000,
  );
  const started = performance.now();
  try {
    await forEachBounded(total, 400, target, async (index) => {
      let socket: net.Socket;
      try {
        socket = await connectFrom(loopbackSource(index % sources), target.port, connectTimeoutMs);
      } catch {
        bump(counts, "connectFailed");
        return;
      }
      counts.connected!++;
      if (!flooding) {
        flooding = true;
        event({ event: "flooding" });
      }
      held.add(socket);
      let told = false;
      onPayloads(socket, (payload) => {
        const message = parseJson(payload);
        told = true;
        if (message?.type === "server") counts.gotServer!++;
        else if (message?.type === "error") bump(reasons, reasonOf(message));
      });
      socket.on("close", () => {
        if (!held.delete(socket)) return;
        counts.closedByServer!++;
        if (!told) bump(counts, "closedSilently");
      });
      socket.write(stall);
    });
    counts.connectMs = Math.round(performance.now() - started);
    // Hold what is still open until the end, then close it all.
    await sleep(left(target));
  } finally {
    clearInterval(reporter);
    counts.openAtEnd = held.size;
    const closing = [...held];
    held.clear();
    await closeAll(closing);
  }
  const refusals = Object.entries(reasons).sort((a, b) => b[1] - a[1]);
  for (const [reason, value] of refusals) counts[`told ${reason}`] = value;
  return {
    sent: `${count(counts.connected!)} connections`,
    counts,
    note: `all connected in ${(counts.connectMs / 1000).toFixed(1)} s; ` +
      `${count(counts.gotServer!)} greeted; told: ` +
      (refusals.map(([reason, value]) => `${count(value)} "${reason}"`).join(", ") || "nothing") +
      `; ${count(counts.closedSilently ?? 0)} closed with no word, ` +
      `${count(counts.openAtEnd)} still open at the end, ` +
      `${count(counts.connectFailed ?? 0)} connects failed`,
  };
}

// ---- 6. wrong room passwords as fast as possible from one address ----------------------------

async function passwordGuessing(target: Target): Promise<FloodResult> {
  const workers = 8;
  const counts: Record<string, number> = { attempts: 0 };
  let slowest = 0;
  const guess = async () => {
    let socket: net.Socket;
    try {
      socket = await connectFrom(loopbackSource(0), target.port, connectTimeoutMs);
    } catch {
      bump(counts, "connectFailed");
      await sleep(50);
      return;
    }
    const payloads: Uint8Array[] = [];
    let wake: (() => void) | null = null;
    onPayloads(socket, (payload) => {
      payloads.push(payload);
      wake?.();
    });
    socket.on("close", () => wake?.());
    const nextPayload = async (ms: number) => {
      const until = performance.now() + ms;
      for (let round = 0; round < 1000 && payloads.length === 0 && !socket.destroyed; round++) {
        const wait = until - performance.now();
        if (wait <= 0) break;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, wait);
        });
        clearTimeout(timer);
      }
      return payloads.shift() ?? null;
    };
    try {
      const greeting = await nextPayload(5000);
      const server = greeting === null ? null : parseJson(greeting);
      if (server?.type !== "server") {
        bump(counts, server?.type === "error" ? `refused_${server.code}` : "noGreeting");
        return;
      }
      counts.attempts!++;
      // A wrong password: a random PSK (the server cannot tell it from a mistyped password).
      const handshake = new HandshakeState({
        initiator: true,
        prologue: noisePrologue,
        psk: crypto.getRandomValues(new Uint8Array(32)),
      });
      const started = performance.now();
      socket.write(encodeFrame(handshake.writeMessage(new Uint8Array(0))));
      const answer = await nextPayload(Math.max(1000, left(target) + 2000));
      slowest = Math.max(slowest, performance.now() - started);
      const refusal = answer === null ? null : parseJson(answer);
      if (answer === null) bump(counts, "closedUnanswered");
      else if (refusal?.type === "error") bump(counts, `error_${refusal.code}`);
      else bump(counts, "handshakeAnswered");
    } finally {
      await closeAll([socket]);
    }
  };
  event({ event: "flooding" });
  const reporter = setInterval(() => event({ event: "progress", ...counts }), 2000);
  try {
    await forEachBounded(100_000, workers, target, guess);
  } finally {
    clearInterval(reporter);
  }
  counts.slowestAnswerMs = Math.round(slowest);
  return {
    sent: `${count(counts.attempts!)} wrong passwords`,
    counts,
    note: `${count(counts.error_auth_failed ?? 0)} checked and refused auth_failed ` +
      `(--max-auth-failures default 10), ` +
      `${count(counts.error_rate_limited ?? 0)} rate_limited, ` +
      `${count(counts.closedUnanswered ?? 0)} closed unanswered; slowest answer ` +
      `${counts.slowestAnswerMs} ms (${workers} at once from 127.0.1.1)`,
  };
}

// ---- 7. maximum-size messages as fast as possible -------------------------------------------

async function textFlood(target: Target): Promise<FloodResult> {
  const client = await ChatClient.join(loopbackSource(0), target.port, "writer");
  const counts: Record<string, number> = { sent: 0, stored: 0, rateLimited: 0 };
  client.onMessage = (message) => {
    if (typeof message.ref !== "string" || !message.ref.startsWith("t")) return false;
    if (message.type === "msg") counts.stored!++;
    else if (message.code === "rate_limited") counts.rateLimited!++;
    else bump(counts, `error_${message.code}`);
    return true;
  };
  const filler = "lorem ipsum dolor sit amet ".repeat(Math.ceil(maxTextBytes / 27))
    .slice(0, maxTextBytes - 12);
  event({ event: "flooding" });
  const reporter = setInterval(() => event({ event: "progress", ...counts }), 2000);
  try {
    for (let index = 0; index < 1_000_000 && left(target) > 0 && !client.closed; index++) {
      const text = `${String(index).padStart(10, "0")}: ${filler}`; // maxTextBytes, unique
      await write(
        client.socket,
        jsonFrame({ type: "say", body: encodeBody(text), ref: `t${index}` }),
        left(target),
      );
      counts.sent!++;
    }
    // The answers to what is in flight (bounded).
    for (let round = 0; round < 40 && !client.closed; round++) {
      const answered = Object.entries(counts).filter(([key]) => key !== "sent")
        .reduce((sum, [, value]) => sum + value, 0);
      if (answered >= counts.sent!) break;
      await sleep(50);
    }
  } finally {
    clearInterval(reporter);
    counts.droppedByServer = client.closed ? 1 : 0;
    await client.close();
  }
  return {
    sent: `${count(counts.sent!)} msgs of ${(maxTextBytes / 1024).toFixed(0)} KiB`,
    counts,
    note: `${count(counts.stored!)} stored, ${count(counts.rateLimited!)} rate_limited` +
      (counts.droppedByServer ? "; the server closed the connection" : ""),
  };
}

// ---- 8. filling the room with joined users --------------------------------------------------

async function roomFill(target: Target): Promise<FloodResult> {
  const total = 12_000, networks = 16;
  const counts: Record<string, number> = { connected: 0, joined: 0 };
  const reasons: Record<string, number> = {};
  const held = new Set<net.Socket>();
  let flooding = false;
  const reporter = setInterval(
    () => event({ event: "progress", held: held.size, ...counts }),
    2000,
  );
  try {
    await forEachBounded(total, 300, target, async (index) => {
      // 16 addresses in 16 different /24s: 127.0.1.1 ... 127.0.16.1 (all loopback, so exempt
      // from --max-users-per-net; the per-address limit still applies).
      const source = `127.0.${1 + (index % networks)}.1`;
      let socket: net.Socket;
      try {
        socket = await connectFrom(source, target.port, connectTimeoutMs);
      } catch {
        bump(counts, "connectFailed");
        return;
      }
      counts.connected!++;
      if (!flooding) {
        flooding = true;
        event({ event: "flooding" });
      }
      held.add(socket);
      const answered = Promise.withResolvers<void>();
      onPayloads(socket, (payload) => {
        const message = parseJson(payload);
        if (message?.type === "server") {
          socket.write(jsonFrame({ type: "hello", nick: `fill${index}` }));
        } else if (message?.type === "welcome") {
          counts.joined!++;
          answered.resolve();
        } else if (message?.type === "error") {
          bump(reasons, reasonOf(message));
          answered.resolve();
        } else if (message?.type === "ping") {
          socket.write(jsonFrame({ type: "pong", n: message.n }));
        }
      });
      socket.on("close", () => {
        held.delete(socket);
        answered.resolve();
      });
      const timer = setTimeout(answered.resolve, 5000);
      await answered.promise;
      clearTimeout(timer);
    });
    await sleep(left(target));
  } finally {
    clearInterval(reporter);
    counts.openAtEnd = held.size;
    const closing = [...held];
    held.clear();
    await closeAll(closing);
  }
  const refusals = Object.entries(reasons).sort((a, b) => b[1] - a[1]);
  for (const [reason, value] of refusals) counts[`refused ${reason}`] = value;
  return {
    sent: `${count(counts.connected!)} hellos`,
    counts,
    note: `${count(counts.joined!)} joined; refused: ` +
      (refusals.slice(0, 3).map(([reason, value]) => `${count(value)} "${reason}"`).join(", ") ||
        "none") +
      ` (16 /24s of loopback, exempt from --max-users-per-net)`,
  };
}

// ---- 9. discovery probes from 250 addresses ---------------------------------------------------

async function discoveryFlood(target: Target): Promise<FloodResult> {
  const sockets: dgram.Socket[] = [];
  let answers = 0, sent = 0;
  try {
    for (let index = 0; index < 250; index++) {
      const socket = dgram.createSocket({ type: "udp4" });
      socket.on("error", () => {});
      socket.on("message", () => answers++);
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, `127.0.2.${1 + index}`, () => resolve());
      });
      sockets.push(socket);
    }
    event({ event: "flooding" });
    // Each source probes about 25 times a second, spread evenly: about 6,000 probes a second.
    for (let round = 0; round < 10_000 && left(target) > 0; round++) {
      for (const socket of sockets) {
        socket.send(probeBytes, target.discoveryPort, "127.0.0.1", (error) => {
          if (error === null) sent++;
        });
      }
      await sleep(40);
    }
    await sleep(200); // the last answers
  } finally {
    await Promise.all(sockets.map((socket) =>
      new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      })
    ));
  }
  return {
    sent: `${count(sent)} probes`,
    counts: { probes: sent, floodAnswers: answers },
    note: `250 flooding sources got ${count(answers)} answers`,
  };
}

const floods: Record<string, (target: Target) => Promise<FloodResult>> = {
  "unfinished-http": unfinishedHttp,
  "search": searchFlood,
  "websocket": webSocketFlood,
  "huge-websocket": hugeWebSocket,
  "stalled-frames": stalledFrames,
  "password": passwordGuessing,
  "text": textFlood,
  "room-fill": roomFill,
  "discovery": discoveryFlood,
};

if (import.meta.main) {
  const options = new Command()
    .name("bench_abuse_flood")
    .requiredOption("--flood <name>", `one of ${Object.keys(floods).join(", ")}`)
    .requiredOption("--port <n>", "chat port on 127.0.0.1", Number)
    .option("--web-port <n>", "web port on 127.0.0.1", Number, 0)
    .option("--discovery-port <n>", "UDP discovery port on 127.0.0.1", Number, 0)
    .option("--seconds <s>", "how long to flood (at most 120)", Number, 10)
    .parse(Deno.args, { from: "user" })
    .opts<
      { flood: string; port: number; webPort: number; discoveryPort: number; seconds: number }
    >();
  const flood = floods[options.flood];
  if (flood === undefined) {
    console.error(
      `unknown flood '${options.flood}'; choose from ${Object.keys(floods).join(", ")}`,
    );
    Deno.exit(2);
  }
  const seconds = Math.min(120, Math.max(1, options.seconds));
  // However the flood goes, this process ends: its sockets close with it.
  setTimeout(() => {
    event({ event: "error", message: `no result ${seconds + 60} s after the start; giving up` });
    Deno.exit(3);
  }, (seconds + 60) * 1000);
  const result = await flood({
    port: options.port,
    webPort: options.webPort,
    discoveryPort: options.discoveryPort,
    deadline: performance.now() + seconds * 1000,
  });
  console.log(JSON.stringify(result));
  Deno.exit(0);
}
