/**
 * The client core on channels (issue #15, PROTOCOL.md section 9) against a
 * real in-process server over loopback TCP: join, say in a channel, topics,
 * the list, members, the conversations event with unread counts at join, read
 * marks reaching the account's other device, notification levels, and
 * history of one channel.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { chatDevice, untilEvent } from "./fixtures/chat_device.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";

Deno.test("the core joins channels, says in them, and learns topics, members and the list", async () => {
  await using server = await startTestServer();
  await using ana = await chatDevice(server.port, "ana", generateKeyPair());
  await using bob = await chatDevice(server.port, "bob", generateKeyPair());
  const joined = await ana.session.joinChannel("#ops");
  assertEquals([joined.name, joined.joined, joined.members], ["#ops", true, 1]);
  await bob.session.joinChannel("#ops");
  await ana.session.say("in ops", { channel: "#ops" });
  const got = await untilEvent(
    bob.events,
    (event) => event.type === "message" && event.text === "in ops" ? event.message : undefined,
  );
  assertEquals(got.channel, "#ops");
  await bob.session.setTopic("#ops", "deploys");
  const topic = await untilEvent(ana.events, (event) => event.type === "topic" ? event : undefined);
  assertEquals([topic.channel, topic.topic, topic.by], ["#ops", "deploys", "bob"]);
  assertEquals(
    (await ana.session.listChannels()).map((channel) => [channel.name, channel.members]),
    [["#general", 2], ["#ops", 2]],
  );
  assertEquals(await ana.session.channelMembers("#ops"), [
    { nick: "ana", online: true },
    { nick: "bob", online: true },
  ]);
  const page = await bob.session.history({ limit: 10, channel: "#ops" });
  assert(page !== null);
  assertEquals(page.items.map((item) => item.text), ["in ops"]);
  const bad = await assertRejects(() => bob.session.joinChannel("not a channel"), Error);
  assertMatch(bad.message, /starts with #/);
  // A guest is told why, in the server's words.
  await using guest = await chatDevice(server.port, "zed", undefined);
  const refused = await assertRejects(() => guest.session.joinChannel("#ops"), Error);
  assertMatch(refused.message, /guest/);
});

Deno.test("the conversations event at join, read marks to the other device, notify levels", async () => {
  await using server = await startTestServer();
  const anaKey = generateKeyPair();
  {
    await using ana = await chatDevice(server.port, "ana", anaKey);
    await ana.session.joinChannel("#ops");
  }
  await using bob = await chatDevice(server.port, "bob", generateKeyPair());
  await bob.session.joinChannel("#ops");
  await bob.session.say("@ana look", { channel: "#ops" });
  await bob.session.say("psst", { to: "ana" });
  await bob.session.allDelivered();
  await using laptop = await chatDevice(server.port, "ana", anaKey);
  const items = await untilEvent(
    laptop.events,
    (event) => event.type === "conversations" ? event.items : undefined,
  );
  assertEquals(
    items.map((item) => [item.conversation, item.unread, item.mentions]),
    [["#general", 0, 0], ["#ops", 1, 1], ["@bob", 1, 1]],
  );
  await using phone = await chatDevice(server.port, "ana", anaKey);
  const ops = items.find((item) => item.conversation === "#ops")!;
  laptop.session.markRead("#ops", ops.last);
  const read = await untilEvent(phone.events, (event) => event.type === "read" ? event : undefined);
  assertEquals([read.conversation, read.id], ["#ops", ops.last]);
  await phone.session.setNotify("#ops", "muted");
  const level = await untilEvent(
    laptop.events,
    (event) => event.type === "notify" ? event : undefined,
  );
  assertEquals(level.level, "muted");
});
