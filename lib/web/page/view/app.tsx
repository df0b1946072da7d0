/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The whole page, laid out as today's team chats are: the top bar, the
 * banner, the sidebar of conversations on the left, the conversation on
 * screen with the composer, the online list on the right, the quick
 * switcher, the prompts (password, nick, or a code from another device),
 * "Add a device", and the channel windows (join, topic, browse). On a phone the sidebar and the online list are drawers.
 * Files: the transfers above the composer, files dropped or pasted on the
 * conversation (file_drop.tsx), and the picture viewer.
 *
 * Owns: the layout's markup (the ids and classes style.css and the tests
 * know), the document's title with the unread and mention counts, the `offline` class on
 * body, whether the screen is narrow (a phone), which drawer is open, and
 * the page-wide Ctrl+K / ⌘K. Imports preact, the page's types and the other
 * view modules.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { ChatPage } from "../chat_page.ts";
import { type ConversationItem, switcherChoices } from "../conversation_list.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { Composer } from "./composer.tsx";
import { ConversationView } from "./conversation_view.tsx";
import { People, PeopleToggle } from "./people.tsx";
import { CodePrompt, NickPrompt, PasswordPrompt } from "./prompts.tsx";
import { AddDevice } from "./add_device.tsx";
import { Sidebar, SidebarToggle } from "./sidebar.tsx";
import { QuickSwitcher } from "./switcher.tsx";
import { SearchBox, StatusLine } from "./top_bar.tsx";
import { ChannelDialog } from "./channel_dialogs.tsx";
import { NotificationsButton } from "./notify_controls.tsx";
import { DropZone, useFileDrop } from "./file_drop.tsx";
import { TransferTray } from "./transfer_tray.tsx";
import { PictureViewer } from "./file_card.tsx";

/** Phones: the sidebar and the online list are drawers and hints are shorter (as in style.css). */
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

/** The switcher's shortcut as this keyboard writes it. */
const jumpKeys = /Mac|iPhone|iPad/.test(navigator.userAgent) ? "⌘K" : "Ctrl+K";

/** Which drawer is open on a phone. */
type Drawer = "none" | "sidebar" | "people";

export function App({ page }: { page: ChatPage }) {
  // Every change of the conversations or the online list bumps it. It goes down as a prop to
  // every part that draws them: @preact/signals skips a child whose props did not change.
  const revision = page.revision.value;
  const roomName = visibleBidi(page.roomName.value);
  const status = page.status.value;
  const banner = page.banner.value;
  const narrow = useNarrowScreen();
  const [drawer, setDrawer] = useState<Drawer>("none");
  const [switcherOpen, setSwitcherOpen] = useState(false);
  const unread = page.conversations.totalUnread;
  const mentions = page.conversations.totalMentions;
  const items = page.conversationItems();
  const fileDrop = useFileDrop(page);

  useEffect(() => {
    const name = roomName === "" ? "lanchat" : `${roomName} · lanchat`;
    const counts = mentions > 0 ? `${unread} · @${mentions}` : `${unread}`;
    document.title = unread > 0 ? `(${counts}) ${name}` : name;
  });
  useEffect(() => {
    document.body.classList.toggle("offline", status.state !== "online");
  }, [status.state]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const k = event.key === "k" || event.key === "K";
      if (!k || !(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
      // Not over a question the page waits on (the nick, the password, a code).
      if (document.querySelector("dialog.nick-dialog[open]") !== null) return;
      event.preventDefault();
      setDrawer("none");
      setSwitcherOpen(true);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const closeDrawer = useCallback(() => setDrawer("none"), []);
  const setPeopleOpen = useCallback((open: boolean) => setDrawer(open ? "people" : "none"), []);
  const people = { page, revision, drawerOpen: drawer === "people", setDrawerOpen: setPeopleOpen };
  const openItem = (item: ConversationItem) => {
    setDrawer("none");
    if (item.key === "") page.openPrivate(item.title);
    else page.activate(item.key, !narrow); // a phone's keyboard would cover the conversation
  };
  return (
    <>
      <a class="skip-link" href="#composer-input">Skip to the message box</a>
      <header class="topbar">
        <SidebarToggle
          open={drawer === "sidebar"}
          unread={unread}
          onToggle={() => setDrawer(drawer === "sidebar" ? "none" : "sidebar")}
        />
        <h1 id="room-name" class="room-name">{roomName || "lanchat"}</h1>
        <StatusLine page={page} />
        <SearchBox page={page} />
        <PeopleToggle {...people} />
      </header>
      <div id="notice" class="banner" role="alert" hidden={banner === null}>{banner ?? ""}</div>
      <div class="layout">
        <Sidebar
          items={items}
          onOpen={openItem}
          onClose={(item) => page.close(item.key)}
          onJump={() => {
            setDrawer("none");
            setSwitcherOpen(true);
          }}
          jumpKeys={jumpKeys}
          open={drawer === "sidebar"}
          onDismiss={closeDrawer}
          onAddChannel={() => {
            setDrawer("none");
            page.dialog.value = { kind: "join", problem: null, busy: false };
          }}
          onBrowseChannels={() => {
            setDrawer("none");
            void page.browseChannels();
          }}
          footer={<NotificationsButton />}
        />
        <main class="chat" {...fileDrop.handlers}>
          <ConversationView page={page} revision={revision} />
          <TransferTray page={page} />
          <Composer page={page} revision={revision} narrow={narrow} />
          {fileDrop.dragging ? <DropZone page={page} /> : null}
        </main>
        <People {...people} />
      </div>
      <div
        id="drawer-backdrop"
        class="backdrop"
        hidden={drawer === "none"}
        onClick={closeDrawer}
      />
      <QuickSwitcher
        open={switcherOpen}
        choices={switcherOpen
          ? switcherChoices(items, page.online.sorted().map((user) => user.nick), page.nick.value)
          : []}
        onChoose={(item) => {
          setSwitcherOpen(false);
          openItem(item);
          if (item.key !== "") page.focusComposer();
        }}
        onDismiss={() => setSwitcherOpen(false)}
      />
      <NickPrompt page={page} />
      <CodePrompt page={page} />
      <PasswordPrompt page={page} />
      <AddDevice page={page} />
      <ChannelDialog page={page} />
      <PictureViewer page={page} />
    </>
  );
}
