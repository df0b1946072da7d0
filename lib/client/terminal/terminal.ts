/**
 * The keyboard and screen of line mode when stdin is a terminal (and stdout
 * is not: with both, join.ts runs the full-screen client instead).
 *
 * Owns: line editing (node:readline), the `> ` prompt, printing incoming
 * lines above the line being typed without disturbing it, and Ctrl+C/Ctrl+D.
 * Must not import the session or sockets; join.ts wires it up.
 */
import * as readline from "node:readline";
import process from "node:process";
import type { LineReader } from "./line_input.ts";
import { displayWidth } from "./text_width.ts";

/** A terminal in line mode: a {@link LineReader} plus a way to print above the prompt. */
export interface Terminal extends LineReader {
  /** Prints one line above the input line, then redraws what is being typed. */
  print(text: string): void;
}

const prompt = "> ";

/**
 * Opens the terminal for line input. Ctrl+C and Ctrl+D end the input (the
 * caller then leaves the room). The line just typed is erased from the screen
 * when it fits on one row, since the server's echo shows it.
 */
export function openTerminal(): Terminal {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    prompt,
    historySize: 200,
  });
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  let ended = false;

  const finish = () => {
    if (ended) return;
    ended = true;
    wake?.();
  };
  rl.on("line", (line: string) => {
    const columns = process.stdout.columns ?? 80;
    if (displayWidth(prompt + line) < columns) {
      readline.moveCursor(process.stdout, 0, -1);
      readline.clearLine(process.stdout, 0);
    }
    queue.push(line);
    wake?.();
    if (!ended) rl.prompt();
  });
  rl.on("close", finish);
  rl.on("SIGINT", () => rl.close());
  rl.prompt();

  return {
    print(text: string): void {
      if (ended) {
        process.stdout.write(`${text}\n`);
        return;
      }
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
      process.stdout.write(`${text}\n`);
      rl.prompt(true);
    },
    async next(): Promise<string | null> {
      while (true) {
        const line = queue.shift();
        if (line !== undefined) return line;
        if (ended) return null;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    },
    close(): Promise<void> {
      // Leave the screen without a dangling prompt.
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
      rl.close();
      finish();
      // readline leaves stdin flowing; pause it so the process can exit.
      process.stdin.pause();
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      return Promise.resolve();
    },
  };
}
