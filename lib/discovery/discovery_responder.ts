/**
 * The server side of LAN discovery (PROTOCOL.md section 6): a UDP socket that
 * answers each `discover` probe with a unicast `here` to its sender.
 *
 * Owns: the discovery socket, the per-source and overall answer rate limits
 * (so the responder cannot be used to flood a third party with spoofed
 * probes, nor be drained by a flood so that real probers go unanswered), and
 * ignoring every other datagram. Imports lib/discovery/discovery.ts only;
 * knows nothing of the room except what `info()` returns.
 */
import dgram from "node:dgram";
import { encodeHere, isProbe } from "./discovery.ts";
import type { HereInfo } from "./discovery.ts";

/** Options of {@link startDiscoveryResponder}. */
export interface DiscoveryResponderOptions {
  /** UDP port to answer on; 0 picks a free one (tests). Default 9000. */
  port?: number;
  /**
   * IPv4 address to bind. Default "0.0.0.0": broadcasts arrive only at a
   * socket bound to every address, so bind one address only to limit
   * discovery to this machine ("127.0.0.1").
   */
  host?: string;
  /** What to say about the server; called once per answer. */
  info: () => HereInfo;
  /** Operator log for trouble (never for ignored datagrams). Default: none. */
  log?: (line: string) => void;
  /** Answers one source address may get in a burst. Default 4 (one probe per broadcast address). */
  sourceBurst?: number;
  /** Answers per second one source address earns back after a burst. Default 1. */
  sourcePerSecond?: number;
  /** Answers per second to all sources together. Default 200. */
  totalPerSecond?: number;
  /**
   * Answers per second kept for sources that have not asked lately (their
   * own bucket is full), on top of totalPerSecond: a flood of busy sources
   * that spends the overall budget cannot starve a person running
   * `lanchat join`. Default 50.
   */
  reservePerSecond?: number;
  /** Monotonic clock in ms, for tests. Default `performance.now`. */
  now?: () => number;
}

/** A responder that is answering probes. */
export interface DiscoveryResponder extends AsyncDisposable {
  /** The bound UDP port (the real one when 0 was asked). */
  readonly port: number;
  /** The bound address. */
  readonly host: string;
  /** The random `id` sent in every answer (changes at every start). */
  readonly id: string;
  /** Probes answered so far. */
  readonly answered: number;
  /** Stops answering and closes the socket. Safe to call twice. */
  close(): Promise<void>;
}

/** The discovery port could not be bound; `code` is the system's (e.g. "EADDRINUSE"). */
export class DiscoveryBindError extends Error {
  override name = "DiscoveryBindError";
  readonly port: number;
  readonly code: string | undefined;

  constructor(port: number, cause: unknown) {
    const code = typeof cause === "object" && cause !== null && "code" in cause
      ? String(cause.code)
      : undefined;
    const what = code === "EADDRINUSE"
      ? "it is in use by another program"
      : code === "EACCES" || code === "EPERM"
      ? "not allowed (ports below 1024 need admin rights)"
      : cause instanceof Error
      ? cause.message
      : String(cause);
    super(`cannot answer LAN discovery on UDP port ${port}: ${what}`, { cause });
    this.port = port;
    this.code = code;
  }
}

/**
 * Token buckets per source address first, then the overall ones. A source
 * gets `burst` answers at once and `perSecond` more each second; then the
 * overall budget (`totalPerSecond`) must have room, or, for a source that
 * had not asked for as long as its bucket takes to refill, the reserve
 * (`reservePerSecond`). 250 flooding addresses spend the overall budget,
 * but never the reserve: a flooder is never quiet that long.
 * The map of sources is bounded, so a flood of spoofed addresses cannot
 * grow it; the answers are bounded in all by total + reserve per second.
 */
export class AnswerRateLimiter {
  /** Per source: its tokens, when they were counted, and when it last asked (answered or not). */
  readonly #sources = new Map<string, { tokens: number; at: number; seen: number }>();
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #total: Refill;
  readonly #reserve: Refill;
  /** Sources remembered at most; idle ones are forgotten first. */
  static readonly maxSources = 4096;

  constructor(
    options: {
      burst: number;
      perSecond: number;
      totalPerSecond: number;
      reservePerSecond?: number;
      now: number;
    },
  ) {
    this.#burst = options.burst;
    this.#perSecond = options.perSecond;
    this.#total = new Refill(options.totalPerSecond, options.now);
    this.#reserve = new Refill(options.reservePerSecond ?? 0, options.now);
  }

