/**
 * `lanchat serve`: the TCP accept loop, the session ticker, start and stop.
 *
 * Owns: listening sockets, the set of live sessions, admitting connections on
 * both ports through one ConnectionGate (per address, not yet joined, per
 * network), and putting the room password's SecureTransport in front of every
 * connection. Chat rules live in room.ts, per-connection rules in session.ts,
 * the handshake in secure_transport.ts, the limits in connection_gate.ts,
 * request_limits.ts and auth_throttle.ts; this module only wires them.
 */
import { ListenError } from "../wire/errors.ts";
import { fingerprint, generateKeyPair, type KeyPair } from "../wire/identity.ts";
import { MemoryHistory } from "../store/history.ts";
import type { History } from "../store/history.ts";
import { type IdentityLimits, Room } from "./room.ts";
import type { Accounts } from "../store/accounts.ts";
import type { Channels } from "../store/channels.ts";
import type { ReadMarks } from "../store/read_marks.ts";
import type { LinkCodeLimits } from "./link_codes.ts";
import { defaultSessionLimits, Session } from "./session.ts";
import type { SessionLimits } from "./session.ts";
import { TcpTransport } from "./transport/transport.ts";
import type { Transport } from "./transport/transport.ts";
import { startWebServer } from "./http/web_server.ts";
import type { RunningWebServer, WebLimits } from "./http/web_server.ts";
import { WebAccessRules } from "./http/web_hosts.ts";
import type { WebAccessOptions } from "./http/web_hosts.ts";
import { WebSocketTransport } from "./transport/ws_transport.ts";
import { startDiscoveryResponder } from "../discovery/discovery_responder.ts";
import type { DiscoveryResponder } from "../discovery/discovery_responder.ts";
import { isLoopbackHost } from "../discovery/lan_addresses.ts";
import { SecureTransport } from "./transport/secure_transport.ts";
import type { RoomKey } from "../wire/room_key.ts";
import { Outgoing } from "./outgoing.ts";
import { errorMessage } from "../wire/protocol.ts";
import { maxPayloadBytes } from "../frame.ts";
import { WriteScheduler } from "./transport/write_scheduler.ts";
import { runAcceptLoop } from "./accept_loop.ts";
import { ConnectionGate } from "./limits/connection_gate.ts";
import type { GateLimits, Ticket } from "./limits/connection_gate.ts";
import { RequestLimits } from "./limits/request_limits.ts";
import type { RequestRates } from "./limits/request_limits.ts";
import { AuthThrottle } from "./limits/auth_throttle.ts";
import type { AuthThrottleLimits } from "./limits/auth_throttle.ts";
import { SummaryLog } from "./summary_log.ts";
import { FileService, type FileServiceLimits } from "./files/file_service.ts";
import type { FileStore } from "../store/file_store.ts";

