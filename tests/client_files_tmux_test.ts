/**
 * Issue #16 point 5 at a real terminal: the full-screen `lanchat join` in
 * tmux, run from a folder of its own, against a real server with a real file
 * store (in-process, loopback), reached through a TCP relay in this process
 * that paces bytes to about 1 MB/s each way (so a transfer lasts long enough
 * to watch its progress) and counts what the server sends each client.
 * /send with Tab-completed paths (escaped spaces, quotes, `~`, a folder, the
 * list when nothing can be added), the progress in the status bar (percent,
 * speed, time left, `+1` for a second transfer), the line when it is done,
 * the file line on the other side, /files, /get byte for byte (under its own
 * name, and into a folder), refusals (too large, missing, a guest), and a
 * /get that resumes from a `.part`: only the rest crosses the network.
 * Skipped when tmux is not installed. Waits poll the screen until a deadline.
 * Before them, the pure parts those rest on: quoted paths, what Tab offers
 * (on a listing given to it), where /get saves, and the status bar's words.
 */
import "./_helpers.ts";
import { assert, assertEquals } from "./_assert.ts";
import { TestClient } from "./_helpers.ts";
import { repoRoot } from "./fixtures/client_process.ts";
import { hasTmux, type Pane, Tmux } from "./fixtures/client_tmux.ts";
import { freshHome } from "./fixtures/test_home.ts";
import { randomBytes, roomWithFiles, upload } from "./fixtures/raw_transfers.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";
import { quoteWord, scanQuotedWords } from "../lib/client/commands.ts";
import {
  completePath,
  type FolderListing,
  maxChoicesShown,
  maxFolderEntries,
} from "../lib/client/terminal/path_completion.ts";
import { freePath, planDownload } from "../lib/client/terminal/download_path.ts";
import { transfersText } from "../lib/client/terminal/transfer_status.ts";
import type { TransferProgress } from "../lib/client/files/transfer_types.ts";

Deno.test("paths are read as a shell reads them, and written back so they read the same", () => {
  assertEquals(
    scanQuotedWords(`"my report.pdf" notes\\ 2.txt 'it''s' C:\\Users\\ana`).map((word) =>
      word.value
    ),
    ["my report.pdf", "notes 2.txt", "its", "C:\\Users\\ana"],
  );
  assertEquals(scanQuotedWords(`"open quote`).at(-1)?.open, '"');
  for (const value of ["my report.pdf", `say "hi"`, "it's", "back\\slash", "tab\there"]) {
    for (const quote of [null, '"', "'"] as const) {
      if (quote === "'" && value.includes("'")) continue; // Single quotes cannot hold one.
      const words = scanQuotedWords(quoteWord(value, quote));
      assertEquals(words.map((word) => word.value), [value], `${value} in ${quote}`);
    }
  }
});

Deno.test("Tab on a path: the only match, the common prefix, the list; hidden files and big folders", () => {
  const folders: Record<string, FolderListing> = {
    "/work": {
      entries: [
        { name: "report 2024.pdf", folder: false },
        { name: "report 2023.pdf", folder: false },
        { name: "docs", folder: true },
        { name: ".secret", folder: false },
      ],
      partial: false,
    },
    "/home/ana/": { entries: [{ name: "Music", folder: true }], partial: false },
  };
  const options = {
    cwd: "/work",
    home: "/home/ana",
    listFolder: (path: string, limit: number) => {
      assertEquals(limit, maxFolderEntries);
      const listing = folders[path];
      if (listing === undefined) throw new Error(`no folder ${path}`);
      return listing;
    },
  };
  const tab = (line: string) => {
    const wordStart = line.search(/\S*$/);
    return completePath(line, wordStart, options);
  };
  assertEquals(tab("/send d")?.replacement, "docs/");
  assertEquals(tab("/send rep")?.replacement, "report\\ 202");
  assertEquals(tab('/send "rep')?.replacement, '"report 202');
  assertEquals(tab('/send "report 2024')?.replacement, '2024.pdf" ', "after the space in quotes");
  assertEquals(tab("/send report\\ 2023")?.replacement, "2023.pdf ");
  assertEquals(tab("/send ~/M")?.replacement, "~/Music/");
  assertEquals(tab("/send ~")?.replacement, "~/");
  assertEquals(tab("/send .")?.replacement, ".secret ");
  const list = tab("/send ");
  assertEquals(list?.replacement, null);
  assertEquals(list?.choices, ["docs/", "report 2023.pdf", "report 2024.pdf"], "no hidden file");
  assertEquals(tab("/send x")?.choices, []);
  assertEquals(tab("/get 12 d")?.replacement, "docs/");
  assertEquals(tab("/get d"), null, "the number comes first");
  assertEquals(tab("/sendx d"), null);
  assertEquals(tab("hello d"), null);
  assertEquals(tab("/send nowhere/x"), null, "a folder that cannot be read");
});

