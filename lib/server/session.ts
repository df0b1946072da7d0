/**
 * One connection plugged into the room: the read loop, the outbox and its
 * single writer, flood control, and the hello/ping/idle deadlines.
 *
 * Owns: the per-connection state machine of PROTOCOL.md section 3 and the
 * rule that a per-connection failure never reaches another connection.
 * Works on any Transport (TCP or WebSocket); knows nothing of listeners.
 */
import { FrameError, ProtocolError, StorageError } from "../wire/errors.ts";
import { maxPayloadBytes } from "../frame.ts";
import { Outgoing } from "./outgoing.ts";
import {
  challengeBytes,
  errorMessage,
  helloSignatureBytes,
  maxTextBytes,
  nickKey,
  parseClientMessage,
  protocolRevision,
  protocolVersion,
  serverProofBytes,
} from "../wire/protocol.ts";
import { toBase64 } from "../wire/base64.ts";
import { type KeyPair, sign, verify } from "../wire/identity.ts";
import type {
  CancelRequest,
  ClientMessage,
  FilesRequest,
  GetRequest,
  HelloMessage,
  HistoryRequest,
  LeaveReason,
  Ref,
  SearchRequest,
  SecureParams,
  ServerMessage,
  UploadRequest,
} from "../wire/protocol.ts";
import type { Credentials, Member, Room } from "./room.ts";
import type { RequestLimits } from "./limits/request_limits.ts";
import type { Transport } from "./transport/transport.ts";
import type { WriteScheduler } from "./transport/write_scheduler.ts";
import type { FileService } from "./files/file_service.ts";
import { SessionTransfers } from "./files/session_transfers.ts";
import { isDataPayload } from "../wire/file_chunk.ts";

/**
 * Per-connection limits and deadlines. Every field documents its default.
 * Deadlines and flood control run on the monotonic clock (performance.now).
 */
export interface SessionLimits {
  /** A connection that has not joined by then is closed. Default 10,000 ms. */
  helloTimeoutMs: number;
  /** A silent connection is pinged after this long. Default 15,000 ms. */
  pingAfterMs: number;
  /** A connection silent this long is closed (reason `timeout`). Default 45,000 ms. */
  idleTimeoutMs: number;
  /** Backlog at which a member that stops reading is dropped (`slow`). Default 4 MiB. */
  maxOutboxBytes: number;
  /** Frames a client may send at once before flood control slows it. Default 200. */
  floodBurst: number;
  /** Sustained frames per second once the burst is spent. Default 500. */
  floodPerSecond: number;
  /** Longest message text, in UTF-8 bytes (at most maxTextBytes). Default maxTextBytes (46 KiB). */
  maxTextBytes: number;
  /** Largest payload a joined client may send (at most 65535). Default 65535. */
  maxFrameBytes: number;
  /**
   * Largest payload before the client has joined: a `hello` and a Noise
   * handshake message are small, so a connection that never joins holds at
   * most this much of a frame in progress. Default 4096.
   */
  preJoinFrameBytes: number;
}

/** The defaults of SessionLimits. */
export const defaultSessionLimits: SessionLimits = {
  helloTimeoutMs: 10_000,
  pingAfterMs: 15_000,
  idleTimeoutMs: 45_000,
  maxOutboxBytes: 4 * 1024 * 1024,
  floodBurst: 200,
  floodPerSecond: 500,
  maxTextBytes,
  maxFrameBytes: maxPayloadBytes,
  preJoinFrameBytes: 4096,
};

/**
 * What the server's admission control knows of one connection
 * (lib/server/limits/connection_gate.ts): it counts users per network at join.
 */
export interface SessionTicket {
  /** About to join the room: null when allowed, else why not (the `server_full` message). */
  join(): string | null;
  /** Left the room, or a join failed after join() allowed it. Safe to call more than once. */
  leave(): void;
}

/** `prove` requests answered per connection (issue #14); more get `bad_message`. */
export const maxProofsPerConnection = 4;
/** Different device keys whose `hello` signature one connection may have checked (section 8.3). */
export const maxKeysPerConnection = 4;

