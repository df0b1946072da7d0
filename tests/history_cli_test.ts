/**
 * Tests of lib/store/history_cli.ts (`lanchat history`) on real database files,
 * in this process and, for `--with` by account and `--channel`, as a real
 * `main.ts` process.
 * Times are built with the Date constructor in local time, so the printed
 * `[YYYY-MM-DD HH:MM]` is the same in any time zone.
 */
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { StorageError } from "../lib/wire/errors.ts";
import { runHistoryCommand } from "../lib/store/history_cli.ts";
import type { HistoryCommandOptions, HistoryJsonLine } from "../lib/store/history_cli.ts";
import { openSqliteHistory } from "../lib/store/history_sqlite.ts";
import type { SqliteHistory } from "../lib/store/history_sqlite.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import type { NewMessage } from "../lib/store/history.ts";
import { lanchatToEnd } from "./fixtures/client_process.ts";

const at = (hour: number, minute: number) => new Date(2026, 10, 25, hour, minute).getTime();
const now = () => at(18, 0);

function message(text: string, ts: number, fields: Partial<NewMessage> = {}): NewMessage {
  return { ts, from: "alice", to: null, kind: "text", text, body: encodeBody(text), ...fields };
}

/** A history file holding a small day of chat; `test` gets its path. */
async function withChatFile(test: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_cli_" });
  try {
    const path = `${dir}/history.db`;
    const history = openSqliteHistory(path);
    await history.append(message("good morning", at(9, 0)));
    await history.append(message("hi Bob, lunch?", at(12, 5), { to: "Bob" }));
    await history.append(message("waves", at(14, 3), { kind: "action", from: "bob" }));
    await history.append(message("大家你好啊", at(16, 30), { from: "carl" }));
    await history.close();
    await test(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(options: HistoryCommandOptions): Promise<string[]> {
  const lines: string[] = [];
  await runHistoryCommand(options, (line) => lines.push(line), now);
  return lines;
}

Deno.test("history prints local-time lines for public, private and action messages", async () => {
  await withChatFile(async (db) => {
    assertEquals(await run({ db }), [
      "[2026-11-25 09:00] <alice> good morning",
      "[2026-11-25 12:05] <alice -> Bob> hi Bob, lunch?",
      "[2026-11-25 14:03] * bob waves",
      "[2026-11-25 16:30] <carl> 大家你好啊",
    ]);
  });
});

Deno.test("history --json prints one object per line with a local ISO time", async () => {
  await withChatFile(async (db) => {
    const lines = await run({ db, json: true, limit: 2 });
    const objects = lines.map((line) => JSON.parse(line) as HistoryJsonLine);
    assertEquals(objects.map(({ from, to, kind, text }) => ({ from, to, kind, text })), [
      { from: "bob", to: null, kind: "action", text: "waves" },
      { from: "carl", to: null, kind: "text", text: "大家你好啊" },
    ]);
    const first = objects[0]!;
    assertEquals(first.ts, at(14, 3));
    assert(first.time.startsWith("2026-11-25T14:03:00.000"), first.time);
    assertEquals(Date.parse(first.time), first.ts);
    assert(first.id < objects[1]!.id);
  });
});

Deno.test("history --since and --until keep a time range, relative or absolute", async () => {
  await withChatFile(async (db) => {
    assertEquals((await run({ db, since: "4h" })).length, 2); // 14:00 onwards
    assertEquals(await run({ db, since: "2026-11-25T12:00", until: "2026-11-25T14:03" }), [
      "[2026-11-25 12:05] <alice -> Bob> hi Bob, lunch?",
    ]);
    assertEquals(await run({ db, until: "2026-11-25" }), ["(no messages)"]);
    await assertRejects(() => run({ db, since: "yesterday" }), Error);
  });
});

Deno.test("history --with a nick nobody owns shows its messages, private ones too", async () => {
  await withChatFile(async (db) => {
    assertEquals(await run({ db, with: "BOB" }), [
      "[2026-11-25 12:05] <alice -> Bob> hi Bob, lunch?",
      "[2026-11-25 14:03] * bob waves",
    ]);
  });
});

Deno.test("history --search matches short Chinese and longer English substrings", async () => {
  await withChatFile(async (db) => {
    assertEquals(await run({ db, search: "你好" }), ["[2026-11-25 16:30] <carl> 大家你好啊"]);
    assertEquals(await run({ db, search: "LUNCH" }), [
      "[2026-11-25 12:05] <alice -> Bob> hi Bob, lunch?",
    ]);
    assertEquals(await run({ db, search: "o", with: "alice", limit: 1 }), [
      "[2026-11-25 12:05] <alice -> Bob> hi Bob, lunch?",
    ]);
  });
});

Deno.test("history --limit shows the newest messages, oldest first", async () => {
  await withChatFile(async (db) => {
    assertEquals(await run({ db, limit: 2 }), [
      "[2026-11-25 14:03] * bob waves",
      "[2026-11-25 16:30] <carl> 大家你好啊",
    ]);
    await assertRejects(() => run({ db, limit: 0 }), Error);
  });
});

Deno.test("history refuses a missing file and does not create it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_cli_" });
  try {
    const error = await assertRejects(() => run({ db: `${dir}/none.db` }), StorageError);
    assert(error.message.startsWith("no history at "), error.message);
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history reads beside a running server that keeps writing", async () => {
  await withChatFile(async (db) => {
    let server: SqliteHistory | undefined = openSqliteHistory(db);
    try {
      await server.append(message("still here", at(17, 0)));
      assertEquals(await run({ db, limit: 1 }), ["[2026-11-25 17:00] <alice> still here"]);
      await server.append(message("and more", at(17, 1)));
      assertEquals(await run({ db, limit: 1 }), ["[2026-11-25 17:01] <alice> and more"]);
      await server.close();
      server = undefined;
    } finally {
      await server?.close();
    }
  });
});

Deno.test("history shows control characters instead of sending them to the terminal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_cli_" });
  try {
    const db = `${dir}/history.db`;
    const history = openSqliteHistory(db);
    await history.append(message("red \x1b[31malert\x07 tab\tok", at(10, 0)));
    await history.close();
    assertEquals(await run({ db }), ["[2026-11-25 10:00] <alice> red \\x1b[31malert\\x07 tab\tok"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history --with NICK shows the private messages of the account that owns NICK now, not of an earlier owner", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_cli_" });
  try {
    const db = `${dir}/history.db`;
    const history = openSqliteHistory(db);
    const accounts = history.accounts;
    const key = (seed: number) => new Uint8Array(32).fill(seed);
    const oldAna = accounts.claim("ana", ["ana"], key(1), at(8, 0)).id;
    const bob = accounts.claim("bob", ["bob"], key(2), at(8, 0)).id;
    const say = (text: string, minute: number, fields: Partial<NewMessage>) =>
      history.append(message(text, at(9, minute), fields));
    await say("hello all", 0, { from: "ana", fromAccount: oldAna });
    await say("old secret", 1, { from: "ana", to: "bob", fromAccount: oldAna, toAccount: bob });
    await say("old reply", 2, { from: "bob", to: "ana", fromAccount: bob, toAccount: oldAna });
    // A guest: no account on its side.
    await say("from a guest", 3, { from: "zed", to: "bob", toAccount: bob });
    await say("to a guest", 4, { from: "bob", to: "zed", fromAccount: bob });
    accounts.release("ana", at(10, 0));
    const newAna = accounts.claim("ana", ["ana"], key(3), at(10, 5)).id;
    await say("for the new ana", 30, {
      from: "bob",
      to: "ana",
      fromAccount: bob,
      toAccount: newAna,
    });
    await say("new ana here", 31, { from: "ana", fromAccount: newAna });
    await history.close();

    const forAna = [
      "[2026-11-25 09:00] <ana> hello all",
      "[2026-11-25 09:30] <bob -> ana> for the new ana",
      "[2026-11-25 09:31] <ana> new ana here",
    ];
    assertEquals(await run({ db, with: "ANA" }), forAna);
    assertEquals(await run({ db, with: "bob" }), [
      "[2026-11-25 09:01] <ana -> bob> old secret",
      "[2026-11-25 09:02] <bob -> ana> old reply",
      "[2026-11-25 09:03] <zed -> bob> from a guest",
      "[2026-11-25 09:04] <bob -> zed> to a guest",
      "[2026-11-25 09:30] <bob -> ana> for the new ana",
    ]);
    // Nobody owns zed: the private messages under that nick without an account.
    assertEquals(await run({ db, with: "zed" }), [
      "[2026-11-25 09:03] <zed -> bob> from a guest",
      "[2026-11-25 09:04] <bob -> zed> to a guest",
    ]);
    assertEquals(await run({ db, with: "ana", search: "secret" }), ["(no messages)"]);
    // Without --with the operator reads every message.
    assertEquals((await run({ db })).length, 7);

    // The command as typed.
    const typed = await lanchatToEnd(["history", "--db", db, "--with", "ana"]);
    assertEquals(typed.code, 0, typed.stderr);
    assertEquals(typed.stdout, forAna.map((line) => `${line}\n`).join(""));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A history file with `#general`, a channel `#ops` and a private message; `test` gets its path. */
async function withChannelsFile(test: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_cli_" });
  try {
    const path = `${dir}/history.db`;
    const history = openSqliteHistory(path);
    const key = (seed: number) => new Uint8Array(32).fill(seed);
    const ana = history.accounts.claim("ana", ["ana"], key(1), at(8, 0)).id;
    const bob = history.accounts.claim("bob", ["bob"], key(2), at(8, 0)).id;
    const ops = history.channels.create("#Ops", ["#ops"], ana, at(8, 1)).id;
    history.channels.join(ops, bob, at(8, 2));
    const say = (text: string, minute: number, fields: Partial<NewMessage>) =>
      history.append(message(text, at(9, minute), fields));
    await say("hello all", 0, { from: "ana", fromAccount: ana });
    await say("deploy at ten", 1, { from: "ana", fromAccount: ana, channel: ops });
    await say("ana, a word?", 2, { from: "bob", to: "ana", fromAccount: bob, toAccount: ana });
    await say("pages the deploy", 3, {
      from: "bob",
      kind: "action",
      fromAccount: bob,
      channel: ops,
    });
    await say("lunch?", 4, { from: "bob", fromAccount: bob });
    await history.close();
    await test(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const opsLines = [
  "[2026-11-25 09:01] <ana #Ops> deploy at ten",
  "[2026-11-25 09:03] * bob #Ops pages the deploy",
];

Deno.test("history names the channel of a channel's message", async () => {
  await withChannelsFile(async (db) => {
    assertEquals(await run({ db }), [
      "[2026-11-25 09:00] <ana> hello all",
      opsLines[0],
      "[2026-11-25 09:02] <bob -> ana> ana, a word?",
      opsLines[1],
      "[2026-11-25 09:04] <bob> lunch?",
    ]);
    const objects = (await run({ db, json: true })).map((line) =>
      JSON.parse(line) as HistoryJsonLine
    );
    assertEquals(objects.map(({ text, channel }) => [text, channel]), [
      ["hello all", "#general"],
      ["deploy at ten", "#Ops"],
      ["ana, a word?", null],
      ["pages the deploy", "#Ops"],
      ["lunch?", "#general"],
    ]);
  });
});

Deno.test("history --channel shows that channel's messages only; general is those in no channel", async () => {
  await withChannelsFile(async (db) => {
    assertEquals(await run({ db, channel: "ops" }), opsLines);
    assertEquals(await run({ db, channel: "#OPS" }), opsLines);
    assertEquals(await run({ db, channel: "ops", search: "deploy", with: "bob" }), [opsLines[1]]);
    assertEquals(await run({ db, channel: "general" }), [
      "[2026-11-25 09:00] <ana> hello all",
      "[2026-11-25 09:04] <bob> lunch?",
    ]);
    assertEquals(await run({ db, channel: "#general", with: "ana" }), [
      "[2026-11-25 09:00] <ana> hello all",
    ]);
    const error = await assertRejects(() => run({ db, channel: "dev" }), Error);
    assertEquals(error.message, `no channel #dev in ${db} (its channels: #general, #Ops)`);

    // The command as typed.
    const typed = await lanchatToEnd(["history", "--db", db, "--channel", "ops"]);
    assertEquals(typed.code, 0, typed.stderr);
    assertEquals(typed.stdout, opsLines.map((line) => `${line}\n`).join(""));
    const unknown = await lanchatToEnd(["history", "--db", db, "--channel", "#dev"]);
    assertEquals(unknown.code, 1);
    assertEquals(unknown.stdout, "");
    assert(unknown.stderr.includes("no channel #dev in"), unknown.stderr);
  });
});
