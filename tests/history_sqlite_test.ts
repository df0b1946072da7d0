/**
 * Tests of lib/store/history_sqlite.ts against real database files in a temp dir.
 */
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./_assert.ts";
import { DatabaseSync } from "node:sqlite";
import { overwritePages } from "./fixtures/history_damage.ts";
import { StorageError } from "../lib/wire/errors.ts";
import {
  HistoryBusyError,
  HistoryFullError,
  openServerHistory,
  openSqliteHistory,
  schemaVersion,
} from "../lib/store/history_sqlite.ts";
import type { SqliteHistory, SqliteHistoryOptions } from "../lib/store/history_sqlite.ts";
import { shortSearchPatterns } from "../lib/store/history_reads.ts";
import { encodeBody } from "../lib/wire/protocol.ts";
import { MemoryHistory } from "../lib/store/history.ts";
import type { NewMessage, Viewer } from "../lib/store/history.ts";

function message(text: string, fields: Partial<NewMessage> = {}): NewMessage {
  return {
    ts: 1_000,
    from: "ana",
    to: null,
    kind: "text",
    text,
    body: encodeBody(text),
    ...fields,
  };
}

async function withTempDir(test: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lanchat_history_" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withHistory(
  test: (history: SqliteHistory, path: string) => Promise<void> | void,
  options: SqliteHistoryOptions = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const history = openSqliteHistory(path, options);
    try {
      await test(history, path);
    } finally {
      await history.close();
    }
  });
}

function texts(items: { text: string }[]): string[] {
  return items.map((item) => item.text);
}

function refusal(open: () => unknown, messagePart: RegExp): StorageError {
  const error = assertThrows(open, StorageError);
  assert(messagePart.test(error.message), `unexpected message: ${error.message}`);
  assert(error.hint.length > 0, "a StorageError needs a hint");
  return error;
}

const isRoot = Deno.build.os !== "windows" && Deno.uid() === 0;

/**
 * Makes `path` read-only even for root: chmod for other users, `chattr +i`
 * (immutable) for root, which bypasses file modes. Returns the undo, or
 * undefined when neither works here (e.g. root on tmpfs).
 */
function makeReadOnly(path: string): (() => void) | undefined {
  if (Deno.build.os === "windows") return undefined;
  if (!isRoot) {
    const mode = Deno.statSync(path).mode ?? 0o644;
    Deno.chmodSync(path, Deno.statSync(path).isDirectory ? 0o555 : 0o444);
    return () => Deno.chmodSync(path, mode);
  }
  const chattr = (flag: string) => {
    try {
      return new Deno.Command("chattr", { args: [flag, path], stderr: "null" }).outputSync()
        .success;
    } catch {
      return false;
    }
  };
  return chattr("+i") ? () => void chattr("-i") : undefined;
}

