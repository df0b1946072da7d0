/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The bar on top: the room's name, the connection's state (with a countdown
 * to the next attempt and "Retry now" while offline), and the search box.
 *
 * Owns: the status line's markup and its one-second countdown timer.
 * Imports preact and the page's types.
 */
import { useEffect, useState } from "preact/hooks";
import type { ChatPage, Status } from "../chat_page.ts";

/** The status text, counting down to `retryAt` while waiting. */
function statusText(status: Status, now: number): string {
  if (status.state !== "waiting" || status.retryAt === null) return status.text;
  const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
  return `${status.text} in ${seconds} s`;
}

export function StatusLine({ page }: { page: ChatPage }) {
  const status = page.status.value;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (status.state !== "waiting") return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [status]);
  return (
    <p
      id="status"
      class="status"
      data-state={status.state}
      role="status"
      title={status.detail === "" ? undefined : status.detail}
    >
      <span class="dot" aria-hidden="true"></span>
      <span id="status-text">{statusText(status, now)}</span>
      <button
        id="retry"
        class="link-button"
        type="button"
        hidden={status.state !== "waiting"}
        onClick={() => page.retryNow()}
      >
        Retry now
      </button>
    </p>
  );
}

export function SearchBox({ page }: { page: ChatPage }) {
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem("q");
    if (!(input instanceof HTMLInputElement)) return;
    const query = input.value.trim();
    if (query !== "") void page.search(query);
  };
  return (
    <form id="search-form" class="search" role="search" onSubmit={onSubmit}>
      <label class="visually-hidden" for="search-input">Search messages</label>
      <input
        id="search-input"
        name="q"
        type="search"
        placeholder="Search messages"
        autocomplete="off"
        enterkeyhint="search"
        disabled={page.status.value.state === "stopped"}
      />
    </form>
  );
}
