/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The conversation on screen: its header (what it is, who is there, and
 * closing it when it is a private conversation or search results), the logs
 * of every open conversation (one shown), and the "new messages" marker of
 * the one on screen.
 *
 * Owns: the header's markup and one ScrollMemory per conversation (the
 * marker goes when the person marks the conversation read). Which
 * conversation is on screen is the sidebar's and the page's. Imports preact,
 * the page's types and message_log.tsx.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Conversation } from "../../../client/conversations.ts";
import type { ChatPage } from "../chat_page.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import { channelTitle, isChannel } from "../conversation_list.ts";
import { MessageLog, type ScrollMemory, scrollToBottom } from "./message_log.tsx";

/** The header's title: "# office-pc", "bob", "Search: kiwi". */
export function conversationTitle(conversation: Conversation): string {
  if (conversation.kind === "private") return visibleBidi(conversation.title);
  if (conversation.kind === "search") return `Search: ${visibleBidi(conversation.title)}`;
  return `# ${visibleBidi(channelTitle(conversation))}`;
}

function Header({ page, conversation }: { page: ChatPage; conversation: Conversation }) {
  const online = conversation.kind === "private" && page.online.has(conversation.title);
  const about = conversation.kind === "private"
    ? `${online ? "Online" : "Offline"} · private: only the two of you`
    : conversation.kind === "search"
    ? "Search results: messages you may see, newest last"
    : `${page.online.size} online · everyone here reads it`;
  return (
    <header class="conversation-head">
      {conversation.kind === "private"
        ? <span class={`presence${online ? " online" : ""}`} aria-hidden="true" />
        : null}
      <h2 id="conversation-title" class="conversation-name">{conversationTitle(conversation)}</h2>
      <p class="conversation-about">{about}</p>
      {isChannel(conversation) ? null : (
        <button
          type="button"
          id="conversation-close"
          class="secondary conversation-close"
          onClick={() => page.close(conversation.key)}
        >
          {conversation.kind === "search" ? "Close search" : "Close"}
        </button>
      )}
    </header>
  );
}

/** `revision`: the page's; a new one redraws. */
export function ConversationView({ page }: { page: ChatPage; revision: number }) {
  const memories = useRef(new Map<number, ScrollMemory>());
  const [, setMarkerTick] = useState(0);
  const conversations = page.conversations;
  const active = conversations.active;
  const me = page.nick.value;
  const memoryOf = (conversation: Conversation): ScrollMemory => {
    let memory = memories.current.get(conversation.id);
    if (memory === undefined) {
      memory = { stuck: true, missedBelow: false };
      memories.current.set(conversation.id, memory);
    }
    return memory;
  };
  const activeMemory = memoryOf(active);
  const markedRead = page.markedRead.value;
  useEffect(() => {
    // Marked read (Esc): what came below while scrolled up counts as seen.
    if (markedRead === 0 || !activeMemory.missedBelow) return;
    activeMemory.missedBelow = false;
    setMarkerTick((tick) => tick + 1);
  }, [markedRead]);
  const onMarkerClick = () => {
    const panel = document.getElementById(`panel-${active.id}`);
    if (panel !== null) scrollToBottom(panel, activeMemory);
    setMarkerTick((tick) => tick + 1);
    page.focusComposer();
  };
  return (
    <>
      <Header page={page} conversation={active} />
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
            page={page}
            conversation={conversation}
            me={me}
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
