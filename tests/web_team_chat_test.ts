/**
 * The page as a team chat (issue #15, item 6), in Chromium against a real
 * `lanchat serve` process: messages grouped by sender with day separators,
 * the sidebar of channels and direct messages with unread and mention
 * badges, the quick switcher (Ctrl+K), Esc to mark read, the empty state,
 * message formatting drawn as DOM nodes, the phone drawer, and the
 * screenshots kept under test-output/screenshots/ (desktop 1280x800 and
 * phone 390x844, light and dark). Without /usr/bin/chromium these tests are
 * ignored loudly, and fail when CI=true.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { TestClient, text } from "./_helpers.ts";
import type { Page } from "playwright-core";
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
  userButton,
  waitForConversation,
  waitForValue,
} from "./fixtures/web_browser.ts";

const roomName = "office-pc";

/** `client` says `line`; returns once `observer` got it, so that lines arrive in this order. */
async function say(
  client: TestClient,
  observer: TestClient,
  line: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await client.say(line, extra);
  await observer.next((m) => m.type === "msg" && text(m) === line);
}

/** The document's title, once it is `expected` (the unread count leads it). */
async function waitForTitle(page: Page, expected: string): Promise<void> {
  await waitForValue<string>(page, "document.title", (title) => title === expected, "the title");
}

/** Opens the quick switcher with Ctrl+K and waits until its field has the focus. */
async function openSwitcher(page: Page, keys = "Control+k"): Promise<void> {
  await page.keyboard.press(keys);
  await page.locator("#switcher-input").waitFor({ timeout: pageDeadlineMs });
  // The dialog is shown before its field takes the focus: wait for that, bounded, not assume it.
  await waitForValue<string>(
    page,
    "document.activeElement?.id ?? ''",
    (id) => id === "switcher-input",
    "the switcher's field to have the focus",
  );
}

function switcherTitles(page: Page): Promise<string[]> {
  return page.locator("#switcher-list [role=option] .conversation-title").allTextContents();
}

browserTest("three quick messages from one person read as one group under one name", async () => {
  await using server = await serveWebOnLoopback(["--name", roomName]);
  await using browser = await TestBrowser.launch();
  const { page } = await browser.open(server.origin);
  await join(page, "ana");
  await using bob = await TestClient.joined(server.port, "bob");
  await using carol = await TestClient.joined(server.port, "carol");
  for (const line of ["first of three", "second of three", "third of three"]) {
    await say(bob, carol, line);
  }
  await messageRows(page, "third of three").waitFor({ timeout: pageDeadlineMs });
  const panel = activePanel(page);
  assertEquals(await panel.locator(".row.msg.head .from").allTextContents(), ["bob"]);
  assertEquals(await panel.locator(".row.msg.head .avatar").allTextContents(), ["B"]);
  assertEquals(await panel.locator(".row.msg.cont .text").allTextContents(), [
    "second of three",
    "third of three",
  ]);
  assertEquals(await panel.locator(".day").allTextContents(), ["Today"]);

  // Every line has its time: a line that goes on a group shows it when pointed at.
  const second = messageRows(page, "second of three");
  const time = second.locator(".gutter time");
  assert(await time.isHidden(), "a grouped line shows its time without a hover");
  await second.hover();
  await time.waitFor({ state: "visible", timeout: pageDeadlineMs });
  assertMatch((await time.getAttribute("title")) ?? "", /\d{4}/); // the full date on hover

  // An action starts a group of its own, as "* bob waves"; his next line goes on with it.
  await say(bob, carol, "waves", { kind: "action" });
  await say(bob, carol, "after the wave");
  await messageRows(page, "after the wave").waitFor({ timeout: pageDeadlineMs });
  assertEquals(await panel.locator(".row.msg.head .from").allTextContents(), ["bob", "bob"]);
  assertMatch(await panel.locator(".row.msg.head.action").innerText(), /^B\s*\* bob waves\s*\d/);
  assertEquals(await messageRows(page, "after the wave").getAttribute("class"), "row msg cont");

  // Hovering a message from someone else offers a private reply.
  const wave = messageRows(page, "after the wave");
  await wave.hover();
  await wave.getByRole("button", { name: "Reply privately to bob" }).click();
  await waitForConversation(page, "bob");
  assertEquals(await page.evaluate("document.activeElement?.id"), "composer-input");
  // My own messages offer no private reply to myself.
  await conversationEntry(page, roomName).locator("button.conversation").click();
  await send(page, "my own line");
  await messageRows(page, "my own line").hover();
  assertEquals(await messageRows(page, "my own line").locator(".row-action").count(), 0);
  browser.assertClean(server.origin);
});

