/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's transport for the client core: a WebSocket to `/ws`, one
 * payload per WebSocket message (docs/PROTOCOL.md section 1). Plaintext JSON
 * goes out as a text message, sealed Noise messages (section 5) as binary;
 * what arrives (either kind) is handed on as bytes.
 *
 * Owns: opening the socket with a deadline, `binaryType = "arraybuffer"`,
 * and turning what a browser says about a failed socket (nothing, mostly)
 * into a sentence. Knows nothing of JSON, Noise or nicks: it carries payloads
 * for lib/client/connection.ts. Imports lib/client/channel.ts only.
 */
import type { Address } from "../../client/address.ts";
import {
  type ChannelHandlers,
  ConnectError,
  type Dialer,
  type PayloadChannel,
} from "../../client/channel.ts";

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * A Dialer that opens a WebSocket to `url` (the address is only named in errors).
 *
 * @example
 * const dial = webSocketDialer(`ws://${location.host}/ws`);
 * new ChatSession({ address, dial, onEvent });
 */
export function webSocketDialer(url: string): Dialer {
  return (address, timeoutMs) => openSocket(url, address, timeoutMs);
}

/** The address of the page's own server, as the core names it: host and port of `location`. */
export function pageAddress(
  location: { hostname: string; port: string; protocol: string },
): Address {
  const port = location.port === ""
    ? (location.protocol === "https:" ? 443 : 80)
    : Number(location.port);
  return { host: location.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

function openSocket(url: string, address: Address, timeoutMs: number): Promise<PayloadChannel> {
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      reject(new ConnectError(address, error instanceof Error ? error.message : String(error)));
      return;
    }
    socket.binaryType = "arraybuffer";
    // Listening from the start: nothing that arrives between open and start() is lost.
    const channel = new WebSocketChannel(socket);
    const timer = setTimeout(() => {
      socket.close();
      reject(new ConnectError(address, `no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      resolve(channel);
    }, { once: true });
    socket.addEventListener("close", () => {
      clearTimeout(timer);
      // A browser tells a page nothing more about a socket that did not open.
      reject(new ConnectError(address, "the server did not accept the connection"));
    }, { once: true });
  });
}

/** An open WebSocket as a PayloadChannel. */
class WebSocketChannel implements PayloadChannel {
  readonly #socket: WebSocket;
  #handlers: ChannelHandlers | null = null;
  /** What arrived before start(). */
  #early: Uint8Array[] = [];
  #endReason: string | null = null;
  #ended = false;

  constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener("message", (event: MessageEvent<ArrayBuffer | string>) => {
      const data = event.data;
      const bytes = typeof data === "string" ? utf8Encoder.encode(data) : new Uint8Array(data);
      if (this.#handlers === null) this.#early.push(bytes);
      else this.#handlers.payload(bytes);
    });
    socket.addEventListener("close", (event) => {
      this.#endReason ??= event.wasClean || event.code === 1000 || event.code === 1005
        ? "the server closed it"
        : `the connection broke (WebSocket code ${event.code})`;
      this.#end();
    });
  }

  start(handlers: ChannelHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const bytes of early) handlers.payload(bytes);
    this.#end();
  }

  write(payload: Uint8Array, sealed: boolean): Promise<void> {
    if (this.#socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("the connection is closed"));
    }
    // A WebSocket buffers what it cannot send yet; the browser gives no back pressure to wait on.
    this.#socket.send(sealed ? new Uint8Array(payload) : utf8Decoder.decode(payload));
    return Promise.resolve();
  }

  close(): void {
    if (this.#endReason === null) this.#endReason = "closed by the client";
    this.#socket.close();
  }

  /** Reports the end once, after every payload, once the socket closed and start() was called. */
  #end(): void {
    if (this.#ended || this.#handlers === null || this.#socket.readyState !== WebSocket.CLOSED) {
      return;
    }
    this.#ended = true;
    this.#handlers.end(this.#endReason ?? "closed");
  }
}