  /** True when `source` has spent its own budget at `now` (takes nothing; cheap). */
  spent(source: string, now: number): boolean {
    const bucket = this.#sources.get(source);
    if (bucket === undefined) return false;
    return bucket.tokens + (now - bucket.at) * this.#perSecond / 1000 < 1;
  }

  /** True when `source` may be answered at time `now` (ms); takes one token if so. */
  allow(source: string, now: number): boolean {
    let bucket = this.#sources.get(source);
    if (bucket === undefined) {
      if (this.#sources.size >= AnswerRateLimiter.maxSources) this.#forgetIdle(now);
      if (this.#sources.size >= AnswerRateLimiter.maxSources) return false;
      bucket = { tokens: this.#burst, at: now, seen: -Infinity };
      this.#sources.set(source, bucket);
    }
    // Fresh: quiet for as long as its bucket takes to refill. A flooder refused by the
    // total budget keeps a full bucket, but it is never quiet, so the reserve is not its.
    const fresh = now - bucket.seen >= this.#burst / this.#perSecond * 1000;
    bucket.seen = now;
    bucket.tokens = Math.min(
      this.#burst,
      bucket.tokens + (now - bucket.at) * this.#perSecond / 1000,
    );
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    if (!this.#total.take(now) && !(fresh && this.#reserve.take(now))) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Drops sources whose bucket has refilled: forgetting them changes nothing. */
  #forgetIdle(now: number): void {
    const refillMs = this.#burst / this.#perSecond * 1000;
    for (const [source, bucket] of this.#sources) {
      if (now - bucket.seen >= refillMs) this.#sources.delete(source);
    }
  }
}

/** One overall budget: `perSecond` tokens, refilled continuously, at most one second's worth. */
class Refill {
  readonly #perSecond: number;
  #tokens: number;
  #at: number;

  constructor(perSecond: number, now: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
    this.#at = now;
  }

  /** Takes one token when there is one. */
  take(now: number): boolean {
    this.#tokens = Math.min(
      this.#perSecond,
      this.#tokens + (now - this.#at) * this.#perSecond / 1000,
    );
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function randomId(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (byte) => byte.toString(16).padStart(2, "0"),
  )
    .join("");
}

/**
 * Starts answering discovery probes. Rejects with a DiscoveryBindError when
 * the port cannot be bound. Other programs' datagrams, malformed JSON, probes
 * of another protocol version and oversized datagrams are ignored without a
 * word; the responder never throws after it has started.
 *
 * @example
 * await using responder = await startDiscoveryResponder({
 *   port: 0,
 *   info: () => ({ name: "office", port: 9000, web: 9001, secure: false, users: 3 }),
 * });
 */
export async function startDiscoveryResponder(
  options: DiscoveryResponderOptions,
): Promise<DiscoveryResponder> {
  const port = options.port ?? 9000;
  const host = options.host ?? "0.0.0.0";
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => performance.now());
  const id = randomId();
  // reuseAddr lets two servers on one machine both hear broadcasts. Windows'
  // SO_REUSEADDR would let another program take the port over, so not there.
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: Deno.build.os !== "windows" });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await closeSocket(socket);
    throw new DiscoveryBindError(port, error);
  }
  // Without a listener an 'error' event would throw and end the process.
  socket.on("error", (error: Error) => log(`discovery socket: ${error.message}`));

  const limiter = new AnswerRateLimiter({
    burst: options.sourceBurst ?? 4,
    perSecond: options.sourcePerSecond ?? 1,
    totalPerSecond: options.totalPerSecond ?? 200,
    reservePerSecond: options.reservePerSecond ?? 50,
    now: now(),
  });
  let answered = 0;
  let closing = false;

  socket.on("message", (datagram: Uint8Array, remote: dgram.RemoteInfo) => {
    if (closing || remote.port === 0) return;
    // The cheap check first: under a flood most datagrams come from sources past their budget.
    if (limiter.spent(remote.address, now()) || !isProbe(datagram)) return;
    if (!limiter.allow(remote.address, now())) return;
    let answer: Uint8Array;
    try {
      answer = encodeHere(options.info(), id);
    } catch (error) {
      log(`discovery: could not describe the server: ${String(error)}`);
      return;
    }
    answered++;
    socket.send(answer, remote.port, remote.address, (error: Error | null) => {
      if (error !== null && !closing) {
        log(`discovery: could not answer ${remote.address}:${remote.port}: ${error.message}`);
      }
    });
  });

  const bound = socket.address();
  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (() => {
      closing = true;
      return closeSocket(socket);
    })();
  return {
    port: bound.port,
    host: bound.address,
    id,
    get answered() {
      return answered;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Closes a dgram socket and waits until it is closed; tolerates one already closed. */
function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Not running: nothing to close.
    }
  });
}
