/**
 * The load generator of `deno task bench --preset features` (issue #17: no
 * regression of the features): N real TCP clients that send and time every
 * delivery, optionally in a room with a password (a Noise session each,
 * PROTOCOL.md section 5), optionally members of one channel (section 9, with
 * device keys, section 8) with M more users connected and idle outside it.
 * Run as its own process (scripts/bench_features.ts pins it to a core of its
 * own) so it shares neither an event loop nor a core with the server.
 *
 * Owns: joining (greeting, handshake, signed hello, channel join), pacing
 * sends, timing deliveries, the rate ramp (stop at the first step that does
 * not hold, then refine between it and the last that held), the JSON report
 * on stdout, and JSON events on stderr (step-start and step-end, so the
 * parent samples the server's CPU at the right moments). Traffic goes only
 * to the loopback host it is given.
 *
 * Cheap on purpose, so that the server, not the generator, is the limit: a
 * chat message is read only at its fixed places (its type, `"body":"`, the
 * 20 BASE64 characters of the timing header at the start of the body, and
 * the end), found from the frame's length since every message of a run has
 * the same size. In a room with a password those few bytes are read with the
 * ChaCha20 keystream alone (scripts/sealed_peek.ts, about 0.8 µs a message
 * against 7 µs to open it whole); everything else (greetings, handshake,
 * pings, errors, channel answers) is opened whole and checked with
 * node:crypto (lib/wire/native_aead.ts). `--open-all` opens every payload
 * whole, to see what the peeking saves. Frames are read in place, not
 * copied (scripts/bench_frames.ts). The handshake, the room key, the hello
 * signature and the sent frames are the project's own (lib/wire/,
 * lib/frame.ts). Must not import lib/server/ nor lib/client/.
 */
import { Command } from "commander";
import process from "node:process";
import { encodeFrame } from "../lib/frame.ts";
import { fromBase64, toBase64 } from "../lib/wire/base64.ts";
import { generateKeyPair, sign } from "../lib/wire/identity.ts";
import type { KeyPair } from "../lib/wire/identity.ts";
import { nativeAead, nativeAeadAgreesWithNoble } from "../lib/wire/native_aead.ts";
import { HandshakeState, useAead } from "../lib/wire/noise.ts";
import type { Aead, TransportCiphers } from "../lib/wire/noise.ts";
import { helloSignatureBytes } from "../lib/wire/protocol.ts";
import type { SecureParams } from "../lib/wire/protocol.ts";
import { deriveRoomPsk, noisePrologue, secureParamsProblem } from "../lib/wire/room_key.ts";
import { FrameViews } from "./bench_frames.ts";
import { Histogram } from "./latency_histogram.ts";
import { peekAgreesWithNativeAead, peekSealed } from "./sealed_peek.ts";
import type { ByteRange } from "./sealed_peek.ts";
import { decodeTimingHeader, timingHeaderCharacters } from "./timing_header.ts";
import { DeliveryWaits, paceStep } from "./load_pacing.ts";

/** One step's figures. */
export interface FeaturesStep {
  step: number;
  /** Messages per second per sending client. */
  ratePerClient: number;
  senders: number;
  /** Connections each message goes to (the sender's own included). */
  receiversPerMessage: number;
  sent: number;
  /** Seconds of the send window. */
  seconds: number;
  expectedDeliveries: number;
  deliveries: number;
  deliveriesPerSecond: number;
  /** Share of expected deliveries that had not arrived by the end of the drain, 0..1. */
  loss: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of one core the generator used in the send window: near 1, it was the limit. */
  generatorCpu: number;
  /** Deliveries read by peeking (no tag check) and payloads opened whole, in a secure room. */
  peeked: number;
  opened: number;
  /** Whether the step held: p99 within --stop-p99 and delivery ratio at least --stop-ratio. */
  held: boolean;
}

/** The generator's report on stdout. */
export interface FeaturesLoadReport {
  results: FeaturesStep[];
  /** The step of the highest rate that held, or null. */
  heldStep: number | null;
  /** Why stepping stopped ("" when every rate ran). */
  stopReason: string;
  joinSeconds: number;
  protocolErrors: number;
  /** Clients that joined and later lost their connection (a server that drops slow readers, or fails). */
  lostAfterJoining: number;
  lateOrForeign: number;
  /** "none" (no password), "peek" or "open-all". */
  cipher: string;
}

