/**
 * The page never falls back to plaintext in a room it joined with a password
 * (issue #12, defect 7, the browser half): a man in the middle who answers on
 * the room's address with `server.secure = null` gets nothing, not even a
 * `hello`, until the person chooses to forget the password. Real Chromium,
 * real servers on one loopback port, one after the other.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { startTestServer, testRoomKey, withDeadline } from "./_helpers.ts";
import type { RunningServer } from "../lib/server/server.ts";
import { downgradeMessage } from "../lib/wire/room_key.ts";
import { generateKeyPair } from "../lib/wire/identity.ts";
import {
  browserTest,
  join,
  pageDeadlineMs,
  TestBrowser,
  waitForStatus,
} from "./fixtures/web_browser.ts";
import type { Dialog } from "playwright-core";

/** A server on a given web port, retried briefly while the previous one's port is released. */
async function serverOnWebPort(webPort: number, options: Parameters<typeof startTestServer>[0]) {
  let lastError: unknown = null;
  // Bounded: 20 tries, 100 ms apart.
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      return await startTestServer({ ...options, webPort });
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw lastError;
}

/** Resolves with the next dialog's text, answering it with `accept`. */
function nextDialog(page: import("playwright-core").Page, accept: boolean): Promise<string> {
  return new Promise((resolve) => {
    page.removeAllListeners("dialog");
    page.once("dialog", (dialog: Dialog) => {
      resolve(dialog.message());
      void (accept ? dialog.accept() : dialog.dismiss()).catch(() => {});
    });
  });
}

browserTest(
  "a page that joined with the room password refuses a plaintext server on that address until told to forget",
  async () => {
    const key = await testRoomKey("the office password");
    let real: RunningServer | null = await startTestServer({ webPort: 0, roomKey: key });
    const webPort = real.webPort!;
    const origin = `http://127.0.0.1:${webPort}`;
    let impostor: RunningServer | null = null;
    try {
      await using browser = await TestBrowser.launch();
      const { page, context } = await browser.open(origin);
      const password = page.locator("#password-input");
      await password.waitFor({ timeout: pageDeadlineMs });
      await password.fill("the office password");
      await password.press("Enter");
      await join(page, "ana");

      // The room goes away; a plaintext server answers on the same address.
      const told = nextDialog(page, false);
      await real.close();
      real = null;
      const seen: string[] = [];
      impostor = await serverOnWebPort(webPort, { log: (line) => seen.push(line) });
      assertMatch(
        await withDeadline(told, 10_000, "the refusal"),
        new RegExp(downgradeMessage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
      );
      await waitForStatus(page, /^Not connected$/);
      assertMatch(await page.locator("#notice").innerText(), /did not ask for the room password/);
      assertEquals(impostor.room.size, 0, "the page sent no hello to the impostor");

      // A reload remembers the room had a password (per origin) and refuses again.
      const again = await context.newPage();
      const toldAgain = nextDialog(again, true);
      await again.goto(origin);
      assertMatch(
        await withDeadline(toldAgain, 10_000, "the refusal after a reload"),
        /with a room password before/,
      );
      // Accepted: the page forgets the password and joins the (now plaintext) room.
      await waitForStatus(again, /^Online$/);
      assertEquals(impostor.room.size, 1);
      assertEquals(await again.evaluate("localStorage.getItem('lanchat.roomHadPassword')"), null);
      assert(!seen.some((line) => /error/i.test(line)), seen.join("\n"));
    } finally {
      await real?.close();
      await impostor?.close();
    }
  },
);

browserTest(
  "a page that joined a server refuses another key at its address until told to forget (issue #14)",
  async () => {
    let real: RunningServer | null = await startTestServer({
      webPort: 0,
      serverKey: generateKeyPair(),
    });
    const webPort = real.webPort!;
    const origin = `http://127.0.0.1:${webPort}`;
    let impostor: RunningServer | null = null;
    try {
      await using browser = await TestBrowser.launch();
      const { page, context } = await browser.open(origin);
      await join(page, "ana");
      assertMatch(
        String(await page.evaluate("localStorage.getItem('lanchat.serverKey')")),
        /^SHA256:[A-Za-z0-9+/]{43}$/,
      );

      // The room goes away; a server with another key answers on the same address.
      const told = nextDialog(page, false);
      await real.close();
      real = null;
      impostor = await serverOnWebPort(webPort, { serverKey: generateKeyPair() });
      assertMatch(
        await withDeadline(told, 10_000, "the refusal"),
        /answered with another server key .*choose OK to forget the old key here/s,
      );
      await waitForStatus(page, /^Not connected$/);
      assertMatch(await page.locator("#notice").innerText(), /another server key/);
      assertEquals(impostor.room.size, 0, "the page sent a hello to the other key");

      // A reload asks again; accepted, the page forgets the old key and joins.
      const again = await context.newPage();
      const toldAgain = nextDialog(again, true);
      await again.goto(origin);
      await withDeadline(toldAgain, 10_000, "the refusal after a reload");
      await waitForStatus(again, /^Online$/);
      assertEquals(impostor.room.size, 1);
    } finally {
      await real?.close();
      await impostor?.close();
    }
  },
);
