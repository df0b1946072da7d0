/**
 * The HTTP side of `lanchat serve`: the web page's files at `/` and the chat
 * protocol over WebSocket at `/ws` (PROTOCOL.md section 1), on a small
 * HTTP/1.1 server of its own over Deno.listen / Deno.listenTls.
 *
 * Owns: the web port's accept loop (lib/server/accept_loop.ts: an accept error never
 * ends the process), admission of every connection at accept (the same
 * per-address gate as the chat port), the header and keep-alive timeouts, the
 * size limit of a request head, the Host and Origin checks (lib/server/http/web_hosts.ts),
 * routing, static files from lib/web/ (embedded in the compiled binary with
 * `--include lib/web`), security headers, and the WebSocket opening handshake.
 * Hands every upgraded connection, with its ticket or its refusal, to
 * `onWebSocket`; knows nothing of the room or of JSON.
 *
 * Why not Deno.serve: it offers no header timeout, no way to refuse a
 * connection before it costs a request, and its accept errors end the
 * process (issue #12, defect 1).
 */
import { runAcceptLoop } from "../accept_loop.ts";
import type { Admission } from "../limits/connection_gate.ts";
import {
  announcedBody,
  findHeadEnd,
  headerTokens,
  isHeadProblem,
  parseRequestHead,
  singleHeader,
  wantsKeepAlive,
} from "./http_request.ts";
import type { RequestHead } from "./http_request.ts";
import { closeQuietly, lingeringClose } from "./lingering_close.ts";
import { parseHostHeader, WebAccessRules } from "./web_hosts.ts";
import { isWebSocketKey, webSocketAccept } from "../transport/websocket_frames.ts";

/** Limits of the web port. Every field documents its default. */
export interface WebLimits {
  /** Longest wait for a whole request head once its first byte came, in ms. Default 5000. */
  headerTimeoutMs: number;
  /** Longest wait for the first byte of a request (a new or kept-alive connection), in ms. Default 5000. */
  idleTimeoutMs: number;
  /** Largest request head (request line and headers), in bytes. Default 16384. */
  maxHeadBytes: number;
  /** Longest time one response may take to be written (a reader that does not read), in ms. Default 10000. */
  responseTimeoutMs: number;
  /** Requests served on one kept-alive connection before it is closed. Default 1000. */
  maxRequestsPerConnection: number;
}

/** The defaults of WebLimits. */
export const defaultWebLimits: WebLimits = {
  headerTimeoutMs: 5000,
  idleTimeoutMs: 5000,
  maxHeadBytes: 16 * 1024,
  responseTimeoutMs: 10_000,
  maxRequestsPerConnection: 1000,
};

/** Options of startWebServer. */
export interface WebServerOptions {
  /** Address to bind. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Asked at accept for every connection (the connection gate). */
  admit: (ip: string) => Admission;
  /** Told of every connection refused at accept, with the sentence it was told. */
  onRefused: (remote: string, ip: string, why: string) => void;
  /**
   * Called with every connection upgraded to WebSocket on `/ws`: the bytes
   * read past the handshake, and its ticket, or the refusal to tell it (a
   * page then shows why, which a failed handshake could not).
   */
  onWebSocket: (
    conn: Deno.TcpConn | Deno.TlsConn,
    initialBytes: Uint8Array,
    admission: Admission,
  ) => void;
  /** True once the server is stopping. */
  stopping: () => boolean;
  /** Host and Origin rules. Default: this machine's addresses and names only, no other origin. */
  access?: WebAccessRules;
  /** Limits; missing fields take defaultWebLimits. */
  limits?: Partial<WebLimits>;
  /** Where the page's files are. Default: lib/web/ beside this module. */
  assetsDir?: URL;
  /** Operator log for unexpected failures. Default: none. */
  log?: (line: string) => void;
  /**
   * The TCP chat port, written into the page (`<meta name="lanchat-chat-port">`) so that the
   * terminal commands it shows (`lanchat join HOST:PORT --link CODE`) name the right port.
   */
  chatPort?: number;
  /** Serve HTTPS and WSS with this PEM certificate chain and key. Default: plain HTTP. */
  tls?: { cert: string; key: string };
}