/** Whether makeReadOnly works in this temp dir; tests that need it are ignored otherwise. */
const canMakeReadOnly = (() => {
  const dir = Deno.makeTempDirSync({ prefix: "lanchat_probe_" });
  try {
    const undo = makeReadOnly(dir);
    undo?.();
    return undo !== undefined;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

/** Readers by account: ana 1, bob 2, carl 3, dan 4, eve 5 (private messages belong to accounts). */
const viewers = {
  ana: { account: 1 },
  bob: { account: 2 },
  carl: { account: 3 },
  dan: { account: 4 },
  eve: { account: 5 },
} satisfies Record<string, Viewer>;

// ---- ids, schema, opening ------------------------------------------------------

Deno.test("ids strictly increase and survive a reopen", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/nested/folders/history.db`;
    const first = openSqliteHistory(path);
    const a = await first.append(message("one"));
    const b = await first.append(message("two"));
    await first.close();
    const second = openSqliteHistory(path);
    try {
      const c = await second.append(message("three"));
      assert(a.id < b.id && b.id < c.id, `ids ${a.id}, ${b.id}, ${c.id}`);
      assertEquals(second.lastId(), c.id);
      assertEquals(texts((await second.page({ viewer: viewers.bob, limit: 10 })).items), [
        "one",
        "two",
        "three",
      ]);
    } finally {
      await second.close();
    }
  });
});

Deno.test("ids are never reused after the newest messages are pruned", async () => {
  await withHistory(async (history) => {
    const old = await history.append(message("old", { ts: 1 }));
    assertEquals(await history.prune(2), 1);
    const next = await history.append(message("new", { ts: 3 }));
    assert(next.id > old.id);
  });
});

Deno.test("a new database gets the latest schema version, WAL mode and lanchat's application id", async () => {
  await withHistory((_history, path) => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assertEquals(db.prepare("PRAGMA user_version").get()?.user_version, schemaVersion);
      assertEquals(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      assertEquals(db.prepare("PRAGMA application_id").get()?.application_id, 0x4c4e4348);
    } finally {
      db.close();
    }
  });
});

Deno.test("stored messages come back with their body recomputed", async () => {
  await withHistory(async (history) => {
    const sent = message("héllo 👋", { to: "Bob", kind: "action", ts: 42 });
    const stored = await history.append({ ...sent, toAccount: 2 });
    assertEquals((await history.page({ viewer: viewers.bob, limit: 1 })).items, [{
      ...sent,
      channel: 0,
      id: stored.id,
    }]);
  });
});

Deno.test("an in-memory history starts its ids at the start time in microseconds", async () => {
  const before = Date.now() * 1000;
  const history = openSqliteHistory(":memory:");
  try {
    assertEquals(history.lastId(), 0);
    const first = await history.append(message("hi"));
    assert(first.id >= before && first.id <= Date.now() * 1000, `id ${first.id}`);
    assertEquals((await history.append(message("again"))).id, first.id + 1);
  } finally {
    await history.close();
  }
});

Deno.test("a database from a newer lanchat is refused with StorageError", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    await openSqliteHistory(path).close();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${schemaVersion + 1}`);
    db.close();
    refusal(() => openSqliteHistory(path), /newer lanchat/);
  });
});

Deno.test("a file that is not SQLite is refused and left as it was", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const noise = crypto.getRandomValues(new Uint8Array(4096));
    await Deno.writeFile(path, noise);
    const error = refusal(() => openSqliteHistory(path), /not a lanchat history or is damaged/);
    assert(error.hint.includes("move it aside"));
    assertEquals(await Deno.readFile(path), noise);
  });
});

Deno.test("a SQLite file of another program is refused", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/other.db`;
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE recipes (name TEXT)");
    db.close();
    refusal(() => openSqliteHistory(path), /not a lanchat history/);
  });
});

Deno.test("a path whose folder cannot be created is refused", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/plain-file`, "");
    refusal(() => openSqliteHistory(`${dir}/plain-file/history.db`), /cannot create the folder/);
  });
});

Deno.test({
  name: "a path where no file can be created, even by root, is refused",
  ignore: Deno.build.os !== "linux",
  fn() {
    refusal(() => openSqliteHistory("/proc/self/lanchat/history.db"), /cannot create the folder/);
    refusal(() => openSqliteHistory("/proc/self/history.db"), /cannot open|read-only/);
  },
});

Deno.test({
  name: "a read-only database file is refused",
  ignore: !canMakeReadOnly,
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/history.db`;
      await openSqliteHistory(path).close();
      const undo = makeReadOnly(path);
      try {
        refusal(() => openSqliteHistory(path), /read-only|cannot open/);
      } finally {
        undo?.();
      }
    });
  },
});

Deno.test({
  name: "a new database in a read-only folder is refused",
  ignore: !canMakeReadOnly,
  async fn() {
    await withTempDir(async (dir) => {
      const folder = `${dir}/locked`;
      await Deno.mkdir(folder);
      const undo = makeReadOnly(folder);
      try {
        refusal(() => openSqliteHistory(`${folder}/history.db`), /cannot open|read-only/);
      } finally {
        undo?.();
      }
    });
  },
});

Deno.test({
  name: "an unreadable database file is refused (as root: checked as user nobody)",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withTempDir(async (dir) => {
      const path = `${dir}/history.db`;
      await openSqliteHistory(path).close();
      await Deno.chmod(path, 0o000);
      if (!isRoot) {
        refusal(() => openSqliteHistory(path), /cannot open|read-only/);
        return;
      }
      // Root reads any file, so the check runs in a child that drops to nobody.
      await Deno.chmod(dir, 0o755);
      const module = new URL("../lib/store/history_sqlite.ts", import.meta.url).href;
      const script = `import { openSqliteHistory } from "${module}";
        try { openSqliteHistory(${JSON.stringify(path)}); console.log("opened"); }
        catch (error) { console.log(error.name + ": " + error.message); }`;
      const denoDir = await Deno.makeTempDir();
      try {
        await Deno.chmod(denoDir, 0o777);
        const { stdout, stderr } = await new Deno.Command("setpriv", {
          args: [
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            Deno.execPath(),
            "eval",
            "--no-check",
            script,
          ],
          env: { DENO_DIR: denoDir, HOME: denoDir },
        }).output();
        const output = new TextDecoder().decode(stdout).trim();
        assert(
          /^StorageError: .*(cannot open|read-only)/.test(output),
          `as nobody: ${output} ${new TextDecoder().decode(stderr)}`,
        );
      } finally {
        await Deno.remove(denoDir, { recursive: true });
      }
    });
  },
});

Deno.test("opening read-only never creates a file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/missing.db`;
    refusal(() => openSqliteHistory(path, { readOnly: true }), /no history at/);
    await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
  });
});