browserTest(
  "the sidebar counts unread messages and mentions per conversation and clears them when it is opened",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const { page } = await browser.open(server.origin);
    await join(page, "ana");
    await using bob = await TestClient.joined(server.port, "bob");
    await userButton(page, "bob").waitFor({ timeout: pageDeadlineMs });
    assertEquals(
      await page.locator("#sidebar .sidebar-heading").allTextContents(),
      ["Channels", "Direct messages"],
    );
    const channel = conversationEntry(page, roomName);
    assert(await channel.locator(".sigil").filter({ hasText: "#" }).isVisible());
    assertEquals(await channel.getAttribute("class"), "conversation-item channel active");

    await bob.say("psst one", { to: "ana" });
    await bob.say("psst two", { to: "ana" });
    const direct = conversationEntry(page, "bob");
    await direct.locator(".badge").filter({ hasText: /^2$/ }).waitFor({ timeout: pageDeadlineMs });
    assertEquals(
      await direct.locator("button.conversation").getAttribute("aria-label"),
      "bob, online, 2 unread",
    );
    assert(await direct.locator(".presence.online").isVisible(), "bob shows as online");
    // Every direct message is a mention: the title says both.
    await waitForTitle(page, `(2 · @2) ${roomName} · lanchat`);

    await direct.locator("button.conversation").click();
    await waitForConversation(page, "bob");
    await messageRows(page, "psst two").waitFor({ timeout: pageDeadlineMs });
    assertEquals(await direct.locator(".badge").count(), 0);
    assertEquals(await direct.getAttribute("class"), "conversation-item direct active");
    await waitForTitle(page, `${roomName} · lanchat`);

    // A mention in the room while I read bob: counted apart, then highlighted where it is.
    await bob.say("just chatting");
    await bob.say("@Ana can you look at the build?");
    await channel.locator(".badge").filter({ hasText: /^2$/ }).waitFor({ timeout: pageDeadlineMs });
    assertEquals(await channel.locator(".mention-badge").textContent(), "@1");
    assertEquals(
      await channel.locator("button.conversation").getAttribute("aria-label"),
      `#${roomName}, 2 unread, 1 mention`,
    );
    await channel.locator("button.conversation").click();
    await waitForConversation(page, `# ${roomName}`);
    assertEquals(await channel.locator(".badge, .mention-badge").count(), 0);
    const mention = messageRows(page, "can you look at the build?");
    // bob's group goes on; the line that mentions me is marked.
    assertEquals(await mention.getAttribute("class"), "row msg cont mention");
    assertEquals(await mention.locator(".mention-tag.me").textContent(), "@Ana");
    assertEquals(await messageRows(page, "just chatting").getAttribute("class"), "row msg head");

    // Private messages stay apart from public ones: search results say to whom.
    await page.locator("#search-input").fill("psst");
    await page.locator("#search-input").press("Enter");
    await waitForConversation(page, "Search: psst");
    const found = activePanel(page).locator(".row.msg.private");
    await found.nth(1).waitFor({ timeout: pageDeadlineMs });
    assertEquals(await found.count(), 2);
    // One group (same sender, same addressee, a moment apart): "to ana" once, at its head.
    assertEquals(await found.locator(".to").allTextContents(), ["to ana"]);
    // Search results are not a conversation of the sidebar; closing them comes back.
    assertEquals(await page.locator("#sidebar .conversation-item.active").count(), 0);
    await page.locator("#conversation-close").click();
    await waitForConversation(page, `# ${roomName}`);

    // A direct message's entry closes; the peer's presence follows them.
    await bob[Symbol.asyncDispose]();
    await direct.locator(".presence:not(.online)").waitFor({ timeout: pageDeadlineMs });
    await direct.hover();
    await direct.getByRole("button", { name: "Close the conversation with bob" }).click();
    assertEquals(await direct.count(), 0);
    browser.assertClean(server.origin);
  },
);

