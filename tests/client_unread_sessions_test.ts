/**
 * Unread that follows the person (issue #15), through the client core as the
 * terminal and the page wire it (ChatSession events into an UnreadTracker,
 * its read marks out through a ReadSender to `markRead`), against a real
 * server over loopback TCP: reading a conversation on one device clears its
 * count on another device of the same account within 1 s, both ways; a
 * direct message sent while I was offline is unread when I join.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer, withDeadline } from "./_helpers.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { ChatSession, type SessionEvent } from "../lib/client/session.ts";
import { UnreadTracker } from "../lib/client/unread.ts";
import { ReadSender } from "../lib/client/read_sender.ts";
import { generateKeyPair, type KeyPair } from "../lib/wire/identity.ts";

/** One device: a session whose events feed an UnreadTracker, whose marks go to the server. */
interface Device extends AsyncDisposable {
  session: ChatSession;
  unread: UnreadTracker;
  events: SessionEvent[];
}

async function device(port: number, nick: string, key: KeyPair): Promise<Device> {
  const events: SessionEvent[] = [];
  let session: ChatSession | null = null;
  const reads = new ReadSender((mark) => session?.markRead(mark.conversation, mark.id));
  const unread = new UnreadTracker({ onRead: (mark) => reads.mark(mark) });
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
    [Symbol.asyncDispose]: async () => {
      reads.close();
      await started.quit();
    },
  };
}

/** Waits (bounded) until `check` holds; polls every 5 ms. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  await withDeadline(
    (async () => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    ms,
    what,
  );
}

function unreadIn(device: Device, name: string): number | undefined {
  return device.unread.find(name)?.unread;
}

Deno.test("reading #ops on one device clears its count on the other device of the account within 1 s, both ways", async () => {
  await using server = await startTestServer();
  const anaKey = generateKeyPair();
  await using bob = await device(server.port, "bob", generateKeyPair());
  await bob.session.joinChannel("#ops");
  await using laptop = await device(server.port, "ana", anaKey);
  await laptop.session.joinChannel("#ops");
  await using phone = await device(server.port, "ana", anaKey);
  await until(() => phone.events.some((event) => event.type === "conversations"), "conversations");
  assertEquals(unreadIn(phone, "#ops"), 0);

  for (const text of ["deploy 1", "deploy 2", "@ana look"]) {
    await bob.session.say(text, { channel: "#ops" });
  }
  await until(() => unreadIn(laptop, "#ops") === 3 && unreadIn(phone, "#ops") === 3, "3 unread");
  assertEquals(phone.unread.find("#ops")?.mentions, 1);

  const readAt = performance.now();
  laptop.unread.activate("#ops"); // The person looks at #ops on the laptop.
  assertEquals(unreadIn(laptop, "#ops"), 0);
  await until(() => unreadIn(phone, "#ops") === 0, "the phone's count to drop", 1000);
  const tookMs = performance.now() - readAt;
  assert(tookMs < 1000, `took ${tookMs} ms`);

  // The other way: the laptop goes back to #general, bob writes, the phone reads.
  laptop.unread.activate("#general");
  await bob.session.say("deploy 3", { channel: "#ops" });
  await until(() => unreadIn(laptop, "#ops") === 1 && unreadIn(phone, "#ops") === 1, "1 unread");
  phone.unread.activate("#ops");
  await until(() => unreadIn(laptop, "#ops") === 0, "the laptop's count to drop", 1000);
});

Deno.test("a direct message sent while I was offline is unread when I join", async () => {
  await using server = await startTestServer();
  const anaKey = generateKeyPair();
  {
    await using _first = await device(server.port, "ana", anaKey); // ana's account exists
  }
  await using bob = await device(server.port, "bob", generateKeyPair());
  await bob.session.say("are you there?", { to: "ana" });
  await bob.session.allDelivered();
  assert(
    !bob.events.some((event) => event.type === "refused"),
    "a message to an offline account is taken",
  );
  await using ana = await device(server.port, "ana", anaKey);
  await until(() => ana.events.some((event) => event.type === "conversations"), "conversations");
  const status = ana.unread.find("@bob");
  assertEquals([status?.kind, status?.unread, status?.mentions], ["direct", 1, 1]);
  assertEquals(ana.unread.nextUnread()?.name, "@bob");
});
