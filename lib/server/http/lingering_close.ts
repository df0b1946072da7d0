/**
 * Closing a socket so that the last bytes written reach the peer.
 *
 * Owns: the lingering close. Closing a socket that still has unread input
 * makes the kernel answer with a reset, and a reset can make the peer drop
 * what it had not read yet: the HTTP error that explains a refusal, or the
 * WebSocket close frame with its code. So: finish sending (FIN), read and
 * throw away what the peer still sends until it closes, for a bounded time
 * and a bounded number of bytes, then close. Knows nothing of HTTP or
 * WebSocket; no lib/ imports.
 */

/** Options of {@link lingeringClose}. Every field documents its default. */
export interface LingerOptions {
  /** Longest wait for the peer to close, in ms. Default 1000. */
  lingerMs?: number;
  /** Most bytes read and thrown away before closing anyway. Default 256 KiB. */
  maxDiscardBytes?: number;
  /**
   * Reads from the socket: pass one when a read may already be in flight, so
   * that the two share it. Default: reads of conn into a 4 KiB buffer.
   */
  read?: () => Promise<number | null>;
}

/** Half-closes `conn`, drains it (bounded) and closes it. Never rejects. */
export async function lingeringClose(conn: Deno.Conn, options: LingerOptions = {}): Promise<void> {
  const maxDiscardBytes = options.maxDiscardBytes ?? 256 * 1024;
  try {
    await conn.closeWrite();
  } catch {
    // Already closed or reset: nothing left to say.
    closeQuietly(conn);
    return;
  }
  // Closing ends the pending read below: the wait is bounded by the timer.
  const timer = setTimeout(() => closeQuietly(conn), options.lingerMs ?? 1000);
  const buffer = options.read === undefined ? new Uint8Array(4096) : null;
  const read = options.read ?? (() => conn.read(buffer!));
  try {
    let discarded = 0;
    // Bounded by maxDiscardBytes, by the peer's end, and by the timer closing the socket.
    while (discarded < maxDiscardBytes) {
      const count = await read();
      if (count === null) break;
      discarded += count;
    }
  } catch {
    // Reset, or closed by the timer: either way it is over.
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

/** Closes `conn`, ignoring that it may be closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