browserTest(
  "Ctrl+K jumps to a conversation: typing filters, Enter goes there, Esc closes",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const { page } = await browser.open(server.origin);
    await join(page, "ana");
    await using bob = await TestClient.joined(server.port, "bob");
    await using _carol = await TestClient.joined(server.port, "carol");
    await bob.say("are you there?", { to: "ana" });
    await conversationEntry(page, "bob").locator(".badge").waitFor({ timeout: pageDeadlineMs });
    await userButton(page, "carol").waitFor({ timeout: pageDeadlineMs });

    await openSwitcher(page);
    // Nothing typed: unread first, then the others, then people to start a conversation with.
    assertEquals(await switcherTitles(page), ["bob", roomName, "carol"]);
    assertEquals(
      await page.locator("#switcher-list [aria-selected=true] .conversation-title").textContent(),
      "bob",
    );
    await page.keyboard.type("car");
    assertEquals(await switcherTitles(page), ["carol"]);
    await page.keyboard.press("Enter");
    await page.locator("#switcher").waitFor({ state: "hidden", timeout: pageDeadlineMs });
    await waitForConversation(page, "carol");
    assertEquals(await page.evaluate("document.activeElement?.id"), "composer-input");

    // Arrow keys choose among several; "#" asks for channels only.
    await openSwitcher(page);
    await page.keyboard.type("o");
    assertEquals(await switcherTitles(page), [roomName, "bob", "carol"]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await waitForConversation(page, "bob");
    await openSwitcher(page, "Meta+k"); // ⌘K on a Mac
    await page.keyboard.type("#");
    assertEquals(await switcherTitles(page), [roomName]);
    await page.keyboard.press("Enter");
    await waitForConversation(page, `# ${roomName}`);

    // Esc closes it where it was; so does a click beside it. "Jump to…" opens it too.
    await openSwitcher(page);
    await page.keyboard.type("carol");
    await page.keyboard.press("Escape");
    await page.locator("#switcher").waitFor({ state: "hidden", timeout: pageDeadlineMs });
    await waitForConversation(page, `# ${roomName}`);
    await page.locator("#jump-button").click();
    await page.locator("#switcher-input").waitFor({ timeout: pageDeadlineMs });
    assertEquals(await page.locator("#switcher-input").inputValue(), "", "the old text stayed");
    await page.mouse.click(8, 790);
    await page.locator("#switcher").waitFor({ state: "hidden", timeout: pageDeadlineMs });
    browser.assertClean(server.origin);
  },
);

browserTest("Esc in the composer marks the conversation on screen read", async () => {
  await using server = await serveWebOnLoopback(["--name", roomName]);
  await using browser = await TestBrowser.launch();
  const { page } = await browser.open(server.origin);
  await join(page, "ana");
  await using bob = await TestClient.joined(server.port, "bob");
  // The tab goes to the background: what arrives now is unread, on screen or not.
  await page.evaluate(
    `Object.defineProperty(document, "hidden", { value: true, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));`,
  );
  await bob.say("while you were away");
  await bob.say("and this too");
  const channel = conversationEntry(page, roomName);
  await channel.locator(".badge").filter({ hasText: /^2$/ }).waitFor({ timeout: pageDeadlineMs });
  await waitForTitle(page, `(2) ${roomName} · lanchat`);
  // Back in front without the browser saying so (as when a window regains focus): Esc says it.
  await page.evaluate(`delete document.hidden`);
  await page.locator("#composer-input").focus();
  await page.keyboard.press("Escape");
  assertEquals(await channel.locator(".badge").count(), 0);
  await waitForTitle(page, `${roomName} · lanchat`);
  browser.assertClean(server.origin);
});