// ---- visibility and paging ---------------------------------------------------

async function appendConversation(history: SqliteHistory): Promise<void> {
  await history.append(message("public hello"));
  await history.append(
    message("secret for bob", { from: "Ana", to: "Bob", fromAccount: 1, toAccount: 2 }),
  );
  await history.append(
    message("reply to ana", { from: "bob", to: "ANA", fromAccount: 2, toAccount: 1 }),
  );
  await history.append(
    message("carl whispers to dan", { from: "carl", to: "dan", fromAccount: 3, toAccount: 4 }),
  );
  await history.append(message("public bye", { from: "carl" }));
}

Deno.test("private messages show in page, after and search only to their two parties", async () => {
  await withHistory(async (history) => {
    await appendConversation(history);
    const page = async (viewer: Viewer) => texts((await history.page({ viewer, limit: 10 })).items);
    assertEquals(await page(viewers.ana), [
      "public hello",
      "secret for bob",
      "reply to ana",
      "public bye",
    ]);
    assertEquals(await page(viewers.bob), [
      "public hello",
      "secret for bob",
      "reply to ana",
      "public bye",
    ]);
    assertEquals(await page(viewers.eve), ["public hello", "public bye"]);
    assertEquals(texts(await history.after(viewers.eve, 0, 10)), ["public hello", "public bye"]);
    assertEquals(texts(await history.after(viewers.dan, 0, 10)), [
      "public hello",
      "carl whispers to dan",
      "public bye",
    ]);
    assertEquals(texts(await history.search(viewers.eve, "secret", 10)), []);
    assertEquals(texts(await history.search(viewers.bob, "secret", 10)), ["secret for bob"]);
    assertEquals(texts(await history.search(viewers.eve, "to", 10)), []);
    assertEquals(texts(await history.search(viewers.dan, "to", 10)), ["carl whispers to dan"]);
  });
});

Deno.test("page with 'with' returns only the private conversation of the two", async () => {
  await withHistory(async (history) => {
    await appendConversation(history);
    const conversation = await history.page({
      viewer: viewers.bob,
      with: { account: 1 },
      limit: 10,
    });
    assertEquals(texts(conversation.items), ["secret for bob", "reply to ana"]);
    assertEquals(
      (await history.page({ viewer: viewers.eve, with: { account: 1 }, limit: 10 })).items,
      [],
    );
  });
});

Deno.test("page walks back with 'before' and says whether older messages exist", async () => {
  await withHistory(async (history) => {
    for (let index = 1; index <= 5; index++) await history.append(message(`m${index}`));
    const newest = await history.page({ viewer: viewers.ana, limit: 2 });
    assertEquals(texts(newest.items), ["m4", "m5"]);
    assertEquals(newest.more, true);
    const middle = await history.page({
      viewer: viewers.ana,
      limit: 2,
      before: newest.items[0]!.id,
    });
    assertEquals(texts(middle.items), ["m2", "m3"]);
    assertEquals(middle.more, true);
    const oldest = await history.page({
      viewer: viewers.ana,
      limit: 2,
      before: middle.items[0]!.id,
    });
    assertEquals(texts(oldest.items), ["m1"]);
    assertEquals(oldest.more, false);
    assertEquals(texts(await history.after(viewers.ana, newest.items[0]!.id, 10)), ["m5"]);
  });
});

// ---- search --------------------------------------------------------------------

