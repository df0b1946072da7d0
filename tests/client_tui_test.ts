/**
 * The full-screen `lanchat join` end to end: the real CLI in tmux panes
 * against a real server (in-process, loopback), typed into with
 * `send-keys` and read with `capture-pane`; a raw protocol client checks
 * what went over the wire. The final screens are saved in test-output/tmux/.
 * Skipped when tmux is not installed. Waits poll the screen until a deadline.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startServer } from "../lib/server/server.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { displayWidth } from "../lib/client/terminal/text_width.ts";
import { hasTmux, joinCommand, type Pane, Tmux } from "./fixtures/client_tmux.ts";

const env = { NO_COLOR: "1" };

function serve() {
  return startServer({ host: "127.0.0.1", port: 0, name: "test room", tickMs: 50 });
}

/** The input row (the last row with text) and the status bar above it. */
async function bottom(pane: Pane): Promise<{ status: string; input: string; rows: string[] }> {
  const rows = await pane.rows();
  const statusIndex = rows.findLastIndex((row) => row.includes(" │ "));
  return { status: rows[statusIndex] ?? "", input: rows[statusIndex + 1] ?? "", rows };
}

Deno.test({
  name:
    "full screen: two users chat; a message arriving mid-typing leaves the typed text intact; Tab completes a nick; hostile text is inert",
  ignore: !hasTmux(),
  async fn() {
    await using server = await serve();
    await using eve = await RawClient.join(server.port, "eve");
    await using tmux = new Tmux();
    try {
      const ana = await tmux.open(
        "ana",
        joinCommand([`127.0.0.1:${server.port}`, "--nick", "ana"], env),
      );
      const bob = await tmux.open(
        "bob",
        joinCommand([`127.0.0.1:${server.port}`, "--nick", "bob"], env),
      );
      await ana.waitFor(/you are ana; type \/help/);
      await bob.waitFor(/you are bob; type \/help/);
      await ana.waitFor(/3 online: ana, bob, eve/);
      const status = (await bottom(ana)).status;
      assert(status.includes("test room") && status.includes("connected"), status);

      await bob.type("hello ana 你好");
      await ana.waitFor(/<bob> hello ana 你好/);

      await ana.typeText("half typ中");
      await ana.waitFor(/> half typ中/);
      await bob.type("interrupting you");
      await eve.say("and me too");
      await ana.waitFor((screen) =>
        screen.includes("<bob> interrupting you") && screen.includes("<eve> and me too")
      );
      const { input } = await bottom(ana);
      assertEquals(input, "> half typ中");
      await ana.save("chat-mid-typing");
      assertEquals((await ana.cursor()).x, 12);
      await ana.typeText("文 done");
      await ana.press("Enter");
      await bob.waitFor(/<ana> half typ中文 done/);

      await ana.typeText("bo");
      await ana.press("Tab");
      await ana.waitFor(/> bob:\s*$/m); // capture-pane trims the trailing space
      assertEquals((await ana.cursor()).x, 7);
      await ana.type("look");
      await bob.waitFor(/<ana> bob: look/);
      await eve.waitForMessages((message) => message.text === "bob: look", 1);

      await eve.say("\x1b[2J\x1b]0;pwned\x07\x1b[31mred?");
      const screen = await ana.waitFor(/<eve> ␛\[2J␛\]0;pwned␇␛\[31mred\?/);
      assert(screen.includes("<bob> hello ana 你好"), "the screen was not cleared");
      assert(!(await ana.format("#{pane_title}")).includes("pwned"), "the title was not changed");

      await ana.save("chat-before-quit");
      await ana.type("/quit");
      await ana.waitFor(/exit code 0/);
      await bob.waitFor(/ana left/);
    } finally {
      await tmux.saveAll("chat");
    }
  },
});

Deno.test({
  name:
    "full screen: /msg and /query go privately, each in its own conversation; /query alone goes back to #general",
  ignore: !hasTmux(),
  async fn() {
    await using server = await serve();
    await using carol = await RawClient.join(server.port, "carol");
    await using tmux = new Tmux();
    try {
      const ana = await tmux.open(
        "ana",
        joinCommand([`127.0.0.1:${server.port}`, "--nick", "ana"], env),
      );
      const bob = await tmux.open(
        "bob",
        joinCommand([`127.0.0.1:${server.port}`, "--nick", "bob"], env),
      );
      await ana.waitFor(/3 online: ana, bob, carol/);
      await bob.waitFor(/3 online: ana, bob, carol/);

      await ana.type("/msg bob one secret");
      // Bob is in #general: the message waits in the conversation with ana, counted.
      await bob.waitFor(/\[#general\] @ana 1 │/);
      assertEquals(
        await bob.format("#{window_bell_flag}"),
        "1",
        "a private message rings the bell",
      );
      assert(!(await bob.screen()).includes("one secret"), "shown in the other conversation");
      await bob.press("M-2");
      await bob.waitFor(/\[private\] <ana> one secret/);
      await bob.waitFor(/#general \[@ana\] │/);
      await ana.waitFor(/\[to bob\] <ana> one secret/);

      await ana.type("/query bob");
      await ana.waitFor(/\[query: bob\]/);
      assertEquals((await bottom(ana)).input, "[bob] >");
      await ana.type("two secret");
      await ana.type("/me whispers");
      await bob.waitFor(/\[private\] \* ana whispers/);
      await bob.waitFor(/\[private\] <ana> two secret/);
      await ana.type("/query");
      await ana.waitFor(/back in #general/);
      await ana.type("for everyone");
      await carol.waitForMessages((message) => message.text === "for everyone", 1);
      await bob.waitFor(/#general 1 \[@ana\] │/);
      await bob.press("M-Left");
      await bob.waitFor(/\] <ana> for everyone/);

      const seen = carol.messages().filter((message) => message.from === "ana");
      assertEquals(seen.map((message) => message.text), ["for everyone"]);
      const status = (await bottom(ana)).status;
      assert(!status.includes("query"), status);
    } finally {
      await tmux.saveAll("private");
    }
  },
});

Deno.test({
  name:
    "full screen: Chinese input wraps with the cursor in the right place; a resize redraws everything",
  ignore: !hasTmux(),
  async fn() {
    await using server = await serve();
    await using observer = await RawClient.join(server.port, "observer");
    await using tmux = new Tmux();
    try {
      const ana = await tmux.open(
        "ana",
        joinCommand([`127.0.0.1:${server.port}`, "--nick", "ana"], env),
        40,
        12,
      );
      await ana.waitFor(/you are ana/);
      const chinese = "中文输入法测试一二三四五六七八九十甲乙丙丁戊己庚辛壬癸";
      await ana.typeText(chinese);
      // "> " + 19 wide characters fill 40 columns; the 20th wraps under the text.
      await ana.waitFor(/> 中文输入法测试一二三四五六七八九十甲乙\n {2}丙丁戊己庚辛壬癸/);
      const rows = await ana.rows();
      assertEquals(rows.length, 12);
      assertEquals(await ana.cursor(), { x: 2 + 2 * 8, y: 11 });
      await ana.press("Left", "Left", "BSpace");
      await ana.waitFor(/ {2}丙丁戊己庚壬癸\s*$/);
      assertEquals(await ana.cursor(), { x: 2 + 2 * 5, y: 11 });
      await ana.press("C-a");
      assertEquals(await pollCursor(ana, { x: 2, y: 10 }), { x: 2, y: 10 });
      await ana.press("Enter");
      const sent = chinese.replace("辛", "");
      await observer.waitForMessages((message) => message.text === sent, 1);
      // The message wraps in the message area too: every row fits, nothing is lost.
      const screen = await ana.waitFor(/\[\d\d:\d\d\] <ana> 中文/);
      assert(joined(screen).includes(sent), screen);

      await ana.typeText("still typing 中文");
      await ana.waitFor(/> still typing 中文/);
      await ana.resize(70, 16);
      // tmux crops the old screen at once; poll until the client has redrawn it all.
      await ana.waitFor((screen) => {
        const rows = screenRows(screen);
        return rows.length === 16 && rows[15] === "> still typing 中文" &&
          rows[14]!.startsWith(" test room │ connected │ ana │ 2 online: ana, observer") &&
          rows.some((row) => row.includes(`<ana> ${sent}`));
      });
      assertEquals(await pollCursor(ana, { x: 19, y: 15 }), { x: 19, y: 15 });
      await ana.resize(30, 10);
      const narrow = await ana.waitFor((screen) => {
        const rows = screenRows(screen);
        return rows.length === 10 && rows[9] === "> still typing 中文" &&
          rows[8]!.startsWith(" test room │") && joined(screen).includes(sent);
      });
      assertEquals(screenRows(narrow).filter((row) => row.includes(" │ ")).length, 1);
      for (const row of screenRows(narrow)) assert(displayWidth(row) <= 30, row);
    } finally {
      await tmux.saveAll("chinese-resize");
    }
  },
});

Deno.test({
  name: "full screen: PageUp scrolls back and fetches older history from the server at the top",
  ignore: !hasTmux(),
  async fn() {
    await using server = await serve();
    await using bot = await RawClient.join(server.port, "bot");
    for (let index = 1; index <= 120; index++) await bot.say(`old message ${index}`);
    await bot.waitForMessages((message) => message.text === "old message 120", 1);
    await using tmux = new Tmux();
    try {
      const ana = await tmux.open(
        "ana",
        joinCommand([`127.0.0.1:${server.port}`, "--nick", "ana"], env),
        60,
        20,
      );
      await ana.waitFor(/old message 120/);
      // The join shows the newest 50; paging up reaches 71, then loads older ones.
      for (let page = 0; page < 40; page++) {
        await ana.press("PageUp");
        if (/old message 5\n/.test(await ana.screen())) break;
      }
      await ana.waitFor(/old message 5\n/);
      for (let page = 0; page < 20; page++) {
        await ana.press("PageUp");
        if (/beginning of the conversation/.test(await ana.screen())) break;
      }
      await ana.waitFor(/beginning of the conversation\n.*old message 1\n/);
      assert((await bottom(ana)).status.includes("scrolled up"));
      await bot.say("new while scrolled");
      await ana.waitFor(/1 new below/);
      await ana.press("Escape");
      await ana.waitFor(/new while scrolled\n.* │ /);
    } finally {
      await tmux.saveAll("scrollback");
    }
  },
});

/** The rows of a captured screen. */
function screenRows(screen: string): string[] {
  return screen.replace(/\n$/, "").split("\n");
}

/** Rows joined without the wrapping indent, to find wrapped text. */
function joined(screen: string): string {
  return screen.split("\n").map((row) => row.trim()).join("");
}

async function pollCursor(pane: Pane, want: { x: number; y: number }) {
  let cursor = await pane.cursor();
  for (let attempt = 0; attempt < 100 && (cursor.x !== want.x || cursor.y !== want.y); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    cursor = await pane.cursor();
  }
  return cursor;
}
