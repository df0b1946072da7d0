/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * Who is online: the list beside the chat on a wide screen, a drawer on a
 * phone. A double-click on a name (a tap on a touch screen, Enter or Space on
 * the focused name) opens a private conversation.
 *
 * Owns: the list's markup, the drawer's open state (the `drawer-open` class
 * on body, as the style sheet expects) and its keys. Imports preact and the
 * page's types.
 */
import { useEffect, useRef } from "preact/hooks";
import { sameNick } from "../../../client/online_list.ts";
import type { ChatPage } from "../chat_page.ts";

/** After my own name in the list. */
const youSuffix = " (you)";

export interface PeopleProps {
  page: ChatPage;
  /** The page's revision: a new one redraws the list. */
  revision: number;
  drawerOpen: boolean;
  setDrawerOpen(open: boolean): void;
}

/** The header button that opens the drawer on a phone, with the count. */
export function PeopleToggle({ page, drawerOpen, setDrawerOpen }: PeopleProps) {
  return (
    <button
      id="people-toggle"
      class="people-toggle"
      type="button"
      aria-controls="people"
      aria-expanded={drawerOpen ? "true" : "false"}
      onClick={() => setDrawerOpen(!drawerOpen)}
    >
      People <span id="people-count-short" class="count">{String(page.online.size)}</span>
    </button>
  );
}

export function People({ page, drawerOpen, setDrawerOpen }: PeopleProps) {
  const list = useRef<HTMLUListElement>(null);
  const me = page.nick.value;
  const users = page.online.sorted();

  useEffect(() => {
    document.body.classList.toggle("drawer-open", drawerOpen);
    if (drawerOpen) list.current?.querySelector("button")?.focus();
  }, [drawerOpen]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && document.body.classList.contains("drawer-open")) {
        closeAndReturn();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  });

  const closeAndReturn = () => {
    setDrawerOpen(false);
    document.getElementById("people-toggle")?.focus();
  };
  const open = (nick: string) => {
    setDrawerOpen(false);
    page.openPrivate(nick);
  };

  return (
    <>
      <aside id="people" class="people" aria-labelledby="people-heading">
        <div class="people-head">
          <h2 id="people-heading">
            Online <span id="people-count" class="count">{String(users.length)}</span>
          </h2>
          <button id="people-close" class="people-close" type="button" onClick={closeAndReturn}>
            Close
          </button>
        </div>
        <p class="hint">Double-click a name (or tap it) for a private conversation.</p>
        <ul id="user-list" class="user-list" ref={list}>
          {users.map(({ nick }) => {
            const mine = sameNick(nick, me);
            return (
              <li key={nick}>
                <button
                  type="button"
                  class={mine ? "user me" : "user"}
                  data-nick={nick}
                  title={mine
                    ? "This is you"
                    : `Double-click (or tap) for a private conversation with ${nick}`}
                  onDblClick={() => open(nick)}
                  onClick={(event: MouseEvent) => {
                    // A tap, or Enter/Space on the focused name (a click with detail 0), opens at
                    // once; a mouse needs a double-click, so a stray click does not switch tabs.
                    const pointer = event instanceof PointerEvent ? event.pointerType : "";
                    if (event.detail === 0 || pointer === "touch") open(nick);
                  }}
                >
                  <span class="user-nick">{nick}</span>
                  {mine ? <span class="you">{youSuffix}</span> : null}
                </button>
              </li>
            );
          })}
        </ul>
      </aside>
      <div
        id="drawer-backdrop"
        class="backdrop"
        hidden={!drawerOpen}
        onClick={() => setDrawerOpen(false)}
      />
    </>
  );
}
