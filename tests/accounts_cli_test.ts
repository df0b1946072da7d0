/**
 * `lanchat accounts` (lib/store/accounts_cli.ts, issue #14 item 9) as an
 * operator runs it: real `main.ts` processes on real history files in a
 * temporary folder, written beforehand through the store (openSqliteHistory
 * and its accounts). Times are built with the Date constructor in local
 * time, so the printed `YYYY-MM-DD HH:MM` is the same in any time zone.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { pathExists } from "./_helpers.ts";
import { lanchatToEnd, serveOnLoopback } from "./fixtures/client_process.ts";
import { openHistoryFile, openSqliteHistory, schemaVersion } from "../lib/store/history_sqlite.ts";
import { SqliteAccounts } from "../lib/store/accounts_sqlite.ts";
import type { AccountJsonLine } from "../lib/store/accounts_cli.ts";
import { fingerprint, keyPairFromSecret } from "../lib/wire/identity.ts";
import { toBase64 } from "../lib/wire/base64.ts";
import { DatabaseSync } from "node:sqlite";
import { schemaV1 } from "./fixtures/history_v1.ts";

const at = (hour: number, minute: number) => new Date(2026, 10, 25, hour, minute).getTime();

/** A device key that is the same at every run. */
function deviceKey(seed: number): Uint8Array {
  return keyPairFromSecret(new Uint8Array(32).fill(seed)).publicKey;
}

/**
 * Two 32-byte keys whose fingerprints share their first 8 characters after
 * `SHA256:` ("H6DbU7Z+"), found once by a birthday search over 2^26 keys of
 * this form (4 bytes of a counter, little-endian, then 28 fixed bytes). The
 * store keeps any 32 bytes as a device key, which is all that is needed here.
 */
function sharedPrefixKey(counter: number): Uint8Array {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, counter, true);
  key.set(new TextEncoder().encode("lanchat-test-fingerprint-pai"), 4);
  return key;
}
const twinA = sharedPrefixKey(8386551), twinB = sharedPrefixKey(20863828);

const ana1 = deviceKey(1), ana2 = deviceKey(2), bobKey = deviceKey(3), carlKey = deviceKey(4);

/** A temporary folder, removed at the end of the test. */
async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lanchat_accounts_" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/**
 * A history at `dir/history.db` with ana (two devices, the second seen at
 * 15:30), bob (one device) and carl (released at 13:00).
 */
async function accountsFile(dir: string): Promise<string> {
  const db = `${dir}/history.db`;
  const history = openSqliteHistory(db);
  const accounts = history.accounts;
  const ana = accounts.claim("ana", ["ana"], ana1, at(9, 0));
  accounts.addDevice(ana.id, ana2, at(10, 0));
  accounts.seen(ana2, at(15, 30));
  accounts.claim("bob", ["bob"], bobKey, at(11, 0));
  accounts.claim("carl", ["carl"], carlKey, at(12, 0));
  accounts.release("carl", at(13, 0));
  await history.close();
  return db;
}

/** What SqliteAccounts reads from `db` now, over a connection of its own. */
function readAccounts<T>(db: string, read: (accounts: SqliteAccounts) => T): T {
  const connection = openHistoryFile(db, { readOnly: true });
  try {
    return read(new SqliteAccounts(connection, db));
  } finally {
    connection.close();
  }
}

const short = (key: Uint8Array) => fingerprint(key).slice(0, 19);

