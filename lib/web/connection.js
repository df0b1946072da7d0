// @ts-check
/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's link to the server: one WebSocket to `/ws` at a time (one
 * payload per WebSocket message, PROTOCOL.md section 1), reconnecting with
 * backoff, the liveness rules of section 3 (answer `ping`, drop a silent
 * server), and the step where the secure handshake of section 5 runs.
 *
 * Owns: sockets, timers, the payload codec. Knows nothing of the DOM, of
 * nicks or of chat state: the app decides what to say once the link is open.
 */
import { downgradeMessage } from "./noise.js";
import { parsePayload } from "./wire.js";

/** @typedef {import("./wire.js").Payload} Payload */

/**
 * Turns payloads into WebSocket messages and back. Plain JSON until a secure
 * handshake replaces it with one that seals every payload (section 5).
 * @typedef {object} Codec
 * @property {(payload: Record<string, unknown>) => string | Uint8Array<ArrayBuffer>} encode
 * @property {(data: ArrayBuffer | string) => Payload | null} decode
 */

/**
 * What a handshake sees of the socket: raw WebSocket messages, before any codec.
 * @typedef {object} RawLink
 * @property {(data: Uint8Array<ArrayBuffer>) => void} send
 * @property {() => Promise<ArrayBuffer | string>} next  The next message; rejects if the socket closes.
 */

/**
 * Runs the secure handshake for `server.secure` and returns the codec of the
 * session, or throws (the error's message is shown, and the link stops).
 * @typedef {(secure: Record<string, unknown>, link: RawLink) => Promise<Codec>} Handshake
 */

/**
 * Where the link is: opening a socket; open (the server greeted, the app is
 * joining); online (the app joined); waiting to retry; stopped for good.
 * @typedef {"connecting" | "open" | "online" | "waiting" | "stopped"} LinkState
 */

/**
 * @typedef {object} ConnectionOptions
 * @property {string} url  The WebSocket address, e.g. `ws://host:9001/ws`.
 * @property {(server: Payload) => void} [onGreeting]  The `server` payload, before any handshake.
 * @property {(server: Payload) => void} onOpen  The server greeted (after any handshake): send `hello`.
 * @property {(payload: Payload) => void} onPayload  Every later payload except `ping`/`pong`.
 * @property {(state: LinkState, detail: { retryAt?: number, reason?: string }) => void} onState
 * @property {Handshake} [handshake]  Default: refuses every secure room.
 * @property {() => boolean} [expectsPassword]  True when this page joined this
 *   room with its password before: a greeting that does not ask for it is then
 *   refused before anything is sent (a man in the middle can answer
 *   `secure: null`). Default: never expected.
 * @property {() => void} [onSecured]  A secure handshake succeeded (remember that this room has a password).
 * @property {() => void} [onDowngrade]  A greeting without a password was refused; the link is stopped.
 * @property {number[]} [retryDelaysMs]  Waits before reconnecting; the last repeats. Default 1, 2, 4, 8, 10 s.
 * @property {number} [pingAfterMs]  Ping a server silent this long. Default 20 s.
 * @property {number} [deadAfterMs]  Give up on a server silent this long. Default 45 s.
 */

/** The codec of a session without a room password: UTF-8 JSON. */
export const plainCodec = /** @type {Codec} */ ({
  encode: (payload) => JSON.stringify(payload),
  decode: (data) => parsePayload(data),
});

/** A handshake for pages that cannot join a room with a password. */
export class SecureRoomError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "SecureRoomError";
  }
}

/** @type {Handshake} */
const refuseSecureRooms = () =>
  Promise.reject(new SecureRoomError("This room needs a password, which this page cannot send."));

/** Random spread of a retry delay, so many pages do not come back at the same instant. */
const jitter = () => 0.8 + Math.random() * 0.4;