Deno.test("search finds short and long Chinese substrings", async () => {
  await withHistory(async (history) => {
    await history.append(message("大家你好啊"));
    await history.append(message("今天天气很好"));
    assertEquals(texts(await history.search(viewers.ana, "你好", 10)), ["大家你好啊"]);
    assertEquals(texts(await history.search(viewers.ana, "好", 10)), [
      "大家你好啊",
      "今天天气很好",
    ]);
    assertEquals(texts(await history.search(viewers.ana, "家你好", 10)), ["大家你好啊"]);
    assertEquals(texts(await history.search(viewers.ana, "天天气很", 10)), ["今天天气很好"]);
  });
});

Deno.test("search matches English and accented words without regard to case", async () => {
  await withHistory(async (history) => {
    await history.append(message("Hello World"));
    await history.append(message("École ouverte"));
    await history.append(message("nothing here"));
    assertEquals(texts(await history.search(viewers.ana, "hello", 10)), ["Hello World"]);
    assertEquals(texts(await history.search(viewers.ana, "WORLD", 10)), ["Hello World"]);
    assertEquals(texts(await history.search(viewers.ana, "lo w", 10)), ["Hello World"]);
    assertEquals(texts(await history.search(viewers.ana, "éCOLE", 10)), ["École ouverte"]);
    assertEquals(texts(await history.search(viewers.ana, "éc", 10)), ["École ouverte"]);
    assertEquals(texts(await history.search(viewers.ana, "HE", 10)), [
      "Hello World",
      "nothing here",
    ]);
  });
});

Deno.test("search treats FTS5 syntax and LIKE wildcards as plain text", async () => {
  await withHistory(async (history) => {
    await history.append(message('say "hi" (NEAR me) AND * OR -x'));
    await history.append(message("100% sure_thing"));
    for (
      const query of [
        '"',
        '""',
        "*",
        "AND",
        "(",
        "NEAR",
        'NEAR("a" "b")',
        "a OR b",
        "-x",
        "^",
        "col:x",
      ]
    ) {
      await history.search(viewers.ana, query, 10); // must not throw
    }
    assertEquals(texts(await history.search(viewers.ana, '"hi"', 10)), [
      'say "hi" (NEAR me) AND * OR -x',
    ]);
    assertEquals(texts(await history.search(viewers.ana, "(NEAR", 10)), [
      'say "hi" (NEAR me) AND * OR -x',
    ]);
    assertEquals(texts(await history.search(viewers.ana, "%", 10)), ["100% sure_thing"]);
    assertEquals(texts(await history.search(viewers.ana, "_", 10)), ["100% sure_thing"]);
    assertEquals(texts(await history.search(viewers.ana, "0%", 10)), ["100% sure_thing"]);
  });
});

Deno.test("search returns the newest matches, oldest first", async () => {
  await withHistory(async (history) => {
    for (let index = 1; index <= 5; index++) await history.append(message(`match ${index}`));
    assertEquals(texts(await history.search(viewers.ana, "match", 2)), ["match 4", "match 5"]);
    assertEquals(texts(await history.search(viewers.ana, "ma", 2)), ["match 4", "match 5"]);
    assertEquals(await history.search(viewers.ana, "match", 0), []);
  });
});

// ---- group commit, failures, retention -----------------------------------------

Deno.test("1000 concurrent appends resolve in call order with increasing ids and are all readable", async () => {
  await withHistory(async (history, path) => {
    const resolvedOrder: number[] = [];
    const appends = Array.from(
      { length: 1000 },
      (_, index) =>
        history.append(message(`n${index}`)).then((stored) => {
          resolvedOrder.push(index);
          return stored;
        }),
    );
    const stored = await Promise.all(appends);
    assertEquals(resolvedOrder, Array.from({ length: 1000 }, (_, index) => index));
    for (let index = 1; index < stored.length; index++) {
      assert(stored[index]!.id > stored[index - 1]!.id, `id ${index} does not increase`);
    }
    assertEquals(history.lastId(), stored.at(-1)!.id);
    const reader = openSqliteHistory(path, { readOnly: true });
    try {
      assertEquals(
        texts(await reader.after(viewers.ana, 0, 2000)),
        stored.map((item) => item.text),
      );
    } finally {
      await reader.close();
    }
  });
});

Deno.test("close commits appends that are still waiting for their batch", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const history = openSqliteHistory(path, { batchDelayMs: 60_000 });
    const pending = history.append(message("last words"));
    await history.close();
    const stored = await pending;
    const reopened = openSqliteHistory(path);
    try {
      assertEquals(reopened.lastId(), stored.id);
      await assertRejects(() => history.append(message("too late")), StorageError);
    } finally {
      await reopened.close();
    }
  });
});