/** What a session needs from the server around it. */
export interface SessionContext {
  room: Room;
  serverName: string;
  secure: SecureParams | null;
  /** The server's own key (issue #14): in `server.key`, and proven on `prove`. */
  serverKey: KeyPair;
  limits: SessionLimits;
  /** Operator log line (joins, leaves, refused connections). */
  log: (line: string) => void;
  /** Paces every session's writer (one per server). */
  writes: WriteScheduler;
  /** Rates per address and nick of searches, history pages and stored text (one per server). */
  requests: RequestLimits;
  /** File transfer (PROTOCOL.md section 10); null or absent: `upload` and `get` are refused. */
  files?: FileService | null;
}

/** Messages replayed per page when a client resumes with `after`. */
const replayPageSize = 200;
/** How long a closing session may spend flushing its outbox. */
const flushDeadlineMs = 1000;
/** Most bytes one answer (`history`, `results`) takes in the outbox: one frame. */
const maxAnswerBytes = maxPayloadBytes + 4;
/** Read size while an upload streams in: a whole chunk frame per read. */
const largeReadBytes = 128 * 1024;
/** Data payloads joined into one write at most (a few chunks). */
const dataBatchBytes = 256 * 1024;

/** One client connection. Implements Member so the room can deliver to it. */
export class Session implements Member {
  nick = "";
  since = 0;
  resumedUpTo = 0;
  account: number | null = null;

  readonly #transport: Transport;
  readonly #context: SessionContext;
  readonly #ticket: SessionTicket | null;
  readonly #openedAt = performance.now();
  #lastHeardAt = performance.now();
  #pingedAt = 0;
  #pingCounter = 0;
  #joined = false;
  /** `prove` requests answered on this connection. */
  #proofs = 0;
  /** What a `hello` with a key signs on this connection (section 8.2). */
  readonly #challenge = crypto.getRandomValues(new Uint8Array(challengeBytes));
  /** Device keys whose signature verified on this connection, by BASE64. */
  readonly #provenKeys = new Set<string>();
  /** Device keys checked on this connection, proven or not. */
  #checkedKeys = 0;

  /** Outbox: messages waiting for the writer; bounded by limits.maxOutboxBytes. */
  #queue: Outgoing[] = [];
  /** Bytes in #queue, #held and the write in flight. */
  #queuedBytes = 0;
  /** Bytes of #queue alone. */
  #queueBytes = 0;
  /**
   * While a resume replay or an answer is being prepared, live messages wait
   * here (still counted in #queuedBytes), so they reach the client after it,
   * as they would had the answer been read synchronously.
   */
  #held: Outgoing[] = [];
  /** Replays and answers in preparation; live messages are held while it is above 0. */
  #holds = 0;
  /** The single writer: true while one write is in flight. */
  #writing = false;
  #flushScheduled = false;
  #drainWaiters: (() => void)[] = [];
  #closing = false;
  #closed = false;
  #leaveReason: LeaveReason | null = null;

  #floodTokens: number;
  #floodRefilledAt = performance.now();

  /** File transfers of this connection, made at the first request for one. */
  #transfers: SessionTransfers | null = null;
  /**
   * Data payloads (file chunks) waiting for the writer: they go out only when
   * no message waits, so chat overtakes files. Not counted in the outbox bound:
   * each transfer keeps only a few here and at most a window in flight.
   */
  #data: { message: Outgoing; written: (sent: boolean) => void }[] = [];

  /** `ticket`: the admission control's view of this connection (none in tests). */
  constructor(transport: Transport, context: SessionContext, ticket: SessionTicket | null = null) {
    this.#transport = transport;
    this.#context = context;
    this.#ticket = ticket;
    this.#floodTokens = context.limits.floodBurst;
    transport.setPayloadLimit(context.limits.preJoinFrameBytes);
  }

