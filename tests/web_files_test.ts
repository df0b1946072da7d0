/**
 * Files in the page (issue #16), in Chromium against a real `lanchat serve`
 * process: a file attached with the paperclip reaches a terminal client and
 * another page, which saves it byte for byte; files dropped on the
 * conversation and a picture pasted from the clipboard are sent to it (a
 * direct conversation's to the other person only); a picture shows as a
 * thumbnail (full size on a click) while SVG and HTML named .png stay file
 * cards, never rendered; a file over the server's limit is refused before
 * any byte goes; an upload cut by a server restart waits, then resumes; 200
 * MiB sent by a real `lanchat send` process arrive in Chromium identical (a
 * download shows its progress and cancels); and screenshots of a
 * conversation with a thumbnail, a card and an upload in progress
 * (web-files-*). Without /usr/bin/chromium these tests are ignored loudly,
 * and fail when CI=true.
 */
import { assert, assertEquals } from "./_assert.ts";
import { type Received, TestClient } from "./_helpers.ts";
import { lanchatToEnd } from "./fixtures/client_process.ts";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { Page } from "playwright-core";
import { generateKeyPair } from "../lib/wire/identity.ts";
import { randomBytes, sha256Hex, upload } from "./fixtures/raw_transfers.ts";
import type { FileInfo } from "../lib/wire/protocol.ts";
import { decodable, sniffImage } from "../lib/web/page/image_bytes.ts";
import { durationText, transferText } from "../lib/web/page/transfer_words.ts";
import {
  activePanel,
  browserTest,
  join,
  pageDeadlineMs,
  screenshot,
  send,
  serveWebOnLoopback,
  TestBrowser,
  waitForConversation,
  waitForValue,
} from "./fixtures/web_browser.ts";

const roomName = "office-pc";
/** Uploads and downloads of megabytes take longer than a click. */
const transferDeadlineMs = 60_000;

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Uploads `bytes` as a terminal client does (PROTOCOL.md 10.3); resolves with the file's id. */
async function uploadRaw(
  client: TestClient,
  bytes: Uint8Array,
  name: string,
  mime: string,
): Promise<number> {
  const { id, answer } = await upload(client, bytes, { mime }, name);
  assertEquals(answer.type, "uploaded", JSON.stringify(answer));
  return id;
}

/** The next file message named `name` that `client` receives. */
function fileMessage(client: TestClient, name: string, ms = transferDeadlineMs): Promise<Received> {
  return client.next(
    (m) => m.type === "msg" && (m.file as FileInfo | undefined)?.name === name,
    ms,
  );
}

/** A PNG of `width`×`height` drawn by the page's own canvas (bands of colour and a circle). */
async function pngFrom(page: Page, width: number, height: number): Promise<Uint8Array> {
  const url = await page.evaluate(`(() => {
    const canvas = document.createElement("canvas");
    canvas.width = ${width};
    canvas.height = ${height};
    const context = canvas.getContext("2d");
    const colours = ["#2f6fd6", "#47cd89", "#fdb022", "#f670c7"];
    colours.forEach((colour, i) => {
      context.fillStyle = colour;
      context.fillRect(0, (i * canvas.height) / 4, canvas.width, canvas.height / 4);
    });
    context.fillStyle = "#ffffff";
    context.beginPath();
    context.arc(canvas.width / 2, canvas.height / 2, canvas.height / 4, 0, Math.PI * 2);
    context.fill();
    return canvas.toDataURL("image/png");
  })()`) as string;
  return Uint8Array.fromBase64(url.slice(url.indexOf(",") + 1));
}

/** The message row of file message `id`. */
function fileRow(page: Page, id: number) {
  return page.locator(`.row.msg[data-id="${id}"]`);
}

/** Clicks `button` and resolves with the SHA-256 of what the browser saved, and its name. */
async function download(page: Page, button: ReturnType<Page["locator"]>) {
  const [saved] = await Promise.all([
    page.waitForEvent("download", { timeout: transferDeadlineMs }),
    button.click(),
  ]);
  const path = await saved.path();
  return { name: saved.suggestedFilename(), sha256: await fileSha256(path) };
}