Deno.test("the size limit refuses a message before SQLite runs out of room, says what to do, keeps what was stored, and clears after a prune", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const logged: string[] = [];
    const limit = 256 * 1024;
    const history = openSqliteHistory(path, {
      maxSizeBytes: limit,
      log: (line) => logged.push(line),
    });
    try {
      const kept = await history.append(message("kept", { ts: 1 }));
      const big = "x".repeat(40 * 1024);
      let failure: unknown;
      for (let attempt = 0; attempt < 100 && failure === undefined; attempt++) {
        failure = await history.append(message(big, { ts: 2 })).then(
          () => undefined,
          (error) => error,
        );
      }
      assert(failure instanceof HistoryFullError, `expected HistoryFullError, got ${failure}`);
      assertEquals(failure.reason, "size_limit");
      assertMatch(failure.message, /reached its size limit .*--max-db-mib.*stored ones are kept/);
      assertMatch(failure.hint, /raise --max-db-mib.*--keep-days/);
      assertMatch(failure.publicMessage, /history is full/);
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        const pages = Number(db.prepare("PRAGMA page_count").get()?.page_count);
        const pageSize = Number(db.prepare("PRAGMA page_size").get()?.page_size);
        assert(pages * pageSize < limit, "refused before the file reached the limit");
      } finally {
        db.close();
      }
      await assertRejects(() => history.append(message(big, { ts: 2 })), HistoryFullError);
      assertEquals(logged.filter((line) => /size limit/.test(line)).length, 1, logged.join("\n"));
      assertEquals(
        (await history.page({ viewer: viewers.ana, limit: 1, before: kept.id + 1 })).items[0]?.text,
        "kept",
      );
      assert((await history.prune(2)) > 0); // frees room, as --keep-days would
      const after = await history.append(message("room again", { ts: 3 }));
      assert(after.id > kept.id);
      assertEquals(texts(await history.search(viewers.ana, "room again", 5)), ["room again"]);
      assertEquals(logged.filter((line) => /taking new messages again/.test(line)).length, 1);
    } finally {
      await history.close();
    }
  });
});

Deno.test("the free-space floor refuses new messages with a disk-space error and keeps stored ones", async () => {
  await withTempDir(async (dir) => {
    const logged: string[] = [];
    const history = openSqliteHistory(`${dir}/history.db`, {
      minFreeBytes: Number.MAX_SAFE_INTEGER, // more than any disk has free
      log: (line) => logged.push(line),
    });
    try {
      const error = await assertRejects(() => history.append(message("hello")), HistoryFullError);
      assertEquals(error.reason, "disk_space");
      assertMatch(error.message, /MiB free, less than --min-free-mib/);
      assertMatch(error.hint, /free disk space/);
      await assertRejects(() => history.append(message("again")), HistoryFullError);
      assertEquals(logged.length, 1, logged.join("\n"));
      assertEquals(history.lastId(), 0);
    } finally {
      await history.close();
    }
  });
});

Deno.test("prune deletes only older messages, in batches, and search forgets them", async () => {
  await withHistory(async (history, path) => {
    for (let index = 0; index < 1200; index++) {
      void history.append(message(`old needle ${index}`, { ts: 100 }));
    }
    await history.append(message("new needle", { ts: 200 }));
    assertEquals(await history.prune(200, { batchSize: 500 }), 1200);
    assertEquals(texts(await history.search(viewers.ana, "needle", 10)), ["new needle"]);
    assertEquals(texts(await history.search(viewers.ana, "ne", 10)), ["new needle"]);
    assertEquals(texts((await history.page({ viewer: viewers.ana, limit: 10 })).items), [
      "new needle",
    ]);
    const db = new DatabaseSync(path);
    try {
      db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')"); // throws if out of sync
    } finally {
      db.close();
    }
  });
});

// ---- crash durability ----------------------------------------------------------

