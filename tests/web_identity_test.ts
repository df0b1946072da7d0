/**
 * Identity on the web page (issue #14, PROTOCOL.md section 8), in real
 * Chromium against a real `lanchat serve` process: the device key made
 * silently and shared by the tabs of one browser profile, the refusal of
 * someone else's nick with "I have a code", "Add a device" and joining with
 * its code, a wrong code refused with the server's words, the person card
 * with the account's fingerprints, and a damaged stored key replaced.
 * Without /usr/bin/chromium these tests are ignored loudly, and fail when
 * CI=true.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { TestClient, text } from "./_helpers.ts";
import { fingerprint, keyPairFromSecret } from "../lib/wire/identity.ts";
import { fromBase64 } from "../lib/wire/base64.ts";
import type { Page } from "playwright-core";
import {
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
  waitForStatus,
} from "./fixtures/web_browser.ts";

/** The page's own lines (joins, errors, notices) whose text matches. */
function noticeRows(page: Page, pattern: string | RegExp) {
  return page.locator(".row.notice .content").filter({ hasText: pattern });
}

/** The fingerprint of the device key this page's browser profile keeps. */
async function storedFingerprint(page: Page): Promise<string> {
  const stored = await page.evaluate(() => localStorage.getItem("lanchat.deviceKey"));
  assert(stored !== null, "no device key in localStorage");
  const parsed = JSON.parse(stored) as { version: number; secretKey: string };
  assertEquals(parsed.version, 1);
  return fingerprint(keyPairFromSecret(fromBase64(parsed.secretKey)).publicKey);
}

/** Waits until `page`'s online list holds exactly `nicks`, in the list's order. */
async function waitForList(page: Page, nicks: string[]): Promise<void> {
  const want = JSON.stringify(nicks);
  try {
    // A string: the expression runs in the page, where `document` is.
    await page.waitForFunction(
      "JSON.stringify([...document.querySelectorAll('#user-list .user-nick')]" +
        `.map((nick) => nick.textContent)) === ${JSON.stringify(want)}`,
      undefined,
      { timeout: pageDeadlineMs },
    );
  } catch (error) {
    const seen = await page.locator("#user-list .user-nick").allTextContents();
    throw new Error(`online list ${JSON.stringify(seen)}, expected ${want}`, { cause: error });
  }
}

