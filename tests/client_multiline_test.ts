/**
 * Line breaks typed in the full-screen composer (issue #13): Alt+Enter, and a
 * bracketed paste, make one message with line breaks, as Shift+Enter does on
 * the web page; every client shows it as one message whose later lines are
 * indented past the timestamp. The real CLI runs in tmux panes against a real
 * server (in-process, loopback); a raw protocol client checks what went over
 * the wire. Skipped when tmux is not installed. Waits poll until a deadline.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startServer } from "../lib/server/server.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { hasTmux, joinCommand, Tmux } from "./fixtures/client_tmux.ts";

const env = { NO_COLOR: "1" };

Deno.test({
  name:
    "full screen: Alt+Enter and a pasted block send one message with line breaks, shown as one message with indented lines",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startServer({
      host: "127.0.0.1",
      port: 0,
      name: "test room",
      tickMs: 50,
    });
    await using observer = await RawClient.join(server.port, "observer");
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
      await ana.waitFor(/3 online: ana, bob, observer/);
      await bob.waitFor(/you are bob/);

      await ana.typeText("first line");
      await ana.press("M-Enter");
      await ana.typeText("second line 中文");
      await ana.press("M-Enter");
      await ana.typeText("third");
      // The composer grows a row per line before anything is sent.
      await ana.waitFor(/> first line\n {2}second line 中文\n {2}third\s*$/);
      await ana.press("Enter");

      const [sent] = await observer.waitForMessages((message) => message.from === "ana", 1);
      assertEquals(sent?.text, "first line\nsecond line 中文\nthird");
      const message = /\[\d\d:\d\d\] <ana> first line\n {8}second line 中文\n {8}third\n/;
      await bob.waitFor(message);
      await ana.waitFor(message);

      // A pasted block (bracketed paste) is one message too; blank lines at its ends go.
      await tmux.run("set-buffer", "-b", "block", "\npasted one\n\npasted three\n");
      await tmux.run("paste-buffer", "-p", "-d", "-b", "block", "-t", ana.name);
      await ana.waitFor(/>\s*\n {2}pasted one\n *\n {2}pasted three/);
      await ana.press("Enter");
      const pasted = await observer.waitForMessages((message) => message.from === "ana", 2);
      assertEquals(pasted[1]?.text, "pasted one\n\npasted three");
      await bob.waitFor(/<ana> pasted one\n *\n {8}pasted three\n/);

      // /me keeps its line breaks as well.
      await ana.typeText("/me waves");
      await ana.press("M-Enter");
      await ana.typeText("from two lines");
      await ana.press("Enter");
      const acted = await observer.waitForMessages((message) => message.from === "ana", 3);
      assertEquals({ kind: acted[2]?.kind, text: acted[2]?.text }, {
        kind: "action",
        text: "waves\nfrom two lines",
      });
      await bob.waitFor(/\* ana waves\n {8}from two lines\n/);

      const fromAna = observer.messages().filter((message) => message.from === "ana");
      assertEquals(fromAna.length, 3, JSON.stringify(fromAna));
      assert(fromAna.every((message) => message.text.includes("\n")), JSON.stringify(fromAna));
      await bob.save("multiline-bob");
    } finally {
      await tmux.saveAll("multiline");
    }
  },
});