Deno.test("a kill -9 loses no message whose append had resolved", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        new URL("./fixtures/append_then_wait.ts", import.meta.url).pathname,
        path,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const printed: number[] = [];
    let buffer = "";
    let killed = false;
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? ""; // a line cut by the kill is not a promise we saw resolve
      printed.push(...lines.map(Number));
      if (!killed && printed.length >= 2000) {
        child.kill("SIGKILL");
        killed = true;
      }
    }
    const status = await child.status;
    assert(killed && status.signal === "SIGKILL", "the child should have been killed mid-stream");
    const history = openSqliteHistory(path);
    try {
      const stored = new Set(
        (await history.after(viewers.eve, 0, printed.length + 10_000)).map((item) => item.id),
      );
      const lost = printed.filter((id) => !stored.has(id));
      assertEquals(lost, [], `${lost.length} of ${printed.length} resolved appends were lost`);
    } finally {
      await history.close();
    }
  });
});

Deno.test("group commit: appends made in one turn are committed before any other callback runs", async () => {
  await withHistory(async (history, path) => {
    // A second connection sees only committed rows: it counts what each commit made visible.
    const observer = new DatabaseSync(path, { readOnly: true });
    try {
      const count = () =>
        Number((observer.prepare("SELECT count(*) AS n FROM messages").get() as { n: number }).n);
      // Queued before the appends: a commit that waited for the check phase
      // (setImmediate) or a timer would come after this callback.
      let seenByNextCallback = -1;
      const nextCallback = new Promise<void>((resolve) =>
        setImmediate(() => {
          seenByNextCallback = count();
          resolve();
        })
      );
      const appends = Array.from(
        { length: 20 },
        (_, index) => history.append(message(`a${index}`)),
      );
      assertEquals(count(), 0, "nothing is committed before the turn ends");
      await Promise.all(appends);
      await nextCallback;
      assertEquals(seenByNextCallback, 20, "the whole turn's batch was committed before it");
    } finally {
      observer.close();
    }
  });
});

// ---- reads in the worker ---------------------------------------------------------

/** A history of `count` short public messages (about 100 bytes each) in a temp file. */
async function withFilledHistory(
  count: number,
  test: (history: SqliteHistory, path: string) => Promise<void>,
  options: SqliteHistoryOptions = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const filler = openSqliteHistory(path, { synchronous: "normal", readInWorker: false });
    const appends: Promise<unknown>[] = [];
    for (let index = 0; index < count; index++) {
      appends.push(
        filler.append(message(`message ${index} about the build and lunch ${index % 97}`)),
      );
    }
    await Promise.all(appends);
    await filler.close();
    const history = openSqliteHistory(path, options);
    try {
      await test(history, path);
    } finally {
      await history.close();
    }
  });
}

Deno.test("reads of a database file run in the reader worker; :memory: reads on this thread", async () => {
  await withHistory((history) => assert(history.readsInWorker));
  const memory = openSqliteHistory(":memory:");
  try {
    assert(!memory.readsInWorker);
    await memory.append(message("here"));
    assertEquals(texts(await memory.search(viewers.ana, "he", 5)), ["here"]);
  } finally {
    await memory.close();
  }
});

Deno.test("a message whose append resolved is seen by the very next read in the worker", async () => {
  await withHistory(async (history) => {
    for (let index = 0; index < 200; index++) {
      const stored = await history.append(message(`fresh ${index}`));
      const [page, after, found] = await Promise.all([
        history.page({ viewer: viewers.bob, limit: 1 }),
        history.after(viewers.bob, stored.id - 1, 5),
        history.search(viewers.bob, `fresh ${index}`, 1),
      ]);
      assertEquals(page.items.map((item) => item.id), [stored.id], `page after append ${index}`);
      assertEquals(after.map((item) => item.id), [stored.id], `after, append ${index}`);
      assertEquals(found.map((item) => item.id), [stored.id], `search, append ${index}`);
      assertEquals(history.lastId(), stored.id);
    }
  });
});

Deno.test("searches in the worker leave the event loop free (they blocked it on this thread)", async () => {
  await withFilledHistory(30_000, async (history) => {
    const rounds = 10;
    let started = performance.now();
    for (let index = 0; index < rounds; index++) history.searchNow(viewers.ana, "Ж", 50);
    const blockingMs = performance.now() - started;
    // A 1 ms ticker records the longest gap between its ticks while the same searches run.
    let longestGapMs = 0, last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 1);
    try {
      await history.search(viewers.ana, "warm up", 1); // the worker's start is not what is measured
      last = performance.now();
      longestGapMs = 0;
      started = performance.now();
      for (let index = 0; index < rounds; index++) await history.search(viewers.ana, "Ж", 50);
      longestGapMs = Math.max(longestGapMs, performance.now() - last); // the gap still open
    } finally {
      clearInterval(ticker);
    }
    assert(blockingMs > 40, `the searches are too quick to tell (${blockingMs.toFixed(0)} ms)`);
    assert(
      longestGapMs < blockingMs / 3,
      `event loop stalled ${longestGapMs.toFixed(0)} ms; on this thread: ${
        blockingMs.toFixed(0)
      } ms`,
    );
  });
});

