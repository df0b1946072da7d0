/**
 * Tests of lib/store/history_salvage.ts with accounts (issue #14): a salvage
 * keeps who may read each private message. Real SQLite files in a temporary
 * folder; a version-1 history is written with schema 1's own SQL
 * (tests/fixtures/history_v1.ts), damage by overwriting pages
 * (tests/fixtures/history_damage.ts); the `--salvage` report is read from a
 * real `main.ts` process.
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
