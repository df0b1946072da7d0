/**
 * The server's side of a room with a password (PROTOCOL.md section 5): a
 * Transport that wraps a TCP or WebSocket transport, runs the Noise responder
 * handshake on the first payload it reads, and from then on opens every
 * payload it reads and seals every payload it writes.
 *
 * Owns: the handshake step of a session, per-member encryption, and the rule
 * that a failed handshake or a payload that does not decrypt ends the
 * connection with at most one plaintext `error` (`auth_failed`, or
 * `rate_limited` for an address refused after repeated wrong passwords, see
 * lib/server/limits/auth_throttle.ts, which also decides how slowly a guesser is answered).
 * Knows nothing of the room or JSON (except that one fixed error).
 */
import { AuthFailedError } from "../../wire/errors.ts";
import type { AuthThrottle } from "../limits/auth_throttle.ts";
import { HandshakeState, NoiseError } from "../../wire/noise.ts";
import type { CipherState } from "../../wire/noise.ts";
import { Outgoing } from "../outgoing.ts";
import { errorMessage } from "../../wire/protocol.ts";
import type { ServerMessage } from "../../wire/protocol.ts";
import { noisePrologue } from "../../wire/room_key.ts";
import type { RoomKey } from "../../wire/room_key.ts";
import type { Transport } from "./transport.ts";

/** A handshake message with an empty payload: 32-byte ephemeral key + 16-byte tag. */
const handshakeMessageBytes = 48;
/** Bytes a Noise transport message adds to its plaintext (the ChaCha20-Poly1305 tag). */
const noiseTagBytes = 16;
/** How long a failed connection may take to receive its `auth_failed` notice. */
const noticeDeadlineMs = 1000;

type State = "handshake" | "open" | "failed";

/** Transport that speaks Noise NNpsk0 (responder) over another transport. */
export class SecureTransport implements Transport {
  readonly remote: string;
  readonly remoteIp: string;
  readonly #inner: Transport;
  readonly #handshake: HandshakeState;
  readonly #log: (line: string) => void;
  readonly #throttle: AuthThrottle | null;
  #state: State = "handshake";
  #send: CipherState | null = null;
  #receive: CipherState | null = null;
  /** Every write to the inner transport, in order (the handshake answer joins the session's writes). */
  #writes: Promise<void> = Promise.resolve();
  /** Resolves once the `auth_failed` notice is written, after a failure. */
  #notified: Promise<void> | null = null;

  /**
   * `options.log`: the operator log (failures go to the throttle's summary
   * when there is one); `options.throttle`: the server's record of failed
   * handshakes per address. Default: none.
   */
  /** The Noise handshake hash, once the handshake is done. */
  #handshakeHash: Uint8Array | null = null;

