/**
 * Channels in `lanchat join`'s line mode (issue #15): `join()` in this
 * process with a line stream for input and its output collected, against a
 * real server over loopback TCP, bob as a session beside it. /join moves the
 * typed lines to a channel, messages of a channel other than #general are
 * tagged with it, /channels lists, /part goes back to #general, and the
 * unread counts at join are said in one line.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer, withDeadline } from "./_helpers.ts";
import { join } from "../lib/client/terminal/join.ts";
import { formatEvent } from "../lib/client/terminal/format.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { ChatSession, type SessionEvent } from "../lib/client/session.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";

/** Polls `lines` (bounded) until one matches. */
async function line(lines: string[], pattern: RegExp): Promise<string> {
  return await withDeadline(
    (async () => {
      for (;;) {
        const found = lines.find((text) => pattern.test(text));
        if (found !== undefined) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
    6000,
    `a line ${pattern}:\n${lines.join("\n")}`,
  );
}

Deno.test("line mode: /join moves typed lines to a channel, its messages are tagged, /channels lists, /part goes back", async () => {
  await using server = await startTestServer();
  const folder = await Deno.makeTempDir({ prefix: "lanchat-line-" });
  const events: SessionEvent[] = [];
  const bob = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port: server.port },
    nick: "bob",
    deviceKey: generateKeyPair(),
    onEvent: (event) => events.push(event),
  });
  await bob.start();
  try {
    await bob.joinChannel("#ops");
    const input = new TransformStream<Uint8Array, Uint8Array>();
    const writer = input.writable.getWriter();
    const type = (text: string) => writer.write(new TextEncoder().encode(`${text}\n`));
    const out: string[] = [];
    const errors: string[] = [];
    const ended = join({
      host: "127.0.0.1",
      port: server.port,
      nick: "ana",
      interactive: true,
      input: input.readable,
      writeOut: (text) => out.push(text),
      writeErr: (text) => errors.push(text),
      deviceKeyPath: `${folder}/device_key.json`,
    });
    await line(out, /you are ana/);
    await type("/join ops");
    await line(out, /^-- you are in #ops \(2 members\)/);
    await line(out, /^-- lines now go to #ops; \/part leaves it$/);
    await type("hello ops");
    const said = () =>
      events.find((event) => event.type === "message" && event.text === "hello ops");
    await withDeadline(
      (async () => {
        while (said() === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      6000,
      "bob gets hello ops",
    );
    const heard = said();
    assert(heard?.type === "message");
    assertEquals(heard.message.channel, "#ops");

    await bob.say("deploy done", { channel: "#ops" });
    await bob.say("in general");
    await line(out, /^\[\d\d:\d\d\] \[#ops\] <bob> deploy done$/);
    await line(out, /^\[\d\d:\d\d\] <bob> in general$/);
    await type("/channels");
    await line(out, /^-- #ops \(2 members, you are in it\)$/);
    await line(out, /^-- #general \(2 members, you are in it\)$/);
    await type("/part");
    await line(out, /^-- you left #ops/);
    await line(out, /^-- lines now go to #general$/);
    await type("back in general");
    await writer.close();
    assertEquals(await ended, 0, errors.join("\n"));
    const back = () =>
      events.find((event) => event.type === "message" && event.text === "back in general");
    await withDeadline(
      (async () => {
        while (back() === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      6000,
      "bob gets the last line",
    );
    const last = back();
    assert(last?.type === "message" && last.message.channel === undefined, "it went to #general");
  } finally {
    await bob.quit();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("line mode says the unread counts at join in one line, and tags channel messages", () => {
  assertEquals(
    formatEvent({
      type: "conversations",
      items: [
        {
          conversation: "#general",
          kind: "channel",
          unread: 0,
          mentions: 0,
          read: 4,
          last: 4,
          notify: "all",
        },
        {
          conversation: "#ops",
          kind: "channel",
          unread: 3,
          mentions: 2,
          read: 1,
          last: 9,
          notify: "all",
        },
        {
          conversation: "@bob",
          kind: "direct",
          unread: 1000,
          mentions: 1000,
          read: 0,
          last: 9,
          notify: "all",
        },
      ],
    }).map((formatted) => formatted.text),
    ["-- unread: #ops 3 (2 mentioning you), @bob 999+"],
  );
  const message = {
    type: "msg" as const,
    id: 1,
    ts: new Date(2026, 0, 1, 9, 5).getTime(),
    from: "bob",
    kind: "text" as const,
    body: encodeBody("x"),
  };
  const text = (channel?: string) =>
    formatEvent({
      type: "message",
      message: { ...message, ...(channel === undefined ? {} : { channel }) },
      text: "x",
      own: false,
      source: "live",
    })[0]?.text;
  assertEquals([text("#ops"), text()], ["[09:05] [#ops] <bob> x", "[09:05] <bob> x"]);
});
