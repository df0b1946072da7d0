/**
 * The real terminal of the full-screen client: the thin layer around the TTY.
 *
 * Owns: raw mode, the alternate screen, bracketed paste, reading keys from
 * stdin, writing to stdout, the terminal size and resize (SIGWINCH, or
 * polling where there is none), SIGTERM/SIGHUP/SIGINT, and putting the
 * terminal back as it was on every way out (normal exit, error, signal,
 * process exit). Knows nothing of chat; full_screen.ts decides what to draw.
 */
import { type Key, KeyDecoder } from "./keys.ts";

/** Terminal size in character cells. */
export interface TerminalSize {
  width: number;
  height: number;
}

/** What the terminal reports to its owner. */
export interface TtyHandlers {
  /** Keys pressed (or pasted), in order. */
  onKeys(keys: Key[]): void;
  /** The window changed size. */
  onResize(size: TerminalSize): void;
  /** A signal asked the program to end (SIGTERM, SIGHUP, SIGINT), or stdin ended. */
  onEnd(reason: string): void;
}

/** An open full-screen terminal. */
export interface Tty {
  size(): TerminalSize;
  /** Writes text as is (escape sequences included). */
  write(text: string): void;
  /** Restores the terminal (normal screen, cooked mode, cursor shown). Safe to call twice. */
  close(): Promise<void>;
}

const enter = "\x1b[?1049h\x1b[?2004h\x1b[?7h\x1b[H\x1b[2J";
const leave = "\x1b[0m\x1b[?2004l\x1b[?25h\x1b[?1049l";
/** How long a lone ESC waits for the rest of a sequence before it counts as the Escape key. */
const escapeWaitMs = 50;
const encoder = new TextEncoder();

function writeAllSync(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

/** The current size, with a sane fallback when it cannot be read. */
export function terminalSize(): TerminalSize {
  try {
    const { columns, rows } = Deno.consoleSize();
    if (columns > 0 && rows > 0) return { width: columns, height: rows };
  } catch {
    // Not a console: fall through.
  }
  return { width: 80, height: 24 };
}

/**
 * Takes over the terminal: raw mode, alternate screen, bracketed paste.
 * The caller must `close()` it; a process exit or a fatal error restores
 * the terminal too.
 */
export function openTty(handlers: TtyHandlers): Tty {
  let closed = false;
  const restore = () => {
    if (closed) return;
    closed = true;
    try {
      writeAllSync(leave);
    } catch {
      // stdout is gone; nothing to restore on it.
    }
    try {
      Deno.stdin.setRaw(false);
    } catch {
      // stdin is gone.
    }
  };
  // Backstops: whatever ends the process, the person gets their terminal back.
  const onUnload = () => restore();
  const onError = () => restore();
  globalThis.addEventListener("unload", onUnload);
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onError);

  Deno.stdin.setRaw(true);
  writeAllSync(enter);

  const signals: Array<[Deno.Signal, () => void]> = [];
  const listen = (signal: Deno.Signal, handler: () => void): boolean => {
    try {
      Deno.addSignalListener(signal, handler);
      signals.push([signal, handler]);
      return true;
    } catch {
      return false; // Not on this platform.
    }
  };
  let lastSize = terminalSize();
  const checkSize = () => {
    const size = terminalSize();
    if (size.width === lastSize.width && size.height === lastSize.height) return;
    lastSize = size;
    handlers.onResize(size);
  };
  let poll: ReturnType<typeof setInterval> | undefined;
  if (!listen("SIGWINCH", checkSize)) poll = setInterval(checkSize, 500);
  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
    listen(signal, () => handlers.onEnd(signal));
  }

  const decoder = new KeyDecoder();
  const textDecoder = new TextDecoder();
  const reader = Deno.stdin.readable.getReader();
  let escapeTimer: ReturnType<typeof setTimeout> | undefined;
  const reading = (async () => {
    try {
      while (!closed) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(escapeTimer);
        const keys = decoder.feed(textDecoder.decode(value, { stream: true }));
        if (decoder.waiting) {
          escapeTimer = setTimeout(() => {
            const late = decoder.flush();
            if (late.length > 0) handlers.onKeys(late);
          }, escapeWaitMs);
        }
        if (keys.length > 0) handlers.onKeys(keys);
      }
      if (!closed) handlers.onEnd("end of input");
    } catch (error) {
      if (!closed) handlers.onEnd(`cannot read the keyboard: ${String(error)}`);
    }
  })();

  return {
    size: () => lastSize,
    write(text: string): void {
      if (closed) return;
      try {
        writeAllSync(text);
      } catch (error) {
        // The terminal went away (hung up, closed pipe): end instead of crashing.
        handlers.onEnd(`cannot write to the terminal: ${String(error)}`);
      }
    },
    async close(): Promise<void> {
      clearTimeout(escapeTimer);
      clearInterval(poll);
      for (const [signal, handler] of signals) {
        try {
          Deno.removeSignalListener(signal, handler);
        } catch {
          // Already gone.
        }
      }
      restore();
      globalThis.removeEventListener("unload", onUnload);
      globalThis.removeEventListener("error", onError);
      globalThis.removeEventListener("unhandledrejection", onError);
      await reader.cancel().catch(() => {});
      await reading;
    },
  };
}
