/**
 * The accept loop of a listening socket (the chat port and the web port).
 *
 * Owns: the rule that an accept error never ends the process. Out of file
 * descriptors (EMFILE, ENFILE), out of buffers, a connection reset before it
 * was accepted: the loop logs the first failure of an episode, backs off
 * (10 ms doubling to 1 s) and keeps accepting; when accepting works again it
 * logs one summary line. Knows nothing of what the connections carry.
 */

/** Options of {@link runAcceptLoop}. */
export interface AcceptLoopOptions<C extends Deno.Conn> {
  /** The listening socket. Closing it ends the loop. */
  listener: Deno.Listener<C>;
  /** Called with every accepted connection. Must not throw; a throw closes that connection. */
  onConnection: (conn: C) => void;
  /** Which port, for the log ("chat", "web"). */
  role: string;
  /** Operator log. */
  log: (line: string) => void;
  /** True once the server is stopping: accept errors are then expected. */
  stopping: () => boolean;
  /** First pause after an accept error, in ms. Default 10. */
  firstBackoffMs?: number;
  /** Longest pause after repeated accept errors, in ms. Default 1000. */
  maxBackoffMs?: number;
}

/**
 * Accepts connections until the listener is closed. Resolves then; never
 * rejects.
 *
 * @example
 * const loop = runAcceptLoop({ listener, role: "chat", log, stopping: () => false, onConnection });
 * listener.close();
 * await loop;
 */
export async function runAcceptLoop<C extends Deno.Conn>(
  options: AcceptLoopOptions<C>,
): Promise<void> {
  const firstBackoffMs = options.firstBackoffMs ?? 10;
  const maxBackoffMs = options.maxBackoffMs ?? 1000;
  let failures = 0;
  let failingSince = 0;
  let backoffMs = firstBackoffMs;
  let accepted = 0;
  // Bounded by the listener: once it is closed, accept() rejects with BadResource and the loop ends.
  for (;;) {
    let conn: C;
    try {
      conn = await options.listener.accept();
    } catch (error) {
      if (options.stopping() || error instanceof Deno.errors.BadResource) return;
      if (error instanceof Deno.errors.Interrupted) continue;
      if (failures === 0) {
        failingSince = performance.now();
        options.log(
          `${options.role} port: cannot accept connections: ${describe(error)}; ` +
            `retrying (further failures are counted, not logged)`,
        );
      }
      failures++;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
      continue;
    }
    if (failures > 0) {
      const seconds = ((performance.now() - failingSince) / 1000).toFixed(1);
      options.log(
        `${options.role} port: accepting again after ${failures} failed accepts in ${seconds} s`,
      );
      failures = 0;
      backoffMs = firstBackoffMs;
    }
    // A storm of connections must not keep the loop to itself: let timers and reads run.
    if (++accepted % yieldEvery === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      options.onConnection(conn);
    } catch (error) {
      options.log(`${options.role} port: could not set up a connection: ${describe(error)}`);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }
}

/** Accepted connections between two yields to the event loop. */
const yieldEvery = 16;

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/ \(os error \d+\)$/, "");
}
