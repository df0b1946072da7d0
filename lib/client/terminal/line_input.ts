/**
 * Lines from a byte stream (stdin when piped, or any ReadableStream).
 *
 * Owns: splitting UTF-8 input into lines (`\n` or `\r\n`, a last line without
 * a newline included) with bounded buffering per read. Pure stream code: no
 * sockets, no terminal handling (see terminal.ts for that).
 * Must not import anything outside lib/client/.
 */

/** A source of lines that can be stopped early. */
export interface LineReader {
  /** The next line without its line ending, or null at the end of input. */
  next(): Promise<string | null>;
  /** Stops reading and releases the stream. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Reads `stream` as UTF-8 lines. Invalid UTF-8 becomes U+FFFD.
 *
 * @example
 * const reader = readLines(Deno.stdin.readable);
 * for (let line = await reader.next(); line !== null; line = await reader.next()) use(line);
 */
export function readLines(stream: ReadableStream<Uint8Array>): LineReader {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let searchFrom = 0;
  let finished = false;
  let closed = false;
  return {
    async next(): Promise<string | null> {
      while (true) {
        const newline = buffer.indexOf("\n", searchFrom);
        if (newline >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          searchFrom = 0;
          return line.endsWith("\r") ? line.slice(0, -1) : line;
        }
        searchFrom = buffer.length;
        if (finished || closed) {
          if (buffer === "") return null;
          const last = buffer;
          buffer = "";
          searchFrom = 0;
          return last.endsWith("\r") ? last.slice(0, -1) : last;
        }
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch {
          finished = true;
          continue;
        }
        if (chunk.done) finished = true;
        else buffer += chunk.value;
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      buffer = "";
      await reader.cancel().catch(() => {});
    },
  };
}