Deno.test("Tab in a huge folder reads a bounded part of it, and says so", async () => {
  await using folder = await tempFolder("lanchat-many-");
  for (let index = 0; index < maxFolderEntries + 50; index++) {
    const name = `${"abc"[index % 3]}${String(index).padStart(5, "0")}`;
    await Deno.writeFile(`${folder}/${name}`, new Uint8Array(0));
  }
  const list = completePath("/send ", 6, { cwd: folder, home: null });
  assertEquals(list?.replacement, null);
  assertEquals(list?.choices.length, maxChoicesShown);
  assertEquals((list?.choices.length ?? 0) + (list?.more ?? 0), maxFolderEntries);
  assertEquals(list?.partial, true);
});

Deno.test("/get saves under the file's safe name, never over a file, and resumes from PATH.part", () => {
  const taken = new Set(["/work/report.pdf", "/work/report (1).pdf", "/work/out.bin"]);
  const exists = (path: string) => taken.has(path);
  const isFolder = (path: string) => path === "/work/keep" || path === "/work";
  const file = { name: "../report.pdf", size: 9, mime: "application/pdf", sha256: "0".repeat(64) };
  const options = { cwd: "/work", home: "/home/ana", exists, isFolder };
  assertEquals(freePath("/work", "notes", exists), "/work/notes");
  assertEquals(freePath("/work", "out.bin", exists), "/work/out (1).bin");
  const plain = planDownload(7, null, file, options);
  assertEquals(plain.partPath, "/work/report (2).pdf.part");
  assertEquals(plain.finalPath(file), "/work/report (2).pdf");
  const inFolder = planDownload(7, "keep", file, options);
  assertEquals(inFolder.finalPath(file), "/work/keep/report.pdf");
  assertEquals(planDownload(7, "~/x.pdf", file, options).partPath, "/home/ana/x.pdf.part");
  assertEquals(planDownload(7, "out.bin", file, options).finalPath(file), "/work/out (1).bin");
  const unknown = planDownload(7, null, null, options);
  assertEquals(unknown.partPath, "/work/lanchat-file-7.part");
  assertEquals(unknown.finalPath(file), "/work/report (2).pdf", "named once the server says");
  let refused = "";
  try {
    planDownload(7, "missing/", file, options);
  } catch (error) {
    refused = (error as Error).message;
  }
  assertEquals(refused, "there is no folder /work/missing/");
});

Deno.test("the status bar's transfer: the newest with +N, shortened to fit", () => {
  const progress: TransferProgress = {
    state: "sending",
    done: 1_260_000,
    total: 3_000_000,
    bytesPerSecond: 1_500_000,
    secondsLeft: 1.2,
    bytesOnWire: 1_260_000,
    problem: null,
  };
  const transfers = [
    { direction: "get" as const, name: "old.bin", progress },
    { direction: "send" as const, name: "report 2024.pdf", progress },
  ];
  assertEquals(transfersText(transfers, 1, 80), "↑ report 2024.pdf 42% · 1.5 MB/s · 2 s left +2");
  assertEquals(transfersText(transfers, 0, 36), "↑ report 2024.pdf 42% · 1.5 MB/s +1");
  assertEquals(transfersText(transfers, 0, 20), "↑ report 202… 42% +1");
  assertEquals(transfersText([], 0, 80), "");
  assertEquals(
    transfersText(
      [{ direction: "send", name: "a.iso", progress: { ...progress, state: "hashing" } }],
      0,
      80,
    ),
    "↑ a.iso reading 42%",
  );
});

