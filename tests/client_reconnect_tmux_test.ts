/**
 * The full-screen `lanchat join` while its server is gone (issue #13): the
 * real CLI in a tmux pane against a real `lanchat serve` process with a
 * history file, killed (SIGKILL, by the pid this test started) and started
 * again on the same port and file. The client keeps its screen after the
 * three quick attempts, counts down to the next one in the status bar,
 * reconnects by itself or at once with Ctrl+R, and shows what was said
 * meanwhile exactly once. Skipped when tmux is not installed. Every wait has
 * a deadline; the final screen is saved in test-output/tmux/.
 */
import { assert, assertEquals } from "./_assert.ts";
import { serveOnLoopback, type ServeProcess } from "./fixtures/client_process.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { hasTmux, joinCommand, type Pane, Tmux } from "./fixtures/client_tmux.ts";

const env = { NO_COLOR: "1" };
const offline = /offline, retrying in (\d+) s \(Ctrl\+R: now\)/;
/** The quick attempts wait about 1 s, 2 s and 4 s (each up to 20 % longer): all done by 8.4 s. */
const quickAttemptsMs = 8_400;

/** The status bar: the row with the room name and the separators. */
async function statusBar(pane: Pane): Promise<string> {
  return (await pane.rows()).findLast((row) => row.includes(" │ ")) ?? "";
}

/** Seconds left on the status bar's countdown, or null when it shows none. */
function secondsLeft(screen: string): number | null {
  const match = offline.exec(screen);
  return match === null ? null : Number(match[1]);
}

/** A screen check that fails at once when the client has exited (its pane says so). */
function stillRunning(check: (screen: string) => boolean): (screen: string) => boolean {
  return (screen) => {
    if (/exit code \d+/.test(screen)) throw new Error(`the client exited:\n${screen}`);
    return check(screen);
  };
}

/** Rows of `screen` that are the message `text` from `nick`. */
function shownTimes(screen: string, nick: string, text: string): number {
  return screen.split("\n").filter((row) => row.endsWith(`<${nick}> ${text}`)).length;
}

function count(screen: string, pattern: RegExp): number {
  return screen.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/** Kills the server (SIGKILL, the child this test started) and reaps it; returns when. */
async function killServer(server: ServeProcess): Promise<number> {
  await server[Symbol.asyncDispose]();
  return Date.now();
}

Deno.test({
  name:
    "full screen keeps its screen while the server is gone, counts down, comes back by itself or with Ctrl+R, showing what was missed once",
  ignore: !hasTmux(),
  async fn() {
    const directory = await Deno.makeTempDir({ prefix: "lanchat-reconnect-tmux-" });
    const db = `${directory}/history.db`;
    const serveArgs = ["--db", db, "--quiet", "--name", "test room"];
    let server = await serveOnLoopback(serveArgs);
    const port = server.port;
    await using tmux = new Tmux();
    try {
      const ana = await tmux.open(
        "ana",
        joinCommand([`127.0.0.1:${port}`, "--nick", "ana"], env),
        110,
        60,
      );
      await ana.waitFor(/you are ana; type \/help/);
      {
        await using bob = await RawClient.join(port, "bob");
        await bob.say("before the outage");
        await ana.waitFor(/<bob> before the outage/);
      }

      // Outage 1: the three quick attempts fail; the client stays, counting down.
      let killedAt = await killServer(server);
      await ana.waitFor(/! lost the connection to 127\.0\.0\.1:\d+/);
      const waiting = await ana.waitFor(
        stillRunning((screen) => Date.now() - killedAt > quickAttemptsMs && offline.test(screen)),
        quickAttemptsMs + 10_000,
      );
      assertEquals(shownTimes(waiting, "bob", "before the outage"), 1, waiting);
      assert(/! attempt 3 failed: connection refused/.test(waiting), waiting);
      assert(/still offline: trying again after longer waits/.test(waiting), waiting);
      assert(offline.test(await statusBar(ana)), await statusBar(ana));
      // A live countdown: the number goes down while we look.
      const shown = secondsLeft(waiting)!;
      assert(shown > 1, waiting);
      await ana.waitFor((screen) => (secondsLeft(screen) ?? shown) < shown, 2_500);
      await ana.typeText("typed while offline");

      // The server is back (same port, same history); someone else talks while ana is away.
      server = await serveOnLoopback(serveArgs, { port });
      await using carol = await RawClient.join(port, "carol");
      await carol.say("while away 1");
      await carol.say("while away 2");
      await carol.waitForMessages((message) => message.text === "while away 2", 1);
      // No key pressed: the countdown ends and the client resumes by itself (the fourth
      // attempt comes 6.4 to 9.6 s after the third).
      const back = await ana.waitFor(/back in the room; 2 missed messages above/, 15_000);
      assertEquals(shownTimes(back, "carol", "while away 1"), 1, back);
      assertEquals(shownTimes(back, "carol", "while away 2"), 1, back);
      assertEquals(shownTimes(back, "bob", "before the outage"), 1, back);
      await ana.waitFor(async () => (await statusBar(ana)).includes("│ connected │"), 5_000);
      assert((await ana.rows()).at(-1)!.includes("> typed while offline"), "the typed text stayed");
      await ana.press("C-u");
      await carol.say("live again");
      await ana.waitFor(/<carol> live again/);

      // Outage 2: once in a long wait, Ctrl+R reconnects before the countdown ends.
      killedAt = await killServer(server);
      const stillOffline = /still offline: trying again after longer waits/;
      await ana.waitFor(
        stillRunning((screen) => count(screen, stillOffline) === 2 && offline.test(screen)),
        quickAttemptsMs + 10_000,
      );
      server = await serveOnLoopback(serveArgs, { port });
      await using dave = await RawClient.join(port, "dave");
      await dave.say("said during the second outage");
      await dave.waitForMessages((message) => message.text === "said during the second outage", 1);
      const before = await ana.screen();
      const left = secondsLeft(before);
      assert(left !== null && left >= 3, `not in a long wait any more:\n${before}`);
      // The countdown ends no sooner than (left - 1) s from now; the key must beat it.
      const countdownEnds = Date.now() + (left - 1) * 1000;
      await ana.press("C-r");
      const retried = await ana.waitFor(/back in the room; 1 missed message above/, 5_000);
      const reconnectedAt = Date.now();
      assert(
        reconnectedAt < countdownEnds,
        `reconnected ${reconnectedAt - countdownEnds} ms after the countdown would have ended`,
      );
      assertEquals(shownTimes(retried, "dave", "said during the second outage"), 1, retried);
      assertEquals(shownTimes(retried, "carol", "while away 1"), 1, retried);
      assertEquals(shownTimes(retried, "carol", "live again"), 1, retried);
      console.log(
        `outage 2: back ${reconnectedAt - killedAt} ms after the kill, ` +
          `${countdownEnds - reconnectedAt} ms or more before the countdown's end`,
      );

      await ana.type("/help");
      await ana.waitFor(/Ctrl\+R reconnect now, while offline/);
      await ana.save("reconnect-before-quit");
      await ana.type("/quit");
      await ana.waitFor(/exit code 0/);
    } finally {
      await tmux.saveAll("reconnect");
      await server[Symbol.asyncDispose]();
      await Deno.remove(directory, { recursive: true });
    }
  },
});