const flags = new Command()
  .name("bench_features_load")
  .requiredOption("--port <n>", "server port", Number)
  .option("--host <h>", "server host (loopback only)", "127.0.0.1")
  .option("--clients <n>", "clients that send (and, with --channel, are its members)", Number, 50)
  .option(
    "--bystanders <n>",
    "more users connected and idle (with --channel: not members)",
    Number,
    0,
  )
  .option("--password", "the room has a password: take it from LANCHAT_PASSWORD (Noise)", false)
  .option("--channel <name>", "join with device keys and send into this channel (e.g. #bench)")
  .option("--rates <list>", "msgs/s per sending client, comma separated, one per step", "0.2")
  .option(
    "--refine <n>",
    "steps between the last rate that held and the first that did not",
    Number,
    0,
  )
  .option("--step-seconds <s>", "seconds per step", Number, 10)
  .option("--drain-seconds <s>", "most seconds to wait for late deliveries after a step", Number, 3)
  .option("--size <bytes>", "message text size", Number, 64)
  .option(
    "--join-concurrency <n>",
    "clients joining at once (at most 3 with --password)",
    Number,
    50,
  )
  .option("--stop-p99 <ms>", "a step holds while p99 is at most this", Number, 200)
  .option(
    "--stop-ratio <r>",
    "a step holds while the delivery ratio is at least this",
    Number,
    0.99,
  )
  .option("--open-all", "open every payload whole (tag checked) instead of peeking", false)
  .option("--max-wall-seconds <s>", "hard limit on this process's run time", Number, 300)
  .parse(Deno.args, { from: "user" })
  .opts<{
    port: number;
    host: string;
    clients: number;
    bystanders: number;
    password: boolean;
    channel?: string;
    rates: string;
    refine: number;
    stepSeconds: number;
    drainSeconds: number;
    size: number;
    joinConcurrency: number;
    stopP99: number;
    stopRatio: number;
    openAll: boolean;
    maxWallSeconds: number;
  }>();

if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(flags.host)) {
  throw new Error(`bench traffic stays on loopback; refusing host ${flags.host}`);
}
const rates = flags.rates.split(",").map(Number);
if (rates.some((rate) => !(rate >= 0)) || rates.length > 90) {
  throw new Error(`--rates takes up to 90 numbers of 0 or more, not ${flags.rates}`);
}
const size = Math.max(32, Math.floor(flags.size));
const password = flags.password ? Deno.env.get("LANCHAT_PASSWORD") ?? "" : null;
if (password === "") throw new Error("--password needs the room password in LANCHAT_PASSWORD");
const channel = flags.channel ?? null;

const watchdog = setTimeout(() => {
  event({ event: "error", message: `max wall time of ${flags.maxWallSeconds} s reached` });
  Deno.exit(3);
}, flags.maxWallSeconds * 1000);

function event(fields: Record<string, unknown>): void {
  console.error(JSON.stringify(fields));
}

// ---- the shape of this run's chat messages ----------------------------------------

const utf8 = new TextEncoder();

/** `{"type":"msg"`: the start of every chat message the server sends. */
const msgPrefix = utf8.encode('{"type":"msg"');
const bodyKey = utf8.encode('"body":"');
/** What follows the body: `"}`, or the channel field (PROTOCOL.md 9.2; no `ref`: none is sent). */
const messageSuffix = utf8.encode(
  channel === null ? '"}' : `","channel":${JSON.stringify(channel)}}`,
);
/** BASE64 characters of a body of `size` bytes of ASCII text. */
const bodyCharacters = 4 * Math.ceil(size / 3);
/** From the body's first character to the end of the payload. */
const tailBytes = bodyCharacters + messageSuffix.length;
/** The timing header (scripts/timing_header.ts): 20 BASE64 characters. */
const headerCharacters = timingHeaderCharacters;
/** The plaintext bytes a chat message is read at: its type, `"body":"` and the header, its end. */
const timedRanges: readonly ByteRange[] = [
  [0, msgPrefix.length],
  [-(tailBytes + bodyKey.length), -(tailBytes - headerCharacters)],
  [-messageSuffix.length, 0],
];