/** Bytes a second the relay lets through, each way, per connection. */
const relayBytesPerSecond = 1_000_000;

/** A TCP relay to the server: paced, counting the bytes sent to clients. */
interface Relay extends AsyncDisposable {
  port: number;
  /** Bytes the server sent to clients so far, through every connection. */
  readonly downstream: number;
}

/** Copies `from` to `to` at most `bytesPerSecond`; counts what it copied. */
async function pump(
  from: Deno.TcpConn,
  to: Deno.TcpConn,
  bytesPerSecond: number,
  count: (bytes: number) => void,
): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  // The pace is kept from `since`; time spent idle earns at most 100 ms of bytes.
  let since = performance.now();
  let paced = 0;
  try {
    // Bounded by the stream: each round copies what one read gave, until it ends.
    for (;;) {
      const read = await from.read(buffer);
      if (read === null) break;
      let written = 0;
      while (written < read) written += await to.write(buffer.subarray(written, read));
      count(read);
      const now = performance.now();
      if (now - since - (paced / bytesPerSecond) * 1000 > 100) {
        since = now - 100;
        paced = 0;
      }
      paced += read;
      const aheadMs = (paced / bytesPerSecond) * 1000 - (now - since);
      if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
    }
  } catch {
    // A side closed: the relay of this connection is over.
  }
  try {
    to.closeWrite();
  } catch {
    // Closed already.
  }
}

function startRelay(serverPort: number): Relay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.TcpConn[] = [];
  const pumps: Promise<void>[] = [];
  let downstream = 0;
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: serverPort });
      connections.push(client, server);
      pumps.push(
        pump(client, server, relayBytesPerSecond, () => {}),
        pump(server, client, relayBytesPerSecond, (bytes) => (downstream += bytes)),
      );
    }
  })();
  return {
    port: listener.addr.port,
    get downstream() {
      return downstream;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const connection of connections) {
        try {
          connection.close();
        } catch {
          // Closed by its pump already.
        }
      }
      await Promise.all(pumps);
    },
  };
}

/** The command line that runs `lanchat join ...args` in `folder`, with a home of its own. */
function joinIn(folder: string, home: string, args: string[]): string {
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  const env = { ...freshHome().env, HOME: home, NO_COLOR: "1" };
  const variables = Object.entries(env).map(([name, value]) => `${name}=${quote(value)} `).join("");
  return `cd ${quote(folder)} && ${variables}${quote(Deno.execPath())} run -A ` +
    `${quote(`${repoRoot}main.ts`)} join ${
      args.map(quote).join(" ")
    }; echo "exit code $?"; sleep 60`;
}

/** A temporary folder, removed at the end. */
async function tempFolder(prefix: string): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** The last row of the pane: the input line. */
async function inputLine(pane: Pane): Promise<string> {
  return (await pane.rows()).at(-1) ?? "";
}

