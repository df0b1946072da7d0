/**
 * What the client core needs of a transport: one open channel to a server
 * that carries whole payloads in order, and a way to open one.
 *
 * Owns: the {@link PayloadChannel} and {@link Dialer} contracts and
 * {@link ConnectError}. The terminal implements them over TCP with 4-byte
 * frames (lib/client/terminal/tcp_channel.ts), the page over a WebSocket, one
 * payload per message (lib/web/websocket_channel.ts); PROTOCOL.md section 1.
 * Must not import anything but lib/client/address.ts: no sockets, no Deno, no DOM.
 */
import { type Address, formatAddress } from "./address.ts";

/** How a channel reports what arrives; each is called in order, `end` exactly once, last. */
export interface ChannelHandlers {
  /** One whole payload (a TCP frame's body, or one WebSocket message). */
  payload(bytes: Uint8Array): void;
  /** The channel is over: closed by either side, failed, or a broken frame; `reason` is human. */
  end(reason: string): void;
}

/** One open transport to a server. */
export interface PayloadChannel {
  /** Starts delivering payloads to `handlers`; called once, right after the channel opened. */
  start(handlers: ChannelHandlers): void;
  /**
   * Writes one payload; resolves once it is written (or handed to the
   * transport). `sealed` is true for a Noise transport message, false for
   * plaintext JSON (a WebSocket sends that as a text message). Calls never
   * overlap: the core waits for one write before the next.
   */
  write(payload: Uint8Array, sealed: boolean): Promise<void>;
  /** Closes the channel; `end` follows. Safe to call twice. */
  close(): void;
}

/** Opens a channel to `address`, or throws {@link ConnectError} within `timeoutMs`. */
export type Dialer = (address: Address, timeoutMs: number) => Promise<PayloadChannel>;

/** Could not open the connection; `reason` is short and human ("connection refused"). */
export class ConnectError extends Error {
  override name = "ConnectError";
  readonly reason: string;

  constructor(address: Address, reason: string, options?: ErrorOptions) {
    super(`cannot reach ${formatAddress(address)} (${reason})`, options);
    this.reason = reason;
  }
}
