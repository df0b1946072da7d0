/**
 * Tests of lib/store/history_salvage.ts with accounts (issue #14) and
 * channels (issue #15): a salvage keeps who may read each private message,
 * and each channel's message in its channel, never in `#general`. Real
 * SQLite files in a temporary folder; a version-1 history is written with
 * schema 1's own SQL (tests/fixtures/history_v1.ts), damage by overwriting pages
 * (tests/fixtures/history_damage.ts, or spoilPage below); the `--salvage`
 * report is read from a real `main.ts` process.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { DatabaseSync } from "node:sqlite";
import { salvageHistory } from "../lib/store/history_salvage.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import type { SqliteHistory } from "../lib/store/history_sqlite.ts";
import type { NewMessage } from "../lib/store/history.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import { writeV1History } from "./fixtures/history_v1.ts";
import { overwritePages } from "./fixtures/history_damage.ts";
import { lanchatToEnd } from "./fixtures/client_process.ts";

const key = (seed: number) => new Uint8Array(32).fill(seed);

function message(text: string, ts: number, fields: Partial<NewMessage>): NewMessage {
  return { ts, from: "ana", to: null, kind: "text", text, body: encodeBody(text), ...fields };
}

/** A temporary folder, removed at the end of the test. */
async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat_salvage_" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/**
 * A history at `path` where ana (then released) and bob wrote to each other,
 * a guest wrote to bob, and carl (the newest account) never wrote. Returns the
 * account ids.
 */
async function writeAccountsHistory(
  path: string,
): Promise<{ oldAna: number; bob: number; carl: number }> {
  const history = openSqliteHistory(path);
  try {
    const accounts = history.accounts;
    const oldAna = accounts.claim("ana", ["ana"], key(1), 1_000).id;
    const bob = accounts.claim("bob", ["bob", "b0b"], key(2), 1_000).id;
    accounts.addDevice(bob, key(3), 1_500);
    accounts.seen(key(3), 1_700);
    await history.append(message("hello all", 2_000, { fromAccount: oldAna }));
    await history.append(
      message("ana to bob", 2_001, { to: "bob", fromAccount: oldAna, toAccount: bob }),
    );
    await history.append(
      message("bob to ana", 2_002, { from: "bob", to: "ana", fromAccount: bob, toAccount: oldAna }),
    );
    await history.append(
      message("guest to bob", 2_003, { from: "zed", to: "bob", toAccount: bob }),
    );
    accounts.release("ana", 3_000);
    const carl = accounts.claim("carl", ["carl"], key(4), 3_500).id;
    return { oldAna, bob, carl };
  } finally {
    await history.close();
  }
}

