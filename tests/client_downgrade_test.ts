/**
 * Issue #12, defect 3: a room password must never fall back to plaintext. A
 * man in the middle answers `server.secure = null`; the terminal client that
 * has a password (LANCHAT_PASSWORD), that ran encrypted in this session, or
 * that joined this host:port with a password before, refuses it: nothing
 * after the greeting, exit code 1, one clear message. `--forget-password` is
 * the deliberate way back for a room whose operator removed the password.
 *
 * Real processes (`lanchat serve`, `lanchat join`), real loopback sockets; the
 * man in the middle is a real TCP listener that greets in plaintext and
 * records every byte it receives. Data folders are temp dirs.
 */
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, TestClient, testRoomKey, withDeadline } from "./_helpers.ts";
import { lanchat, serveOnLoopback } from "./fixtures/client_process.ts";
import { encodeFrame } from "../lib/frame.ts";
import { ChatSession, downgradeMessage } from "../lib/client/session.ts";
import type { SessionEvent } from "../lib/client/session.ts";

const password = "correct horse battery staple";
const refusal =
  /this server did not ask for the room password: it may not be the room you think; not sending anything/;

/** One connection to the fake: what the client sent after the greeting, and its end. */
interface FakeConnection {
  /** Bytes the client sent after the greeting. */
  received: number;
  /** Resolves when the client closed the connection (or after the fake's time limit). */
  ended: Promise<"closed by the client" | "time limit">;
}

/**
 * A man in the middle on 127.0.0.1:`port`: greets every connection with
 * `{"type":"server","proto":1,"name":"x","secure":null}` and records what
 * comes back. Each connection is held at most `holdMs`.
 */
class PlaintextFake implements AsyncDisposable {
  readonly listener: Deno.TcpListener;
  readonly connections: FakeConnection[] = [];
  #accepting: Promise<void>;
  #open = new Set<Deno.TcpConn>();
  #handlers: Promise<unknown>[] = [];
  #waiters: Array<() => void> = [];