Deno.test("short searches fold non-ASCII case in SQL, as fast as an ASCII one within a small factor", async () => {
  await withFilledHistory(30_000, async (history) => {
    await history.append(message("Ça va, École, STRASSE, Straße und GROẞ, 10 Ω"));
    const found = async (query: string) => texts(await history.search(viewers.ana, query, 5));
    assertEquals(await found("ça"), ["Ça va, École, STRASSE, Straße und GROẞ, 10 Ω"]);
    assertEquals(await found("ÉC"), ["Ça va, École, STRASSE, Straße und GROẞ, 10 Ω"]);
    assertEquals(await found("ß"), ["Ça va, École, STRASSE, Straße und GROẞ, 10 Ω"]);
    assertEquals(await found("ω"), ["Ça va, École, STRASSE, Straße und GROẞ, 10 Ω"]); // the ohm sign
    const fastest = (query: string) => {
      let best = Infinity;
      for (let round = 0; round < 5; round++) {
        const started = performance.now();
        history.searchNow(viewers.ana, query, 50);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const ascii = fastest("zq"), cased = fastest("Ж");
    // Folding in JavaScript over the same rows took about 15 times the ASCII search.
    assert(cased < ascii * 5, `"Ж" took ${cased.toFixed(1)} ms, "zq" ${ascii.toFixed(1)} ms`);
  });
});

Deno.test("shortSearchPatterns expands cased letters into their variants and escapes wildcards", () => {
  assertEquals(shortSearchPatterns("he"), ["%he%"]);
  assertEquals(shortSearchPatterns("你好"), ["%你好%"]);
  assertEquals(new Set(shortSearchPatterns("É")), new Set(["%É%", "%é%"]));
  assertEquals(new Set(shortSearchPatterns("éc")), new Set(["%éc%", "%Éc%"]));
  assertEquals(new Set(shortSearchPatterns("ǅ")), new Set(["%ǅ%", "%ǆ%", "%Ǆ%"]));
  assertEquals(shortSearchPatterns("%_"), ["%\\%\\_%"]);
});

Deno.test("a full reader queue refuses pages and searches with rate_limited and a wait, never resumes", async () => {
  await withHistory(async (history) => {
    await history.append(message("hello there"));
    await history.search(viewers.ana, "warm", 1);
    const settled = await Promise.allSettled(
      Array.from({ length: 40 }, () => history.search(viewers.ana, "he", 10)),
    );
    const refused = settled.flatMap((result) =>
      result.status === "rejected" ? [result.reason as unknown] : []
    );
    assert(refused.length > 0, "nothing was refused");
    for (const error of refused) {
      assert(error instanceof HistoryBusyError, `unexpected ${error}`);
      assertEquals(error.code, "rate_limited");
      assert((error.waitMs ?? 0) >= 100, `wait ${error.waitMs}`);
    }
    assert(settled.some((result) => result.status === "fulfilled"), "some were answered");
    const resumes = await Promise.all(
      Array.from({ length: 40 }, () => history.after(viewers.ana, 0, 5)),
    );
    assert(resumes.every((items) => items.length === 1), "every resume is answered");
  }, { maxQueuedReads: 4 });
});

const misbehavingWorker = new URL("./fixtures/misbehaving_reader_worker.ts", import.meta.url);

Deno.test("a reader that overruns its deadline fails that read, is replaced, and answers the next", async () => {
  await withHistory(async (history) => {
    await history.append(message("after the storm"));
    const started = performance.now();
    const error = await assertRejects(
      () => history.search(viewers.ana, "stall forever", 5),
      StorageError,
    );
    assertMatch(error.message, /took longer than 300 ms; the read was cancelled/);
    assert(performance.now() - started < 5000, "the deadline held");
    const waiting = history.page({ viewer: viewers.ana, limit: 5 }); // asked while the worker is replaced
    assertEquals(texts((await waiting).items), ["after the storm"]);
    assertEquals(history.readerStats()?.restarts, 1);
  }, { readTimeoutMs: 300, readerWorkerUrl: misbehavingWorker });
});

Deno.test("a reader that dies fails its read cleanly and the next read gets a new one", async () => {
  await withHistory(async (history) => {
    await history.append(message("survivor"));
    const error = await assertRejects(
      () => history.search(viewers.ana, "crash now", 5),
      StorageError,
    );
    assertMatch(error.message, /stopped .*the reader crashed on purpose.*cancelled/);
    assertEquals(texts(await history.search(viewers.ana, "survivor", 5)), ["survivor"]);
    assertEquals(history.readerStats()?.restarts, 1);
  }, { readerWorkerUrl: misbehavingWorker });
});

Deno.test("a reader that cannot open the file fails reads with StorageError at once", async () => {
  await withHistory(async (history, path) => {
    await history.append(message("soon unreachable"));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      await Deno.remove(file).catch(() => {});
    }
    const started = performance.now();
    const error = await assertRejects(() => history.search(viewers.ana, "soon", 5), StorageError);
    assert(error.hint.length > 0);
    assert(performance.now() - started < 5000);
    await assertRejects(() => history.page({ viewer: viewers.ana, limit: 5 }), StorageError);
  });
});

// ---- one writer per file ----------------------------------------------------------

Deno.test("a second writer on the same file is refused, naming the first; readers still open", async () => {
  await withHistory(async (history, path) => {
    await history.append(message("mine"));
    const error = refusal(() => openSqliteHistory(path), /is in use by another lanchat serve/);
    assertMatch(error.message, new RegExp(`\\(PID ${Deno.pid}, started \\d\\d:\\d\\d\\)`));
    assertMatch(error.hint, /stop it, or pass --db PATH/);
    const reader = openSqliteHistory(path, { readOnly: true });
    try {
      assertEquals(texts(reader.query({ limit: 5 })), ["mine"]);
    } finally {
      await reader.close();
    }
  });
});

Deno.test("the lock is given back on close, so the next writer opens", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    await openSqliteHistory(path).close();
    const again = openSqliteHistory(path);
    await again.close();
  });
});