/** Options of startServer. Every field documents its default. */
export interface ServerOptions {
  /** Address to bind. Default "0.0.0.0" (every IPv4 interface). */
  host?: string;
  /** TCP chat port; 0 picks a free one. Default 9000. */
  port?: number;
  /** Port of the web page and `/ws`; 0 picks a free one; null serves no web. Default null. */
  webPort?: number | null;
  /** Room name shown to clients. Default: this machine's hostname. */
  name?: string;
  /**
   * The server's own Ed25519 key (issue #14), sent in `server.key` and proven
   * on `prove`. Default: a new one for this run.
   */
  serverKey?: KeyPair;
  /** Most users online at once. Default 1000. */
  maxUsers?: number;
  /** Joins and leaves are announced while at most this many are online. Default 1000. */
  presenceLimit?: number;
  /** Accounts and device keys (PROTOCOL.md section 8). Default: a new MemoryAccounts. */
  accounts?: Accounts;
  /** Who may join with what: guests, account limits. Defaults: room.ts defaultIdentityLimits. */
  identity?: Partial<IdentityLimits>;
  /** Limits of link codes. Defaults: link_codes.ts defaultLinkCodeLimits. */
  linkCodes?: Partial<LinkCodeLimits>;
  /** Channels and their members (PROTOCOL.md section 9). Default: a new MemoryChannels. */
  channels?: Channels;
  /** Read marks and notification levels (section 9.5). Default: in memory. */
  readMarks?: ReadMarks;
  /** Message store. Default: a new MemoryHistory. Closed by close(). */
  history?: History;
  /**
   * File transfer (PROTOCOL.md section 10): where the bytes go, and the limits. Default: none
   * (`upload` and `get` are refused). The store is the caller's to close.
   */
  files?: { store: FileStore; limits?: Partial<FileServiceLimits> };
  /** Per-connection limits; missing fields take defaultSessionLimits. */
  limits?: Partial<SessionLimits>;
  /** How often deadlines are checked, in ms. Default 1000. */
  tickMs?: number;
  /** Operator log (joins, leaves, dropped members). Default: none. */
  log?: (line: string) => void;
  /**
   * UDP port answering LAN discovery (PROTOCOL.md section 6); 0 picks a free
   * one; null answers none. Default null. A port that cannot be bound does
   * not stop the server: see RunningServer.discoveryProblem.
   */
  discoveryPort?: number | null;
  /**
   * The room password, derived once (lib/wire/room_key.ts createRoomKey): every
   * connection, TCP and WebSocket, must pass the Noise handshake of
   * PROTOCOL.md section 5 first. Default null: no password.
   */
  roomKey?: RoomKey | null;
  /** Connections open at once from one IP address, both ports together; the next is refused. Default 64. */
  maxConnectionsPerIp?: number;
  /** The other admission limits (lib/server/limits/connection_gate.ts); missing fields take their defaults. */
  gate?: Partial<Omit<GateLimits, "maxConnectionsPerIp">>;
  /** Searches, history pages and stored text per address and nick (lib/server/limits/request_limits.ts). */
  requestRates?: Partial<RequestRates>;
  /** Failed room-password handshakes per address (lib/server/limits/auth_throttle.ts). */
  authLimits?: Partial<AuthThrottleLimits>;
  /** Largest frame (TCP) or WebSocket message a client may send, <= 65535. Default 65535. */
  maxFrameBytes?: number;
  /** TLS for the web page (PEM text of the certificate chain and the key). Default: none. */
  webTls?: { cert: string; key: string } | null;
  /** Names the page answers to besides this machine's, and other origins allowed to open `/ws` (lib/server/http/web_hosts.ts). */
  webAccess?: Pick<WebAccessOptions, "webHosts" | "allowOrigins">;
  /** Timeouts and sizes of the web port (lib/server/http/web_server.ts); missing fields take their defaults. */
  webLimits?: Partial<WebLimits>;
  /**
   * Socket writes per second before output to each connection is coalesced
   * over longer windows (lib/server/transport/write_scheduler.ts). Default 50,000.
   */
  writesPerSecond?: number;
}

/** A server that is accepting connections. */
export interface RunningServer extends AsyncDisposable {
  /** The bound address. */
  readonly host: string;
  /** Room name sent to clients. */
  readonly name: string;
  /** The bound TCP port (the real one when 0 was asked). */
  readonly port: number;
  /** The bound web port, or null without the web page. */
  readonly webPort: number | null;
  /** True when the web page is served over TLS (https:, wss:). */
  readonly webTls: boolean;
  /** The bound discovery port, or null when discovery is off or could not start. */
  readonly discoveryPort: number | null;
  /** Why discovery is not answering although it was asked for (port in use...), else null. */
  readonly discoveryProblem: string | null;
  /** File transfer, when the server takes files (its sweep runs after retention). */
  readonly files: FileService | null;
  readonly room: Room;
  /** Connections currently open (joined or not). */
  readonly connections: number;
  /** Tells everyone `shutting_down`, closes every connection and the store. */
  close(): Promise<void>;
}

/** How long a refused connection may take to read why before it is closed. */
const refuseDeadlineMs = 1000;