/** A reconnecting WebSocket link to a lanchat server. */
export class ChatConnection {
  /** @type {Required<ConnectionOptions>} */
  #options;
  /** @type {WebSocket | null} */
  #socket = null;
  #codec = plainCodec;
  /** @type {LinkState} */
  #state = "connecting";
  #greeted = false;
  /** A connection of this link ran the secure handshake: plaintext is never accepted after. */
  #ranEncrypted = false;
  /** Messages held for the handshake while it runs, or null outside it. */
  /** @type {{ queue: (ArrayBuffer | string)[], wake: (() => void) | null } | null} */
  #handshakeInbox = null;
  #attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #watchdog;
  #lastHeard = 0;
  #pinged = false;
  #pingCounter = 0;

  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.#options = {
      handshake: refuseSecureRooms,
      onGreeting: () => {},
      expectsPassword: () => false,
      onSecured: () => {},
      onDowngrade: () => {},
      retryDelaysMs: [1000, 2000, 4000, 8000, 10000],
      pingAfterMs: 20_000,
      deadAfterMs: 45_000,
      ...options,
    };
    globalThis.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
  }

  /** The current state. */
  get state() {
    return this.#state;
  }

  /** Opens the first socket. */
  start() {
    this.#connect();
  }

  /**
   * Sends one payload; returns false (and sends nothing) when no socket is open.
   * @param {Record<string, unknown>} payload
   */
  send(payload) {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN || !this.#greeted) return false;
    socket.send(this.#codec.encode(payload));
    return true;
  }

  /** The app has joined: the link is online and the next drop starts the backoff afresh. */
  markJoined() {
    this.#attempt = 0;
    this.#setState("online");
  }

  /** Skips the wait before the next attempt. */
  retryNow() {
    if (this.#state !== "waiting") return;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  /**
   * Closes the link for good (leaving the page, or a room this page cannot join).
   * @param {string} reason  Shown to the person.
   * @param {Record<string, unknown> | null} [farewell]  Sent first, e.g. `bye`.
   */
  stop(reason, farewell = null) {
    if (farewell !== null) this.send(farewell);
    clearTimeout(this.#retryTimer);
    this.#drop();
    this.#setState("stopped", { reason });
  }

  #connect() {
    this.#setState("connecting");
    /** @type {WebSocket} */
    let socket;
    try {
      socket = new WebSocket(this.#options.url);
    } catch (error) {
      this.#lost(error instanceof Error ? error.message : String(error));
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    this.#codec = plainCodec;
    this.#greeted = false;
    this.#lastHeard = performance.now();
    this.#pinged = false;
    socket.addEventListener("message", (event) => {
      if (socket === this.#socket) this.#receive(event.data);
    });
    socket.addEventListener("close", () => {
      if (socket === this.#socket) this.#lost("the connection closed");
    });
    clearInterval(this.#watchdog);
    this.#watchdog = setInterval(() => this.#checkLiveness(), 5000);
  }

  /** @param {ArrayBuffer | string} data */
  #receive(data) {
    this.#lastHeard = performance.now();
    this.#pinged = false;
    const inbox = this.#handshakeInbox;
    if (inbox !== null) {
      inbox.queue.push(data);
      inbox.wake?.();
      return;
    }
    const payload = this.#codec.decode(data);
    if (payload === null) return; // Not a payload: nothing a person could read in it.
    if (!this.#greeted) {
      if (payload.type === "server") void this.#greet(payload);
      return;
    }
    this.#deliver(payload);
  }

  /** @param {Payload} payload */
  #deliver(payload) {
    if (payload.type === "ping") {
      this.send({ type: "pong", n: payload.n ?? 0 });
      return;
    }
    if (payload.type === "pong") return;
    this.#options.onPayload(payload);
  }

  /**
   * PROTOCOL.md section 3, steps 1 and 2: the server spoke first; a room with
   * a password runs its handshake here, before the app sends `hello`.
   * @param {Payload} server
   */
  async #greet(server) {
    const socket = this.#socket;
    this.#options.onGreeting(server);
    const secure = server.secure;
    if (secure !== null && secure !== undefined) {
      const inbox = { queue: /** @type {(ArrayBuffer | string)[]} */ ([]), wake: null };
      this.#handshakeInbox = inbox;
      try {
        this.#codec = await this.#options.handshake(
          /** @type {Record<string, unknown>} */ (secure),
          this.#rawLink(inbox),
        );
      } catch (error) {
        this.#handshakeInbox = null;
        // The socket closed meanwhile: a retry is already scheduled.
        if (socket !== this.#socket) return;
        const reason = error instanceof Error ? error.message : String(error);
        // A room this page cannot join stops the link; anything else (a wrong
        // password, a server that gave up waiting) tries again with backoff.
        if (error instanceof SecureRoomError) this.stop(reason);
        else this.#lost(reason);
        return;
      }
      this.#handshakeInbox = null;
      if (socket !== this.#socket) return;
      this.#ranEncrypted = true;
      this.#options.onSecured();
      this.#greeted = true;
      this.#setState("open");
      this.#options.onOpen(server);
      // Sealed payloads that came in while the handshake finished.
      for (const data of inbox.queue) this.#receive(data);
      return;
    }
    if (this.#ranEncrypted || this.#options.expectsPassword()) {
      // Nothing was sent on this socket: stop before the app says hello.
      this.stop(`${downgradeMessage}.`);
      this.#options.onDowngrade();
      return;
    }
    this.#greeted = true;
    this.#setState("open");
    this.#options.onOpen(server);
  }

  /** Lets a stopped link connect again (after the person forgot a refused room's password). */
  restart() {
    if (this.#state !== "stopped") return;
    this.#ranEncrypted = false;
    this.#attempt = 0;
    this.#connect();
  }

  /**
   * @param {{ queue: (ArrayBuffer | string)[], wake: (() => void) | null }} inbox
   * @returns {RawLink}
   */
  #rawLink(inbox) {
    const socket = this.#socket;
    return {
      send: (data) => socket?.send(data),
      next: async () => {
        for (let round = 0; round < 1000; round++) {
          const data = inbox.queue.shift();
          if (data !== undefined) return data;
          if (socket !== this.#socket) break;
          await new Promise((resolve) => {
            inbox.wake = () => resolve(undefined);
            socket?.addEventListener("close", () => resolve(undefined), { once: true });
          });
          inbox.wake = null;
        }
        throw new Error("the connection closed during the handshake");
      },
    };
  }

  #checkLiveness() {
    const silentMs = performance.now() - this.#lastHeard;
    if (silentMs > this.#options.deadAfterMs) {
      this.#lost("the server stopped answering");
    } else if (silentMs > this.#options.pingAfterMs && !this.#pinged) {
      this.#pinged = this.send({ type: "ping", n: ++this.#pingCounter });
    }
  }

  /** Forgets the current socket (closing it) without scheduling anything. */
  #drop() {
    clearInterval(this.#watchdog);
    const socket = this.#socket;
    this.#socket = null;
    this.#greeted = false;
    const inbox = this.#handshakeInbox;
    this.#handshakeInbox = null;
    inbox?.wake?.();
    try {
      socket?.close();
    } catch {
      // Already closed.
    }
  }

  /** @param {string} reason */
  #lost(reason) {
    this.#drop();
    if (this.#state === "stopped") return;
    const delays = this.#options.retryDelaysMs;
    const base = delays[Math.min(this.#attempt, delays.length - 1)] ?? 1000;
    this.#attempt++;
    const delay = Math.round(base * jitter());
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#setState("waiting", { retryAt: Date.now() + delay, reason });
  }

  /**
   * @param {LinkState} state
   * @param {{ retryAt?: number, reason?: string }} [detail]
   */
  #setState(state, detail = {}) {
    this.#state = state;
    this.#options.onState(state, detail);
  }
}
