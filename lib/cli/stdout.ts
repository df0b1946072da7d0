/**
 * What lanchat does when whoever reads its standard output goes away
 * (`lanchat --help | head -3`, `lanchat history | less` quit early): it ends
 * at once, quietly, with exit code 0, as a Unix program ended by SIGPIPE
 * would, but without a stack trace or a failing status. Deno ignores SIGPIPE,
 * so a write to the closed pipe fails instead (Deno.errors.BrokenPipe, or
 * `write EPIPE` through node:process) and, uncaught, ends the process with a
 * stack trace and exit code 1.
 *
 * Owns: that one rule. {@link endQuietlyWhenStdoutCloses} puts it on every
 * write to stdout in the process (commander's help, the client's lines,
 * node:process writes), {@link printLine} is the writer the commands use.
 * `console.log` is left alone: Deno already drops its output silently, so a
 * server logging there keeps serving when its log reader goes.
 * Imports nothing of lanchat.
 */
import process from "node:process";

const encoder = new TextEncoder();

/** True for the failure of a write to a pipe whose reader is gone. */
export function isBrokenPipe(error: unknown): boolean {
  if (error instanceof Deno.errors.BrokenPipe) return true;
  return typeof error === "object" && error !== null &&
    (error as { code?: unknown }).code === "EPIPE";
}

/** Ends the process now with exit code 0: nobody reads what it would print. */
function endQuietly(): never {
  Deno.exit(0);
}

let installed = false;

/**
 * Makes every write to stdout end the process quietly (exit 0) once the
 * reader has gone: writes through Deno.stdout (which node:process's stdout
 * uses too) and, should a failed write reach it some other way, an `error`
 * event of process.stdout. Call once, first thing in main.ts. Calling it
 * again does nothing.
 */
export function endQuietlyWhenStdoutCloses(): void {
  if (installed) return;
  installed = true;
  const stdout = Deno.stdout;
  const writeSync = stdout.writeSync.bind(stdout);
  const write = stdout.write.bind(stdout);
  stdout.writeSync = (bytes: Uint8Array): number => {
    try {
      return writeSync(bytes);
    } catch (error) {
      if (isBrokenPipe(error)) endQuietly();
      throw error;
    }
  };
  stdout.write = async (bytes: Uint8Array): Promise<number> => {
    try {
      return await write(bytes);
    } catch (error) {
      if (isBrokenPipe(error)) endQuietly();
      throw error;
    }
  };
  process.stdout.on("error", (error: unknown) => {
    if (isBrokenPipe(error)) endQuietly();
    throw error;
  });
}

/**
 * Writes `text` to stdout as it is (no newline added), all of it, before it
 * returns; ends the process quietly when the reader has gone.
 */
export function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
  } catch (error) {
    if (isBrokenPipe(error)) endQuietly();
    throw error;
  }
}

/** Writes `line` and a newline to stdout (see {@link writeStdout}). */
export function printLine(line: string): void {
  writeStdout(`${line}\n`);
}
