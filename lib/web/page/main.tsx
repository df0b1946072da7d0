/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's entry point, bundled into lib/web/app.js by `deno task
 * bundle-web`: makes the page's ChatPage, draws it into `#app`, and ties it
 * to the browser's life cycle (visibility, leaving, the back/forward cache).
 *
 * Owns: those few lines of wiring. Everything else is chat_page.ts (state),
 * view/ (drawing) and the client core it uses.
 */
import { render } from "preact";
import { ChatPage } from "./chat_page.ts";
import { App } from "./view/app.tsx";
import { composerId } from "./view/composer.tsx";
import { showNotification } from "./view/notifications.ts";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html lacks #app");

const page = new ChatPage({
  focusComposer(onlyIfIdle = false) {
    const idle = document.activeElement === null || document.activeElement === document.body;
    if (!onlyIfIdle || idle) document.getElementById(composerId)?.focus();
  },
  confirm: (text) => confirm(text),
  notify: showNotification,
});
render(<App page={page} />, root);

page.setVisible(!document.hidden);
document.addEventListener("visibilitychange", () => page.setVisible(!document.hidden));
globalThis.addEventListener("pagehide", () => page.leave());
globalThis.addEventListener("pageshow", (event) => {
  // Back from the back/forward cache: the old session is gone, start a fresh one.
  if (event.persisted) location.reload();
});
page.start();