/**
 * Starts a lanchat server. Throws (synchronously) a ListenError, whose
 * cause is Deno.errors.AddrInUse, PermissionDenied, etc., when a port cannot
 * be bound.
 *
 * @example
 * await using server = await startServer({ host: "127.0.0.1", port: 0 });
 * console.log(server.port);
 */
export function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const history = options.history ?? new MemoryHistory();
  const log = options.log ?? (() => {});
  const files = options.files === undefined ? null : new FileService(
    options.files.store,
    history,
    {
      ...(options.files.limits === undefined ? {} : { limits: options.files.limits }),
      maxFrameBytes: Math.min(
        options.maxFrameBytes ?? options.limits?.maxFrameBytes ?? maxPayloadBytes,
        maxPayloadBytes,
      ),
      log,
    },
  );
  const room = new Room({
    history,
    maxUsers: options.maxUsers ?? 1000,
    ...(options.presenceLimit === undefined ? {} : { presenceLimit: options.presenceLimit }),
    ...(options.accounts === undefined ? {} : { accounts: options.accounts }),
    ...(options.identity === undefined ? {} : { identity: options.identity }),
    ...(options.linkCodes === undefined ? {} : { linkCodes: options.linkCodes }),
    ...(options.channels === undefined ? {} : { channels: options.channels }),
    ...(options.readMarks === undefined ? {} : { readMarks: options.readMarks }),
    ...(files === null ? {} : { files: files.wireLimits }),
  });
  const host = options.host ?? "0.0.0.0";
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: host, port: options.port ?? 9000 });
  } catch (error) {
    throw new ListenError("chat", options.port ?? 9000, error);
  }
  const roomKey = options.roomKey ?? null;
  const limits = { ...defaultSessionLimits, ...options.limits };
  if (options.maxFrameBytes !== undefined) {
    limits.maxFrameBytes = Math.min(options.maxFrameBytes, maxPayloadBytes);
  }
  const serverKey = options.serverKey ?? generateKeyPair();
  const serverFingerprint = fingerprint(serverKey.publicKey);
  const context = {
    room,
    serverName: options.name ?? Deno.hostname(),
    secure: roomKey?.params ?? null,
    serverKey,
    limits,
    log,
    writes: new WriteScheduler(
      options.writesPerSecond === undefined ? {} : { writesPerSecond: options.writesPerSecond },
    ),
    requests: new RequestLimits(options.requestRates),
    files,
  };
  const gate = new ConnectionGate({
    ...options.gate,
    ...(options.maxConnectionsPerIp === undefined
      ? {}
      : { maxConnectionsPerIp: options.maxConnectionsPerIp }),
  });
  const throttle = roomKey === null
    ? null
    : new AuthThrottle({ log, now: performance.now(), limits: options.authLimits ?? {} });
  const refusals = new SummaryLog(log, "refused connections", { now: performance.now() });
  const sessions = new Map<Session, Promise<void>>();
  let stopping = false;

  const ticker = setInterval(() => {
    const now = performance.now();
    for (const session of sessions.keys()) session.tick(now);
    try {
      room.tick();
    } catch (error) {
      log(`accounts: ${error instanceof Error ? error.message : String(error)}`);
    }
    throttle?.tick(now);
    refusals.tick(now);
  }, options.tickMs ?? 1000);

  /** Connections being told they are refused (closed within refuseDeadlineMs). */
  const refusing = new Set<Promise<void>>();

  /** Tells a connection the gate refused it why (`server_full`), then closes it, bounded in time. */
  const refuse = (plain: Transport, why: string, note = true) => {
    if (note) refusals.note(plain.remoteIp, `refused a connection from ${plain.remote}: ${why}`);
    const refusal = Outgoing.of(errorMessage("server_full", why));
    // Bounded: a peer that does not read cannot hold the socket open past the deadline.
    const timer = setTimeout(() => plain.close(), refuseDeadlineMs);
    const refused = plain.write([refusal]).catch(() => {}).finally(() => {
      clearTimeout(timer);
      plain.close();
      refusing.delete(refused);
    });
    refusing.add(refused);
  };

  /**
   * Plugs one admitted connection, TCP or WebSocket, into the room (after the
   * handshake, with a password). Its ticket is released when it closes.
   */
  const adopt = (plain: Transport, ticket: Ticket) => {
    const transport = roomKey === null
      ? plain
      : new SecureTransport(plain, roomKey, { log, throttle });
    const session = new Session(transport, context, ticket);
    const running = session.run().finally(() => {
      sessions.delete(session);
      ticket.release();
    });
    sessions.set(session, running);
  };

  let web: RunningWebServer | null = null;
  if (options.webPort !== undefined && options.webPort !== null) {
    try {
      web = startWebServer({
        host,
        port: options.webPort,
        chatPort: (listener.addr as Deno.NetAddr).port,
        log,
        ...(options.webTls ? { tls: options.webTls } : {}),
        access: new WebAccessRules(options.webAccess ?? {}),
        ...(options.webLimits === undefined ? {} : { limits: options.webLimits }),
        stopping: () => stopping,
        admit: (ip) => gate.admit(ip),
        onRefused: (remote, ip, why) =>
          refusals.note(ip, `refused a connection from ${remote}: ${why}`),
        onWebSocket: (conn, initialBytes, admission) => {
          const transport = new WebSocketTransport(conn, {
            initialBytes,
            maxPayloadBytes: limits.preJoinFrameBytes,
          });
          if (stopping) {
            transport.close();
            if (!("refused" in admission)) admission.release();
          } else if ("refused" in admission) refuse(transport, admission.refused, false);
          else adopt(transport, admission);
        },
      });
    } catch (error) {
      listener.close();
      clearInterval(ticker);
      throw new ListenError("web", options.webPort, error);
    }
  }

  const acceptLoop = runAcceptLoop({
    listener,
    role: "chat",
    log,
    stopping: () => stopping,
    onConnection: (conn) => {
      // The pre-join limit: a connection that has not joined holds a small frame at most.
      const transport = new TcpTransport(conn, { maxPayloadBytes: limits.preJoinFrameBytes });
      const admission = gate.admit(transport.remoteIp);
      if ("refused" in admission) refuse(transport, admission.refused);
      else adopt(transport, admission);
    },
  });

  const address = listener.addr;
  // Resolves with the responder, or with the reason it could not start.
  const discoveryStarted: Promise<DiscoveryResponder | string | null> =
    options.discoveryPort === undefined || options.discoveryPort === null
      ? Promise.resolve(null)
      : startDiscoveryResponder({
        port: options.discoveryPort,
        // Broadcasts reach only a socket bound to every address; a loopback
        // server answers this machine only.
        host: isLoopbackHost(host) ? "127.0.0.1" : "0.0.0.0",
        info: () => ({
          name: context.serverName,
          port: address.port,
          web: web?.port ?? null,
          secure: context.secure !== null,
          users: room.size,
          key: serverFingerprint,
        }),
        log,
      }).catch((error: unknown) => error instanceof Error ? error.message : String(error));

  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (async () => {
      stopping = true;
      const discovery = await discoveryStarted;
      if (typeof discovery === "object" && discovery !== null) await discovery.close();
      clearInterval(ticker);
      listener.close();
      await acceptLoop;
      room.clear();
      // Sessions first: closing the web server would drop WebSocket members
      // before they are told `shutting_down`.
      for (const session of sessions.keys()) session.shutdown();
      await Promise.all(sessions.values());
      await Promise.all(refusing);
      await web?.close();
      await files?.close();
      await history.close();
    })();

  // Only once every port listens: a server that failed to start must leave no timer behind.
  void files?.startSweeping();
  return discoveryStarted.then((discovery) => ({
    host: address.hostname,
    name: context.serverName,
    port: address.port,
    webPort: web?.port ?? null,
    webTls: web !== null && options.webTls !== undefined && options.webTls !== null,
    discoveryPort: typeof discovery === "object" && discovery !== null ? discovery.port : null,
    discoveryProblem: typeof discovery === "string" ? discovery : null,
    room,
    files,
    get connections() {
      return sessions.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  }));
}