function bytesAt(payload: Uint8Array, offset: number, expected: Uint8Array): boolean {
  if (offset < 0 || offset + expected.length > payload.length) return false;
  for (let index = 0; index < expected.length; index++) {
    if (payload[offset + index] !== expected[index]) return false;
  }
  return true;
}

/** True when `payload` is a chat message of this run's shape (only the bytes of timedRanges are read). */
function isTimedMessage(payload: Uint8Array): boolean {
  const bodyStart = payload.length - tailBytes;
  return bytesAt(payload, 0, msgPrefix) && bytesAt(payload, bodyStart - bodyKey.length, bodyKey) &&
    bytesAt(payload, payload.length - messageSuffix.length, messageSuffix);
}

/** The send time and step in the header of a timed message, or null when it is not one. */
function readHeader(payload: Uint8Array): { sentAt: number; step: number } | null {
  return decodeTimingHeader(payload, payload.length - tailBytes);
}

// ---- the cipher: chat messages peeked, everything else opened whole -----------------

/** While set, the next transport open may peek (scripts/sealed_peek.ts) at a chat message. */
let peekAllowed = false;
/** Whether the last open peeked rather than opened whole. */
let lastOpenPeeked = false;

/**
 * node:crypto's ChaCha20-Poly1305 for everything this process seals and for
 * the handshake; a transport message that is one of this run's chat messages
 * is only peeked at (no tag check). Every other payload is opened whole.
 */
const benchAead: Aead = {
  name: "node:crypto, chat messages peeked",
  seal: nativeAead.seal,
  open(key, nonce, ad, sealed) {
    lastOpenPeeked = false;
    if (peekAllowed && ad.length === 0) {
      const plaintext = peekSealed(key, nonce, sealed, timedRanges);
      if (isTimedMessage(plaintext)) {
        lastOpenPeeked = true;
        return plaintext;
      }
    }
    return nativeAead.open(key, nonce, ad, sealed);
  },
};

if (password !== null) {
  if (!nativeAeadAgreesWithNoble() || !peekAgreesWithNativeAead()) {
    throw new Error("node:crypto's chacha20-poly1305 or the peek disagrees with noble here");
  }
  useAead(benchAead);
}

let pskPromise: Promise<Uint8Array> | null = null;

/** The room key, derived once (scrypt is slow on purpose): every connection gets the same salt. */
function roomPsk(secure: SecureParams): Promise<Uint8Array> {
  pskPromise ??= deriveRoomPsk(password!, secure);
  return pskPromise;
}

// ---- clients --------------------------------------------------------------------

type ClientState = "greeting" | "handshake" | "hello" | "channel" | "ready" | "failed";

class FeaturesClient {
  readonly nick: string;
  /** Sends messages and, with a channel, is its member; else a bystander. */
  readonly active: boolean;
  readonly keyPair: KeyPair | null;
  conn: Deno.TcpConn | null = null;
  state: ClientState = "greeting";
  /** Counted in joinedCount (welcome received, connection open). */
  joined = false;
  /** Counted in readySenders. */
  sending = false;
  challenge: Uint8Array | null = null;
  handshake: HandshakeState | null = null;
  ciphers: TransportCiphers | null = null;
  handshakeHash: Uint8Array | null = null;
  nextSendAt = 0;
  readonly ready = Promise.withResolvers<void>();
  #writing: Promise<unknown> = Promise.resolve();

  constructor(nick: string, active: boolean, withKey: boolean) {
    this.nick = nick;
    this.active = active;
    this.keyPair = withKey ? generateKeyPair() : null;
    this.ready.promise.catch(() => {}); // a failure after joining is reported, not thrown
  }

  /** Frames `payload` (sealed once the session is secure: nonces follow the call order) and queues its write. */
  send(payload: Uint8Array): void {
    const conn = this.conn;
    if (conn === null || this.state === "failed") return;
    const frame = encodeFrame(this.ciphers !== null ? this.ciphers.send.encrypt(payload) : payload);
    this.#writing = this.#writing.then(async () => {
      let offset = 0;
      while (offset < frame.length) offset += await conn.write(frame.subarray(offset));
    }).catch(() => {});
  }

  sendJson(message: Record<string, unknown>): void {
    this.send(utf8.encode(JSON.stringify(message)));
  }

  fail(why: string): void {
    if (this.joined && ++lostAfterJoining <= 5) {
      event({ event: "client-lost", nick: this.nick, why });
    }
    if (this.joined) joinedCount--;
    if (this.sending) readySenders--;
    this.joined = this.sending = false;
    if (this.state === "failed") return;
    this.state = "failed";
    this.ready.reject(new Error(`${this.nick}: ${why}`));
    try {
      this.conn?.close();
    } catch {
      // Already closed.
    }
  }
}

