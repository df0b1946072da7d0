/**
 * Tests of lib/client/session.ts in-process against the real server
 * (lib/server/server.ts) over loopback TCP: history on join, pings, messages typed
 * while disconnected, and a server that restarts without its history.
 */
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startServer } from "../lib/server/server.ts";
import { MemoryHistory } from "../lib/store/history.ts";
import { ChatSession, type SessionEvent } from "../lib/client/session.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { withDeadline } from "./_helpers.ts";

/** Collects session events and waits for one with a deadline. */
class Events {
  readonly all: SessionEvent[] = [];
  #listeners = new Set<() => void>();

  readonly push = (event: SessionEvent): void => {
    this.all.push(event);
    for (const listener of [...this.#listeners]) listener();
  };

  async waitFor<T extends SessionEvent>(
    predicate: (event: SessionEvent) => event is T,
    timeoutMs?: number,
  ): Promise<T>;
  async waitFor(
    predicate: (event: SessionEvent) => boolean,
    timeoutMs?: number,
  ): Promise<SessionEvent>;
  async waitFor(
    predicate: (event: SessionEvent) => boolean,
    timeoutMs = 10_000,
  ): Promise<SessionEvent> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let listener: (() => void) | undefined;
    try {
      return await new Promise<SessionEvent>((resolve, reject) => {
        listener = () => {
          const found = this.all.find(predicate);
          if (found !== undefined) resolve(found);
        };
        this.#listeners.add(listener);
        listener();
        timer = setTimeout(() => {
          reject(new Error(`no such event within ${timeoutMs} ms; got:\n${this.describe()}`));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      if (listener !== undefined) this.#listeners.delete(listener);
    }
  }

  /** Texts of the message events, in order. */
  texts(): string[] {
    return this.all.flatMap((event) => (event.type === "message" ? [event.text] : []));
  }

  describe(): string {
    return this.all.map((event) => `  ${JSON.stringify(event).slice(0, 200)}`).join("\n");
  }
}

Deno.test("session shows the requested history once, then live messages", async () => {
  await using server = await startServer({ host: "127.0.0.1", port: 0 });
  await using observer = await RawClient.join(server.port, "old");
  for (let index = 1; index <= 5; index++) await observer.say(`old ${index}`);
  await observer.waitForMessages(() => true, 5);

  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port: server.port },
    nick: "ana",
    historyLimit: 3,
    onEvent: events.push,
  });
  try {
    await session.start();
    const end = await events.waitFor((event) => event.type === "history_end");
    assertEquals(end, { type: "history_end", shown: 3, more: true });
    await observer.say("live one");
    await events.waitFor((event) => event.type === "message" && event.text === "live one");
    assertEquals(events.texts(), ["old 3", "old 4", "old 5", "live one"]);
    const sources = events.all.flatMap((event) => event.type === "message" ? [event.source] : []);
    assertEquals(sources, ["history", "history", "history", "live"]);
  } finally {
    await session.quit();
  }
});

Deno.test("session answers the server's pings and stays in the room", async () => {
  await using server = await startServer({
    host: "127.0.0.1",
    port: 0,
    tickMs: 10,
    limits: { pingAfterMs: 40, idleTimeoutMs: 200 },
  });
  await using observer = await RawClient.join(server.port, "watcher");
  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port: server.port },
    nick: "quiet",
    onEvent: events.push,
  });
  try {
    await session.start();
    // The observer is as silent as the session; once it has been pinged many
    // times, idleTimeoutMs has passed several times over for the session too.
    await observer.waitForPings(8);
    assert(
      !observer.received.some((message) => message.type === "left" && message.nick === "quiet"),
      "the session was dropped",
    );
    assertEquals(events.all.some((event) => event.type === "lost"), false);
    await session.say("still here");
    await observer.waitForMessages((message) => message.text === "still here", 1);
  } finally {
    await session.quit();
  }
});

Deno.test("session sends what was typed while disconnected once it is back", async () => {
  const history = new MemoryHistory();
  let server = await startServer({ host: "127.0.0.1", port: 0, history });
  const port = server.port;
  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    nick: "ana",
    reconnectDelaysMs: [200, 400, 800],
    onEvent: events.push,
  });
  try {
    await session.start();
    await server.close();
    await events.waitFor((event) => event.type === "lost");
    const ref = await session.say("typed while away");
    assertEquals(session.pendingCount, 1);
    server = await startServer({ host: "127.0.0.1", port });
    await using observer = await RawClient.join(port, "watcher");
    await events.waitFor((event) => event.type === "delivered" && event.ref === ref, 10_000);
    const seen = await observer.waitForMessages((message) => message.from === "ana", 1);
    assertEquals(seen.map((message) => message.text), ["typed while away"]);
    assertEquals(session.pendingCount, 0);
  } finally {
    await session.quit();
    await server.close();
  }
});