Deno.test("the page tells pictures by their bytes, not by what a file says it is", () => {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
  const size = [0, 0, 3, 32, 0, 0, 2, 88]; // 800 × 600
  assertEquals(sniffImage(new Uint8Array([...png, ...size])), {
    type: "image/png",
    width: 800,
    height: 600,
  });
  const gif = new TextEncoder().encode("GIF89a");
  assertEquals(sniffImage(new Uint8Array([...gif, 10, 0, 20, 0]))?.type, "image/gif");
  const webp = new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8X");
  assertEquals(sniffImage(webp)?.type, "image/webp");
  assertEquals(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))?.type, "image/jpeg");
  for (
    const text of [
      "<svg xmlns='http://www.w3.org/2000/svg'/>",
      "<!doctype html><p>",
      "RIFF1234WAVE",
    ]
  ) {
    assertEquals(sniffImage(new TextEncoder().encode(text)), null, text);
  }
  // A small file that would unpack into gigabytes is not decoded.
  const huge = [0, 0, 0x9c, 0x40, 0, 0, 0x9c, 0x40]; // 40000 × 40000
  assertEquals(decodable(sniffImage(new Uint8Array([...png, ...huge]))!), false);
});

Deno.test("a transfer's line says percent, speed and time left, or why it waits or failed", () => {
  const progress = {
    state: "sending" as const,
    done: 42,
    total: 100,
    bytesPerSecond: 11_800_000,
    secondsLeft: 7.2,
    bytesOnWire: 42,
    problem: null,
  };
  assertEquals(
    transferText(progress, { queued: false, offline: false }),
    "42% · 11.8 MB/s · 8 s left",
  );
  assertEquals(
    transferText({ ...progress, state: "waiting" }, { queued: false, offline: true }),
    "Waiting to resume (offline) · 42%",
  );
  assertEquals(
    transferText({ ...progress, state: "failed", problem: "store_full: the disk is full" }, {
      queued: false,
      offline: false,
    }),
    "store_full: the disk is full",
  );
  assertEquals(durationText(3725), "1 h 2 min");
  assertEquals(durationText(90), "2 min");
});

browserTest(
  "a file attached in the page reaches a terminal client and another page, which saves it byte for byte",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const ana = (await browser.open(server.origin)).page;
    await join(ana, "ana");
    const cy = (await browser.open(server.origin)).page;
    await join(cy, "cy");
    await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());

    const bytes = randomBytes(3 * 1024 * 1024 + 777);
    await ana.locator("#attach-input").setInputFiles({
      name: "report.pdf",
      mimeType: "application/pdf",
      buffer: Buffer.from(bytes),
    });
    const seen = await fileMessage(bob, "report.pdf");
    const file = seen.file as FileInfo;
    assertEquals(file.size, bytes.length);
    assertEquals(file.sha256, sha256Hex(bytes));
    assertEquals(file.mime, "application/pdf");

    const card = fileRow(cy, Number(seen.id)).locator(".file-card");
    await card.waitFor({ timeout: pageDeadlineMs });
    const cardText = await card.textContent() ?? "";
    assert(/report\.pdf/.test(cardText) && /3\.1 MB/.test(cardText), cardText);
    assert(/application\/pdf/.test(cardText), cardText);
    const saved = await download(cy, card.locator(".file-download"));
    assertEquals(saved, { name: "report.pdf", sha256: file.sha256 });

    // The sender sees its file as everyone does, and its transfer is off the list.
    await fileRow(ana, Number(seen.id)).locator(".file-card").waitFor({ timeout: pageDeadlineMs });
    await ana.locator("#transfers").waitFor({ state: "detached", timeout: pageDeadlineMs });
    browser.assertClean(server.origin);
  },
);

