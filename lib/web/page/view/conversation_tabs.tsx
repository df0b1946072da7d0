/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The conversations on screen, one tab each (the room, private chats, search
 * results), their logs, and the "new messages" marker of the one on screen.
 *
 * Owns: the tab strip (WAI-ARIA tabs: arrow keys move along it), tab labels,
 * unread badges, close buttons, and one ScrollMemory per conversation.
 * Reads the page's Conversations; acts through the page. Imports preact,
 * the page's types and message_log.tsx.
 */
import { useRef, useState } from "preact/hooks";
import type { Conversation } from "../../../client/conversations.ts";
import type { ChatPage } from "../chat_page.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { MessageLog, type ScrollMemory, scrollToBottom } from "./message_log.tsx";

/** What a tab says: "# room", "@ bob", "Search: kiwi". */
export function tabLabel(conversation: Conversation): string {
  return visibleBidi(plainTabLabel(conversation));
}

function plainTabLabel(conversation: Conversation): string {
  switch (conversation.kind) {
    case "room":
      return `# ${conversation.title || "room"}`;
    case "private":
      return `@ ${conversation.title}`;
    case "search":
      return `Search: ${conversation.title}`;
  }
}

function Tab({ conversation, page, selected }: {
  conversation: Conversation;
  page: ChatPage;
  selected: boolean;
}) {
  const label = tabLabel(conversation);
  const unread = conversation.unread;
  const onKeyDown = (event: KeyboardEvent) => {
    // Arrow keys move along the tabs (the WAI-ARIA tabs pattern).
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const all = page.conversations.all;
    const index = all.indexOf(conversation);
    const next = all[(index + (event.key === "ArrowRight" ? 1 : all.length - 1)) % all.length];
    if (next === undefined) return;
    page.activate(next.key);
    queueMicrotask(() => document.getElementById(`tab-${next.id}`)?.focus());
  };
  return (
    <div class={`tab-item ${conversation.kind}${selected ? " selected" : ""}`} role="presentation">
      <button
        type="button"
        class="tab"
        id={`tab-${conversation.id}`}
        role="tab"
        aria-controls={`panel-${conversation.id}`}
        aria-selected={selected ? "true" : "false"}
        aria-label={unread > 0 ? `${label}, ${unread} unread` : label}
        title={conversation.kind === "private"
          ? `Private conversation with ${conversation.title}`
          : ""}
        tabIndex={selected ? 0 : -1}
        onClick={() =>
          page.activate(conversation.key)}
        onKeyDown={onKeyDown}
      >
        <span class="tab-label">{label}</span>
        <span class="badge" hidden={unread === 0}>{unread > 99 ? "99+" : String(unread)}</span>
      </button>
      {conversation.kind === "room" ? null : (
        <button
          type="button"
          class="tab-close"
          aria-label={conversation.kind === "search"
            ? "Close search results"
            : `Close ${conversation.title}`}
          onClick={() => page.close(conversation.key)}
        >
          ×
        </button>
      )}
    </div>
  );
}

/** The tab strip and the logs, for every open conversation. */
/** `revision`: the page's; a new one redraws. */
export function ConversationTabs({ page }: { page: ChatPage; revision: number }) {
  const memories = useRef(new Map<number, ScrollMemory>());
  const [, setMarkerTick] = useState(0);
  const conversations = page.conversations;
  const active = conversations.active;
  const memoryOf = (conversation: Conversation): ScrollMemory => {
    let memory = memories.current.get(conversation.id);
    if (memory === undefined) {
      memory = { stuck: true, missedBelow: false };
      memories.current.set(conversation.id, memory);
    }
    return memory;
  };
  const activeMemory = memoryOf(active);
  const onMarkerClick = () => {
    const panel = document.getElementById(`panel-${active.id}`);
    if (panel !== null) scrollToBottom(panel, activeMemory);
    setMarkerTick((tick) => tick + 1);
    page.focusComposer();
  };
  return (
    <>
      <div id="tabs" class="tabs" role="tablist" aria-label="Conversations">
        {conversations.all.map((conversation) => (
          <Tab
            key={conversation.id}
            conversation={conversation}
            page={page}
            selected={conversation === active}
          />
        ))}
      </div>
      <div id="panels" class="panels">
        <button
          id="new-messages"
          class="new-messages"
          type="button"
          hidden={!activeMemory.missedBelow}
          onClick={onMarkerClick}
        >
          New messages ↓
        </button>
        {conversations.all.map((conversation) => (
          <MessageLog
            key={conversation.id}
            conversation={conversation}
            id={conversation.id}
            active={conversation === active}
            memory={memoryOf(conversation)}
            onMarker={() => setMarkerTick((tick) => tick + 1)}
            onNearTop={() => void page.loadOlder(conversation)}
            onBottom={() => page.conversations.markRead(conversation)}
          />
        ))}
      </div>
    </>
  );
}