browserTest(
  "two tabs of one browser profile join as the same person at once, listed once",
  async () => {
    await using server = await serveWebOnLoopback();
    await using browser = await TestBrowser.launch();
    // A keyless (version-1) client in first: a guest, marked as such in the list.
    await using term = await TestClient.joined(server.port, "term");

    const first = await browser.open(server.origin);
    await join(first.page, "ana");
    const key = await storedFingerprint(first.page);
    // The second tab of the same profile: the remembered nick, the same device key, no prompt.
    const second = await browser.open(server.origin, { context: first.context });
    await waitForStatus(second.page, /^Online$/);
    assert(await second.page.locator("#nick-dialog").isHidden(), "the second tab was asked");
    assertEquals(await storedFingerprint(second.page), key);
    for (const { page } of [first, second]) {
      await waitForList(page, ["ana", "term"]);
      await userButton(page, "ana").locator(".you").waitFor({ timeout: pageDeadlineMs });
      assertEquals(await page.locator("#people-count").textContent(), "2");
    }
    await userButton(first.page, "term").locator(".guest-mark").waitFor({
      timeout: pageDeadlineMs,
    });
    assertEquals(await userButton(first.page, "ana").locator(".guest-mark").count(), 0);

    // Both tabs get what is said to ana, privately too.
    await term.say("for ana only", { to: "ana" });
    for (const { page } of [first, second]) {
      await conversationEntry(page, "term").waitFor({ timeout: pageDeadlineMs });
    }
    await send(second.page, "from the second tab");
    const said = await term.next((m) => m.type === "msg" && text(m) === "from the second tab");
    assertEquals(said.from, "ana");
    await messageRows(first.page, "from the second tab").waitFor({ timeout: pageDeadlineMs });
    // By then the room would have heard a second ana join: it heard one.
    assertEquals(term.all("joined").filter((m) => m.nick === "ana").length, 1);
    await screenshot(first.page, "web-identity-two-tabs");
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a fresh profile asking for an owned nick is offered a code; a wrong code is refused in the server's words; Add a device's code joins it as the same person",
  async () => {
    await using server = await serveWebOnLoopback();
    await using browser = await TestBrowser.launch();
    const laptop = await browser.open(server.origin);
    await join(laptop.page, "ana");
    await using term = await TestClient.joined(server.port, "term");

    // Another profile asks for "ana": refused, with what to do if it is theirs.
    const phone = await browser.open(server.origin);
    const nickInput = phone.page.locator("#nick-input");
    await nickInput.fill("ana");
    await nickInput.press("Enter");
    const refusal = phone.page.locator("#nick-error").filter({
      hasText: "'ana' belongs to someone else on this server. Pick another nick, " +
        "or if it is yours, use a code from one of your devices.",
    });
    await refusal.waitFor({ timeout: pageDeadlineMs });
    const haveCode = phone.page.locator("#nick-other");
    assertEquals(await haveCode.textContent(), "I have a code");
    await screenshot(phone.page, "web-identity-nick-owned");

    // Something that cannot be a code is refused on the page, before anything is sent.
    await haveCode.click();
    const codeInput = phone.page.locator("#code-input");
    await codeInput.waitFor({ timeout: pageDeadlineMs });
    await codeInput.fill("hello");
    await codeInput.press("Enter");
    await phone.page.locator("#code-error").filter({ hasText: /^That is not a code/ }).waitFor({
      timeout: pageDeadlineMs,
    });
    // A code of the right form that the server never gave: refused in its words, asked again.
    await codeInput.fill("0000-0000");
    await codeInput.press("Enter");
    const serverRefusal = phone.page.locator("#code-error").filter({
      hasNotText: /^That is not a code/,
    }).filter({ hasText: /\S/ });
    await serverRefusal.waitFor({ timeout: pageDeadlineMs });
    assertMatch((await serverRefusal.textContent()) ?? "", /code/i);
    assert(await phone.page.locator("#code-dialog").isVisible(), "the code prompt closed");
    assertEquals(await codeInput.inputValue(), "0000-0000");
    assertEquals(await userButton(laptop.page, "ana").count(), 1);
    await screenshot(phone.page, "web-identity-code-refused");

    // "Add a device" on the laptop: the code, big, and the time it has left, counting down.
    await laptop.page.locator("#add-device").click();
    const codeShown = laptop.page.locator("#link-code");
    await codeShown.waitFor({ timeout: pageDeadlineMs });
    const code = (await codeShown.textContent()) ?? "";
    assertMatch(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const expires = laptop.page.locator("#link-expires");
    const before = (await expires.textContent()) ?? "";
    assertMatch(before, /^Works once, for (9:[0-5]\d|10:00) more\.$/);
    await expires.filter({ hasNotText: before }).waitFor({ timeout: 3000 });
    assertMatch(
      await laptop.page.locator("#link-dialog").innerText(),
      // The chat port is not the default one here: the command names it.
      new RegExp(`lanchat join 127\\.0\\.0\\.1:${server.port} --link ${code}`),
    );
    await screenshot(laptop.page, "web-identity-add-device");

    // Typed on the phone as people do (lower case, a space for the dash): it joins as ana.
    await codeInput.fill(code.toLowerCase().replace("-", " "));
    await codeInput.press("Enter");
    await waitForStatus(phone.page, /^Online$/);
    await userButton(phone.page, "ana").locator(".you").waitFor({ timeout: pageDeadlineMs });
    const phoneKey = await storedFingerprint(phone.page);
    assert(phoneKey !== await storedFingerprint(laptop.page), "the profiles share a key");
    const phoneShort = `${phoneKey.slice(0, 19)}…`;
    await noticeRows(laptop.page, `A device was added to your account: ${phoneShort} (`).waitFor({
      timeout: pageDeadlineMs,
    });
    await laptop.page.locator("#link-used").filter({ hasText: phoneKey }).waitFor({
      timeout: pageDeadlineMs,
    });
    await noticeRows(phone.page, `This device was added to your account: ${phoneShort}`).waitFor({
      timeout: pageDeadlineMs,
    });
    await laptop.page.locator("#link-close").click();
    assert(await laptop.page.locator("#link-dialog").isHidden(), "Add a device stayed open");
    for (const { page } of [laptop, phone]) await waitForList(page, ["ana", "term"]);

    // Both devices get ana's private messages; the phone remembers the account's nick.
    await term.say("to both of your devices", { to: "ana" });
    for (const { page } of [laptop, phone]) {
      await conversationEntry(page, "term").waitFor({ timeout: pageDeadlineMs });
    }
    assertEquals(await phone.page.evaluate(() => localStorage.getItem("lanchat.nick")), "ana");
    browser.assertClean(server.origin);
  },
);

browserTest(
  "clicking a person shows their card: account or guest, and the devices' fingerprints",
  async () => {
    await using server = await serveWebOnLoopback();
    await using browser = await TestBrowser.launch();
    await using term = await TestClient.joined(server.port, "term");
    const ana = await browser.open(server.origin);
    await join(ana.page, "ana");
    const anaKey = await storedFingerprint(ana.page);
    const bob = await browser.open(server.origin);
    await join(bob.page, "bob");

    // Bob clicks ana: one device, by its short fingerprint, online now.
    await userButton(bob.page, "ana").click();
    const card = bob.page.locator("#person-card");
    await card.locator(".account").filter({ hasText: /^Account since / }).waitFor({
      timeout: pageDeadlineMs,
    });
    const devices = card.locator(".device");
    assertEquals(await devices.count(), 1);
    assertEquals(await devices.locator(".fingerprint").textContent(), anaKey.slice(0, 19));
    assertEquals(await devices.getAttribute("data-fingerprint"), anaKey);
    assertMatch((await devices.locator(".device-when").textContent()) ?? "", /online now$/);
    assertEquals(await card.locator(".this-device").count(), 0);
    await screenshot(bob.page, "web-identity-person-card");

    // The card's button opens the private conversation; a double-click still does too.
    await card.getByRole("button", { name: "Private message" }).click();
    await conversationEntry(bob.page, "ana").and(bob.page.locator(".active")).waitFor({
      timeout: pageDeadlineMs,
    });
    assert(await card.isHidden(), "the card stayed open");

    // A guest's card says so, with no devices; the About button opens it from the keyboard.
    await bob.page.getByRole("button", { name: "About term", exact: true }).press("Enter");
    await card.locator(".account").filter({ hasText: /^Guest/ }).waitFor({
      timeout: pageDeadlineMs,
    });
    assertEquals(await card.locator(".device").count(), 0);
    await card.getByRole("button", { name: "Close the card" }).click();
    assert(await card.isHidden(), "the card did not close");

    // My own card marks this device, and offers to add another.
    await userButton(ana.page, "ana").click();
    const own = ana.page.locator("#person-card");
    await own.locator(".this-device").waitFor({ timeout: pageDeadlineMs });
    assertEquals(await own.locator(".fingerprint").textContent(), anaKey.slice(0, 19));
    await own.getByRole("button", { name: "Add a device" }).waitFor({ timeout: pageDeadlineMs });
    assert(term.all("msg").length === 0, "a card sent a message");

    // The same facts by command: /whois prints them, /link opens Add a device and says the code.
    await send(bob.page, "/whois ana");
    await noticeRows(bob.page, /^ana: account since \d{4}-\d\d-\d\d, 1 device$/).waitFor({
      timeout: pageDeadlineMs,
    });
    await noticeRows(bob.page, `${anaKey.slice(0, 19)}…`).waitFor({ timeout: pageDeadlineMs });
    await send(ana.page, "/link");
    const code = ana.page.locator("#link-code");
    await code.waitFor({ timeout: pageDeadlineMs });
    const shown = (await code.textContent()) ?? "";
    await noticeRows(
      ana.page,
      `Code ${shown}: on the new device run \`lanchat join 127.0.0.1:${server.port} --link ${shown}\``,
    )
      .waitFor({ timeout: pageDeadlineMs });
    await ana.page.keyboard.press("Escape");
    assert(await ana.page.locator("#link-dialog").isHidden(), "Escape left Add a device open");
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a damaged device key in the browser is replaced by a new one, and said so",
  async () => {
    await using server = await serveWebOnLoopback();
    await using browser = await TestBrowser.launch();
    const first = await browser.open(server.origin);
    await first.page.evaluate(() => localStorage.setItem("lanchat.deviceKey", "{not json"));
    await first.page.reload();
    await noticeRows(first.page, /device key was damaged, so the page made a new one/).waitFor({
      state: "attached",
      timeout: pageDeadlineMs,
    });
    const replaced = await storedFingerprint(first.page);
    await join(first.page, "ana");
    // The new key is the one kept: a reload is the same person, with no complaint.
    await first.page.reload();
    await waitForStatus(first.page, /^Online$/);
    assertEquals(await storedFingerprint(first.page), replaced);
    assertEquals(await noticeRows(first.page, /damaged/).count(), 0);
    await userButton(first.page, "ana").locator(".you").waitFor({ timeout: pageDeadlineMs });
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a first visit can join with a code before typing any nick; after a refused code, Back picks another nick",
  async () => {
    await using server = await serveWebOnLoopback();
    await using browser = await TestBrowser.launch();
    const laptop = await browser.open(server.origin);
    await join(laptop.page, "ana");
    await laptop.page.locator("#add-device").click();
    const code = (await laptop.page.locator("#link-code").textContent()) ?? "";
    assertMatch(code, /^\w{4}-\w{4}$/);

    // "I have a code" at once, while the page still waits for the first nick.
    const tablet = await browser.open(server.origin);
    await tablet.page.locator("#nick-other").click();
    await tablet.page.locator("#code-input").fill(code);
    await tablet.page.locator("#code-input").press("Enter");
    await waitForStatus(tablet.page, /^Online$/);
    await userButton(tablet.page, "ana").locator(".you").waitFor({ timeout: pageDeadlineMs });
    await laptop.page.locator("#link-used").waitFor({ timeout: pageDeadlineMs });
    await waitForList(laptop.page, ["ana"]);

    // The same code again, from a third profile: used, so refused; Back, and another nick.
    const other = await browser.open(server.origin);
    await other.page.locator("#nick-other").click();
    await other.page.locator("#code-input").fill(code);
    await other.page.locator("#code-input").press("Enter");
    await other.page.locator("#code-error").filter({ hasText: /\S/ }).waitFor({
      timeout: pageDeadlineMs,
    });
    await other.page.locator("#code-other").click();
    await join(other.page, "carol");
    await waitForList(laptop.page, ["ana", "carol"]);
    await waitForList(tablet.page, ["ana", "carol"]);
    browser.assertClean(server.origin);
  },
);