Deno.test("accounts lists each account: nick, created, last seen, devices by short fingerprint; released ones marked", async () => {
  await using dir = await tempDir();
  const db = await accountsFile(dir);
  const result = await lanchatToEnd(["accounts", "--db", db]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(short(ana1).length, "SHA256:".length + 12);
  assertEquals(result.stdout.split("\n"), [
    "ana: created 2026-11-25 09:00, last seen 2026-11-25 15:30, 2 devices",
    `  ${short(ana1)}  added 2026-11-25 09:00`,
    `  ${short(ana2)}  added 2026-11-25 10:00, last seen 2026-11-25 15:30`,
    "bob: created 2026-11-25 11:00, last seen 2026-11-25 11:00, 1 device",
    `  ${short(bobKey)}  added 2026-11-25 11:00`,
    "carl (released 2026-11-25 13:00): created 2026-11-25 12:00",
    "",
  ]);
  // `list` is the same command, named.
  assertEquals((await lanchatToEnd(["accounts", "list", "--db", db])).stdout, result.stdout);
});

Deno.test("accounts --json prints one object per account with whole fingerprints and keys", async () => {
  await using dir = await tempDir();
  const db = await accountsFile(dir);
  const result = await lanchatToEnd(["accounts", "--json", "--db", db]);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split("\n").map((line) =>
    JSON.parse(line) as AccountJsonLine
  );
  assertEquals(lines.map(({ id: _, ...rest }) => rest), [
    {
      nick: "ana",
      created: at(9, 0),
      released: null,
      lastSeen: at(15, 30),
      devices: [
        { fingerprint: fingerprint(ana1), key: toBase64(ana1), added: at(9, 0), seen: null },
        { fingerprint: fingerprint(ana2), key: toBase64(ana2), added: at(10, 0), seen: at(15, 30) },
      ],
    },
    {
      nick: "bob",
      created: at(11, 0),
      released: null,
      lastSeen: at(11, 0),
      devices: [
        { fingerprint: fingerprint(bobKey), key: toBase64(bobKey), added: at(11, 0), seen: null },
      ],
    },
    { nick: "carl", created: at(12, 0), released: at(13, 0), lastSeen: null, devices: [] },
  ]);
  assertEquals(fingerprint(ana1).length, "SHA256:".length + 43);
});

Deno.test("accounts on a history without accounts says how a nick is claimed; --json prints nothing", async () => {
  await using dir = await tempDir();
  const db = `${dir}/history.db`;
  await openSqliteHistory(db).close();
  const text = await lanchatToEnd(["accounts", "--db", db]);
  assertEquals(text.code, 0, text.stderr);
  assertEquals(
    text.stdout,
    "(no accounts yet: a nick is claimed the first time someone joins with it)\n",
  );
  const json = await lanchatToEnd(["accounts", "--json", "--db", db]);
  assertEquals([json.code, json.stdout], [0, ""]);
});

Deno.test("accounts release frees the nick, removes its devices, keeps the account; an unknown nick exits 1", async () => {
  await using dir = await tempDir();
  const db = await accountsFile(dir);
  const result = await lanchatToEnd(["accounts", "release", "ANA", "--db", db]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    result.stdout.split("\n")[0],
    "'ana' is free now; the old account keeps its private history, which the next 'ana' will " +
      "not see; 2 devices removed",
  );
  readAccounts(db, (accounts) => {
    assertEquals(accounts.owner("ana"), null);
    assertEquals(accounts.forDevice(ana1), null);
    const ana = accounts.list().find((account) => account.nick === "ana");
    assert(ana !== undefined, "the account is kept");
    assert(ana.released !== null, "and marked released");
    assertEquals(ana.devices, []);
    assertEquals(accounts.owner("bob")?.nick, "bob", "the others are untouched");
  });
  const listed = await lanchatToEnd(["accounts", "--db", db]);
  assertMatch(
    listed.stdout,
    /^ana \(released \d{4}-\d\d-\d\d \d\d:\d\d\): created 2026-11-25 09:00$/m,
  );

  // --db before the subcommand, as the serve banner writes `accounts --db FILE`, works too.
  for (const nick of ["ana", "zed"]) {
    const unknown = await lanchatToEnd(
      nick === "ana"
        ? ["accounts", "release", nick, "--db", db]
        : ["accounts", "--db", db, "release", nick],
    );
    assertEquals(unknown.code, 1, unknown.stdout);
    assertEquals(unknown.stdout, "");
    assertMatch(unknown.stderr, new RegExp(`^lanchat: nobody owns '${nick}'$`, "m"));
    assertMatch(unknown.stderr, /main\.ts accounts --db /);
  }
  readAccounts(db, (accounts) => assertEquals(accounts.count(), 1));
});

Deno.test("accounts remove-device takes a whole fingerprint or an 8-character prefix, and says what is left", async () => {
  await using dir = await tempDir();
  const db = await accountsFile(dir);
  const whole = await lanchatToEnd(["accounts", "remove-device", fingerprint(ana2), "--db", db]);
  assertEquals(whole.code, 0, whole.stderr);
  const [removed, advice] = whole.stdout.split("\n");
  assertEquals(
    removed,
    `removed device ${
      fingerprint(ana2)
    } from 'ana' (added 2026-11-25 10:00, last seen 2026-11-25 15:30)`,
  );
  assertMatch(advice!, new RegExp(`^'ana' keeps 1 device \\(${escape(short(ana1))}\\)`));
  assertMatch(advice!, /\/link/);
  readAccounts(db, (accounts) => {
    assertEquals(accounts.forDevice(ana2), null);
    assertEquals(accounts.forDevice(ana1)?.nick, "ana");
  });

  // The last one, by 8 characters without SHA256:
  const prefix = fingerprint(ana1).slice(7, 15);
  const last = await lanchatToEnd(["accounts", "remove-device", prefix, "--db", db]);
  assertEquals(last.code, 0, last.stderr);
  assertMatch(last.stdout, new RegExp(`^removed device ${escape(fingerprint(ana1))} from 'ana'`));
  assertMatch(last.stdout, /'ana' has no device left: nobody can join as 'ana' now/);
  assertMatch(last.stdout, /main\.ts accounts release ana --db /);
  readAccounts(db, (accounts) => {
    assertEquals(accounts.owner("ana")?.nick, "ana", "the nick stays owned until released");
    assertEquals(accounts.devices(accounts.owner("ana")!.id), []);
  });
});

Deno.test("accounts remove-device refuses a prefix shorter than 8, one two devices share, and one nobody has", async () => {
  await using dir = await tempDir();
  const db = await accountsFile(dir);
  {
    using connection = disposable(openHistoryFile(db));
    const accounts = new SqliteAccounts(connection.db, db);
    const bob = accounts.owner("bob")!;
    accounts.addDevice(bob.id, twinA, at(16, 0));
    accounts.addDevice(bob.id, twinB, at(16, 1));
  }
  const shared = fingerprint(twinA).slice(0, 15);
  assertEquals(shared, "SHA256:H6DbU7Z+", "the two keys share 8 characters");
  assertEquals(fingerprint(twinB).slice(0, 15), shared);
  assert(fingerprint(twinA)[15] !== fingerprint(twinB)[15]);

  const refusals: [string, RegExp][] = [
    [fingerprint(ana1).slice(0, 14), /is too short to name one device: give at least 8 characters/],
    [
      shared,
      /^lanchat: 2 devices have fingerprints starting with SHA256:H6DbU7Z\+; give more of it$/m,
    ],
    [
      "SHA256:AAAAAAAAAAAA",
      /^lanchat: no device has a fingerprint starting with SHA256:AAAAAAAAAAAA$/m,
    ],
  ];
  for (const [printed, said] of refusals) {
    const result = await lanchatToEnd(["accounts", "remove-device", printed, "--db", db]);
    assertEquals(result.code, 1, `${printed}: ${result.stdout}`);
    assertMatch(result.stderr, said);
    assertMatch(result.stderr, /see every device's fingerprint with: .*main\.ts accounts --db /);
  }
  readAccounts(db, (accounts) => {
    assertEquals(accounts.devices(accounts.owner("bob")!.id).length, 3, "nothing removed");
    assertEquals(accounts.devices(accounts.owner("ana")!.id).length, 2);
  });

  // One more character tells them apart.
  const one = await lanchatToEnd([
    "accounts",
    "remove-device",
    fingerprint(twinB).slice(0, 16),
    "--db",
    db,
  ]);
  assertEquals(one.code, 0, one.stderr);
  assertMatch(one.stdout, new RegExp(`^removed device ${escape(fingerprint(twinB))} from 'bob'`));
  readAccounts(db, (accounts) => assertEquals(accounts.forDevice(twinA)?.nick, "bob"));
});

Deno.test("accounts refuses a missing file (creating nothing), another program's file, and a newer lanchat's", async () => {
  await using dir = await tempDir();
  const missing = await lanchatToEnd(["accounts", "--db", `${dir}/none.db`]);
  assertEquals(missing.code, 1);
  assertMatch(missing.stderr, /^lanchat: no history at .*none\.db$/m);
  assertEquals(await pathExists(`${dir}/none.db`), false);
  const release = await lanchatToEnd(["accounts", "release", "ana", "--db", `${dir}/none.db`]);
  assertEquals(release.code, 1);
  assertEquals(await pathExists(`${dir}/none.db`), false, "a change does not create it either");

  const other = `${dir}/other.db`;
  rawDatabase(other, "CREATE TABLE notes (text TEXT)");
  const notOurs = await lanchatToEnd(["accounts", "--db", other]);
  assertEquals(notOurs.code, 1);
  assertMatch(notOurs.stderr, /is a SQLite database, but not a lanchat history/);

  const newer = `${dir}/newer.db`;
  rawDatabase(
    newer,
    `PRAGMA application_id = ${0x4c4e4348}; PRAGMA user_version = ${schemaVersion + 1}`,
  );
  const tooNew = await lanchatToEnd([
    "accounts",
    "remove-device",
    "SHA256:AAAAAAAA",
    "--db",
    newer,
  ]);
  assertEquals(tooNew.code, 1);
  assertMatch(tooNew.stderr, /was written by a newer lanchat/);
  assertMatch(tooNew.stderr, /upgrade lanchat/);
});

Deno.test("accounts on a history of schema 1 says to start serve on it once, and leaves it as it is", async () => {
  await using dir = await tempDir();
  const db = `${dir}/old.db`;
  rawDatabase(db, `${schemaV1}; PRAGMA user_version = 1;`);
  for (const args of [["accounts"], ["accounts", "release", "ana"]]) {
    const result = await lanchatToEnd([...args, "--db", db]);
    assertEquals(result.code, 1, result.stdout);
    assertMatch(
      result.stderr,
      new RegExp(
        `has an older schema \\(version 1; this lanchat reads version ${schemaVersion}\\)`,
      ),
    );
    assertMatch(
      result.stderr,
      new RegExp(`start the server on it once, which upgrades it: .*task serve --db ${escape(db)}`),
    );
  }
  const check = new DatabaseSync(db, { readOnly: true });
  try {
    assertEquals(check.prepare("PRAGMA user_version").get()?.user_version, 1);
    assertEquals(
      check.prepare("SELECT 1 FROM sqlite_master WHERE name = 'accounts'").get(),
      undefined,
    );
  } finally {
    check.close();
  }
});

Deno.test("accounts lists and changes the file of a running server", async () => {
  await using dir = await tempDir();
  const db = `${dir}/history.db`;
  await using server = await serveOnLoopback(["--db", db]);
  // Claimed over a connection of its own while the server holds the file, as a join would.
  {
    using connection = disposable(openHistoryFile(db));
    const accounts = new SqliteAccounts(connection.db, db);
    const ana = accounts.claim("ana", ["ana"], ana1, at(9, 0));
    accounts.addDevice(ana.id, ana2, at(10, 0));
  }
  const listed = await lanchatToEnd(["accounts", "--db", db]);
  assertEquals(listed.code, 0, listed.stderr);
  assertMatch(
    listed.stdout,
    /^ana: created 2026-11-25 09:00, last seen 2026-11-25 10:00, 2 devices$/m,
  );

  const removed = await lanchatToEnd(["accounts", "remove-device", fingerprint(ana2), "--db", db]);
  assertEquals(removed.code, 0, removed.stderr);
  const released = await lanchatToEnd(["accounts", "release", "ana", "--db", db]);
  assertEquals(released.code, 0, released.stderr);
  assertMatch(released.stdout, /^'ana' is free now; .*; 1 device removed$/m);
  readAccounts(db, (accounts) => assertEquals(accounts.owner("ana"), null));

  const after = await lanchatToEnd(["accounts", "--db", db]);
  assertMatch(after.stdout, /^ana \(released /m);
  assertEquals(
    server.output().filter((line) => /error|exception/i.test(line)),
    [],
    "the server took no harm",
  );
  server.kill("SIGTERM");
  assertEquals((await server.waitForExit()).code, 0, server.output().join("\n"));
});

Deno.test("accounts: a wrong flag or an unknown subcommand is wrong usage (exit 2); each has --help", async () => {
  for (
    const [args, said] of [
      [["accounts", "--bogus"], /unknown option '--bogus'/],
      [["accounts", "relase", "ana"], /unknown command 'relase' for 'lanchat accounts'/],
      [["accounts", "release"], /missing required argument 'nick'/],
      [["accounts", "remove-device", "a", "b"], /too many arguments/],
      [["accounts", "release", "ana", "--json"], /unknown option '--json'/],
    ] as [string[], RegExp][]
  ) {
    const result = await lanchatToEnd(args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assertMatch(result.stderr, said);
    assertEquals(result.stdout, "");
  }
  for (
    const [args, said] of [
      [["accounts", "--help"], /release \[options\] <nick>[\s\S]*remove-device/],
      [["accounts", "list", "--help"], /--json/],
      [["accounts", "release", "--help"], /lost every device/],
      [["accounts", "remove-device", "--help"], /at least 8 characters/],
      [["--help"], /accounts/],
    ] as [string[], RegExp][]
  ) {
    const result = await lanchatToEnd(args);
    assertEquals(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stdout, said);
  }
});

/** A SQLite file made by `sql`, closed. */
function rawDatabase(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** A connection closed at the end of its block (`using`). */
function disposable(db: DatabaseSync): { db: DatabaseSync } & Disposable {
  return { db, [Symbol.dispose]: () => db.close() };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