  /** Peer address, for logs. */
  get remote(): string {
    return this.#transport.remote;
  }

  /** Runs the connection to its end. Never throws. */
  async run(): Promise<void> {
    this.#send({
      type: "server",
      proto: protocolVersion,
      name: this.#context.serverName,
      secure: this.#context.secure,
      key: toBase64(this.#context.serverKey.publicKey),
      version: protocolRevision,
      challenge: toBase64(this.#challenge),
    });
    try {
      reading: for (;;) {
        const payloads = await this.#transport.read();
        if (payloads === null) break;
        this.#lastHeardAt = performance.now();
        this.#pingedAt = 0;
        for (const payload of payloads) {
          // File chunks of a stream are paced by its window, not by flood control.
          const paced = this.#transfers?.expectsData() === true && isDataPayload(payload);
          const waitMs = paced ? 0 : this.#takeFloodToken();
          if (waitMs > 0) await this.#throttle(waitMs);
          if (this.#closing) break reading;
          // One request in flight per connection: the next payload is read once
          // its answer is queued, so answers keep the order of the requests.
          const answering = this.#handlePayload(payload);
          if (answering !== undefined) await answering;
          if (this.#closing) break reading;
        }
      }
      this.#leaveReason ??= "quit";
    } catch (error) {
      if (error instanceof FrameError) {
        this.#send(errorMessage(error.code, error.message));
        this.#leaveReason ??= "error";
      } else {
        this.#leaveReason ??= this.#closing ? "quit" : "error";
      }
    } finally {
      this.#finishInRoom();
      this.closeAfterFlush(this.#leaveReason ?? "quit");
      await this.#whenDrained();
    }
  }

  /**
   * Called about once a second by the server with `performance.now()`
   * (monotonic, so a wall-clock step never times anyone out): pings, hello
   * and idle deadlines.
   */
  tick(now: number): void {
    if (this.#closing) return;
    const limits = this.#context.limits;
    if (!this.#joined && now - this.#openedAt > limits.helloTimeoutMs) {
      this.#send(errorMessage(
        "not_joined",
        `no hello within ${limits.helloTimeoutMs / 1000} s; closing the connection`,
      ));
      this.closeAfterFlush("timeout");
      return;
    }
    const silentFor = now - this.#lastHeardAt;
    if (silentFor > limits.idleTimeoutMs) {
      this.close("timeout");
    } else if (silentFor > limits.pingAfterMs && this.#pingedAt === 0) {
      this.#pingedAt = now;
      this.#send({ type: "ping", n: ++this.#pingCounter });
    }
  }

  /** Queues `message` for the peer. Drops the member when its backlog overflows. */
  deliver(message: Outgoing): void {
    if (this.#closing) return;
    const size = message.payload.length + 4;
    // The outbox bound: a member that stops reading is dropped with reason
    // `slow` instead of growing without limit or slowing anyone else down.
    if (this.#queuedBytes + size > this.#context.limits.maxOutboxBytes) {
      this.#context.log(
        `${this.#describe()} dropped: more than ${this.#context.limits.maxOutboxBytes} bytes unread`,
      );
      this.close("slow");
      return;
    }
    this.#queuedBytes += size;
    if (this.#holds > 0) {
      this.#held.push(message);
      return;
    }
    this.#queue.push(message);
    this.#queueBytes += size;
    this.#scheduleFlush();
  }

  /** Tells the peer the server is going away, then closes after the outbox is flushed. */
  shutdown(): void {
    this.#send(errorMessage("shutting_down", "the server is shutting down"));
    this.closeAfterFlush("quit");
  }

  /** Sends `error` with `code`, then closes after the outbox is flushed (reason `kicked`). */
  dismiss(code: "device_removed", message: string): void {
    this.#context.log(`${this.#describe()} dismissed: ${code}`);
    this.#send(errorMessage(code, message));
    this.#leaveReason ??= "kicked";
    this.#finishInRoom();
    this.closeAfterFlush("kicked");
  }

  /** Closes now, without flushing. `reason` is what the others are told. */
  close(reason: LeaveReason): void {
    this.#leaveReason ??= reason;
    this.#closing = true;
    this.#finishInRoom();
    this.#closeTransport();
  }

  /** Stops reading, sends what is queued (bounded in time), then closes. */
  closeAfterFlush(reason: LeaveReason): void {
    this.#leaveReason ??= reason;
    if (this.#closing) return;
    this.#closing = true;
    // What waits behind an answer in preparation goes out now: an error told before closing
    // (device_removed, not_joined) must not stay held while the answer it waited for never comes.
    if (this.#held.length > 0) {
      for (const message of this.#held.splice(0)) {
        this.#queue.push(message);
        this.#queueBytes += message.payload.length + 4;
      }
      this.#scheduleFlush();
    }
    const timer = setTimeout(() => this.#closeTransport(), flushDeadlineMs);
    this.#whenDrained().then(() => {
      clearTimeout(timer);
      this.#closeTransport();
    });
  }

  /** Sends `message` outside the room's broadcasts (answers, errors, pings). */
  #send(message: ServerMessage): void {
    this.deliver(Outgoing.of(message));
  }

  /** Handles one payload; returns a promise while the answer to a request is being prepared. */
  #handlePayload(payload: Uint8Array): Promise<void> | undefined {
    if (isDataPayload(payload)) return this.#handleData(payload);
    let message: ClientMessage;
    try {
      message = parseClientMessage(payload, this.#context.limits.maxTextBytes);
    } catch (error) {
      this.#reportError(error);
      return;
    }
    if ((message.type === "history" || message.type === "search") && this.#joined) {
      return this.#request(message);
    }
    if (
      (message.type === "upload" || message.type === "get" || message.type === "files" ||
        message.type === "cancel") && this.#joined
    ) {
      return this.#fileRequest(message);
    }
    try {
      this.#dispatch(message);
    } catch (error) {
      this.#reportError(error, "ref" in message ? message.ref : undefined);
    }
  }

  #dispatch(message: ClientMessage): void {
    const room = this.#context.room;
    switch (message.type) {
      case "ping":
        this.#send({ type: "pong", n: message.n });
        return;
      case "pong":
        return;
      case "bye":
        this.#leaveReason = "quit";
        this.#finishInRoom();
        this.closeAfterFlush("quit");
        return;
      case "prove": {
        // Before `hello` too: a client checks who answers before it says who it is. A signature
        // costs the server about half a millisecond: a client needs one, a connection gets a few.
        this.#takeKeyCheck();
        if (++this.#proofs > maxProofsPerConnection) {
          throw new ProtocolError(
            "bad_message",
            `a connection may ask for the server's proof ${maxProofsPerConnection} times; a client needs one`,
          );
        }
        const proof = serverProofBytes(message.nonce, this.#transport.channelBinding?.() ?? null);
        this.#send({
          type: "proof",
          sig: toBase64(sign(proof, this.#context.serverKey.secretKey)),
        });
        return;
      }
      case "hello": {
        if (this.#joined) {
          throw new ProtocolError("bad_message", "already joined; send 'nick' to change your nick");
        }
        const deviceKey = this.#provenKey(message);
        const refusal = this.#ticket?.join() ?? null;
        if (refusal !== null) throw new ProtocolError("server_full", refusal);
        let replay: ReturnType<Room["join"]>;
        try {
          const credentials: Credentials = { deviceKey, address: this.#transport.remoteIp };
          if (message.link !== undefined) credentials.link = message.link;
          replay = room.join(this, message, credentials);
        } catch (error) {
          this.#ticket?.leave();
          if (error instanceof ProtocolError && error.code === "key_required") {
            this.#send(errorMessage(error.code, error.message));
            this.closeAfterFlush("quit");
            return;
          }
          throw error;
        }
        this.#joined = true;
        this.#transport.setPayloadLimit(this.#context.limits.maxFrameBytes);
        this.#context.log(`${this.nick} joined from ${this.remote}`);
        if (this.account !== null) void this.#sendConversations();
        if (replay !== null) void this.#replay(replay.replayAfter, replay.replayUpTo);
        return;
      }
    }
    if (!this.#joined) throw new ProtocolError("not_joined", "send 'hello' with your nick first");
    switch (message.type) {
      case "say": {
        // Stored text costs disk: a byte rate per address and nick, generous for people.
        const waitMs = this.#context.requests.text(
          this.#transport.remoteIp,
          nickKey(this.nick),
          Math.floor(message.body.length * 3 / 4), // the text's UTF-8 bytes, near enough
          performance.now(),
        );
        if (waitMs > 0) {
          throw new ProtocolError(
            "rate_limited",
            `you have sent a lot of text in a short time (the limit is ${this.#context.requests.textLimitText}); ` +
              `this message was not sent: send it again in ${seconds(waitMs)}`,
            { ref: message.ref, waitMs },
          );
        }
        room.say(this, message).catch((error) => this.#reportError(error, message.ref));
        return;
      }
      case "nick": {
        const before = this.nick;
        room.rename(this, message.nick);
        this.#context.log(`${before} is now ${this.nick}`);
        return;
      }
      case "users":
        for (const part of room.usersMessages()) this.deliver(part);
        return;
      case "link":
      case "whois":
        this.#takeRequest("ref" in message ? message.ref : undefined);
        this.#send(message.type === "link" ? room.linkCode(this, message) : room.whois(message));
        return;
      case "read":
        this.#takeRequest(undefined);
        room.markRead(this, message);
        return;
      case "notify":
        this.#takeRequest(message.ref);
        room.setNotify(this, message);
        return;
      case "join":
      case "part":
      case "topic":
      case "members":
      case "channels":
        this.#takeRequest(message.ref);
        room.channelRequest(this, message);
        return;
      case "got":
        this.#transfers?.got(message);
        return;
      case "history":
      case "search":
      case "upload":
      case "get":
      case "files":
      case "cancel":
        return; // Handled by #request and #fileRequest (the session is joined here).
    }
  }

  /** The connection's transfers, or `bad_message` on a server without file transfer. */
  #fileTransfers(ref: Ref | undefined): SessionTransfers {
    const service = this.#context.files;
    if (service === undefined || service === null) {
      throw new ProtocolError("bad_message", "this server does not take files", { ref });
    }
    this.#transfers ??= new SessionTransfers(service, {
      member: this,
      room: this.#context.room,
      send: (message) => this.#send(message),
      sendAnswer: (message) => this.#queueAnswer(message),
      sendData: (_payload, frame) => this.#sendData(frame),
      takeRequest: (ref) => this.#takeRequest(ref),
      largeReads: (on) => this.#transport.setReadSize?.(on ? largeReadBytes : 0),
      log: (line) => this.#context.log(line),
    });
    return this.#transfers;
  }