const started = performance.now();
const now = () => performance.now() - started;
let currentStep = 0;
let histogram = new Histogram();
let deliveries = 0;
let peeked = 0;
let opened = 0;
let lateOrForeign = 0;
let protocolErrors = 0;
/** Connections joined (welcome received) and still open. */
let joinedCount = 0;
/** Active clients ready to send (joined, and members of the channel if there is one). */
let readySenders = 0;
let lastPayloadAt = 0;
/** Clients that had joined and then lost their connection. */
let lostAfterJoining = 0;
const deliveryWaits = new DeliveryWaits();

function onPayload(client: FeaturesClient, sealedOrPlain: Uint8Array): void {
  let payload = sealedOrPlain;
  if (client.ciphers !== null) {
    peekAllowed = !flags.openAll;
    try {
      payload = client.ciphers.receive.decrypt(sealedOrPlain);
    } catch (error) {
      client.fail(`a payload did not decrypt: ${(error as Error).message}`);
      return;
    } finally {
      peekAllowed = false;
    }
    if (lastOpenPeeked) peeked++;
    else opened++;
  }
  if (isTimedMessage(payload)) {
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
  if (bytesAt(payload, 0, msgPrefix)) {
    lateOrForeign++;
    return;
  }
  onControl(client, payload);
}

/** Control prefixes the generator acts on; `users`, `joined`, `conversations`... are skipped unread. */
const controlPrefixes = ["welcome", "ping", "error", "channel"].map((type) =>
  utf8.encode(`{"type":"${type}"`)
);

function onControl(client: FeaturesClient, payload: Uint8Array): void {
  if (!controlPrefixes.some((prefix) => bytesAt(payload, 0, prefix))) return;
  const message = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  switch (message.type) {
    case "welcome":
      client.joined = true;
      joinedCount++;
      if (client.active && channel !== null) {
        client.state = "channel";
        client.sendJson({ type: "join", channel });
      } else {
        becomeReady(client);
      }
      break;
    case "channel":
      if (client.state === "channel" && message.joined === true) becomeReady(client);
      break;
    case "ping":
      client.sendJson({ type: "pong", n: message.n });
      break;
    case "error":
      protocolErrors++;
      if (protocolErrors <= 5) {
        event({ event: "server-error", code: message.code, message: message.message });
      }
      if (client.state !== "ready") client.fail(`refused: ${String(message.message)}`);
      break;
  }
}

function becomeReady(client: FeaturesClient): void {
  client.state = "ready";
  if (client.active) {
    client.sending = true;
    readySenders++;
  }
  client.ready.resolve();
}

/** Greeting and handshake: payloads before the session is open (rare, so awaited one by one). */
async function onSetupPayload(client: FeaturesClient, payload: Uint8Array): Promise<void> {
  if (client.state === "greeting") {
    const message = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    if (message.type !== "server") {
      client.fail(`greeted with ${String(message.type)}: ${String(message.message ?? "")}`);
      return;
    }
    client.challenge = typeof message.challenge === "string" ? fromBase64(message.challenge) : null;
    const secure = message.secure ?? null;
    if ((secure === null) !== (password === null)) {
      client.fail(
        password === null
          ? "the server asks for a room password; run without --password only against one without"
          : "the server did not ask for the room password",
      );
      return;
    }
    if (secure === null) {
      sendHello(client);
      return;
    }
    const problem = secureParamsProblem(secure);
    if (problem !== null) {
      client.fail(problem);
      return;
    }
    const psk = await roomPsk(secure as SecureParams);
    client.handshake = new HandshakeState({ initiator: true, prologue: noisePrologue, psk });
    client.state = "handshake";
    client.send(client.handshake.writeMessage(new Uint8Array(0)));
    return;
  }
  // The handshake answer (48 bytes), or one plaintext error refusing it.
  if (payload[0] === 0x7b && payload.length !== 48) {
    const message = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    client.fail(`handshake refused: ${String(message.message ?? message.type)}`);
    return;
  }
  try {
    client.handshake!.readMessage(payload);
  } catch (error) {
    client.fail(`the handshake failed (wrong password?): ${(error as Error).message}`);
    return;
  }
  client.handshakeHash = client.handshake!.handshakeHash;
  client.ciphers = client.handshake!.split();
  client.handshake = null;
  sendHello(client);
}

function sendHello(client: FeaturesClient): void {
  client.state = "hello";
  const hello: Record<string, unknown> = {
    type: "hello",
    nick: client.nick,
    client: "lanchat-bench",
  };
  if (client.keyPair !== null) {
    if (client.challenge === null) {
      client.fail("the server sent no challenge: it does not speak device keys (version 2)");
      return;
    }
    hello.key = toBase64(client.keyPair.publicKey);
    hello.sig = toBase64(
      sign(helloSignatureBytes(client.challenge, client.handshakeHash), client.keyPair.secretKey),
    );
  }
  client.sendJson(hello);
}

async function readLoop(client: FeaturesClient): Promise<void> {
  const frames = new FrameViews();
  // Senders read a lot at once when saturated; bystanders little.
  const buffer = new Uint8Array(client.active ? 64 * 1024 : 8 * 1024);
  const conn = client.conn!;
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      lastPayloadAt = now();
      for (const payload of frames.push(buffer.subarray(0, count))) {
        if (client.state === "failed") break;
        if (client.state === "greeting" || client.state === "handshake") {
          await onSetupPayload(client, payload);
        } else {
          onPayload(client, payload);
        }
      }
      if (client.state === "failed") break;
    }
  } catch (error) {
    client.fail(`connection error: ${(error as Error).message}`);
  }
  client.fail("the server closed the connection");
}

