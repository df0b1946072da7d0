/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The whole page: the top bar, the banner, the conversations with the
 * composer, the online list, the prompts (password, nick, or a code from
 * another device), and "Add a device".
 *
 * Owns: the layout's markup (the ids and classes style.css and the tests
 * know), the document's title with the unread count, the `offline` class on
 * body, and whether the screen is narrow (a phone). Imports preact, the
 * page's types and the other view modules.
 */
import { useEffect, useState } from "preact/hooks";
import type { ChatPage } from "../chat_page.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { Composer } from "./composer.tsx";
import { ConversationTabs } from "./conversation_tabs.tsx";
import { People, PeopleToggle } from "./people.tsx";
import { CodePrompt, NickPrompt, PasswordPrompt } from "./prompts.tsx";
import { AddDevice } from "./add_device.tsx";
import { SearchBox, StatusLine } from "./top_bar.tsx";

/** Phones: the online list is a drawer and hints are shorter (as in style.css). */
const narrowQuery = "(max-width: 720px)";

function useNarrowScreen(): boolean {
  const [narrow, setNarrow] = useState(() => matchMedia(narrowQuery).matches);
  useEffect(() => {
    const query = matchMedia(narrowQuery);
    const onChange = () => setNarrow(query.matches);
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, []);
  return narrow;
}

export function App({ page }: { page: ChatPage }) {
  // Every change of the conversations or the online list bumps it. It goes down as a prop to
  // every part that draws them: @preact/signals skips a child whose props did not change.
  const revision = page.revision.value;
  const roomName = visibleBidi(page.roomName.value);
  const status = page.status.value;
  const banner = page.banner.value;
  const narrow = useNarrowScreen();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const unread = page.conversations.totalUnread;

  useEffect(() => {
    const name = roomName === "" ? "lanchat" : `${roomName} · lanchat`;
    document.title = unread > 0 ? `(${unread}) ${name}` : name;
  });
  useEffect(() => {
    document.body.classList.toggle("offline", status.state !== "online");
  }, [status.state]);

  const people = { page, revision, drawerOpen, setDrawerOpen };
  return (
    <>
      <a class="skip-link" href="#composer-input">Skip to the message box</a>
      <header class="topbar">
        <h1 id="room-name" class="room-name">{roomName || "lanchat"}</h1>
        <StatusLine page={page} />
        <SearchBox page={page} />
        <PeopleToggle {...people} />
      </header>
      <div id="notice" class="banner" role="alert" hidden={banner === null}>{banner ?? ""}</div>
      <div class="layout">
        <main class="chat">
          <ConversationTabs page={page} revision={revision} />
          <Composer page={page} revision={revision} narrow={narrow} />
        </main>
        <People {...people} />
      </div>
      <NickPrompt page={page} />
      <CodePrompt page={page} />
      <PasswordPrompt page={page} />
      <AddDevice page={page} />
    </>
  );
}