browserTest(
  "files dropped on the conversation and a picture pasted from the clipboard are sent to it",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const ana = (await browser.open(server.origin)).page;
    await join(ana, "ana");
    await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());

    // A drag of files over the conversation shows where they go; the drop sends them.
    await ana.evaluate(`(() => {
    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    const data = new DataTransfer();
    data.items.add(new File([bytes], "dropped.bin", { type: "application/octet-stream" }));
    data.items.add(new File(["two\\n"], "second.txt", { type: "text/plain" }));
    globalThis.dragged = data;
    document.querySelector("main.chat")
      .dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true, cancelable: true }));
  })()`);
    const zone = ana.locator("#drop-zone");
    await zone.waitFor({ timeout: pageDeadlineMs });
    assertEquals(await zone.textContent(), `Drop to send to # ${roomName}`);
    await ana.evaluate(`document.querySelector("#composer-input")
    .dispatchEvent(new DragEvent("drop", { dataTransfer: globalThis.dragged, bubbles: true, cancelable: true }))`);
    await zone.waitFor({ state: "detached", timeout: pageDeadlineMs });
    const dropped = await fileMessage(bob, "dropped.bin");
    const expected = new Uint8Array(5000).map((_, i) => i % 251);
    assertEquals((dropped.file as FileInfo).sha256, sha256Hex(expected));
    assertEquals((await fileMessage(bob, "second.txt")).file, {
      name: "second.txt",
      size: 4,
      mime: "text/plain",
      sha256: sha256Hex(new TextEncoder().encode("two\n")),
    });

    // A screenshot pasted in the message box is sent; the box stays empty.
    const png = await pngFrom(ana, 64, 48);
    await ana.locator("#composer-input").focus();
    await ana.evaluate(`(() => {
    const bytes = Uint8Array.fromBase64(${JSON.stringify(png.toBase64())});
    const data = new DataTransfer();
    data.items.add(new File([bytes], "image.png", { type: "image/png" }));
    document.activeElement
      .dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  })()`);
    const pasted = await fileMessage(bob, "image.png");
    assertEquals(pasted.file, {
      name: "image.png",
      size: png.length,
      mime: "image/png",
      sha256: sha256Hex(png),
    });
    assertEquals(await ana.locator("#composer-input").inputValue(), "");
    await fileRow(ana, Number(pasted.id)).locator(".thumb img").waitFor({
      timeout: pageDeadlineMs,
    });

    // In a direct conversation, a file goes to the other person only.
    await send(ana, "/msg bob one for you");
    await waitForConversation(ana, "bob");
    await ana.locator("#attach-input").setInputFiles({
      name: "for-bob.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("only for bob\n"),
    });
    const direct = await fileMessage(bob, "for-bob.txt");
    assertEquals(direct.to, "bob");
    await activePanel(ana).locator(`.row.msg[data-id="${direct.id}"] .file-card`).waitFor({
      timeout: pageDeadlineMs,
    });
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a picture shows as a thumbnail and full size on a click; SVG and HTML named .png stay cards, never rendered",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const ana = (await browser.open(server.origin)).page;
    await join(ana, "ana");
    await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());

    const photo = await uploadRaw(bob, await pngFrom(ana, 800, 600), "harbour.png", "image/png");
    const svg = new TextEncoder().encode(
      `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert('svg')">` +
        `<script>alert('svg script')</script><rect width="10" height="10"/></svg>`,
    );
    const logo = await uploadRaw(bob, svg, "logo.svg", "image/svg+xml");
    const html = new TextEncoder().encode(
      `<!doctype html><html><body><script>alert("html")</script><img src=x onerror=alert(1)></body></html>`,
    );
    const fake = await uploadRaw(bob, html, "cat.png", "image/png");

    const thumb = fileRow(ana, photo).locator(".thumb img");
    await thumb.waitFor({ timeout: pageDeadlineMs });
    assertEquals(await thumb.getAttribute("width"), "320");
    assertEquals(await thumb.getAttribute("height"), "240");
    assert((await thumb.getAttribute("src"))?.startsWith("blob:"), "a thumbnail made by the page");
    await waitForValue<number>(
      ana,
      `document.querySelector('.row.msg[data-id="${photo}"] .thumb img')?.naturalWidth ?? 0`,
      (width) => width > 0,
      "the thumbnail loads under the page's CSP",
    );
    await thumb.click();
    const viewer = ana.locator("#picture-viewer[open] img.picture-full");
    await viewer.waitFor({ timeout: pageDeadlineMs });
    await waitForValue<number>(
      ana,
      `document.querySelector("#picture-viewer img")?.naturalWidth ?? 0`,
      (width) => width === 800,
      "the picture full size",
    );
    await ana.keyboard.press("Escape");
    await ana.locator("#picture-viewer[open]").waitFor({
      state: "detached",
      timeout: pageDeadlineMs,
    });

    for (const id of [logo, fake]) {
      const card = fileRow(ana, id).locator(".file-card");
      await card.locator(".file-meta").filter({ hasText: /image\// }).waitFor({
        timeout: pageDeadlineMs,
      });
      assertEquals(await fileRow(ana, id).locator("img, svg, iframe, object").count(), 0);
    }
    // The HTML named .png was fetched and refused by its bytes; nothing of either ran.
    browser.assertClean(server.origin);
  },
);