async function connect(client: FeaturesClient): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      client.conn = await Deno.connect({ hostname: flags.host, port: flags.port });
      client.conn.setNoDelay(true);
      break;
    } catch (error) {
      if (attempt === 4) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
  void readLoop(client);
  const timeout = setTimeout(() => client.fail("not ready within 30 s"), 30_000);
  try {
    await client.ready.promise;
  } finally {
    clearTimeout(timeout);
  }
}

/** Joins every client, `joinConcurrency` at a time (each worker waits for its client to be ready). */
async function joinAll(clients: FeaturesClient[]): Promise<void> {
  let next = 0;
  let ready = 0;
  const progress = setInterval(
    () => event({ event: "progress", phase: "join", joined: ready, of: clients.length }),
    1000,
  );
  const worker = async () => {
    while (next < clients.length) {
      await connect(clients[next++]!);
      ready++;
    }
  };
  // The server counts a handshake in flight as a failure until it is decided, and answers an
  // address with 3 or more slowly (lib/server/limits/auth_throttle.ts): 3 at a time join at once.
  const concurrency = password === null
    ? flags.joinConcurrency
    : Math.min(flags.joinConcurrency, 3);
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
  } finally {
    clearInterval(progress);
  }
  event({ event: "progress", phase: "join", joined: ready, of: clients.length });
}

