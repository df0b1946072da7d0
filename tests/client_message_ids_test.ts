/** Tests of lib/client/message_ids.ts: each message shown once across history and reconnects. */
import { assertEquals } from "./_assert.ts";
import { MessageIds } from "../lib/client/message_ids.ts";
import type { ChatMessage } from "../lib/wire/protocol.ts";

function msg(id: number, ts = id * 1000): ChatMessage {
  return { type: "msg", id, ts, from: "bob", kind: "text", body: "aGk=" };
}

Deno.test("live messages count once, in id order", () => {
  const ids = new MessageIds();
  ids.firstJoin(10, false);
  assertEquals(ids.classify(10), null); // Older than my join: not live.
  assertEquals(ids.classify(11), "live");
  assertEquals(ids.classify(11), null);
  assertEquals(ids.classify(12), "live");
  assertEquals(ids.lastSeenId, 12);
});

Deno.test("first-join history shows each id once and never holds a reconnect back", () => {
  const ids = new MessageIds();
  ids.firstJoin(10, true);
  assertEquals(ids.classify(11), "live"); // Arrived before the history answer.
  assertEquals([8, 9, 10, 9].map((id) => ids.classify(id)), [
    "history",
    "history",
    "history",
    null,
  ]);
  assertEquals(ids.lastSeenId, 11);
  assertEquals(ids.closeWindow()?.shown, 3);
});

Deno.test("missed messages after a reconnect count once, whether replayed or live", () => {
  const ids = new MessageIds();
  ids.firstJoin(10, false);
  ids.classify(11);
  assertEquals(ids.resume(14), "same");
  assertEquals(ids.lastSeenId, 11); // Until the replay is complete.
  assertEquals(ids.classify(15), "live"); // Live copies may overtake the replay.
  assertEquals([12, 13, 14, 13, 11].map((id) => ids.classify(id)), [
    "missed",
    "missed",
    "missed",
    null,
    null,
  ]);
  assertEquals(ids.closeWindow()?.shown, 3);
  assertEquals(ids.lastSeenId, 15);
});

Deno.test("a replay cut short by another disconnect keeps what it showed", () => {
  const ids = new MessageIds();
  ids.firstJoin(10, false);
  ids.resume(13);
  assertEquals(ids.classify(11), "missed");
  // Lost again before the replay finished: resume from 10 again.
  assertEquals(ids.lastSeenId, 10);
  ids.resume(14);
  assertEquals([11, 12, 13, 14].map((id) => ids.classify(id)), [
    null,
    "missed",
    "missed",
    "missed",
  ]);
});

Deno.test("a server whose ids went backwards is treated as restarted without history", () => {
  const ids = new MessageIds();
  ids.firstJoin(100, false);
  ids.classify(101);
  ids.remember(msg(101));
  assertEquals(ids.resume(2), "restarted");
  assertEquals(ids.anchor, null);
  assertEquals([1, 2, 3, 2].map((id) => ids.classify(id)), ["missed", "missed", "live", null]);
});

Deno.test("restarted() widens the window to everything the new server has", () => {
  const ids = new MessageIds();
  ids.firstJoin(0, false);
  ids.classify(1);
  ids.remember(msg(1));
  assertEquals(ids.anchor?.id, 1);
  assertEquals(ids.resume(3), "same");
  assertEquals(ids.classify(2), "missed");
  ids.restarted(3);
  assertEquals([1, 2, 3].map((id) => ids.classify(id)), ["missed", null, "missed"]);
  assertEquals(ids.anchor, null);
});