/** A running web server. */
export interface RunningWebServer {
  readonly port: number;
  /** HTTP connections open now (not counting upgraded WebSockets). */
  readonly httpConnections: number;
  /** Stops accepting and closes every HTTP connection (upgraded ones belong to their sessions). */
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  webmanifest: "application/manifest+json",
};

/**
 * Headers on every answer: the page may load only its own files and talk
 * only to this server, and no inline script or style from anywhere runs.
 */
const securityHeaders: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

const statusTexts: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  421: "Misdirected Request",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** How long a refused connection may take to send its head (to learn why, if it is a WebSocket). */
const refusalHeadMs = 1000;
/** Refused connections being answered at once; beyond, a refused connection is closed unanswered. */
const maxRefusalsInFlight = 256;

const utf8 = new TextEncoder();

/** A response to write: status, extra headers, body. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Close the connection after it (errors, Connection: close). */
  close: boolean;
  /** A HEAD request: headers only. */
  headOnly?: boolean;
}

/** Starts the web server. Throws like Deno.listen when the port cannot be bound. */
export function startWebServer(options: WebServerOptions): RunningWebServer {
  const limits: WebLimits = { ...defaultWebLimits, ...options.limits };
  const assetsDir = options.assetsDir ?? new URL("../../web/", import.meta.url);
  const log = options.log ?? (() => {});
  const access = options.access ?? new WebAccessRules();
  const scheme = options.tls === undefined ? "http" : "https";
  const cache = new Map<string, Uint8Array>();
  const listener: Deno.Listener<Deno.TcpConn | Deno.TlsConn> = options.tls === undefined
    ? Deno.listen({ hostname: options.host, port: options.port })
    : Deno.listenTls({
      hostname: options.host,
      port: options.port,
      cert: options.tls.cert,
      key: options.tls.key,
    });
  const open = new Set<Deno.TcpConn | Deno.TlsConn>();
  const running = new Set<Promise<void>>();
  let refusalsInFlight = 0;

  const readAsset = async (name: string): Promise<Uint8Array | null> => {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    try {
      const bytes = await Deno.readFile(new URL(name, assetsDir));
      cache.set(name, bytes);
      return bytes;
    } catch {
      return null;
    }
  };

  /** What to answer a request that is not a WebSocket upgrade. */
  const answerRequest = async (head: RequestHead): Promise<Answer> => {
    const keepAlive = wantsKeepAlive(head);
    const path = head.target.split("?")[0]!;
    if (path === "/ws") {
      return {
        status: 426,
        headers: { upgrade: "websocket", "sec-websocket-version": "13" },
        body: "this address speaks WebSocket only",
        close: !keepAlive,
      };
    }
    if (head.method !== "GET" && head.method !== "HEAD") {
      return {
        status: 405,
        headers: { allow: "GET, HEAD" },
        body: "method not allowed",
        close: true,
      };
    }
    const name = path === "/" ? "index.html" : path.slice(1);
    // Only plain file names inside lib/web/: no folders, no "..".
    if (!/^[\w-]+(\.[\w-]+)*$/.test(name)) {
      return { status: 404, body: "not found", close: !keepAlive };
    }
    let bytes = await readAsset(name);
    if (bytes === null) return { status: 404, body: "not found", close: !keepAlive };
    if (name === "index.html" && options.chatPort !== undefined) {
      bytes = new TextEncoder().encode(
        new TextDecoder().decode(bytes).replace(
          '<meta name="lanchat-chat-port" content="">',
          `<meta name="lanchat-chat-port" content="${options.chatPort}">`,
        ),
      );
    }
    const type = contentTypes[name.split(".").pop() ?? ""] ?? "application/octet-stream";
    return {
      status: 200,
      headers: { "content-type": type },
      body: bytes,
      close: !keepAlive,
      headOnly: head.method === "HEAD",
    };
  };

  /** Checks an upgrade on `/ws`; the answer to refuse it with, or null when it may proceed. */
  const upgradeProblem = (head: RequestHead, host: string): Answer | null => {
    if (head.method !== "GET") {
      return {
        status: 405,
        headers: { allow: "GET" },
        body: "a WebSocket opens with GET",
        close: true,
      };
    }
    if (!headerTokens(head, "connection").includes("upgrade")) {
      return { status: 400, body: "a WebSocket upgrade needs Connection: Upgrade", close: true };
    }
    if (singleHeader(head, "sec-websocket-version") !== "13") {
      return {
        status: 426,
        headers: { "sec-websocket-version": "13" },
        body: "this server speaks WebSocket version 13",
        close: true,
      };
    }
    const key = singleHeader(head, "sec-websocket-key");
    if (typeof key !== "string" || !isWebSocketKey(key)) {
      return {
        status: 400,
        body: "Sec-WebSocket-Key is missing or not 16 bytes of base64",
        close: true,
      };
    }
    const origin = singleHeader(head, "origin");
    if (origin === null) return { status: 400, body: "more than one Origin header", close: true };
    const problem = access.originProblem(origin, scheme, host);
    if (problem !== null) return { status: 403, body: problem, close: true };
    return null;
  };

  /** Serves one connection: requests until it closes, times out or upgrades. */
  const serveConnection = async (conn: Deno.TcpConn | Deno.TlsConn, admission: Admission) => {
    const refused = "refused" in admission;
    let handedOver = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => closeQuietly(conn), ms);
    };
    const buffer = new Uint8Array(limits.maxHeadBytes);
    let filled = 0;
    try {
      // Bounded by maxRequestsPerConnection, and each round by the timeouts.
      for (let served = 0; served < limits.maxRequestsPerConnection; served++) {
        deadline(
          refused ? refusalHeadMs : filled > 0 ? limits.headerTimeoutMs : limits.idleTimeoutMs,
        );
        let scanned = 0;
        let headEnd = findHeadEnd(buffer, filled);
        // Bounded: each read adds at least one byte to a buffer of maxHeadBytes, or ends.
        while (headEnd < 0) {
          if (filled === buffer.length) {
            await respond(conn, {
              status: 431,
              body: `the request head is longer than ${limits.maxHeadBytes} bytes`,
              close: true,
            }, limits.responseTimeoutMs);
            return;
          }
          const count = await conn.read(buffer.subarray(filled));
          if (count === null) return;
          if (filled === 0 && !refused) deadline(limits.headerTimeoutMs);
          scanned = filled;
          filled += count;
          headEnd = findHeadEnd(buffer, filled, scanned);
        }
        clearTimeout(timer);
        const parsed = parseRequestHead(buffer.subarray(0, headEnd));
        const rest = buffer.slice(headEnd, filled);
        buffer.set(rest);
        filled = rest.length;
        if (isHeadProblem(parsed)) {
          await respond(
            conn,
            { status: parsed.status, body: parsed.reason, close: true },
            limits.responseTimeoutMs,
          );
          return;
        }
        const hostValue = singleHeader(parsed, "host");
        const host = typeof hostValue === "string" ? parseHostHeader(hostValue) : null;
        if (host === null) {
          const body = hostValue === undefined
            ? "a Host header is required"
            : "the Host header is not one host name or address (with an optional port)";
          await respond(conn, { status: 400, body, close: true }, limits.responseTimeoutMs);
          return;
        }
        const hostProblem = access.hostProblem(host);
        if (hostProblem !== null) {
          await respond(
            conn,
            { status: 421, body: hostProblem, close: true },
            limits.responseTimeoutMs,
          );
          return;
        }
        const body = announcedBody(parsed);
        if (body !== "none") {
          // Nothing here takes a body: refuse rather than guess where it ends.
          const answer = body === "invalid"
            ? { status: 400, body: "the Content-Length header is not one number", close: true }
            : {
              status: 405,
              headers: { allow: "GET, HEAD" },
              body: "requests with a body are not served",
              close: true,
            };
          await respond(conn, answer, limits.responseTimeoutMs);
          return;
        }
        const path = parsed.target.split("?")[0]!;
        const upgrade = path === "/ws" && headerTokens(parsed, "upgrade").includes("websocket");
        if (refused && !upgrade) {
          await respond(conn, {
            status: 503,
            headers: { "retry-after": "10" },
            body: admission.refused,
            close: true,
          }, limits.responseTimeoutMs);
          return;
        }
        if (upgrade) {
          const problem = upgradeProblem(parsed, hostValue as string);
          if (problem !== null) {
            await respond(conn, problem, limits.responseTimeoutMs);
            return;
          }
          const accept = await webSocketAccept(singleHeader(parsed, "sec-websocket-key") as string);
          deadline(limits.responseTimeoutMs);
          await writeAll(
            conn,
            utf8.encode(
              "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
                `sec-websocket-accept: ${accept}\r\n\r\n`,
            ),
          );
          clearTimeout(timer);
          if (options.stopping()) return;
          handedOver = true;
          open.delete(conn);
          options.onWebSocket(conn, rest, admission);
          return;
        }
        const answer = await answerRequest(parsed);
        if (served + 1 === limits.maxRequestsPerConnection) answer.close = true;
        await respond(conn, answer, limits.responseTimeoutMs);
        if (answer.close) return;
      }
    } catch (error) {
      // A reset, a TLS handshake that failed, or the deadline closing the socket.
      if (!(error instanceof Deno.errors.BadResource) && !isPeerGone(error)) {
        log(`web connection from ${conn.remoteAddr.hostname} failed: ${describe(error)}`);
      }
    } finally {
      clearTimeout(timer);
      if (!handedOver) {
        open.delete(conn);
        closeQuietly(conn);
        if (!refused) admission.release();
      }
    }
  };

  /** Writes an answer; errors end with a lingering close so the peer reads the explanation. */
  const respond = async (conn: Deno.TcpConn | Deno.TlsConn, answer: Answer, timeoutMs: number) => {
    const body = typeof answer.body === "string"
      ? utf8.encode(answer.body + "\n")
      : answer.body ?? new Uint8Array(0);
    const headers: Record<string, string> = {
      ...securityHeaders,
      "content-type": "text/plain; charset=utf-8",
      ...answer.headers,
      "content-length": String(body.length),
      connection: answer.close ? "close" : "keep-alive",
    };
    let text = `HTTP/1.1 ${answer.status} ${statusTexts[answer.status] ?? "Unknown"}\r\n`;
    for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
    const headBytes = utf8.encode(text + "\r\n");
    const whole = new Uint8Array(headBytes.length + (answer.headOnly ? 0 : body.length));
    whole.set(headBytes);
    if (!answer.headOnly) whole.set(body, headBytes.length);
    const timer = setTimeout(() => closeQuietly(conn), timeoutMs);
    try {
      await writeAll(conn, whole);
    } finally {
      clearTimeout(timer);
    }
    if (answer.close) await lingeringClose(conn);
  };

  const acceptLoop = runAcceptLoop({
    listener,
    role: "web",
    log,
    stopping: options.stopping,
    onConnection: (conn) => {
      if (options.stopping()) {
        closeQuietly(conn);
        return;
      }
      const ip = conn.remoteAddr.hostname;
      const admission = options.admit(ip);
      if ("refused" in admission) {
        const remote = ip.includes(":")
          ? `[${ip}]:${conn.remoteAddr.port}`
          : `${ip}:${conn.remoteAddr.port}`;
        options.onRefused(remote, ip, admission.refused);
        if (refusalsInFlight >= maxRefusalsInFlight) {
          closeQuietly(conn);
          return;
        }
        refusalsInFlight++;
      }
      open.add(conn);
      const served = serveConnection(conn, admission).finally(() => {
        if ("refused" in admission) refusalsInFlight--;
        running.delete(served);
      });
      running.add(served);
    },
  });

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get httpConnections() {
      return open.size;
    },
    close: async () => {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await acceptLoop;
      for (const conn of open) closeQuietly(conn);
      await Promise.all(running);
    },
  };
}

/** Sends every byte, in as many writes as the socket takes. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  // Bounded: each write sends at least one byte or throws (the caller's timer closes a stuck one).
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.Interrupted ||
    (error instanceof Error && /tls|handshake|certificate|close_notify/i.test(error.message));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
