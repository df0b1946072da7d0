/**
 * `lanchat join` at a real terminal: the CLI runs inside tmux, keys are typed
 * with `tmux send-keys` and the screen is read with `tmux capture-pane`.
 * Checks that the nick prompt (@inquirer/prompts) and the line input after it
 * share stdin, and that hostile text stays inert on screen. Skipped when tmux
 * is not installed. Waits poll the screen until a deadline; no fixed sleeps.
 */
import { assert } from "./_assert.ts";
import { startServer } from "../lib/server.ts";
import { repoRoot } from "./fixtures/client_process.ts";
import { RawClient } from "./fixtures/client_raw.ts";

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** A private tmux server (its own socket), so tests never touch a person's sessions. */
class Tmux implements AsyncDisposable {
  readonly socket = `lanchat-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  async run(...args: string[]): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return new TextDecoder().decode(output.stdout);
  }

  screen(): Promise<string> {
    return this.run("capture-pane", "-p", "-t", "chat");
  }

  /** Types text (literally), then Enter. */
  async type(text: string): Promise<void> {
    await this.run("send-keys", "-t", "chat", "-l", text);
    await this.run("send-keys", "-t", "chat", "Enter");
  }

  /** Polls the screen until `pattern` shows, or fails with the screen after `timeoutMs`. */
  async waitForScreen(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 50)); // poll interval, not a sync point
    }
    throw new Error(`screen never showed ${pattern} within ${timeoutMs} ms:\n${screen}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}

Deno.test({
  name:
    "interactive join asks the nick, then chats from the same terminal, showing hostile text inert",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startServer({ host: "127.0.0.1", port: 0 });
    await using observer = await RawClient.join(server.port, "bob");
    await using tmux = new Tmux();
    const command = `cd ${repoRoot} && NO_COLOR=1 ${Deno.execPath()} run -A main.ts join ` +
      `127.0.0.1:${server.port}; echo "exit code $?"; sleep 30`;
    await tmux.run("new-session", "-d", "-s", "chat", "-x", "120", "-y", "40", command);

    await tmux.waitForScreen(/Your nick:/);
    await tmux.type("BOB");
    await tmux.waitForScreen(/already online; pick another nick[\s\S]*Choose another nick:/);
    await tmux.type("ana");
    await tmux.waitForScreen(/you are ana; type \/help/);
    await observer.waitFor((message) => message.type === "joined" && message.nick === "ana");

    await tmux.type("hello from the keyboard");
    await observer.waitForMessages((message) => message.text === "hello from the keyboard", 1);
    await tmux.waitForScreen(/<ana> hello from the keyboard/);

    await observer.say("\x1b[2J\x1b[Hwiped?");
    await observer.say("just for you", "ana");
    const screen = await tmux.waitForScreen(/\[private\] <bob> just for you/);
    assert(screen.includes("<bob> ␛[2J␛[Hwiped?"), screen);
    assert(screen.includes("<ana> hello from the keyboard"), "the screen was not wiped");

    await tmux.type("/quit");
    await tmux.waitForScreen(/exit code 0/);
    await observer.waitFor((message) => message.type === "left" && message.nick === "ana");
  },
});