browserTest("a conversation without messages says whose it is and what to do", async () => {
  await using server = await serveWebOnLoopback(["--name", roomName]);
  await using browser = await TestBrowser.launch();
  const { page } = await browser.open(server.origin);
  await join(page, "ana");
  const intro = activePanel(page).locator(".intro");
  await intro.waitFor({ timeout: pageDeadlineMs });
  assertEquals(await intro.locator("h2").textContent(), `This is the start of #${roomName}`);
  const advice = (await intro.locator("p").textContent()) ?? "";
  assertMatch(advice, /^Say hello, or invite people/);
  assert(advice.includes(`they open ${server.origin} in a browser`), advice);
  assert(advice.includes(`lanchat join 127.0.0.1:${server.port} in a terminal`), advice);
  await screenshot(page, "web-team-empty-1280x800-light");
  await send(page, "hello, anyone?");
  await messageRows(page, "hello, anyone?").waitFor({ timeout: pageDeadlineMs });
  assertEquals(
    await intro.locator("p").textContent(),
    "Everyone in the room sees what is written here.",
  );

  await using _bob = await TestClient.joined(server.port, "bob");
  await userButton(page, "bob").dblclick();
  await waitForConversation(page, "bob");
  const direct = activePanel(page).locator(".intro");
  assertEquals(
    await direct.locator("h2").textContent(),
    "This is the start of your conversation with bob",
  );
  assertEquals(
    await direct.locator("p").textContent(),
    "Only the two of you see these messages. Say hello!",
  );
  browser.assertClean(server.origin);
});

browserTest("formatting is drawn as elements; nothing a sender writes becomes HTML", async () => {
  await using server = await serveWebOnLoopback(["--name", roomName]);
  await using browser = await TestBrowser.launch();
  const { page } = await browser.open(server.origin);
  await join(page, "ana");
  await using bob = await TestClient.joined(server.port, "bob");
  await using carol = await TestClient.joined(server.port, "carol");
  await say(bob, carol, "**done**, see https://ci.office.lan/42 and `npm test` :rocket:");
  await say(bob, carol, "[click](javascript:alert(1)) <img src=x onerror=alert(2)> *open");
  await say(bob, carol, "the log:\n```\nline one\n  indented <b>two</b>\n```\nok");
  await say(bob, carol, "[the wiki](https://wiki.office.lan/a?b=1) for @ana and @bob");
  const first = messageRows(page, "done, see");
  await first.waitFor({ timeout: pageDeadlineMs });
  assertEquals(await first.locator("strong").textContent(), "done");
  assertEquals(await first.locator("code").textContent(), "npm test");
  assertEquals(await first.locator(".emoji").textContent(), "🚀");
  const link = first.locator("a");
  assertEquals(await link.textContent(), "https://ci.office.lan/42");
  assertEquals(await link.getAttribute("href"), "https://ci.office.lan/42");
  assertEquals(await link.getAttribute("target"), "_blank");
  assertEquals(await link.getAttribute("rel"), "noopener noreferrer");

  const attack = messageRows(page, "[click]");
  await attack.waitFor({ timeout: pageDeadlineMs });
  assertEquals(
    await attack.locator(".text").textContent(),
    "[click](javascript:alert(1)) <img src=x onerror=alert(2)> *open",
  );
  assertEquals(await page.locator(".rows a:not([href^='http'])").count(), 0);
  assertEquals(await page.locator(".rows img, .rows script, .rows b").count(), 0);

  const block = messageRows(page, "the log:").locator("pre");
  assertEquals(await block.textContent(), "line one\n  indented <b>two</b>");
  // Monospaced, on lines of its own (pre): the browser's computed style, read as a string.
  // Monospaced, on lines of its own.
  const style = (property: string) =>
    page.evaluate(`getComputedStyle(document.querySelector(".rows pre")).${property}`);
  assertMatch(String(await style("fontFamily")), /mono/i);
  assertEquals(await style("display"), "block");
  assertEquals(await style("whiteSpace"), "pre-wrap");

  const wiki = messageRows(page, "for @ana");
  assertEquals(await wiki.locator("a").textContent(), "the wiki");
  assertEquals(await wiki.locator("a").getAttribute("title"), "https://wiki.office.lan/a?b=1");
  assertEquals(await wiki.locator(".mention-tag.me").textContent(), "@ana");
  assertEquals(await wiki.locator(".mention-tag:not(.me)").textContent(), "@bob");
  assertMatch((await wiki.getAttribute("class")) ?? "", /\bmention\b/);
  browser.assertClean(server.origin); // no dialog opened, nothing fetched
});

