/**
 * Channels, unread that follows the person, and notifications on the page
 * (issue #15, items 1-4), in Chromium against a real `lanchat serve`
 * process: two browser contexts of one account (the same device key) clear
 * each other's unread badge, "new since you last read" after a reload, a
 * direct message to an offline account shown as unread when its page next
 * loads, notifications by each channel's level (the permission granted in
 * Chromium, `window.Notification` counted), a channel made from the page
 * whose messages reach its members only, and screenshots of the sidebar
 * with several channels (web-channels-*). Without /usr/bin/chromium these
 * tests are ignored loudly, and fail when CI=true.
 */
import { assert, assertEquals } from "./_assert.ts";
import { TestClient, text } from "./_helpers.ts";
import type { BrowserContext, Page } from "playwright-core";
import { generateKeyPair, keyPairFromSecret } from "../lib/wire/identity.ts";
import { fromBase64 } from "../lib/wire/base64.ts";
import {
  activePanel,
  browserTest,
  conversationEntry,
  join,
  messageRows,
  pageDeadlineMs,
  screenshot,
  send,
  serveWebOnLoopback,
  TestBrowser,
  waitForConversation,
  waitForStatus,
  waitForValue,
} from "./fixtures/web_browser.ts";

const roomName = "office-pc";

/** What a page keeps of its account: the device key and the nick (page_storage.ts). */
interface Identity {
  deviceKey: string;
  nick: string;
}

async function identityOf(page: Page): Promise<Identity> {
  const stored = await page.evaluate(
    `[localStorage.getItem("lanchat.deviceKey"), localStorage.getItem("lanchat.nick")]`,
  ) as [string | null, string | null];
  assert(stored[0] !== null && stored[1] !== null, "the page keeps a device key and a nick");
  return { deviceKey: stored[0], nick: stored[1] };
}

/** A new browser context that is another device of the same account (the same key in storage). */
async function sameAccountContext(
  browser: TestBrowser,
  identity: Identity,
  options: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark" } = {},
): Promise<BrowserContext> {
  const context = await browser.browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? "light",
    reducedMotion: "reduce",
  });
  await context.addInitScript((stored: Identity) => {
    if (localStorage.getItem("lanchat.deviceKey") === null) {
      localStorage.setItem("lanchat.deviceKey", stored.deviceKey);
      localStorage.setItem("lanchat.nick", stored.nick);
    }
  }, identity);
  return context;
}

/** The key pair a page signs with, for a terminal client of the same account. */
function keyOf(identity: Identity) {
  const { secretKey } = JSON.parse(identity.deviceKey) as { secretKey: string };
  return keyPairFromSecret(fromBase64(secretKey));
}

/** A terminal client with an account of its own, in `channels`. */
async function member(port: number, nick: string, channels: string[]): Promise<TestClient> {
  const client = await TestClient.keyed(port, nick, generateKeyPair());
  for (const channel of channels) {
    await client.send({ type: "join", channel });
    await client.next((m) => m.type === "channel" && m.name === channel);
  }
  return client;
}

/** `client` says `line` (in `channel`, or to `to`); resolves with its id once the server sent it back. */
async function say(
  client: TestClient,
  line: string,
  extra: Record<string, unknown> = {},
): Promise<number> {
  await client.say(line, extra);
  const echo = await client.next((m) => m.type === "msg" && text(m) === line);
  return echo.id as number;
}

/** Joins `channel` from the composer and waits until it is on screen. */
async function joinChannel(page: Page, channel: string): Promise<void> {
  await send(page, `/join #${channel}`);
  await waitForConversation(page, `# ${channel}`);
}

function badge(page: Page, title: string) {
  return conversationEntry(page, title).locator(".badge");
}

browserTest(
  "reading a channel in one browser drops its unread badge in another of the same account within 1 s",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const laptop = (await browser.open(server.origin)).page;
    await join(laptop, "ana");
    await joinChannel(laptop, "ops");
    await conversationEntry(laptop, roomName).locator("button.conversation").click();
    await waitForConversation(laptop, `# ${roomName}`);

    const phone = (await browser.open(server.origin, {
      context: await sameAccountContext(browser, await identityOf(laptop)),
    })).page;
    await waitForStatus(phone, /^Online$/);
    // The server's list of my conversations: #ops is there on the other device too.
    await conversationEntry(phone, "ops").waitFor({ timeout: pageDeadlineMs });

    await using bob = await member(server.port, "bob", ["#ops"]);
    await say(bob, "deploy at 5", { channel: "#ops" });
    await say(bob, "staging is green", { channel: "#ops" });
    await badge(laptop, "ops").filter({ hasText: /^2$/ }).waitFor({ timeout: pageDeadlineMs });
    await badge(phone, "ops").filter({ hasText: /^2$/ }).waitFor({ timeout: pageDeadlineMs });

    await conversationEntry(laptop, "ops").locator("button.conversation").click();
    await messageRows(laptop, "staging is green").waitFor({ timeout: pageDeadlineMs });
    const started = Date.now();
    await badge(phone, "ops").waitFor({ state: "detached", timeout: 1000 });
    console.log(`the other device's badge went in ${Date.now() - started} ms`);
    assertEquals(await phone.title(), `${roomName} · lanchat`);
    browser.assertClean(server.origin);
  },
);