  /** `upload`, `get`, `files` and `cancel` (section 10): answered before the next payload is read. */
  async #fileRequest(
    message: UploadRequest | GetRequest | FilesRequest | CancelRequest,
  ): Promise<void> {
    const ref = message.type === "cancel" ? undefined : message.ref;
    try {
      const transfers = this.#fileTransfers(ref);
      if (message.type === "upload") await transfers.upload(message);
      else if (message.type === "get") await transfers.get(message);
      else if (message.type === "files") await transfers.files(message);
      else await transfers.cancel(message);
    } catch (error) {
      this.#reportError(error, ref);
    }
  }

  /** A data payload: a chunk of an upload of this connection. */
  async #handleData(payload: Uint8Array): Promise<void> {
    try {
      if (!this.#joined) throw new ProtocolError("not_joined", "send 'hello' with your nick first");
      const taken = this.#transfers !== null && await this.#transfers.chunk(payload);
      if (!taken) {
        throw new ProtocolError("bad_message", "a data payload for no upload of this connection");
      }
    } catch (error) {
      this.#reportError(error);
    }
  }

  /** Queues a data payload (in its TCP frame) behind the messages; resolves once written. */
  #sendData(frame: Uint8Array): Promise<boolean> {
    if (this.#closing) return Promise.resolve(false);
    return new Promise((written) => {
      this.#data.push({ message: Outgoing.framed(frame), written });
      this.#scheduleFlush();
    });
  }

  /**
   * The device key a `hello` proves, or null for a keyless one: the
   * signature must verify over this connection's challenge (and handshake
   * hash). Throws `bad_signature`, or `bad_message` past
   * {@link maxKeysPerConnection} different keys (a check costs about a millisecond).
   */
  #provenKey(hello: HelloMessage): Uint8Array | null {
    if (hello.key === undefined || hello.sig === undefined) return null;
    const printed = toBase64(hello.key);
    if (this.#provenKeys.has(printed)) return hello.key;
    this.#takeKeyCheck();
    if (++this.#checkedKeys > maxKeysPerConnection) {
      throw new ProtocolError(
        "bad_message",
        `a connection may try ${maxKeysPerConnection} device keys; open a new connection`,
      );
    }
    const signed = helloSignatureBytes(this.#challenge, this.#transport.channelBinding?.() ?? null);
    if (!verify(hello.sig, signed, hello.key)) {
      throw new ProtocolError(
        "bad_signature",
        "the device key's signature does not verify: sign this connection's challenge (PROTOCOL.md section 8.3)",
      );
    }
    this.#provenKeys.add(printed);
    return hello.key;
  }

  /**
   * Rates a small request that reads or writes the store (`link`, `whois`, `read`, `notify`, the
   * channel requests; a `read` or `topic` is a write to the history file) as history pages are:
   * throws `rate_limited` with the wait past the address's or nick's budget.
   */
  #takeRequest(ref: Ref | undefined): void {
    const waitMs = this.#context.requests.historyPage(
      this.#transport.remoteIp,
      nickKey(this.nick),
      performance.now(),
    );
    if (waitMs > 0) {
      throw new ProtocolError(
        "rate_limited",
        `too many requests in a short time; try again in ${seconds(waitMs)}`,
        { ref, waitMs },
      );
    }
  }

  /** Takes one signature from the address's budget, or throws `rate_limited` with the wait. */
  #takeKeyCheck(): void {
    const waitMs = this.#context.requests.keyCheck(this.#transport.remoteIp, performance.now());
    if (waitMs > 0) {
      throw new ProtocolError(
        "rate_limited",
        `too many signatures asked of this server from your address; try again in ${
          seconds(waitMs)
        }`,
        { waitMs },
      );
    }
  }

  /**
   * Answers a `history` or `search` request. The store answers off the event
   * loop; meanwhile the read loop waits (one request in flight per
   * connection) and live messages to this client are held, so everything
   * reaches it in the order it would have synchronously. Expensive requests
   * are rated per address and nick (`rate_limited` with the wait), and an
   * answer is queued only when the outbox has room for it: the client asked
   * for it, so it never gets its requester dropped as `slow`.
   */
  async #request(message: HistoryRequest | SearchRequest): Promise<void> {
    const requests = this.#context.requests;
    const now = performance.now();
    const key = nickKey(this.nick), ip = this.#transport.remoteIp;
    const waitMs = message.type === "search"
      ? requests.search(ip, key, now)
      : requests.historyPage(ip, key, now);
    if (waitMs > 0) {
      const what = message.type === "search" ? "searches" : "history requests";
      this.#send(errorMessage(
        "rate_limited",
        `too many ${what} in a short time (at most ${
          message.type === "search" ? requests.searchLimitText : requests.historyLimitText
        }); try again in ${seconds(waitMs)}`,
        message.ref,
        waitMs,
      ));
      return;
    }
    // Bounded: the writer drains the outbox or the connection closes.
    while (
      !this.#closing && this.#queuedBytes > 0 &&
      this.#queuedBytes + maxAnswerBytes > this.#context.limits.maxOutboxBytes
    ) {
      await this.#whenDrained();
    }
    if (this.#closing) return;
    const room = this.#context.room;
    this.#hold();
    try {
      const answer = message.type === "history"
        ? await room.historyPage(this, message, room.history.lastId())
        : await room.searchResults(this, message);
      this.#queueAnswer(answer);
    } catch (error) {
      this.#reportError(error, message.ref);
    } finally {
      this.#release();
    }
  }

  /** Queues an answer the client asked for, past the outbox bound (see #request). */
  #queueAnswer(message: Outgoing): void {
    if (this.#closing) return;
    const size = message.payload.length + 4;
    this.#queuedBytes += size;
    this.#queueBytes += size;
    this.#queue.push(message);
    this.#scheduleFlush();
  }

  /** Live messages wait in #held until the matching #release. */
  #hold(): void {
    this.#holds++;
  }

  #release(): void {
    if (--this.#holds > 0) return;
    const held = this.#held;
    this.#held = [];
    for (const message of held) {
      this.#queue.push(message);
      this.#queueBytes += message.payload.length + 4;
    }
    this.#scheduleFlush();
  }

  /** Tells the peer why something was refused; programming errors are logged, not leaked. */
  #reportError(error: unknown, ref?: Ref): void {
    if (error instanceof ProtocolError) {
      this.#send(errorMessage(error.code, error.message, error.ref ?? ref, error.waitMs));
    } else if (error instanceof StorageError) {
      this.#context.log(`storage: ${error.message} (${error.hint})`);
      this.#send(
        errorMessage(
          "storage_failed",
          "the server could not store the message; it was not sent",
          ref,
        ),
      );
    } else {
      this.#context.log(`internal error for ${this.#describe()}: ${String(error)}`);
      this.#send(errorMessage("bad_message", "the server could not handle that message", ref));
    }
  }

  /**
   * Sends the account's conversations with their unread counts (section 9.5)
   * once the store has counted them. Live messages do not wait for it (a busy
   * store must not delay the chat): each count covers its conversation up to
   * its `last`, and a client counts what comes after that itself.
   */
  async #sendConversations(): Promise<void> {
    try {
      for (const part of await this.#context.room.conversations(this)) this.#queueAnswer(part);
    } catch (error) {
      this.#reportError(error);
    }
  }

  /** Sends the messages a resuming client missed, (after, upTo], oldest first. */
  async #replay(after: number, upTo: number): Promise<void> {
    const history = this.#context.room.history;
    this.#hold();
    let cursor = after;
    try {
      for (let page = 0; page < 100_000 && cursor < upTo && !this.#closing; page++) {
        const items = await history.after(
          this.#context.room.viewer(this),
          cursor,
          replayPageSize,
        );
        for (const item of items) {
          if (item.id > upTo) break;
          // Replay pages bypass the outbox bound: one page at a time, then wait for the drain.
          const message = Outgoing.of(this.#context.room.wire(item));
          this.#queuedBytes += message.payload.length + 4;
          this.#queueBytes += message.payload.length + 4;
          this.#queue.push(message);
        }
        this.#scheduleFlush();
        const last = items.at(-1);
        if (last === undefined || items.length < replayPageSize) break;
        cursor = last.id;
        await this.#whenDrained();
      }
    } catch (error) {
      this.#reportError(error);
    } finally {
      this.#release();
    }
  }

  /**
   * Flood control ("fakelag"): takes a token from the sender's bucket and
   * returns how long to wait first (0 almost always). A sender past its burst
   * waits; nothing is dropped.
   */
  #takeFloodToken(): number {
    const { floodBurst, floodPerSecond } = this.#context.limits;
    const now = performance.now();
    this.#floodTokens = Math.min(
      floodBurst,
      this.#floodTokens + Math.max(0, now - this.#floodRefilledAt) * floodPerSecond / 1000,
    );
    this.#floodRefilledAt = now;
    this.#floodTokens -= 1;
    return this.#floodTokens >= 0 ? 0 : Math.ceil(-this.#floodTokens * 1000 / floodPerSecond);
  }

  /** Waits out a flood-control delay; a closing session stops waiting at once. */
  async #throttle(waitMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }

  /**
   * Starts the writer in the server's next write cycle, so that everything
   * delivered until then (many broadcasts under load) goes out in one write.
   */
  #scheduleFlush(): void {
    if (this.#writing || this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    this.#context.writes.request(this.#flush);
  }

  /**
   * The single writer: writes the whole queue at once. What is queued while
   * the write is in flight waits for the next cycle after it is done.
   */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#writing) return;
    if (this.#closed) {
      this.#resolveDrained();
      return;
    }
    if (this.#queue.length === 0) {
      if (this.#data.length > 0) this.#flushData();
      else this.#resolveDrained();
      return;
    }
    const batch = this.#queue;
    this.#inFlightBytes = this.#queueBytes;
    this.#queue = [];
    this.#queueBytes = 0;
    this.#writing = true;
    let written: Promise<void>;
    try {
      written = this.#transport.write(batch);
    } catch (error) {
      // A bug here must cost this connection only, never the process.
      this.#context.log(`internal error writing to ${this.#describe()}: ${String(error)}`);
      written = Promise.reject(error);
    }
    // Handlers made once per session: a busy room writes hundreds of thousands of times a second.
    written.then(this.#afterWrite, this.#afterFailedWrite);
  };

  /** Bytes of the write in flight (still counted in #queuedBytes until it is done). */
  #inFlightBytes = 0;

  readonly #afterWrite = (): void => {
    this.#writing = false;
    this.#queuedBytes -= this.#inFlightBytes;
    // What was queued meanwhile waits for the next cycle.
    if (this.#queue.length > 0 || this.#data.length > 0) this.#scheduleFlush();
    else this.#resolveDrained();
  };

  /** Writes waiting data payloads (a few chunks at once) when no message waits. */
  #flushData(): void {
    let bytes = 0, count = 0;
    while (count < this.#data.length && (count === 0 || bytes < dataBatchBytes)) {
      bytes += this.#data[count]!.message.payload.length;
      count++;
    }
    const taken = this.#data.splice(0, count);
    this.#writing = true;
    this.#inFlightBytes = 0;
    let written: Promise<void>;
    try {
      written = this.#transport.write(taken.map((entry) => entry.message));
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(() => {
      for (const entry of taken) entry.written(true);
      this.#afterWrite();
    }, () => {
      for (const entry of taken) entry.written(false);
      this.#afterFailedWrite();
    });
  }

  readonly #afterFailedWrite = (): void => {
    this.#writing = false;
    this.#queuedBytes -= this.#inFlightBytes;
    this.close("error");
    this.#resolveDrained();
  };

  #resolveDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Resolves once everything queued is written, or the connection is closed. */
  #whenDrained(): Promise<void> {
    if ((this.#queue.length === 0 && !this.#writing) || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #finishInRoom(): void {
    const room = this.#context.room;
    if (this.#joined && room.has(this)) {
      room.leave(this, this.#leaveReason ?? "quit");
      this.#context.log(`${this.nick} left (${this.#leaveReason ?? "quit"})`);
    }
    if (this.#joined) this.#ticket?.leave();
  }

  #closeTransport(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#transfers?.close();
    for (const entry of this.#data.splice(0)) entry.written(false);
    this.#transport.close();
    // A closed session has nothing left to drain, even with a write still pending.
    this.#resolveDrained();
  }

  #describe(): string {
    return this.#joined ? `${this.nick} (${this.remote})` : this.remote;
  }
}

/** A wait in ms as a person reads it: "3 s", "2 min". */
function seconds(waitMs: number): string {
  const total = Math.max(1, Math.ceil(waitMs / 1000));
  return total < 120 ? `${total} s` : `${Math.ceil(total / 60)} min`;
}