browserTest("on a phone the sidebar is a drawer, opened from the top bar", async () => {
  await using server = await serveWebOnLoopback(["--name", roomName]);
  await using browser = await TestBrowser.launch();
  const { page } = await browser.open(server.origin, {
    viewport: { width: 390, height: 844 },
    hasTouch: true,
  });
  await join(page, "ana");
  await using bob = await TestClient.joined(server.port, "bob");
  await bob.say("a word in private", { to: "ana" });
  const sidebar = page.locator("#sidebar");
  const toggle = page.locator("#sidebar-toggle");
  await toggle.locator(".badge").filter({ hasText: /^1$/ }).waitFor({ timeout: pageDeadlineMs });
  assert(await sidebar.isHidden(), "the sidebar takes room beside the chat on a phone");

  await toggle.tap();
  await sidebar.waitFor({ timeout: pageDeadlineMs });
  assertEquals(await toggle.getAttribute("aria-expanded"), "true");
  await page.locator("#drawer-backdrop").tap({ position: { x: 370, y: 420 } });
  await sidebar.waitFor({ state: "hidden", timeout: pageDeadlineMs });

  await toggle.tap();
  await conversationEntry(page, "bob").locator("button.conversation").tap();
  await sidebar.waitFor({ state: "hidden", timeout: pageDeadlineMs });
  await waitForConversation(page, "bob");
  await messageRows(page, "a word in private").waitFor({ timeout: pageDeadlineMs });
  // Chosen with a tap: the keyboard does not pop up over the conversation.
  assert(await page.evaluate("document.activeElement?.id !== 'composer-input'"));

  await toggle.tap();
  await sidebar.waitFor({ timeout: pageDeadlineMs });
  await page.keyboard.press("Escape");
  await sidebar.waitFor({ state: "hidden", timeout: pageDeadlineMs });
  await toggle.tap();
  await page.locator("#sidebar-close").tap();
  await sidebar.waitFor({ state: "hidden", timeout: pageDeadlineMs });
  const overflow = await page.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  );
  assertEquals(overflow, 0, "the page scrolls sideways");
  browser.assertClean(server.origin);
});

const layouts = [
  { name: "1280x800", viewport: { width: 1280, height: 800 }, phone: false },
  { name: "390x844", viewport: { width: 390, height: 844 }, phone: true },
] as const;

/** What the screenshots show, in this order (`kind` and `to` as `say` takes them). */
const conversation: [string, string, Record<string, unknown>?][] = [
  ["bob", "morning all! the build server is back up :tada:"],
  ["bob", "I bumped its disk quota too, so CI should stop timing out"],
  ["bob", "shout if anything looks off"],
  ["chen", "thanks bob, trying it now"],
  ["chen", "works for me: `deno task test` passes in 4 minutes"],
  ["dana.k", "grabs coffee", { kind: "action" }],
  ["dana.k", "@ana can you review the release notes before lunch? https://wiki.office.lan/notes"],
  [
    "dana.k",
    "last night's numbers:\n```\nburst  p50 1.2 ms  p99 4.8 ms\nchat   p50 0.9 ms  p99 3.1 ms\n```",
  ],
];