browserTest(
  '"new since you last read" is at the first unread message after a reload, where the server says',
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const { page } = await browser.open(server.origin);
    await join(page, "ana");
    // Another device of ana's watches the read marks reach the server.
    await using watcher = await TestClient.keyed(server.port, "ana", keyOf(await identityOf(page)));
    await using bob = await member(server.port, "bob", []);
    await say(bob, "morning all");
    const read = await say(bob, "coffee?");
    await messageRows(page, "coffee?").waitFor({ timeout: pageDeadlineMs });
    await watcher.next((m) => m.type === "read" && m.id === read);

    await page.close();
    await say(bob, "standup moved to 10");
    await say(bob, "room B");
    const again = (await browser.open(server.origin, { context: browser.pages[0]!.context })).page;
    await waitForStatus(again, /^Online$/);
    const line = again.locator("#new-since");
    await line.waitFor({ timeout: pageDeadlineMs });
    assertEquals(await line.textContent(), "New since you last read");
    const after = activePanel(again).locator("#new-since + .row.msg");
    assertEquals(await after.locator(".text").textContent(), "standup moved to 10");
    // Read now: the count is 0 everywhere, and Esc takes the line away.
    await again.locator("#composer-input").focus();
    await again.keyboard.press("Escape");
    await line.waitFor({ state: "detached", timeout: pageDeadlineMs });
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a direct message to an offline account shows as unread when its page next loads",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const first = await browser.open(server.origin);
    await join(first.page, "ana");
    await using bob = await member(server.port, "bob", []);
    await first.page.close();
    await bob.next((m) => m.type === "left" && m.nick === "ana");

    await say(bob, "the keys are under the mat", { to: "ana" });
    const { page } = await browser.open(server.origin, { context: first.context });
    await waitForStatus(page, /^Online$/);
    await badge(page, "bob").filter({ hasText: /^1$/ }).waitFor({ timeout: pageDeadlineMs });
    assertEquals(await page.title(), `(1 · @1) ${roomName} · lanchat`);
    await conversationEntry(page, "bob").locator("button.conversation").click();
    await waitForConversation(page, "bob");
    await messageRows(page, "the keys are under the mat").waitFor({ timeout: pageDeadlineMs });
    await badge(page, "bob").waitFor({ state: "detached", timeout: pageDeadlineMs });
    browser.assertClean(server.origin);
  },
);

/** Counts the notifications the page makes (window.Notification wrapped before the page runs). */
const countNotifications = `
  window.__notifications = [];
  const Real = window.Notification;
  function Counted(title, options) {
    window.__notifications.push({ title, body: options?.body, tag: options?.tag });
    try { return new Real(title, options); } catch { return { close() {} }; }
  }
  Object.defineProperty(Counted, "permission", { get: () => Real.permission });
  Counted.requestPermission = () => Real.requestPermission();
  window.Notification = Counted;
`;

