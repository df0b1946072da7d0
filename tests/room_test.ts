/** The room without sockets: members are plain objects that record what they are sent. */
import { assert, assertEquals } from "./_assert.ts";
import { Room } from "../lib/server/room.ts";
import type { Credentials, Member } from "../lib/server/room.ts";
import { MemoryHistory } from "../lib/store/history.ts";
import type { Outgoing } from "../lib/server/outgoing.ts";
import { maxPayloadBytes } from "../lib/frame.ts";

/** A keyless join (a version-1 client) from loopback. */
const guest: Credentials = { deviceKey: null, address: "127.0.0.1" };

class RecordingMember implements Member {
  nick = "";
  since = 0;
  resumedUpTo = 0;
  account: number | null = null;
  readonly got: Outgoing[] = [];
  dismissed: string | null = null;
  deliver(message: Outgoing): void {
    this.got.push(message);
  }
  dismiss(code: string): void {
    this.dismissed = code;
  }
  messages(): Record<string, unknown>[] {
    return this.got.map((message) => JSON.parse(new TextDecoder().decode(message.payload)));
  }
}

Deno.test("a users list too big for one frame comes in parts marked more, and nothing is lost", () => {
  const room = new Room({ history: new MemoryHistory(), maxUsers: 5000, presenceLimit: 10 });
  const nick = (index: number) => `${"龙".repeat(27)}${String(index).padStart(5, "0")}`; // 32 code points
  for (let index = 0; index < 2000; index++) {
    room.join(new RecordingMember(), { type: "hello", nick: nick(index) }, guest);
  }
  const last = new RecordingMember();
  room.join(last, { type: "hello", nick: "last" }, guest);
  const parts = last.messages().filter((message) => message.type === "users");
  assert(parts.length > 1, `expected several parts, got ${parts.length}`);
  for (const part of last.got.slice(1)) assert(part.payload.length <= maxPayloadBytes - 16);
  assertEquals(parts.map((part) => part.more === true), [...parts.slice(1).map(() => true), false]);
  const nicks = parts.flatMap((part) =>
    (part.users as { nick: string }[]).map((user) => user.nick)
  );
  assertEquals(nicks, [...Array.from({ length: 2000 }, (_, index) => nick(index)), "last"]);
});

Deno.test("a users list that fits is one message without more", () => {
  const room = new Room({ history: new MemoryHistory() });
  const ana = new RecordingMember();
  room.join(ana, { type: "hello", nick: "ana" }, guest);
  const users = ana.messages().filter((message) => message.type === "users");
  assertEquals(users.length, 1);
  assertEquals("more" in users[0]!, false);
  assertEquals((users[0]!.users as { nick: string }[]).map((user) => user.nick), ["ana"]);
});

Deno.test("a nick that looks like one online (TR39 skeleton) is refused as nick_taken, at hello and at a rename", () => {
  const room = new Room({ history: new MemoryHistory() });
  const alice = new RecordingMember();
  room.join(alice, { type: "hello", nick: "alice" }, guest);
  const refusal = (run: () => void): string => {
    try {
      run();
    } catch (error) {
      const { code, message } = error as { code: string; message: string };
      return `${code}: ${message}`;
    }
    return "accepted";
  };
  // Cyrillic а, digit one for l, Greek capital iota for l, "rn" for m.
  for (const nick of ["\u0430lice", "a1ice", "a\u0399ice", "ALICE\u0301".slice(0, 5)]) {
    assertEquals(
      refusal(() => room.join(new RecordingMember(), { type: "hello", nick }, guest)),
      nick === "ALICE"
        ? "nick_taken: 'ALICE' is already online; pick another nick"
        : `nick_taken: '${nick}' looks too much like 'alice', who is online; pick another nick`,
    );
  }
  const bob = new RecordingMember();
  room.join(bob, { type: "hello", nick: "bob" }, guest);
  assertEquals(
    refusal(() => room.rename(bob, "\u0430lice")),
    "nick_taken: '\u0430lice' looks too much like 'alice', who is online; pick another nick",
  );
  // Alice may change only the look of her own nick; once she leaves, the look-alike is free.
  assertEquals(refusal(() => room.rename(alice, "a1ice")), "accepted");
  room.leave(alice, "quit");
  assertEquals(
    refusal(() => room.join(new RecordingMember(), { type: "hello", nick: "\u0430lice" }, guest)),
    "accepted",
  );
  assertEquals(
    refusal(() => room.join(new RecordingMember(), { type: "hello", nick: "rnary" }, guest)),
    "accepted",
  );
  assertEquals(
    refusal(() => room.join(new RecordingMember(), { type: "hello", nick: "mary" }, guest)),
    "nick_taken: 'mary' looks too much like 'rnary', who is online; pick another nick",
  );
});