/** Waits until nothing arrived for 300 ms (the joins' presence messages, a step's late deliveries), at most 10 s. */
async function quiet(): Promise<void> {
  const deadline = now() + 10_000;
  while (now() - lastPayloadAt < 300 && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function messagePayload(step: number, filler: string): Uint8Array {
  const header = `${now().toFixed(3).padStart(12, "0")} ${String(step).padStart(2, "0")} `;
  const body = utf8.encode(header + filler).toBase64();
  return utf8.encode(
    JSON.stringify(channel === null ? { type: "say", body } : { type: "say", body, channel }),
  );
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function runStep(
  senders: FeaturesClient[],
  step: number,
  rate: number,
): Promise<FeaturesStep> {
  currentStep = step;
  histogram = new Histogram();
  deliveries = 0;
  peeked = 0;
  opened = 0;
  let sent = 0, expected = 0;
  const filler = "x".repeat(size - 16);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  event({ event: "step-start", step, rate, clients: senders.length });
  const receivers = () => channel === null ? joinedCount : readySenders;
  await paceStep({
    senders,
    ratePerSender: rate,
    now,
    stepEnd: now() + flags.stepSeconds * 1000,
    ready: (client) => client.state === "ready",
    send: (client) => {
      client.send(messagePayload(step, filler));
      sent++;
      expected += receivers();
    },
    progress: () => event({ event: "progress", phase: "step", step, sent, deliveries }),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const busyWall = performance.now() - wallBefore;
  const drainEnd = performance.now() + flags.drainSeconds * 1000;
  await deliveryWaits.until(() => deliveries >= expected, drainEnd);
  event({ event: "step-end", step });
  const loss = expected === 0 ? 0 : Math.max(0, 1 - deliveries / expected);
  const p99Ms = round(histogram.percentile(0.99));
  return {
    step,
    ratePerClient: rate,
    senders: senders.length,
    receiversPerMessage: receivers(),
    sent,
    seconds: flags.stepSeconds,
    expectedDeliveries: expected,
    deliveries,
    deliveriesPerSecond: Math.round(deliveries / flags.stepSeconds),
    loss: round(loss * 10_000) / 10_000,
    p50Ms: round(histogram.percentile(0.5)),
    p99Ms,
    maxMs: round(histogram.max),
    generatorCpu: round((cpu.user + cpu.system) / 1000 / busyWall),
    peeked,
    opened,
    held: p99Ms <= flags.stopP99 && 1 - loss >= flags.stopRatio,
  };
}

/** Three significant digits: rates read as 0.612, not 0.6123724356957945. */
function significant(value: number): number {
  return Number(value.toPrecision(3));
}

const bystanders = Array.from(
  { length: flags.bystanders },
  (_, index) => new FeaturesClient(`idle${index}`, false, channel !== null),
);
const senders = Array.from(
  { length: flags.clients },
  (_, index) => new FeaturesClient(`m${index}`, true, channel !== null),
);
const joinStart = now();
try {
  await joinAll([...bystanders, ...senders]);
} catch (error) {
  event({ event: "error", message: `joining failed: ${(error as Error).message}` });
  Deno.exit(1);
}
await quiet();
const joinSeconds = round((now() - joinStart) / 1000);

const results: FeaturesStep[] = [];
let heldStep: number | null = null;
let heldRate = 0;
let failedRate: number | null = null;
let stopReason = "";
const allConnected = () => joinedCount === bystanders.length + senders.length;
const reasonOf = (result: FeaturesStep) =>
  result.p99Ms > flags.stopP99
    ? `p99 ${result.p99Ms} ms > ${flags.stopP99} ms at ${result.ratePerClient} msg/s`
    : `loss ${round(100 * result.loss)}% at ${result.ratePerClient} msg/s`;
async function measure(rate: number): Promise<FeaturesStep> {
  const result = await runStep(senders, results.length + 1, rate);
  results.push(result);
  event({ event: "step-result", ...result });
  if (result.held && (heldStep === null || rate > heldRate)) {
    heldStep = result.step;
    heldRate = rate;
  }
  return result;
}
for (const rate of rates) {
  const result = await measure(rate);
  if (!result.held) {
    failedRate = rate;
    stopReason = reasonOf(result);
    break;
  }
}
for (let refine = 0; refine < flags.refine && failedRate !== null && heldStep !== null; refine++) {
  await quiet();
  if (!allConnected()) {
    stopReason += `; ${
      bystanders.length + senders.length - joinedCount
    } clients dropped, no refining`;
    break;
  }
  const rate = significant(Math.sqrt(heldRate * failedRate));
  if (rate <= heldRate || rate >= failedRate) break;
  const result = await measure(rate);
  if (!result.held) {
    failedRate = rate;
    stopReason = reasonOf(result);
  }
}
const report: FeaturesLoadReport = {
  results,
  heldStep,
  stopReason,
  joinSeconds,
  protocolErrors,
  lostAfterJoining,
  lateOrForeign,
  cipher: password === null ? "none" : flags.openAll ? "open-all" : "peek",
};
console.log(JSON.stringify(report));
for (const client of [...bystanders, ...senders]) {
  try {
    client.conn?.close();
  } catch {
    // Already closed.
  }
}
clearTimeout(watchdog);
Deno.exit(0);