// ---- integrity at start -------------------------------------------------------------

Deno.test("the check at start refuses a file with overwritten pages, pointing at --salvage", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/history.db`;
    const writer = openSqliteHistory(path);
    await Promise.all(
      Array.from({ length: 2000 }, (_, index) => writer.append(message(`m ${index}`))),
    );
    await writer.close();
    overwritePages(path, 24, 43); // past the root pages of the schema: message data and index pages
    const error = await assertRejects(() => openServerHistory(path), StorageError);
    assertMatch(error.message, /is damaged \(integrity check: /);
    assertMatch(error.hint, /restore it from a backup.*--salvage .*history-salvaged\.db/);
    const healthy = `${dir}/healthy.db`;
    await openSqliteHistory(healthy).close();
    await (await openServerHistory(healthy)).close();
  });
});

Deno.test("unread counts and direct partners: the file and memory agree (mentions, @channel, own messages, bounds)", async () => {
  const memory = new MemoryHistory({ firstId: 1 });
  await withHistory(async (file) => {
    for (const history of [memory, file] as const) {
      const say = (text: string, extra: Partial<NewMessage>) =>
        history.append(message(text, { fromAccount: 2, ...extra }));
      await say("in ops", { channel: 5 });
      await say("@ana in ops", { channel: 5, mentions: [1] });
      await say("@channel in ops", { channel: 5, mentionsEveryone: true });
      await say("mine in ops", { channel: 5, fromAccount: 1 });
      await say("general", {});
      await say("dm to ana", { to: "ana", toAccount: 1 });
      await say("dm to carl", { to: "carl", fromAccount: 1, toAccount: 3 });
    }
    const points = [
      { conversation: "c0", read: 0 },
      { conversation: "c5", read: 0 },
      { conversation: "d2", read: 0 },
      { conversation: "d3", read: 0 },
    ];
    const fromFile = await file.unread(1, points);
    const fromMemory = await memory.unread(1, points);
    assertEquals(
      fromFile.map(({ unread, mentions }) => [unread, mentions]),
      [[1, 0], [3, 2], [1, 1], [0, 0]],
    );
    assertEquals(
      fromMemory.map(({ unread, mentions }) => [unread, mentions]),
      fromFile.map(({ unread, mentions }) => [unread, mentions]),
    );
    assertEquals(await file.directPartners(1), [3, 2]);
    assertEquals(await memory.directPartners(1), [3, 2]);
  });
});
