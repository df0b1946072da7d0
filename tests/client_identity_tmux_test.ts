/**
 * Device keys and accounts at a real terminal (issue #14): `lanchat join`
 * in tmux asks for a nick, is refused one that belongs to someone else and
 * says how to link this device if it is the person's own; then, in the
 * full-screen client, `/whois` lists the owner's device, `/link` shows a
 * code that another device joins with, and the screen says a device was
 * added. Skipped when tmux is not installed. Waits poll the screen until a
 * deadline. The final screens are saved in test-output/tmux/.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { hasTmux, joinCommand, Tmux } from "./fixtures/client_tmux.ts";
import { dialTcp } from "../lib/client/terminal/tcp_channel.ts";
import { ChatSession } from "../lib/client/session.ts";
import { fingerprint, generateKeyPair } from "../lib/wire/identity.ts";

Deno.test({
  name:
    "the nick prompt says an owned nick is someone else's and how to link; /whois, /link and the added device show in full screen",
  ignore: !hasTmux(),
  async fn() {
    await using server = await startTestServer();
    const owner = generateKeyPair();
    const ana = new ChatSession({
      dial: dialTcp,
      address: { host: "127.0.0.1", port: server.port },
      nick: "ana",
      deviceKey: owner,
      onEvent: () => {},
    });
    await ana.start();
    let phone: ChatSession | null = null;
    try {
      await using tmux = new Tmux();
      const chat = await tmux.open(
        "identity",
        joinCommand([`127.0.0.1:${server.port}`], { NO_COLOR: "1" }),
        220,
        40,
      );
      try {
        await chat.waitFor(/Your nick:/);
        await chat.type("ana");
        await chat.waitFor(
          /'ana' belongs to someone else[^\n]*\n\s*If ana is yours, type \/link on a device where you are ana, then join from here with `[^`\n]*join 127\.0\.0\.1:\d+ --link CODE`\.[\s\S]*Choose another nick:/,
        );
        await chat.type("carol");
        await chat.waitFor(/you are carol; type \/help/);

        await chat.type("/whois ana");
        const short = `${fingerprint(owner.publicKey).slice(0, 19)}…`;
        const whois = await chat.waitFor(/ana: account since \d{4}-\d\d-\d\d, 1 device/);
        assert(
          new RegExp(`${escape(short)}  added \\d{4}-\\d\\d-\\d\\d  online`).test(whois),
          whois,
        );

        await chat.type("/link");
        const shown = await chat.waitFor(
          /Code ([0-9A-Z]{4}-[0-9A-Z]{4}): on the new device run `[^`\n]*join 127\.0\.0\.1:\d+ --link \1` or use the page's 'I have a code'; valid 10 minutes, once/,
        );
        const code = /Code ([0-9A-Z]{4}-[0-9A-Z]{4})/.exec(shown)?.[1];
        assert(code !== undefined, shown);

        const phoneKey = generateKeyPair();
        phone = new ChatSession({
          dial: dialTcp,
          address: { host: "127.0.0.1", port: server.port },
          deviceKey: phoneKey,
          linkCode: code,
          onEvent: () => {},
        });
        await phone.start();
        assertEquals(phone.nick, "carol");
        const added = `A device was added to your account: ${
          fingerprint(phoneKey.publicKey).slice(0, 19)
        }…`;
        await chat.waitFor(new RegExp(escape(added)));
        await chat.save("identity-before-quit");
        await chat.type("/quit");
        await chat.waitFor(/exit code 0/);
      } catch (error) {
        await chat.save("identity-failed");
        throw error;
      }
    } finally {
      await phone?.quit();
      await ana.quit();
    }
  },
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
