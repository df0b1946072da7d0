/**
 * `lanchat join` at a real terminal: the CLI runs inside tmux, keys are typed
 * with `tmux send-keys` and the screen is read with `tmux capture-pane`.
 * Checks that the nick prompt (@inquirer/prompts) and the full-screen client
 * after it share stdin, and that hostile text stays inert on screen. Skipped
 * when tmux is not installed. Waits poll the screen until a deadline; no
 * fixed sleeps. The final screens are saved in test-output/tmux/.
 */
import { assert } from "./_assert.ts";
import { startServer } from "../lib/server/server.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { hasTmux, joinCommand, Tmux } from "./fixtures/client_tmux.ts";

Deno.test({
  name:
    "interactive join asks the nick, then chats from the same terminal, showing hostile text inert",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startServer({ host: "127.0.0.1", port: 0 });
    await using observer = await RawClient.join(server.port, "bob");
    await using tmux = new Tmux();
    const chat = await tmux.open(
      "prompt",
      joinCommand([`127.0.0.1:${server.port}`], { NO_COLOR: "1" }),
      120,
      40,
    );
    await chat.waitFor(/Your nick:/);
    await chat.type("BOB");
    await chat.waitFor(/already online; pick another nick[\s\S]*Choose another nick:/);
    await chat.type("ana");
    await chat.waitFor(/you are ana; type \/help/);
    await observer.waitFor((message) => message.type === "joined" && message.nick === "ana");

    await chat.type("hello from the keyboard");
    await observer.waitForMessages((message) => message.text === "hello from the keyboard", 1);
    await chat.waitFor(/<ana> hello from the keyboard/);

    await observer.say("\x1b[2J\x1b[Hwiped?");
    await observer.say("just for you", "ana");
    // The private message waits in its own conversation, counted in the status bar.
    const screen = await chat.waitFor(/@bob 1 │/);
    assert(screen.includes("<bob> ␛[2J␛[Hwiped?"), screen);
    assert(screen.includes("<ana> hello from the keyboard"), "the screen was not wiped");
    await chat.press("M-2");
    await chat.waitFor(/\[private\] <bob> just for you/);

    await chat.save("prompt-before-quit");
    await chat.type("/quit");
    await chat.waitFor(/exit code 0/);
    await observer.waitFor((message) => message.type === "left" && message.nick === "ana");
  },
});