Deno.test("session notices a server restarted without history and shows its messages once", async () => {
  // Both servers number messages from 1, as a server without storage might.
  let server = await startServer({
    host: "127.0.0.1",
    port: 0,
    history: new MemoryHistory({ firstId: 1 }),
  });
  const port = server.port;
  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    nick: "stay",
    reconnectDelaysMs: [300, 600, 1200],
    onEvent: events.push,
  });
  try {
    await session.start();
    {
      await using before = await RawClient.join(port, "before");
      await before.say("before the restart");
      await events.waitFor((event) =>
        event.type === "message" && event.text === "before the restart"
      );
    }
    await server.close();
    await events.waitFor((event) => event.type === "lost");
    server = await startServer({
      host: "127.0.0.1",
      port,
      history: new MemoryHistory({ firstId: 1 }),
    });
    await using after = await RawClient.join(port, "after");
    await after.say("new 1");
    await after.say("new 2");
    await after.waitForMessages(() => true, 2);
    await events.waitFor((event) => event.type === "resumed", 10_000);
    await after.say("new 3");
    await events.waitFor((event) => event.type === "message" && event.text === "new 3");
    assertEquals(
      events.all.some((event) => event.type === "notice" && /restarted without/.test(event.text)),
      true,
      events.describe(),
    );
    assertEquals(events.texts().toSorted(), ["before the restart", "new 1", "new 2", "new 3"]);
  } finally {
    await session.quit();
    await server.close();
  }
});

Deno.test("a users list that arrives in several parts is shown whole, once", async () => {
  // 300 users with 32-character nicks: the server sends the list in parts marked `more`.
  await using server = await startServer({
    host: "127.0.0.1",
    port: 0,
    presenceLimit: 5,
    maxConnectionsPerIp: 400, // all 301 come from 127.0.0.1
  });
  const nick = (index: number) => `${"龙".repeat(27)}${String(index).padStart(5, "0")}`;
  const others: RawClient[] = [];
  try {
    for (let index = 0; index < 300; index++) {
      others.push(await RawClient.join(server.port, nick(index)));
    }
    const events = new Events();
    const session = new ChatSession({
      dial: dialTcp,
      address: { host: "127.0.0.1", port: server.port },
      nick: "ana",
      onEvent: events.push,
    });
    try {
      await session.start();
      const users = await events.waitFor((event) => event.type === "users");
      assert(users.type === "users");
      assertEquals(users.users.length, 301);
      assertEquals(users.users.at(-1)?.nick, "ana");
      assertEquals(events.all.filter((event) => event.type === "users").length, 1);
    } finally {
      await session.quit();
    }
  } finally {
    for (const other of others) await other[Symbol.asyncDispose]();
  }
});

Deno.test("a nick typed after the server's hello deadline still joins, on a fresh connection, asked once", async () => {
  await using server = await startServer({
    host: "127.0.0.1",
    port: 0,
    tickMs: 20,
    limits: { helloTimeoutMs: 100 },
  });
  let asked = 0;
  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port: server.port },
    onEvent: events.push,
    chooseNick: async () => {
      asked++;
      // A slow typist: answer only once the server has given up on this connection.
      const deadline = performance.now() + 5000;
      while (server.connections > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assertEquals(server.connections, 0, "the server closed the silent connection");
      return "slowpoke";
    },
  });
  try {
    await session.start();
    const users = await events.waitFor((event) => event.type === "users");
    assert(users.type === "users");
    assertEquals(users.users.map((user) => user.nick), ["slowpoke"]);
    assertEquals(asked, 1);
  } finally {
    await session.quit();
  }
});

Deno.test("a search refused as rate_limited resolves empty and says why; the next gets its own results", async () => {
  await using server = await startServer({
    host: "127.0.0.1",
    port: 0,
    requestRates: { searchesPerMinute: 60, searchBurst: 1 },
  });
  await using observer = await RawClient.join(server.port, "old");
  await observer.say("apples and pears");
  await observer.say("plums");
  await observer.waitForMessages(() => true, 2);
  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port: server.port },
    nick: "ana",
    onEvent: events.push,
  });
  try {
    await session.start();
    const first = await session.search("apples");
    assertEquals(first?.map((message) => message.text), ["apples and pears"]);
    assertEquals(
      await withDeadline(session.search("pears"), 5000, "the refused search"),
      null,
      "refused: the burst is spent",
    );
    const why = await events.waitFor((event) => event.type === "server_error");
    assert(why.type === "server_error" && why.code === "rate_limited", JSON.stringify(why));
    assert(/try again in/.test(why.message), why.message);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Before refs, the refused search's waiter took this answer and the refused one got nothing.
    const third = await withDeadline(session.search("plums"), 5000, "the next search");
    assertEquals(third?.map((message) => message.text), ["plums"]);
  } finally {
    await session.quit();
  }
});

Deno.test("a message refused as rate_limited is sent again after the server's wait and delivered once", async () => {
  await using server = await startServer({
    host: "127.0.0.1",
    port: 0,
    requestRates: { textKibPerMinute: 60, textBurstKib: 2 },
  });
  await using observer = await RawClient.join(server.port, "watcher");
  const events = new Events();
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port: server.port },
    nick: "ana",
    onEvent: events.push,
  });
  try {
    await session.start();
    await session.say(`one ${"a".repeat(1500)}`);
    const second = await session.say(`two ${"b".repeat(1500)}`);
    await events.waitFor((event) =>
      event.type === "notice" && /your message goes then/.test(event.text)
    );
    await events.waitFor((event) => event.type === "delivered" && event.ref === second, 10_000);
    const seen = await observer.waitForMessages((message) => message.from === "ana", 2);
    assertEquals(seen.map((message) => String(message.text).slice(0, 3)), ["one", "two"]);
    assertEquals(events.all.some((event) => event.type === "refused"), false);
  } finally {
    await session.quit();
  }
});
