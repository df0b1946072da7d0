/**
 * A bidi override in a message (issue #14, item 7) is shown in the
 * full-screen terminal client, not obeyed: the real CLI in tmux, a real
 * server (in-process, loopback), and a raw protocol client that sends
 * "report_<U+202E>exe.pdf", which a terminal obeying U+202E would draw as
 * "report_fdp.exe". Skipped when tmux is not installed.
 */
import { startServer } from "../lib/server/server.ts";
import { RawClient } from "./fixtures/client_raw.ts";
import { hasTmux, joinCommand, Tmux } from "./fixtures/client_tmux.ts";

Deno.test({
  name: "full screen: a message with U+202E shows the override as <U+202E>, in order",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startServer({
      host: "127.0.0.1",
      port: 0,
      name: "test room",
      tickMs: 50,
    });
    await using mallory = await RawClient.join(server.port, "mallory");
    await using tmux = new Tmux();
    const ana = await tmux.open(
      "ana",
      joinCommand([`127.0.0.1:${server.port}`, "--nick", "ana"], { NO_COLOR: "1" }),
    );
    await ana.waitFor(/2 online: ana, mallory/);
    await mallory.say("see report_\u202Eexe.pdf and \u2066x\u2069 now");
    await ana.waitFor(/<mallory> see report_<U\+202E>exe\.pdf and <U\+2066>x<U\+2069> now/);
  },
});