/** Each message's id, accounts and `unclaimed` mark, by id. */
function messageAccounts(path: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(
      "SELECT id, from_account, to_account, unclaimed FROM messages ORDER BY id",
    ).all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

/** The texts `account` (null: a guest) is shown, newest 50, oldest first. */
function textsFor(history: SqliteHistory, account: number | null): string[] {
  return history.pageNow({ viewer: { account }, limit: 50 }).items.map((item) => item.text);
}

Deno.test("salvage copies accounts, devices, look-alikes and each private message's accounts; a later claimer of a released nick sees none of it", async () => {
  await using dir = await tempDir();
  const source = `${dir}/history.db`, target = `${dir}/copy.db`;
  const { oldAna, bob, carl } = await writeAccountsHistory(source);
  const original = openSqliteHistory(source, { readOnly: true });
  const listed = original.accounts.list();
  await original.close();

  const report = await salvageHistory(source, target);
  assertEquals(
    [report.copied, report.accounts, report.devices, report.accountRowsUnreadable],
    [4, 3, 3, 0],
  );
  assertEquals(report.accountsRestoredReleased, 0);
  assertEquals(messageAccounts(target), messageAccounts(source));

  const copy = openSqliteHistory(target, { readInWorker: false });
  try {
    const accounts = copy.accounts;
    assertEquals(accounts.list(), listed);
    assertEquals(accounts.owner("ana"), null, "ana stays free");
    assertEquals(accounts.lookalikeOwner(["b0b"], null)?.id, bob, "look-alikes are kept");
    assertEquals(accounts.forDevice(key(3))?.id, bob);
    assertEquals(textsFor(copy, bob), ["hello all", "ana to bob", "bob to ana", "guest to bob"]);
    assertEquals(textsFor(copy, oldAna), ["hello all", "ana to bob", "bob to ana"]);

    const newAna = accounts.claim("ana", ["ana"], key(9), 5_000).id;
    assert(newAna > carl, `a new account gets a new id (${newAna}), never an old one's`);
    assertEquals(textsFor(copy, newAna), ["hello all"]);
    assertEquals(textsFor(copy, null), ["hello all"]);
  } finally {
    await copy.close();
  }

  const typed = await lanchatToEnd(["history", "--db", source, "--salvage", `${dir}/typed.db`]);
  assertEquals(typed.code, 0, typed.stderr);
  assertMatch(typed.stdout, /^copied 4 messages from .* into .*typed\.db$/m);
  assertMatch(typed.stdout, /^copied 3 accounts with 3 devices$/m);
});

Deno.test("salvage of a version-1 history leaves its private messages to the first owners of their nicks", async () => {
  await using dir = await tempDir();
  const source = `${dir}/old.db`, target = `${dir}/copy.db`;
  writeV1History(source, [
    { ts: 1_000, from: "ana", to: null, text: "hello all" },
    { ts: 1_001, from: "ana", to: "bob", text: "ana to bob" },
    { ts: 1_002, from: "Bob", to: "carl", text: "bob to carl" },
  ]);
  const report = await salvageHistory(source, target);
  assertEquals([report.copied, report.accounts, report.accountRowsUnreadable], [3, 0, 0]);
  assertEquals(messageAccounts(target).map((row) => row.unclaimed), [0, 1, 1]);

  const copy = openSqliteHistory(target, { readInWorker: false });
  try {
    assertEquals(textsFor(copy, null), ["hello all"], "a guest sees nothing private");
    const bob = copy.accounts.claim("bob", ["bob"], key(2), 2_000).id;
    assertEquals(textsFor(copy, bob), ["hello all", "ana to bob", "bob to carl"]);
    const carl = copy.accounts.claim("carl", ["carl"], key(3), 2_001).id;
    assertEquals(textsFor(copy, carl), ["hello all", "bob to carl"]);
  } finally {
    await copy.close();
  }
});

Deno.test("salvage gives accounts lost to damage back as released: their messages stay out of a newcomer's reach", async () => {
  await using dir = await tempDir();
  const source = `${dir}/history.db`, target = `${dir}/copy.db`;
  const { carl } = await writeAccountsHistory(source);
  const schema = new DatabaseSync(source, { readOnly: true });
  const root = Number(
    schema.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'accounts'").get()?.rootpage,
  );
  schema.close();
  overwritePages(source, root, root);

  const report = await salvageHistory(source, target, { now: () => 9_000 });
  assertEquals(report.copied, 4, "every message is still read");
  assertEquals(report.accounts, 0);
  assertEquals(report.accountsRestoredReleased, 2, "ana's and bob's, named by messages");
  assert(report.accountRowsUnreadable > 0, "their devices are left out and counted");
  assertEquals(report.devices, 0);

  const copy = openSqliteHistory(target, { readInWorker: false });
  try {
    const accounts = copy.accounts;
    assertEquals(
      accounts.list().map(({ nick, created, released, devices }) => ({
        nick,
        created,
        released,
        devices: devices.length,
      })),
      [
        { nick: "ana", created: 2_000, released: 9_000, devices: 0 },
        { nick: "bob", created: 2_001, released: 9_000, devices: 0 },
      ],
    );
    assertEquals(accounts.forDevice(key(2)), null, "no device of a lost account lets anyone in");
    const newBob = accounts.claim("bob", ["bob"], key(8), 10_000).id;
    assert(newBob > carl, `the new account's id (${newBob}) is past every old one`);
    assertEquals(textsFor(copy, newBob), ["hello all"]);
  } finally {
    await copy.close();
  }
});

/**
 * A history at `path` (schema 3) where ana made `#ops` (bob joined, topic
 * set) and bob made `#Dev`; they wrote in `#general`, in both channels and
 * to each other. Returns the ids.
 */
async function writeChannelsHistory(path: string): Promise<{
  ana: number;
  bob: number;
  carl: number;
  ops: number;
  dev: number;
}> {
  const history = openSqliteHistory(path);
  try {
    const accounts = history.accounts, channels = history.channels;
    const ana = accounts.claim("ana", ["ana"], key(1), 1_000).id;
    const bob = accounts.claim("bob", ["bob"], key(2), 1_000).id;
    const carl = accounts.claim("carl", ["carl"], key(3), 1_000).id;
    const ops = channels.create("#ops", ["#ops", "#0ps"], ana, 1_100).id;
    channels.join(ops, bob, 1_200);
    channels.setTopic(ops, "pager rota");
    const dev = channels.create("#Dev", ["#dev"], bob, 1_300).id;
    await history.append(message("hello all", 2_000, { fromAccount: ana }));
    await history.append(message("ops only", 2_001, { fromAccount: ana, channel: ops }));
    await history.append(
      message("dev only", 2_002, { from: "bob", fromAccount: bob, channel: dev }),
    );
    await history.append(
      message("ana to bob", 2_003, { to: "bob", fromAccount: ana, toAccount: bob }),
    );
    await history.append(
      message("pages", 2_004, { from: "bob", kind: "action", fromAccount: bob, channel: ops }),
    );
    return { ana, bob, carl, ops, dev };
  } finally {
    await history.close();
  }
}

/** Each message's id and channel, by id. */
function messageChannels(path: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT id, channel_id FROM messages ORDER BY id").all()
      .map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

/** The root pages of these tables and indexes of the closed history at `path`. */
function rootPages(path: string, ...names: string[]): number[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return names.map((name) =>
      Number(db.prepare("SELECT rootpage FROM sqlite_master WHERE name = ?").get(name)?.rootpage)
    );
  } finally {
    db.close();
  }
}

/**
 * Fills page `page` (1-based) of the closed database at `path` with 0xff: no
 * b-tree page starts so, so SQLite reports it malformed every time (random
 * bytes may, rarely, look like a page).
 */
function spoilPage(path: string, page: number): void {
  const db = new DatabaseSync(path, { readOnly: true });
  const pageSize = Number(db.prepare("PRAGMA page_size").get()?.page_size);
  db.close();
  const file = Deno.openSync(path, { write: true });
  try {
    file.seekSync((page - 1) * pageSize, Deno.SeekMode.Start);
    const bytes = new Uint8Array(pageSize).fill(0xff);
    for (let written = 0; written < bytes.length;) {
      written += file.writeSync(bytes.subarray(written));
    }
  } finally {
    file.close();
  }
}

/** The texts of channel `channel` (0: `#general`) as a member sees them. */
function channelTexts(history: SqliteHistory, channel: number, account: number): string[] {
  return history.pageNow({ viewer: { account, channels: [channel] }, channel, limit: 50 }).items
    .map((item) => item.text);
}

Deno.test("salvage copies channels with their ids, names, topics, members and look-alikes, and each message's channel", async () => {
  await using dir = await tempDir();
  const source = `${dir}/history.db`, target = `${dir}/copy.db`;
  const { ana, bob, carl, ops, dev } = await writeChannelsHistory(source);
  // A last channel whose row is gone (no message names it): its id is not handed out again,
  // and its member, carl, is in no channel of the copy.
  const writer = openSqliteHistory(source);
  const lost = writer.channels.create("#gone", ["#gone"], carl, 1_400).id;
  await writer.close();
  const db = new DatabaseSync(source, { enableForeignKeyConstraints: false });
  db.prepare("DELETE FROM channels WHERE id = ?").run(lost);
  db.close();
  const original = openSqliteHistory(source, { readOnly: true });
  const listed = original.channels.list();
  await original.close();

  const report = await salvageHistory(source, target);
  assertEquals(
    [report.copied, report.channels, report.channelMembers, report.channelsRecovered],
    [5, 2, 3, [] as string[]],
  );
  assertEquals(report.channelRowsUnreadable, 1, "#gone's membership is left out and counted");
  assertEquals(messageChannels(target), messageChannels(source));

  const copy = openSqliteHistory(target, { readInWorker: false });
  try {
    const channels = copy.channels;
    assertEquals(channels.list(), listed);
    assertEquals(channels.byId(ops)?.topic, "pager rota");
    assertEquals(channels.members(ops).sort(), [ana, bob].sort());
    assertEquals(channels.members(dev), [bob]);
    assertEquals(channels.channelsOf(carl), []);
    assertEquals(channels.lookalike(["#0ps"])?.id, ops, "look-alikes are kept");
    assertEquals(channelTexts(copy, ops, ana), ["ops only", "pages"]);
    assertEquals(channelTexts(copy, dev, bob), ["dev only"]);
    assertEquals(channelTexts(copy, 0, carl), ["hello all"]);
    assertEquals(
      copy.afterNow({ account: carl }, 0, 50).map((item) => item.text),
      ["hello all"],
      "no channel message reaches a non-member",
    );
    const made = channels.create("#new", ["#new"], carl, 5_000).id;
    assert(made > lost, `a new channel gets a new id (${made}), never an old one's (${lost})`);
  } finally {
    await copy.close();
  }

  const typed = await lanchatToEnd(["history", "--db", source, "--salvage", `${dir}/typed.db`]);
  assertEquals(typed.code, 0, typed.stderr);
  assertMatch(typed.stdout, /^copied 2 channels with 3 memberships; 1 rows of channels/m);
});

Deno.test("salvage recovers channels whose rows are lost as #recovered-<id>: no channel message lands in #general", async () => {
  await using dir = await tempDir();
  const source = `${dir}/history.db`, target = `${dir}/copy.db`;
  const { ana, bob, carl, ops, dev } = await writeChannelsHistory(source);
  // The channels and every copy of their memberships: nobody is known to be in them.
  for (
    const page of rootPages(source, "channels", "channel_members", "channel_members_by_account")
  ) {
    spoilPage(source, page);
  }

  const report = await salvageHistory(source, target);
  assertEquals(report.copied, 5, "every message is still read");
  assertEquals([report.channels, report.channelMembers], [0, 0]);
  assertEquals(report.channelsRecovered, [`#recovered-${ops}`, `#recovered-${dev}`]);
  assert(report.channelRowsUnreadable > 0);
  assertEquals(messageChannels(target), messageChannels(source), "each message keeps its channel");

  const copy = openSqliteHistory(target, { readInWorker: false });
  try {
    const channels = copy.channels;
    assertEquals(
      channels.list().map(({ id, name, topic, created }) => ({ id, name, topic, created })),
      [
        { id: 0, name: "#general", topic: "", created: 0 },
        { id: ops, name: `#recovered-${ops}`, topic: "", created: 2_001 },
        { id: dev, name: `#recovered-${dev}`, topic: "", created: 2_002 },
      ],
    );
    assertEquals([channels.members(ops), channels.members(dev)], [[], []]);
    for (const account of [ana, bob, carl]) {
      assertEquals(channelTexts(copy, 0, account), ["hello all"], "#general holds its own only");
    }
    assertEquals(
      copy.afterNow({ account: ana }, 0, 50).map((item) => item.text),
      ["hello all", "ana to bob"],
    );
    assertEquals(channelTexts(copy, ops, ana), ["ops only", "pages"], "in the recovered channel");
    const made = channels.create("#ops", ["#ops"], ana, 5_000).id;
    assert(made > dev, `a new channel gets a new id (${made}), never an old one's`);
  } finally {
    await copy.close();
  }

  const typed = await lanchatToEnd(["history", "--db", source, "--salvage", `${dir}/typed.db`]);
  assertEquals(typed.code, 0, typed.stderr);
  assertMatch(typed.stdout, /^copied 0 channels with 0 memberships; \d+ rows of channels/m);
  assertMatch(
    typed.stdout,
    new RegExp(
      `^2 channels could not be read but hold messages: .*#recovered-${ops}, #recovered-${dev}`,
      "m",
    ),
  );
  const shown = await lanchatToEnd([
    "history",
    "--db",
    `${dir}/typed.db`,
    "--channel",
    `recovered-${ops}`,
  ]);
  assertEquals(shown.code, 0, shown.stderr);
  assertEquals(
    shown.stdout.split("\n").filter((line) => line !== "").map((line) => line.slice(19)),
    [`<ana #recovered-${ops}> ops only`, `* bob #recovered-${ops} pages`],
  );
});

Deno.test("salvage keeps the members of recovered channels when their table can be read, and finds them in the index when it cannot", async () => {
  await using dir = await tempDir();
  const source = `${dir}/history.db`;
  const { ana, bob, ops, dev } = await writeChannelsHistory(source);
  const [channelsRoot, membersRoot] = rootPages(source, "channels", "channel_members");

  spoilPage(source, channelsRoot!);
  const lostChannels = await salvageHistory(source, `${dir}/channels-lost.db`);
  assertEquals(lostChannels.channelMembers, 3);
  spoilPage(source, membersRoot!);
  const lostBoth = await salvageHistory(source, `${dir}/both-lost.db`, { now: () => 9_000 });
  assertEquals(lostBoth.channelMembers, 3, "read from channel_members_by_account");

  for (const path of [`${dir}/channels-lost.db`, `${dir}/both-lost.db`]) {
    const copy = openSqliteHistory(path, { readInWorker: false });
    try {
      assertEquals(copy.channels.byId(ops)?.name, `#recovered-${ops}`);
      assertEquals(copy.channels.members(ops).sort(), [ana, bob].sort(), path);
      assertEquals(copy.channels.members(dev), [bob], path);
      assertEquals(copy.channels.channelsOf(ana), [ops], path);
    } finally {
      await copy.close();
    }
  }
  const db = new DatabaseSync(`${dir}/both-lost.db`, { readOnly: true });
  const joined = db.prepare("SELECT DISTINCT joined FROM channel_members").all().map((row) =>
    row.joined
  );
  db.close();
  assertEquals(joined, [9_000], "the index holds no join time: the salvage's");
});

Deno.test("salvage leaves out a message whose channel is not a channel id rather than put it in #general", async () => {
  await using dir = await tempDir();
  const source = `${dir}/history.db`, target = `${dir}/copy.db`;
  await writeChannelsHistory(source);
  const db = new DatabaseSync(source);
  // Damage as a broken page may show it: a text, a zero, a channel on a private message.
  db.exec("UPDATE messages SET channel_id = 'ops' WHERE text = 'ops only'");
  db.exec("UPDATE messages SET channel_id = 0 WHERE text = 'dev only'");
  db.exec("UPDATE messages SET channel_id = 1 WHERE text = 'ana to bob'");
  db.close();

  const report = await salvageHistory(source, target);
  assertEquals([report.copied, report.unreadable], [2, 3]);
  const copy = openSqliteHistory(target, { readInWorker: false });
  try {
    assertEquals(
      copy.query({ limit: 50 }).map(({ text, channel }) => ({ text, channel })),
      [{ text: "hello all", channel: 0 }, { text: "pages", channel: 1 }],
    );
  } finally {
    await copy.close();
  }
});
