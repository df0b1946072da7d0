/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * Who is online, a green dot each: the list beside the chat on a wide
 * screen, a drawer on a phone. A double-click on a name (a tap on a touch
 * screen, Enter or Space on the focused name) opens a private conversation;
 * a click on it (or its "About" button) opens the person card below it.
 * Guests (no account) are marked. "Add a device" asks for a code for my
 * account.
 *
 * Owns: the list's markup, the drawer's class (`drawer-open` on body, as the
 * style sheet expects; app.tsx holds which drawer is open) and its keys.
 * Imports preact, the page's types and person_card.tsx.
 */
import { useEffect, useRef } from "preact/hooks";
import { sameNick } from "../../../client/online_list.ts";
import type { ChatPage } from "../chat_page.ts";
import { PersonCardView } from "./person_card.tsx";

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
    page.closePerson();
    page.openPrivate(nick);
  };
  const card = page.person.value;
  /** The card of `nick`, or closes it when it is open already. */
  const toggleCard = (nick: string) => {
    if (card !== null && sameNick(card.nick, nick)) page.closePerson();
    else void page.showPerson(nick);
  };
  const online = page.status.value.state === "online";

  return (
    <aside id="people" class="people" aria-labelledby="people-heading">
      <div class="people-head">
        <h2 id="people-heading">
          Online <span id="people-count" class="count">{String(users.length)}</span>
        </h2>
        <button id="people-close" class="people-close" type="button" onClick={closeAndReturn}>
          Close
        </button>
      </div>
      <p class="hint">
        Click a name to see who it is; double-click it (or tap it) for a private conversation.
      </p>
      <ul id="user-list" class="user-list" ref={list}>
        {users.map(({ nick, guest }) => {
          const mine = sameNick(nick, me);
          const cardHere = card !== null && sameNick(card.nick, nick);
          return (
            <li key={nick} class="user-item">
              <div class="user-row">
                <button
                  type="button"
                  class={mine ? "user me" : "user"}
                  data-nick={nick}
                  title={mine
                    ? "This is you"
                    : `Double-click (or tap) for a private conversation with ${nick}`}
                  onDblClick={() => {
                    if (!mine) open(nick);
                  }}
                  onClick={(event: MouseEvent) => {
                    // A tap, or Enter/Space on the focused name (a click with detail 0), opens at
                    // once; a mouse click shows the card and a double-click opens the
                    // conversation, so a stray click does not switch conversations.
                    const pointer = event instanceof PointerEvent ? event.pointerType : "";
                    if (event.detail === 0 || pointer === "touch") {
                      if (mine) toggleCard(nick);
                      else open(nick);
                    } else if (event.detail === 1) {
                      toggleCard(nick);
                    }
                  }}
                >
                  <span class="presence online" aria-hidden="true" />
                  <span class="user-nick">{nick}</span>
                  {mine ? <span class="you">{youSuffix}</span> : null}
                  {guest === true
                    ? (
                      <span
                        class="guest-mark"
                        title="Guest: joined without a device key, so the nick is not theirs"
                      >
                        guest
                      </span>
                    )
                    : null}
                </button>
                <button
                  type="button"
                  class="user-about"
                  aria-label={`About ${nick}`}
                  aria-expanded={cardHere ? "true" : "false"}
                  title={`About ${nick}`}
                  onClick={() => toggleCard(nick)}
                >
                  i
                </button>
              </div>
              {cardHere ? <PersonCardView page={page} card={card} mine={mine} /> : null}
            </li>
          );
        })}
      </ul>
      {me !== null && online && !page.guest.value
        ? (
          <button
            id="add-device"
            type="button"
            class="link-button add-device"
            onClick={() => page.openAddDevice()}
          >
            Add a device
          </button>
        )
        : null}
    </aside>
  );
}