browserTest(
  "notifications follow each channel's level: muted never, mentions only on a mention, all elsewhere",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(["notifications"], { origin: server.origin });
    await context.addInitScript(countNotifications);
    const { page } = await browser.open(server.origin, { context });
    await join(page, "ana");
    // Granted already: nothing to turn on, and nothing was asked at load.
    assertEquals(await page.locator("#notifications-button").count(), 0);
    for (const [channel, level] of [["quiet", "muted"], ["pings", "mentions"], ["busy", "all"]]) {
      await joinChannel(page, channel!);
      await page.locator("#notify-level").selectOption(level!);
      // The level the server kept (its `notify` echo), not only what the control shows.
      await page.locator(`#notify-level[data-level=${level}]`).waitFor({ timeout: pageDeadlineMs });
    }
    await conversationEntry(page, roomName).locator("button.conversation").click();
    await waitForConversation(page, `# ${roomName}`);

    await using bob = await member(server.port, "bob", ["#quiet", "#pings", "#busy"]);
    await say(bob, "@ana even this stays quiet", { channel: "#quiet" });
    await say(bob, "plain talk in pings", { channel: "#pings" });
    await say(bob, "@ana a question for you", { channel: "#pings" });
    await say(bob, "anything at all", { channel: "#busy" });
    await badge(page, "busy").filter({ hasText: /^1$/ }).waitFor({ timeout: pageDeadlineMs });
    await badge(page, "quiet").filter({ hasText: /^1$/ }).waitFor({ timeout: pageDeadlineMs });
    await waitForValue<number>(
      page,
      "window.__notifications.length",
      (count) => count >= 2,
      "notifications shown",
    );
    const shown = await page.evaluate("window.__notifications") as {
      title: string;
      body: string;
      tag: string;
    }[];
    assertEquals(shown, [
      { title: "bob in #pings", body: "@ana a question for you", tag: "#pings" },
      { title: "bob in #busy", body: "anything at all", tag: "#busy" },
    ]);
    // The tab title counts them all, with the mentions.
    assertEquals(await page.title(), `(4 · @2) ${roomName} · lanchat`);
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a channel made from the page: another person joins it from the list, and only members read it",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const ana = (await browser.open(server.origin)).page;
    await join(ana, "ana");
    const carol = (await browser.open(server.origin)).page;
    await join(carol, "carol");
    const dave = (await browser.open(server.origin)).page;
    await join(dave, "dave");

    await ana.locator("#channel-add").click();
    await ana.locator("#channel-input").fill("no spaces please");
    await ana.locator("#channel-input").press("Enter");
    await ana.locator("#channel-error").filter({ hasText: /\S/ }).waitFor({
      timeout: pageDeadlineMs,
    });
    await ana.locator("#channel-input").fill("#launch");
    await ana.locator("#channel-input").press("Enter");
    await waitForConversation(ana, "# launch");
    await conversationEntry(ana, "launch").waitFor({ timeout: pageDeadlineMs });
    await ana.locator("#conversation-topic").click();
    await ana.locator("#channel-input").fill("Friday's release");
    await ana.locator("#channel-input").press("Enter");
    await ana.locator("#conversation-topic").filter({ hasText: "Friday's release" }).waitFor({
      timeout: pageDeadlineMs,
    });

    await carol.locator("#browse-channels").click();
    const row = carol.locator('#channel-browser .channel-row[data-name="#launch"]');
    await row.waitFor({ timeout: pageDeadlineMs });
    assertEquals(await row.locator(".channel-row-topic").textContent(), "Friday's release");
    assertEquals(await row.locator(".channel-row-members").textContent(), "1 member");
    await row.getByRole("button", { name: "Join" }).click();
    await waitForConversation(carol, "# launch");

    await send(ana, "members only: the date is set");
    await messageRows(carol, "members only: the date is set").waitFor({ timeout: pageDeadlineMs });
    await send(ana, "/join #general");
    await waitForConversation(ana, `# ${roomName}`);
    await send(ana, "everyone: lunch at noon");
    await messageRows(dave, "everyone: lunch at noon").waitFor({ timeout: pageDeadlineMs });
    assertEquals(await messageRows(dave, "members only").count(), 0);
    assertEquals(await conversationEntry(dave, "launch").count(), 0);

    // Leaving: the channel goes from carol's sidebar.
    await conversationEntry(carol, "launch").locator("button.conversation").click();
    await carol.locator("#conversation-leave").click();
    await conversationEntry(carol, "launch").waitFor({
      state: "detached",
      timeout: pageDeadlineMs,
    });
    await waitForConversation(carol, `# ${roomName}`);
    browser.assertClean(server.origin);
  },
);

browserTest(
  "screenshots of the sidebar with channels and badges, desktop and phone, light and dark",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const { page } = await browser.open(server.origin);
    await join(page, "ana");
    for (const channel of ["ops", "design", "release-train", "random"]) {
      await joinChannel(page, channel);
    }
    await send(page, "/join #ops");
    await waitForConversation(page, "# ops");
    await send(page, "/topic Deploys, incidents and on-call");
    await page.locator("#conversation-topic").filter({ hasText: "on-call" }).waitFor({
      timeout: pageDeadlineMs,
    });
    await send(page, "/join #general");
    await waitForConversation(page, `# ${roomName}`);
    const identity = await identityOf(page);
    await page.close();

    await using bob = await member(server.port, "bob", ["#ops", "#design", "#random"]);
    await say(bob, "morning! the build is green", { channel: "#ops" });
    await say(bob, "@ana can you review the rollout plan?", { channel: "#ops" });
    await say(bob, "new mockups are up", { channel: "#design" });
    await say(bob, "who is in the office today?");
    await say(bob, "lunch?", { to: "ana" });
    await using cy = await member(server.port, "cy", ["#ops"]);
    await say(cy, "I can take the pager tonight", { channel: "#ops" });

    for (const colorScheme of ["light", "dark"] as const) {
      for (
        const [device, viewport] of [
          ["desktop", { width: 1280, height: 800 }],
          ["phone", { width: 390, height: 844 }],
        ] as const
      ) {
        const context = await sameAccountContext(browser, identity, { viewport, colorScheme });
        const shot = (await browser.open(server.origin, { context })).page;
        await waitForStatus(shot, /^Online$/);
        // Attached: on a phone the sidebar is a closed drawer until the toggle opens it.
        const ready = { state: "attached", timeout: pageDeadlineMs } as const;
        await badge(shot, "ops").filter({ hasText: /^3$/ }).waitFor(ready);
        await badge(shot, "bob").waitFor(ready);
        if (device === "phone") {
          await shot.locator("#sidebar-toggle").click();
          await shot.locator("#sidebar-close").waitFor({ timeout: pageDeadlineMs });
        }
        console.log(await screenshot(shot, `web-channels-${device}-${colorScheme}`));
        await context.close();
      }
    }
    browser.assertClean(server.origin);
  },
);