async function same(path: string, bytes: Uint8Array): Promise<boolean> {
  const saved = await Deno.readFile(path);
  return saved.length === bytes.length && saved.every((byte, index) => byte === bytes[index]);
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test({
  name:
    "full screen: /send shows its progress in the status bar and a line when done; the other side sees the file, lists it with /files and saves it byte for byte with /get; Tab completes paths",
  ignore: !hasTmux(),
  async fn() {
    await using room = await roomWithFiles(4 * 1024 * 1024);
    await using relay = startRelay(room.server.port);
    const where = `127.0.0.1:${relay.port}`;
    await using anaFolder = await tempFolder("lanchat-ana-");
    await using bobFolder = await tempFolder("lanchat-bob-");
    await using anaHome = await tempFolder("lanchat-ana-home-");
    const report = randomBytes(3_000_000);
    const copy = randomBytes(2_000_000);
    await Deno.writeFile(`${anaFolder}/report 2024.bin`, report);
    await Deno.writeFile(`${anaFolder}/big.bin`, randomBytes(5_000_000));
    await Deno.writeTextFile(`${anaFolder}/notes.txt`, "notes\n");
    await Deno.mkdir(`${anaFolder}/docs`);
    await Deno.mkdir(`${anaHome}/My Docs`);
    await Deno.writeFile(`${anaHome}/My Docs/copy.bin`, copy);
    await Deno.mkdir(`${bobFolder}/downloads`);

    await using tmux = new Tmux();
    try {
      const ana = await tmux.open("ana", joinIn(anaFolder, anaHome, [where, "--nick", "ana"]), 160);
      const bob = await tmux.open(
        "bob",
        joinIn(bobFolder, bobFolder, [where, "--nick", "bob"]),
        160,
      );
      await ana.waitFor(/you are ana; type \/help/);
      await bob.waitFor(/you are bob; type \/help/);

      // Tab: the only match, its space escaped; with several and nothing to add, the list.
      await ana.typeText("/send rep");
      await ana.press("Tab");
      await ana.waitFor(() => inputLine(ana).then((line) => line === "> /send report\\ 2024.bin"));
      await ana.press("C-u");
      await ana.typeText("/send ");
      await ana.press("Tab");
      await ana.waitFor(/-- big\.bin {2}docs\/ {2}notes\.txt {2}report 2024\.bin\n/);
      await ana.typeText("d");
      await ana.press("Tab");
      await ana.waitFor(() => inputLine(ana).then((line) => line === "> /send docs/"));
      await ana.press("C-u");

      // Sending: progress in the status bar, then the line; the file line on both sides.
      await ana.typeText('/send "rep');
      await ana.press("Tab");
      await ana.waitFor(() => inputLine(ana).then((line) => line === '> /send "report 2024.bin"'));
      await ana.press("Enter");
      await ana.waitFor(/│ ↑ report 2024\.bin \d+% · [\d.]+ [kM]?B\/s · \d+ s left/, 10_000);
      await ana.waitFor(/-- sent report 2024\.bin \(3\.0 MB\) to #general in \d/, 15_000);
      const sent = await ana.waitFor(/<ana> 📎 report 2024\.bin \(3\.0 MB\) — \/get (\d+)/);
      const id = Number(/— \/get (\d+)/.exec(sent)?.[1]);
      assert(id > 0, sent);
      assert(!(await ana.screen()).includes("↑"), "the status bar lets go of a finished transfer");
      await bob.waitFor(new RegExp(`<ana> 📎 report 2024\\.bin \\(3\\.0 MB\\) — /get ${id}`));

      // Refused at once: over the server's limit (in words), and a path that is not there.
      await ana.type("/send big.bin nothere.txt");
      await ana.waitFor(/! not sent: this server takes files up to 4\.2 MB; "big\.bin" is 5\.0 MB/);
      await ana.waitFor(/! not sent: cannot read nothere\.txt: no such file or folder/);

      // Two at once, `~` completed to the home folder: the newest shows, with +1.
      await ana.typeText("/send report\\ 2024.bin ~/M");
      await ana.press("Tab");
      await ana.waitFor(() =>
        inputLine(ana).then((line) => line === "> /send report\\ 2024.bin ~/My\\ Docs/")
      );
      await ana.press("Tab");
      await ana.waitFor(() =>
        inputLine(ana).then((line) => line === "> /send report\\ 2024.bin ~/My\\ Docs/copy.bin")
      );
      await ana.press("Enter");
      await ana.waitFor(/│ ↑ copy\.bin .*\+1$/m, 10_000);
      await ana.waitFor(/-- sent copy\.bin \(2\.0 MB\) to #general/, 20_000);
      await ana.waitFor(/nothere\.txt[^]*-- sent report 2024\.bin \(3\.0 MB\)/, 20_000);

      // The other side: /files lists it; /get saves it, under its name, then into a folder.
      await bob.type("/files");
      await bob.waitFor(
        new RegExp(`${id} {2}report 2024\\.bin {2}3\\.0 MB {2}ana {2}\\d\\d:\\d\\d`),
      );
      await bob.type(`/get ${id}`);
      await bob.waitFor(/│ ↓ report 2024\.bin \d+%/, 10_000);
      await bob.waitFor(
        new RegExp(
          `-- saved report 2024\\.bin \\(3\\.0 MB\\) as ${escaped(bobFolder)}/report 2024\\.bin in`,
        ),
        15_000,
      );
      assert(await same(`${bobFolder}/report 2024.bin`, report), "the saved file is the sent one");
      await bob.typeText(`/get ${id} do`);
      await bob.press("Tab");
      await bob.waitFor(() => inputLine(bob).then((line) => line === `> /get ${id} downloads/`));
      await bob.press("Enter");
      await bob.waitFor(
        new RegExp(`as ${escaped(bobFolder)}/downloads/report 2024\\.bin in`),
        15_000,
      );
      assert(await same(`${bobFolder}/downloads/report 2024.bin`, report));
      // Never over an existing file: the same /get again makes a numbered copy.
      await bob.type(`/get ${id}`);
      await bob.waitFor(
        new RegExp(`as ${escaped(bobFolder)}/report 2024 \\(1\\)\\.bin in`),
        15_000,
      );
      assert(await same(`${bobFolder}/report 2024 (1).bin`, report));
      const left = [...Deno.readDirSync(bobFolder)].map((entry) => entry.name).sort();
      assertEquals(left, ["downloads", "report 2024 (1).bin", "report 2024.bin"], "no .part left");

      await ana.type("/quit");
      await bob.type("/quit");
      await ana.waitFor(/exit code 0/);
      await bob.waitFor(/exit code 0/);
    } finally {
      await tmux.saveAll("files");
    }
  },
});

Deno.test({
  name:
    "full screen: an interrupted /get resumes from its .part, and only the rest crosses the network; a guest is told it cannot send",
  ignore: !hasTmux(),
  async fn() {
    await using room = await roomWithFiles();
    await using relay = startRelay(room.server.port);
    const where = `127.0.0.1:${relay.port}`;
    const bytes = randomBytes(3_000_000);
    await using uploader = await TestClient.keyed(room.server.port, "ana", generateKeyPair());
    const { id } = await upload(uploader, bytes, {}, "notes.bin");
    assert(id > 0, "uploaded");
    await using bobFolder = await tempFolder("lanchat-bob-");
    const half = 1_400_000;
    await Deno.writeFile(`${bobFolder}/notes.bin.part`, bytes.subarray(0, half));

    await using tmux = new Tmux();
    try {
      const bob = await tmux.open(
        "bob",
        joinIn(bobFolder, bobFolder, [where, "--nick", "bob"]),
        160,
      );
      const guest = await tmux.open(
        "guest",
        joinIn(bobFolder, bobFolder, [where, "--nick", "visitor", "--guest"]),
        160,
      );
      await bob.waitFor(/you are bob; type \/help/);
      await bob.waitFor(new RegExp(`<ana> 📎 notes\\.bin \\(3\\.0 MB\\) — /get ${id}`));
      await guest.waitFor(/you are visitor \(a guest/);

      const before = relay.downstream;
      await bob.type(`/get ${id}`);
      await bob.waitFor(
        new RegExp(
          `-- saved notes\\.bin \\(3\\.0 MB\\) as ${escaped(bobFolder)}/notes\\.bin in .* ` +
            "\\(resumed from 1\\.4 MB: 1\\.6 MB came now\\)",
        ),
        15_000,
      );
      const crossed = relay.downstream - before;
      assert(await same(`${bobFolder}/notes.bin`, bytes), "the resumed file is whole and right");
      assert(
        crossed < bytes.length - half + 200_000 && crossed >= bytes.length - half,
        `${crossed} bytes came from the server for the ${bytes.length - half} missing`,
      );
      assert(!(await Deno.stat(`${bobFolder}/notes.bin.part`).then(() => true, () => false)));

      await guest.type("/send notes.bin");
      await guest.waitFor(/! only accounts send files, and you joined as a guest/);
      await guest.type("/quit");
      await bob.type("/quit");
      await bob.waitFor(/exit code 0/);
      await guest.waitFor(/exit code 0/);
    } finally {
      await tmux.saveAll("files-resume");
    }
  },
});