  constructor(
    inner: Transport,
    key: RoomKey,
    options: { log?: (line: string) => void; throttle?: AuthThrottle | null } = {},
  ) {
    this.#inner = inner;
    this.remote = inner.remote;
    this.remoteIp = inner.remoteIp;
    this.#log = options.log ?? (() => {});
    this.#throttle = options.throttle ?? null;
    this.#handshake = new HandshakeState({
      initiator: false,
      prologue: noisePrologue,
      psk: key.psk,
    });
  }

  /** True once the handshake has finished and payloads are sealed. */
  get established(): boolean {
    return this.#state === "open";
  }

  /** The handshake hash once established (issue #14: proofs are bound to it). */
  channelBinding(): Uint8Array | null {
    return this.#handshakeHash;
  }

  async read(): Promise<Uint8Array[] | null> {
    // Bounded: each round consumes at least one payload or ends.
    for (;;) {
      if (this.#state === "failed") return null;
      const payloads = await this.#inner.read();
      if (payloads === null) return null;
      let start = 0;
      if (this.#state === "handshake") {
        const counted = await this.#admitHandshake();
        try {
          this.#respond(payloads[0]!);
        } finally {
          if (counted) this.#throttle?.finish(this.remoteIp);
        }
        start = 1;
      }
      const opened: Uint8Array[] = [];
      for (let index = start; index < payloads.length; index++) {
        try {
          opened.push(this.#receive!.decrypt(payloads[index]!));
        } catch (error) {
          if (!(error instanceof NoiseError)) throw error;
          // Not a password guess (the handshake passed): logged, not counted.
          this.#log(`${this.remote} sent a payload that does not decrypt; closed`);
          this.#fail(null);
        }
      }
      if (opened.length > 0) return opened;
    }
  }

  /**
   * Before the handshake, the server's own plaintext control messages (the
   * `server` greeting, a hello-deadline or shutdown notice) go out as they
   * are: they carry no chat. After it, every payload is sealed. After a
   * failure, nothing more is written.
   */
  write(batch: readonly Outgoing[]): Promise<void> {
    if (this.#state === "failed") return Promise.resolve();
    if (this.#state === "handshake") return this.#writeInner(batch);
    const send = this.#send!;
    // Sealed now, in call order, so the nonces match the order the peer reads them in.
    return this.#writeInner(batch.map((message) => new Outgoing(send.encrypt(message.payload))));
  }

  /** The limit is on plaintext: a sealed payload carries a 16-byte tag more. */
  setPayloadLimit(bytes: number): void {
    this.#inner.setPayloadLimit(bytes + noiseTagBytes);
  }

  setReadSize(bytes: number): void {
    this.#inner.setReadSize?.(bytes);
  }

  /** Closes; after a failure, first lets the `auth_failed` notice out (for at most 1 s). */
  close(): void {
    if (this.#notified === null) {
      this.#inner.close();
      return;
    }
    const closeNow = () => {
      clearTimeout(timer);
      this.#inner.close();
    };
    const timer = setTimeout(closeNow, noticeDeadlineMs);
    void this.#notified.then(closeNow);
  }

  #writeInner(batch: readonly Outgoing[]): Promise<void> {
    const written = this.#writes.then(() => this.#inner.write(batch));
    this.#writes = written.catch(() => {});
    return written;
  }

  /**
   * Before answering a handshake: an address refused after repeated wrong
   * passwords is told so and closed, and so is one with as many guesses in
   * flight as it has failures left; one with a few recent failures waits
   * first (up to a few seconds), so guessing goes slowly. The block is
   * checked again after the wait. Returns true when the handshake was counted
   * in flight (the caller then calls the throttle's finish()).
   */
  async #admitHandshake(): Promise<boolean> {
    const throttle = this.#throttle;
    if (throttle === null) return false;
    const admission = throttle.begin(this.remoteIp, performance.now());
    if (admission.refusedMs > 0) this.#refuseGuesses(admission.refusedMs, admission.blocked);
    try {
      if (admission.delayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, admission.delayMs));
      }
      // Guesses decided during the wait may have blocked the address.
      const blockedMs = throttle.blockedFor(this.remoteIp, performance.now());
      if (blockedMs > 0) this.#refuseGuesses(blockedMs, true);
    } catch (error) {
      throttle.finish(this.remoteIp);
      throw error;
    }
    return true;
  }

  /** Tells the peer it may not guess now (`rate_limited` with the wait) and closes. */
  #refuseGuesses(waitMs: number, blocked: boolean): never {
    const minutes = Math.max(1, Math.ceil(waitMs / 60_000));
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    this.#fail(
      null,
      errorMessage(
        "rate_limited",
        blocked
          ? `too many wrong room passwords from ${this.remoteIp}; try again in ${minutes} min`
          : `too many room-password attempts at once from ${this.remoteIp}; try again in ${seconds} s`,
        undefined,
        waitMs,
      ),
    );
  }

  /** Reads the initiator's `psk, e` and answers `e, ee`; throws AuthFailedError. */
  #respond(message: Uint8Array): void {
    try {
      if (message.length !== handshakeMessageBytes) {
        throw new NoiseError(`expected a ${handshakeMessageBytes}-byte handshake message`);
      }
      this.#handshake.readMessage(message);
      const answer = this.#handshake.writeMessage(new Uint8Array(0));
      this.#handshakeHash = this.#handshake.handshakeHash;
      const { send, receive } = this.#handshake.split();
      this.#send = send;
      this.#receive = receive;
      // Queued before anything sealed: the session seals nothing until read() returns.
      void this.#writeInner([new Outgoing(answer)]).catch(() => {});
      this.#state = "open";
      this.#throttle?.succeeded(this.remoteIp);
    } catch (error) {
      if (!(error instanceof NoiseError)) throw error;
      this.#fail("a handshake that does not verify (wrong room password, or no handshake)");
    }
  }

  /**
   * Tells the peer `auth_failed` (or `notice`) in plaintext, closes, and stops
   * the session's read loop. `what` is the failure to count and log; null for
   * a refusal that is not a new failure.
   */
  #fail(what: string | null, notice?: ServerMessage): never {
    this.#state = "failed";
    if (what !== null) {
      if (this.#throttle === null) this.#log(`${this.remote} sent ${what}; closed`);
      else this.#throttle.failed(this.remoteIp, performance.now());
    }
    const noticeMessage = Outgoing.of(
      notice ??
        errorMessage(
          "auth_failed",
          "wrong room password: the handshake or a message did not verify",
        ),
    );
    // The session closes the transport once read() has thrown; close() waits for this.
    this.#notified = this.#writeInner([noticeMessage]).catch(() => {});
    throw new AuthFailedError("auth_failed", `the peer sent ${what ?? "nothing: refused"}`);
  }
}