browserTest(
  "a file over the server's limit is refused at once with the limit in words; without files the paperclip says why",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName, "--max-file-size", "1MiB"]);
    await using browser = await TestBrowser.launch();
    const ana = (await browser.open(server.origin)).page;
    await join(ana, "ana");
    await ana.locator("#attach-input").setInputFiles({
      name: "big.iso",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(new Uint8Array(2 * 1024 * 1024)),
    });
    const refusal = ana.locator(".row.notice.error").filter({ hasText: "big.iso" });
    await refusal.waitFor({ timeout: pageDeadlineMs });
    assertEquals(
      await refusal.locator(".content").textContent(),
      `Not sent: this server takes files up to 1.0 MB; "big.iso" is 2.1 MB.`,
    );
    assertEquals(await ana.locator("#transfers").count(), 0, "nothing was read or sent");

    await using plain = await serveWebOnLoopback(["--name", roomName, "--no-files"]);
    const bo = (await browser.open(plain.origin)).page;
    await join(bo, "bo");
    const attach = bo.locator("#attach");
    await attach.waitFor({ timeout: pageDeadlineMs });
    assert(await attach.isDisabled(), "no files on this server: the paperclip is off");
    assertEquals(
      await attach.getAttribute("title"),
      "Cannot attach files: this server does not take files",
    );
    browser.assertClean(server.origin, browser.pages.slice(0, 1));
  },
);

