/**
 * Issue #15 item 7 at a real terminal: the full-screen `lanchat join` in
 * tmux against a real server (in-process, loopback), with bob and a second
 * device of ana's account as sessions in this process. The status bar lists
 * the conversations with their unread counts (a direct message sent while ana
 * was offline among them), `#ops 3 @1` after bob writes there; Alt+1/Alt+2,
 * /next, Ctrl+P and Alt+Right switch; the count clears on screen and, within
 * 1 s, on ana's other device, and the other way round; typed lines go to the
 * conversation on screen; /channels, /topic, /notify, /part. Skipped when
 * tmux is not installed. Waits poll the screen until a deadline.
 */
import "./_helpers.ts";
import { assert, assertEquals } from "./_assert.ts";
import { withDeadline } from "./_helpers.ts";
import { startServer } from "../lib/server/server.ts";
import { lanchatToEnd } from "./fixtures/client_process.ts";
import { hasTmux, joinCommand, Tmux } from "./fixtures/client_tmux.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { ChatSession, type SessionEvent } from "../lib/client/session.ts";
import { UnreadTracker } from "../lib/client/unread.ts";
import { readKey } from "../lib/identity/key_file.ts";
import { generateKeyPair, type KeyPair } from "../lib/wire/identity.ts";

/** A data folder (XDG_DATA_HOME) of one device, removed at the end. */
async function dataFolder(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-device-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** A device in this process whose events feed an UnreadTracker (its marks go straight out). */
async function device(
  port: number,
  nick: string,
  key: KeyPair,
): Promise<
  { session: ChatSession; unread: UnreadTracker; events: SessionEvent[] } & AsyncDisposable
> {
  const events: SessionEvent[] = [];
  let session: ChatSession | null = null;
  const unread = new UnreadTracker({
    onRead: (mark) => session?.markRead(mark.conversation, mark.id),
  });
  session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    nick,
    deviceKey: key,
    onEvent: (event) => {
      events.push(event);
      if (event.type === "conversations") unread.seed(event.items);
      if (event.type === "read") unread.applyRead(event.conversation, event.id);
      if (event.type === "message") {
        unread.arrive(event.message, event.text, event.own, event.source, nick);
      }
    },
  });
  await session.start();
  const started = session;
  return {
    session: started,
    unread,
    events,
    [Symbol.asyncDispose]: async () => void await started.quit(),
  };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  await withDeadline(
    (async () => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    ms,
    what,
  );
}

Deno.test({
  name:
    "full screen: conversations with unread counts in the status bar; Alt+N, /next, Ctrl+P, Alt+Right switch; reading clears the count here and on my other device",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startServer({ host: "127.0.0.1", port: 0, name: "office" });
    const where = `127.0.0.1:${server.port}`;
    await using home = await dataFolder();
    // ana's account: this data folder's device key joins once (piped), then goes.
    const first = await lanchatToEnd(["join", where, "--nick", "ana"], {
      input: "",
      env: { XDG_DATA_HOME: home },
    });
    assertEquals(first.code, 0, first.stderr);
    const anaKey = (await readKey(`${home}/lanchat/device_key.json`, "device"))?.keyPair;
    assert(anaKey !== undefined, "no device key");

    await using bob = await device(server.port, "bob", generateKeyPair());
    await bob.session.joinChannel("#ops");
    await bob.session.say("are you there?", { to: "ana" }); // ana is offline
    await bob.session.allDelivered();

    await using tmux = new Tmux();
    try {
      const ana = await tmux.open(
        "ana",
        joinCommand([where, "--nick", "ana"], { NO_COLOR: "1", XDG_DATA_HOME: home }),
        110,
        24,
      );
      await ana.waitFor(/you are ana; type \/help/);
      // The direct message sent while ana was offline: unread.
      await ana.waitFor(/ \[#general\] @bob 1 │/);

      await ana.type("/join #ops");
      await ana.waitFor(/ #general \[#ops\] @bob 1 │/);
      await ana.waitFor(/-- you are in #ops \(2 members\)/);
      assertEquals((await ana.rows()).at(-1), "[#ops] >");
      await ana.press("M-1");
      await ana.waitFor(/ \[#general\] #ops @bob 1 │/);
      assertEquals(await ana.format("#{window_bell_flag}"), "0");

      await using phone = await device(server.port, "ana", anaKey);
      await until(() => phone.unread.find("#ops") !== undefined, "the phone knows #ops");
      for (const text of ["deploy 1", "deploy 2", "@ana look"]) {
        await bob.session.say(text, { channel: "#ops" });
      }
      await ana.waitFor(/ \[#general\] #ops 3 @1 @bob 1 │/);
      assert(!(await ana.screen()).includes("deploy 1"), "#ops is not on screen");
      assertEquals(await ana.format("#{window_bell_flag}"), "1", "a message elsewhere rings");
      await until(() => phone.unread.find("#ops")?.unread === 3, "3 unread on the phone");

      // Alt+2: #ops on screen, read, here and on the phone within 1 s.
      const pressed = performance.now();
      await ana.press("M-2");
      await ana.waitFor(/ #general \[#ops\] @bob 1 │/);
      await ana.waitFor(/<bob> @ana look/);
      await until(() => phone.unread.find("#ops")?.unread === 0, "the phone's count", 1000);
      const tookMs = performance.now() - pressed;
      assert(tookMs < 1000, `the phone's count dropped after ${tookMs} ms`);

      // /next: the only unread conversation left.
      await ana.type("/next");
      await ana.waitFor(/ #general #ops \[@bob\] │/);
      await ana.waitFor(/\[private\] <bob> are you there\?/);
      assertEquals((await ana.rows()).at(-1), "[bob] >");

      // Read on the phone: the terminal's count goes too.
      await bob.session.say("deploy 4", { channel: "#ops" });
      await ana.waitFor(/ #general #ops 1 \[@bob\] │/);
      phone.unread.activate("#ops");
      await ana.waitFor(/ #general #ops \[@bob\] │/, 1000);

      // Ctrl+P and Alt+Right step through the conversations; a typed line goes to the one shown.
      await ana.press("C-p");
      await ana.waitFor(/ #general \[#ops\] @bob │/);
      await ana.type("on it");
      await until(
        () =>
          bob.events.some((event) =>
            event.type === "message" && event.text === "on it" && event.message.channel === "#ops"
          ),
        "bob gets 'on it' in #ops",
      );
      await ana.press("M-Right");
      await ana.waitFor(/ #general #ops \[@bob\] │/);
      await ana.type("yes, here");
      await until(
        () =>
          bob.events.some((event) =>
            event.type === "message" && event.text === "yes, here" && event.message.to === "bob"
          ),
        "bob gets 'yes, here' privately",
      );

      await ana.press("M-2");
      await ana.type("/topic deploys and incidents");
      await ana.waitFor(/ana set the topic of #ops: deploys and incidents/);
      await ana.type("/channels");
      await ana.waitFor(/#ops \(2 members, you are in it\): deploys and incidents/);
      await ana.type("/notify mentions");
      await ana.waitFor(/#ops: you are told only when someone mentions you/);
      await until(
        () => phone.events.some((event) => event.type === "notify" && event.level === "mentions"),
        "the level reaches the phone",
      );
      await ana.save("channels-before-part");
      await ana.type("/part");
      await ana.waitFor(/-- you left #ops/);
      await ana.waitFor(/ \[#general\] @bob │/);
      await ana.type("/quit");
      await ana.waitFor(/exit code 0/);
    } finally {
      await tmux.saveAll("channels");
    }
  },
});