  constructor(port: number, readonly holdMs = 10_000) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port });
    this.#accepting = this.#accept();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  /** Resolves with the first connection, failing after `ms`. */
  async firstConnection(ms: number): Promise<FakeConnection> {
    const arrived = new Promise<void>((resolve) => {
      if (this.connections.length > 0) resolve();
      else this.#waiters.push(resolve);
    });
    await withDeadline(arrived, ms, "a connection to the plaintext fake");
    return this.connections[0]!;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.listener) {
        this.#open.add(conn);
        const ended = Promise.withResolvers<"closed by the client" | "time limit">();
        const record: FakeConnection = { received: 0, ended: ended.promise };
        this.connections.push(record);
        for (const wake of this.#waiters.splice(0)) wake();
        this.#handlers.push(this.#serve(conn, record, ended.resolve));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #serve(
    conn: Deno.TcpConn,
    record: FakeConnection,
    done: (how: "closed by the client" | "time limit") => void,
  ): Promise<void> {
    const timer = setTimeout(() => {
      done("time limit");
      this.#close(conn);
    }, this.holdMs);
    try {
      const greeting = { type: "server", proto: 1, name: "x", secure: null };
      await conn.write(encodeFrame(new TextEncoder().encode(JSON.stringify(greeting))));
      const buffer = new Uint8Array(8192);
      // Bounded by the time limit above, which closes the connection.
      for (;;) {
        const count = await conn.read(buffer);
        if (count === null) break;
        record.received += count;
      }
    } catch {
      // Reset by the client, or closed by the time limit.
    } finally {
      clearTimeout(timer);
      done("closed by the client");
      this.#close(conn);
    }
  }

  #close(conn: Deno.TcpConn): void {
    if (!this.#open.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.listener.close();
    await this.#accepting;
    for (const conn of [...this.#open]) this.#close(conn);
    await Promise.all(this.#handlers);
  }
}

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat-downgrade-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/**
 * The environment of a person whose data folder is `dir` (XDG_DATA_HOME comes
 * first on Linux; HOME stays, so Deno keeps finding its package cache).
 */
function personEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { XDG_DATA_HOME: `${dir}/data`, ...extra };
}

Deno.test("piped join with LANCHAT_PASSWORD refuses a server that asks for no password: exit 1, nothing sent", async () => {
  await using dir = await tempDir();
  await using fake = new PlaintextFake(0);
  await using joiner = lanchat(["join", `127.0.0.1:${fake.port}`, "--nick", "ana"], {
    stdin: "piped",
    env: personEnv(dir, { LANCHAT_PASSWORD: password }),
  });
  await joiner.write("a secret line\n/msg bob a private one\n");
  const status = await joiner.waitForExit();
  assertEquals(status.code, 1, joiner.output().join("\n"));
  const stderr = joiner.output("stderr");
  assertEquals(stderr.length, 1, stderr.join("\n"));
  assertMatch(stderr[0]!, refusal);
  assertMatch(stderr[0]!, /unset|without LANCHAT_PASSWORD/);
  assertEquals(joiner.output("stdout"), []);
  const connection = await fake.firstConnection(1000);
  assertEquals(
    await withDeadline(connection.ended, 5000, "the client to hang up"),
    "closed by the client",
  );
  assertEquals(connection.received, 0, "not a byte after the greeting: no hello, no message");
  assertEquals(fake.connections.length, 1, "and no second try");
});

Deno.test("a reconnect after a real secure session never downgrades: no hello to a plaintext fake on the same port", async () => {
  await using dir = await tempDir();
  await using server = await serveOnLoopback([], {
    env: personEnv(dir, { LANCHAT_PASSWORD: password }),
  });
  const port = server.port;
  await using joiner = lanchat(["join", `127.0.0.1:${port}`, "--nick", "bot"], {
    stdin: "piped",
    env: personEnv(dir, { LANCHAT_PASSWORD: password }),
  });
  await server.waitForLine(/bot joined/);
  await joiner.write("sealed before the drop\n");
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0);
  // The room's port now answers in plaintext: a man in the middle took it.
  await using fake = new PlaintextFake(port);
  await joiner.waitForLine(/lost|reconnect/i, { stream: "stderr" });
  await joiner.write("written while away\n/msg ana private while away\n");
  const connection = await fake.firstConnection(10_000);
  const status = await joiner.waitForExit();
  assertEquals(status.code, 1, joiner.output().join("\n"));
  assert(joiner.output("stderr").some((line) => refusal.test(line)), joiner.output().join("\n"));
  assertEquals(
    await withDeadline(connection.ended, 5000, "the client to hang up"),
    "closed by the client",
  );
  assertEquals(connection.received, 0, "no hello, no queued message, no private message");
  assertEquals(fake.connections.length, 1, "it gave up at once instead of retrying");
});

Deno.test("a session that ran encrypted refuses a plaintext reconnect even with nothing else expecting a password", async () => {
  const key = await testRoomKey(password);
  const server = await startTestServer({ roomKey: key });
  const port = server.port;
  const events: SessionEvent[] = [];
  const session = new ChatSession({
    dial: dialTcp,
    address: { host: "127.0.0.1", port },
    nick: "bot",
    roomKey: () => Promise.resolve(key.psk),
    reconnectDelaysMs: [100, 200, 400],
    onEvent: (event) => events.push(event),
  });
  let fake: PlaintextFake | null = null;
  try {
    await session.start();
    assert(session.encrypted);
    await server.close();
    fake = new PlaintextFake(port);
    const connection = await fake.firstConnection(5000);
    void session.say("queued while away");
    const end = await withDeadline(session.ended, 5000, "the session to end");
    assertEquals(end.kind, "gave_up");
    assert(end.kind === "gave_up" && end.message.startsWith(downgradeMessage), JSON.stringify(end));
    assertEquals(
      await withDeadline(connection.ended, 5000, "the client to hang up"),
      "closed by the client",
    );
    assertEquals(connection.received, 0);
    assertEquals(fake.connections.length, 1);
    assert(!events.some((event) => event.type === "connected" && event.reconnect));
  } finally {
    await session.quit();
    await server.close();
    await fake?.[Symbol.asyncDispose]();
  }
});

Deno.test("a server joined with a password before is refused when it asks for none; --forget-password lets it through", async () => {
  await using dir = await tempDir();
  const recentFile = `${dir}/data/lanchat/recent_servers.json`;
  // The room's machine keeps one data folder, so one server key (issue #14), across the restart.
  const serverData = `${dir}/server-data`;
  await using secure = await serveOnLoopback([], {
    env: { LANCHAT_PASSWORD: password, XDG_DATA_HOME: serverData },
  });
  const port = secure.port;
  await using first = lanchat(["join", `127.0.0.1:${port}`, "--nick", "ana"], {
    stdin: "piped",
    env: personEnv(dir, { LANCHAT_PASSWORD: password }),
  });
  await first.write("sealed\n");
  await first.closeStdin();
  assertEquals((await first.waitForExit()).code, 0, first.output().join("\n"));
  const marked = JSON.parse(await Deno.readTextFile(recentFile));
  assertEquals(
    marked.passwordRooms.map((room: { host: string; port: number }) => `${room.host}:${room.port}`),
    [`127.0.0.1:${port}`],
  );
  secure.kill("SIGTERM");
  await secure.waitForExit();

  {
    // Same host:port, no LANCHAT_PASSWORD this time, and the server asks for none.
    await using fake = new PlaintextFake(port);
    await using second = lanchat(["join", `127.0.0.1:${port}`, "--nick", "ana"], {
      stdin: "piped",
      env: personEnv(dir),
    });
    await second.write("would be plaintext\n");
    assertEquals((await second.waitForExit()).code, 1, second.output().join("\n"));
    const stderr = second.output("stderr");
    assertEquals(stderr.length, 1, stderr.join("\n"));
    assertMatch(stderr[0]!, refusal);
    assertMatch(stderr[0]!, /--forget-password/);
    const connection = await fake.firstConnection(1000);
    await withDeadline(connection.ended, 5000, "the client to hang up");
    assertEquals(connection.received, 0);

    // --forget-password does not override LANCHAT_PASSWORD.
    await using stubborn = lanchat(
      ["join", `127.0.0.1:${port}`, "--nick", "ana", "--forget-password"],
      { stdin: "piped", env: personEnv(dir, { LANCHAT_PASSWORD: password }) },
    );
    await stubborn.write("still not\n");
    assertEquals((await stubborn.waitForExit()).code, 1, stubborn.output().join("\n"));
    assert(stubborn.output("stderr").some((line) => refusal.test(line)));
    const again = fake.connections[1];
    assert(again !== undefined, "the second join reached the fake");
    await withDeadline(again.ended, 5000, "the client to hang up");
    assertEquals(again.received, 0);
  }

  // Its operator really removed the password: the room is back, plaintext, on the same port.
  await using plain = await serveOnLoopback([], { port, env: { XDG_DATA_HOME: serverData } });
  await using observer = await TestClient.joined(port, "observer");
  await using third = lanchat(
    ["join", `127.0.0.1:${port}`, "--nick", "ana", "--forget-password"],
    { stdin: "piped", env: personEnv(dir) },
  );
  await third.write("back without a password\n");
  await third.closeStdin();
  assertEquals((await third.waitForExit()).code, 0, third.output().join("\n"));
  const message = await observer.next((m) => m.type === "msg" && m.from === "ana", 5000);
  assert(message !== undefined);
  const after = JSON.parse(await Deno.readTextFile(recentFile));
  assertEquals(after.passwordRooms ?? [], [], "the mark is gone");
  plain.kill("SIGTERM");
  await plain.waitForExit();
});