browserTest(
  "an upload cut by a server restart waits to resume, then finishes from where the server got",
  async () => {
    const folder = await Deno.makeTempDir({ prefix: "lanchat-web-resume-" });
    try {
      const stored = ["--name", roomName, "--db", `${folder}/history.db`];
      const first = await serveWebOnLoopback([...stored, "--files-dir", `${folder}/files`]);
      const samePorts = ["--port", String(first.port), "--web-port", new URL(first.origin).port];
      await using browser = await TestBrowser.launch();
      const ana = (await browser.open(first.origin)).page;
      await join(ana, "ana");
      const path = `${folder}/backup.tar`;
      const bytes = randomBytes(64 * 1024 * 1024);
      await Deno.writeFile(path, bytes);
      await ana.locator("#attach-input").setInputFiles(path);
      const status = `document.querySelector("#transfers .transfer-status")?.textContent ?? ""`;
      await waitForValue<string>(
        ana,
        status,
        (text) => /^([1-6]\d)% · /.test(text),
        "the upload under way",
        transferDeadlineMs,
      );
      await first[Symbol.asyncDispose](); // killed: the bytes on its disk stay
      const waiting = await waitForValue<string>(
        ana,
        status,
        (text) => text.startsWith("Waiting to resume (offline)"),
        "the upload waits for the connection",
      );
      console.log(`while the server is down: ${waiting}`);

      await using second = await serveWebOnLoopback([
        ...stored,
        "--files-dir",
        `${folder}/files`,
        ...samePorts,
      ]);
      // Resumed, not started again: the first percent seen after the restart is where it stood.
      const resumed = await waitForValue<string>(
        ana,
        status,
        (text) => /^\d+% · /.test(text) || text === "" || text === "Checking…",
        "the upload resumes",
        transferDeadlineMs,
      );
      const percent = (text: string) => Number(/(\d+)%/.exec(text)?.[1] ?? 100);
      assert(percent(resumed) >= percent(waiting), `${waiting}, then ${resumed}`);
      await ana.locator("#transfers").waitFor({ state: "detached", timeout: transferDeadlineMs });
      const card = ana.locator(".file-card").filter({ hasText: "backup.tar" });
      await card.waitFor({ timeout: pageDeadlineMs });
      const saved = await download(ana, card.locator(".file-download"));
      assertEquals(saved, { name: "backup.tar", sha256: sha256Hex(bytes) });
      browser.assertClean(second.origin);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  },
);

browserTest(
  "acceptance: 200 MiB sent by a real `lanchat send` process are saved by Chromium and by `lanchat get` byte for byte",
  async () => {
    await using server = await serveWebOnLoopback(["--name", roomName]);
    await using browser = await TestBrowser.launch();
    const ana = (await browser.open(server.origin)).page;
    await join(ana, "ana");
    const folder = await Deno.makeTempDir({ prefix: "lanchat-web-acceptance-" });
    let sha256: string, id: number;
    let started = Date.now();
    try {
      const path = `${folder}/disk.img`;
      const bytes = randomBytes(200 * 1024 * 1024);
      sha256 = sha256Hex(bytes);
      await Deno.writeFile(path, bytes);
      const sent = await lanchatToEnd(
        ["send", `127.0.0.1:${server.port}`, path, "--json", "--nick", "bob"],
        { timeoutMs: transferDeadlineMs },
      );
      assertEquals(sent.code, 0, sent.stderr);
      const report = JSON.parse(sent.stdout.trim().split("\n").at(-1)!) as {
        id: number;
        sha256: string;
      };
      assertEquals(report.sha256, sha256);
      id = report.id;
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
    console.log(`lanchat send of 200 MiB: ${Date.now() - started} ms`);

    const card = fileRow(ana, id).locator(".file-card");
    await card.waitFor({ timeout: pageDeadlineMs });
    // A download shows its progress and can be cancelled: nothing is saved then.
    let saves = 0;
    ana.on("download", () => saves++);
    await card.locator(".file-download").click();
    const line = await waitForValue<string>(
      ana,
      `document.querySelector("#transfers .transfer-status")?.textContent ?? ""`,
      (text) => /^\d+% · .*\/s · .* left$/.test(text),
      "the download under way",
    );
    console.log(`a download under way: ${line}`);
    await ana.locator("#transfers .transfer-cancel").click();
    await ana.locator("#transfers").waitFor({ state: "detached", timeout: pageDeadlineMs });
    assertEquals(saves, 0, "a cancelled download saves nothing");

    started = Date.now();
    const saved = await download(ana, card.locator(".file-download"));
    console.log(`Chromium download of 200 MiB, verified and saved: ${Date.now() - started} ms`);
    assertEquals(saved, { name: "disk.img", sha256 });
    browser.assertClean(server.origin);

    // And a real `lanchat get` saves the same bytes.
    const copies = await Deno.makeTempDir({ prefix: "lanchat-web-acceptance-get-" });
    try {
      started = Date.now();
      const got = await lanchatToEnd(
        ["get", `127.0.0.1:${server.port}`, String(id), "-o", `${copies}/copy.img`, "--guest"],
        { timeoutMs: transferDeadlineMs },
      );
      assertEquals(got.code, 0, got.stderr);
      console.log(`lanchat get of 200 MiB: ${Date.now() - started} ms`);
      assertEquals(sha256Hex(await Deno.readFile(`${copies}/copy.img`)), sha256);
    } finally {
      await Deno.remove(copies, { recursive: true });
    }
  },
);

/** A conversation with a thumbnail, a card and an upload held mid-way (the server paused). */
async function filesScreenshot(
  name: string,
  options: { viewport: { width: number; height: number }; isMobile: boolean },
): Promise<string> {
  await using server = await serveWebOnLoopback(["--name", roomName]);
  await using browser = await TestBrowser.launch();
  const context = await browser.browser.newContext({
    viewport: options.viewport,
    isMobile: options.isMobile,
    hasTouch: options.isMobile,
    colorScheme: "light",
    reducedMotion: "reduce",
  });
  const ana = (await browser.open(server.origin, { context })).page;
  await join(ana, "ana");
  await using bob = await TestClient.keyed(server.port, "bob", generateKeyPair());
  await bob.say("the harbour this morning:");
  const photo = await uploadRaw(bob, await pngFrom(ana, 900, 600), "harbour.png", "image/png");
  await bob.say("and the minutes from Tuesday");
  const minutes = await uploadRaw(
    bob,
    new TextEncoder().encode("minutes\n".repeat(30_000)),
    "minutes-2025-11-18.pdf",
    "application/pdf",
  );
  await fileRow(ana, photo).locator(".thumb img").waitFor({ timeout: pageDeadlineMs });
  await fileRow(ana, minutes).locator(".file-card").waitFor({ timeout: pageDeadlineMs });

  // An upload held mid-way: the server stops taking bytes, so the line stays put for the picture.
  const folder = await Deno.makeTempDir({ prefix: "lanchat-web-files-" });
  const big = `${folder}/site-backup-november.zip`;
  try {
    await Deno.writeFile(big, randomBytes(48 * 1024 * 1024));
    await ana.locator("#attach-input").setInputFiles(big);
    await waitForValue<string>(
      ana,
      `document.querySelector("#transfers .transfer-status")?.textContent ?? ""`,
      (text) => /^([2-8]\d)% · .* left$/.test(text),
      "the upload under way",
      transferDeadlineMs,
    );
    server.kill("SIGSTOP");
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the last progress report lands
      return await screenshot(ana, name);
    } finally {
      server.kill("SIGCONT");
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

browserTest(
  "screenshots: a conversation with a picture, a file and an upload (desktop, phone)",
  async () => {
    const desktop = await filesScreenshot("web-files-desktop", {
      viewport: { width: 1280, height: 800 },
      isMobile: false,
    });
    const phone = await filesScreenshot("web-files-phone", {
      viewport: { width: 390, height: 844 },
      isMobile: true,
    });
    console.log(`screenshots: ${desktop} ${phone}`);
  },
);
