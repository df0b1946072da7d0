/**
 * The terminal client's transport: a TCP connection with 4-byte frames.
 *
 * Owns: `Deno.connect` with a timeout, `setNoDelay`, framing in both
 * directions (8 KiB reads, lib/frame.ts), and turning socket errors into
 * short sentences. Knows nothing of JSON, Noise or nicks: it carries payloads
 * for lib/client/connection.ts. Imports lib/frame.ts, lib/wire/errors.ts and
 * lib/client/channel.ts only.
 */
import { encodeFrame, FrameDecoder } from "../../frame.ts";
import { ProtocolError } from "../../wire/errors.ts";
import type { Address } from "../address.ts";
import {
  type ChannelHandlers,
  ConnectError,
  type Dialer,
  type PayloadChannel,
} from "../channel.ts";

/** Bytes read from the socket at once. */
const clientReadBytes = 256 * 1024;
/** Turns a failed `Deno.connect` (or read, or write) into a few words a person understands. */
export function describeConnectError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.NetworkUnreachable) return "network unreachable";
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  const message = error instanceof Error ? error.message : String(error);
  if (
    /lookup address|name or service not known|nodename nor servname|no such host/i.test(message)
  ) {
    return "host not found";
  }
  if (/no route to host|host is unreachable/i.test(message)) return "no route to host";
  return message.replace(/ \(os error \d+\)$/, "");
}

/**
 * Connects over TCP, with `setNoDelay(true)`. Throws {@link ConnectError}
 * when the server cannot be reached within `timeoutMs`.
 *
 * @example
 * const session = new ChatSession({ address, dial: dialTcp, onEvent });
 */
export const dialTcp: Dialer = async (address: Address, timeoutMs: number) => {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Deno.connect({
    hostname: address.host,
    port: address.port,
    signal: controller.signal,
  });
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  let conn: Deno.TcpConn;
  try {
    const winner = await Promise.race([connecting, timedOut]);
    if (winner === "timeout") {
      controller.abort();
      // A connect that still completes after we gave up must not leak.
      connecting.then((late) => late.close(), () => {});
      throw new ConnectError(address, `timed out after ${Math.round(timeoutMs / 1000)} s`);
    }
    conn = winner;
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    throw new ConnectError(address, describeConnectError(error), { cause: error });
  } finally {
    clearTimeout(timer);
  }
  try {
    conn.setNoDelay(true);
  } catch {
    // Not fatal: only latency suffers.
  }
  return new TcpChannel(conn);
};

class TcpChannel implements PayloadChannel {
  readonly #conn: Deno.TcpConn;
  #closed = false;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  start(handlers: ChannelHandlers): void {
    this.#pump(handlers);
  }

  async write(payload: Uint8Array, _sealed: boolean): Promise<void> {
    const frame = encodeFrame(payload);
    let offset = 0;
    try {
      while (offset < frame.length) offset += await this.#conn.write(frame.subarray(offset));
    } catch (error) {
      throw new Error(describeConnectError(error), { cause: error });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the other side.
    }
  }

  async #pump(handlers: ChannelHandlers): Promise<void> {
    const decoder = new FrameDecoder();
    // One connection per client: large reads cost little memory and take a file's chunks a few
    // at a time (8 KiB reads made a 1 GiB download 131,072 reads).
    const buffer = new Uint8Array(clientReadBytes);
    // Bounded by the socket: each round reads once; the loop ends when it closes or fails.
    for (;;) {
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (error) {
        this.close();
        return handlers.end(describeConnectError(error));
      }
      if (count === null) {
        this.close();
        return handlers.end(
          decoder.midFrame ? "the server closed it mid-frame" : "the server closed it",
        );
      }
      let payloads: Uint8Array[];
      try {
        payloads = decoder.push(buffer.subarray(0, count));
      } catch (error) {
        this.close();
        const problem = error instanceof ProtocolError ? error.message : String(error);
        return handlers.end(`the server sent a broken frame: ${problem}`);
      }
      for (const payload of payloads) handlers.payload(payload);
      if (this.#closed) return handlers.end("closed by the client");
    }
  }
}
