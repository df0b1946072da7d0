/**
 * The HTTP side of `lanchat serve`: the web page's files at `/` and the chat
 * protocol over WebSocket at `/ws` (PROTOCOL.md section 1).
 *
 * Owns: HTTP routing, static files from lib/web/ (embedded in the compiled
 * binary with `--include lib/web`), security headers. Hands every accepted
 * WebSocket to `onSocket`; knows nothing of the room.
 */

/** Options of startWebServer. */
export interface WebServerOptions {
  /** Address to bind. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Called with every WebSocket opened on `/ws`. */
  onSocket: (socket: WebSocket, remote: Deno.NetAddr) => void;
  /** Where the page's files are. Default: lib/web/ beside this module. */
  assetsDir?: URL;
  /** Operator log for unexpected failures. Default: none. */
  log?: (line: string) => void;
  /** Serve HTTPS and WSS with this PEM certificate chain and key. Default: plain HTTP. */
  tls?: { cert: string; key: string };
}

/** A running web server. */
export interface RunningWebServer {
  readonly port: number;
  /** Stops accepting; resolves when every HTTP connection has finished. */
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
const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** Starts the web server. Throws like Deno.listen when the port cannot be bound. */
export function startWebServer(options: WebServerOptions): RunningWebServer {
  const assetsDir = options.assetsDir ?? new URL("./web/", import.meta.url);
  const log = options.log ?? (() => {});
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();

  const readAsset = async (name: string): Promise<Uint8Array<ArrayBuffer> | null> => {
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

  const server = Deno.serve({
    hostname: options.host,
    port: options.port,
    ...(options.tls === undefined ? {} : { cert: options.tls.cert, key: options.tls.key }),
    onListen: () => {},
    onError: (error) => {
      log(`web request failed: ${error instanceof Error ? error.message : String(error)}`);
      return new Response("internal error", { status: 500 });
    },
  }, async (request, info) => {
    const url = new URL(request.url);
    if (url.pathname === "/ws") {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("this address speaks WebSocket only", {
          status: 426,
          headers: securityHeaders,
        });
      }
      const remote = info.remoteAddr; // readable only before the upgrade
      const { socket, response } = Deno.upgradeWebSocket(request);
      options.onSocket(socket, remote);
      return response;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed", { status: 405, headers: securityHeaders });
    }
    const name = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
    // Only plain file names inside lib/web/: no folders, no "..".
    if (!/^[\w-]+(\.[\w-]+)*$/.test(name)) return notFound();
    const bytes = await readAsset(name);
    if (bytes === null) return notFound();
    const type = contentTypes[name.split(".").pop() ?? ""] ?? "application/octet-stream";
    return new Response(request.method === "HEAD" ? null : bytes, {
      headers: { ...securityHeaders, "content-type": type },
    });
  });

  return {
    port: server.addr.port,
    close: async () => {
      await server.shutdown();
    },
  };
}

function notFound(): Response {
  return new Response("not found", { status: 404, headers: securityHeaders });
}