browserTest(
  "screenshots of a team conversation at desktop and phone sizes, light and dark",
  async () => {
    await using browser = await TestBrowser.launch();
    for (const layout of layouts) {
      for (const colorScheme of ["light", "dark"] as const) {
        const suffix = `${layout.name}-${colorScheme}`;
        await using server = await serveWebOnLoopback(["--name", roomName]);
        const clients = new Map<string, TestClient>();
        for (const nick of ["bob", "chen", "dana.k", "eve"]) {
          clients.set(nick, await TestClient.joined(server.port, nick));
        }
        try {
          const eve = clients.get("eve")!;
          for (const [nick, line, extra] of conversation) {
            await say(clients.get(nick)!, eve, line, extra);
          }
          const watched = await browser.open(server.origin, {
            viewport: layout.viewport,
            colorScheme,
            hasTouch: layout.phone,
          });
          const page = watched.page;
          await join(page, "ana");
          await messageRows(page, "last night's numbers").waitFor({ timeout: pageDeadlineMs });
          await send(page, "sure, on it");
          await send(page, "notes will be up by *noon*");
          await messageRows(page, "notes will be up").waitFor({ timeout: pageDeadlineMs });
          await clients.get("bob")!.say("can you also look at my PR after lunch?", { to: "ana" });
          await conversationEntry(page, "bob").locator(".badge").waitFor({
            state: "attached",
            timeout: pageDeadlineMs,
          });
          const panel = activePanel(page);
          assertEquals(
            await panel.locator(".row.msg.head .from").allTextContents(),
            ["bob", "chen", "dana.k", "ana"],
          );
          assertEquals(await panel.locator(".day").allTextContents(), ["Today"]);
          const background = await page.evaluate("getComputedStyle(document.body).backgroundColor");
          assertEquals(
            background,
            colorScheme === "dark" ? "rgb(17, 20, 24)" : "rgb(255, 255, 255)",
            `the ${colorScheme} theme`,
          );
          await page.locator("#composer-input").blur();
          await screenshot(page, `web-team-chat-${suffix}`);
          const overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth",
          );
          assertEquals(overflow, 0, `the page scrolls sideways at ${layout.name}`);
          if (layout.phone) {
            await page.locator("#sidebar-toggle").tap();
            await page.locator("#sidebar").waitFor({ timeout: pageDeadlineMs });
            await screenshot(page, `web-team-sidebar-${suffix}`);
          } else {
            await messageRows(page, "disk quota").hover();
            await screenshot(page, `web-team-hover-${suffix}`);
            await openSwitcher(page);
            await screenshot(page, `web-team-switcher-${suffix}`);
          }
          browser.assertClean(server.origin, [watched]);
          await page.context().close();
        } finally {
          for (const client of clients.values()) await client[Symbol.asyncDispose]();
        }
      }
    }
  },
);

browserTest(
  "day separators in Chromium: what was said before midnight reads under Yesterday (the page's clock a day ahead)",
  async () => {
    // The protocol cannot backdate a message, so the page is the one moved: its clock starts a
    // day ahead and runs on, and today's messages are yesterday's to it.
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    await using bob = await TestClient.joined(server.port, "bob");
    await using chen = await TestClient.joined(server.port, "chen");
    await say(bob, chen, "leaving now, the release is tagged :white_check_mark:");
    await say(bob, chen, "notes are in the wiki");
    await say(chen, bob, "thanks, see you tomorrow");
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.browser.newContext({
        viewport: { width: 1280, height: 800 },
        colorScheme,
        reducedMotion: "reduce",
      });
      await context.clock.install({ time: Date.now() + 24 * 60 * 60 * 1000 });
      const watched = await browser.open(server.origin, { context });
      const page = watched.page;
      await join(page, colorScheme === "light" ? "ana" : "ana2");
      await messageRows(page, "see you tomorrow").waitFor({ timeout: pageDeadlineMs });
      // This morning: someone comes in.
      const newcomer = `dana-${colorScheme}`;
      await using _dana = await TestClient.joined(server.port, newcomer);
      await page.locator(".row.notice").filter({ hasText: `${newcomer} joined` }).waitFor({
        timeout: pageDeadlineMs,
      });
      assertEquals(await activePanel(page).locator(".day").allTextContents(), [
        "Yesterday",
        "Today",
      ]);
      await page.locator("#composer-input").blur();
      await screenshot(page, `web-team-two-days-1280x800-${colorScheme}`);
      browser.assertClean(server.origin, [watched]);
      await context.close();
    }
  },
);
