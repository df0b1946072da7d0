/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The conversation on screen: its header (what it is, its topic (a click
 * sets it), who is there, its notification level, and leaving it when it is
 * a channel, closing it when it is a private conversation or search
 * results), the logs
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
import { NotifyLevelSelect } from "./notify_controls.tsx";

/** The header's title: "# office-pc", "bob", "Search: kiwi". */
export function conversationTitle(conversation: Conversation): string {
  if (conversation.kind === "private") return visibleBidi(conversation.title);
  if (conversation.kind === "search") return `Search: ${visibleBidi(conversation.title)}`;
  return `# ${visibleBidi(channelTitle(conversation))}`;
}

/** `revision`: the page's (topics, levels and members change without a new conversation). */
function Header(
  { page, conversation }: { page: ChatPage; conversation: Conversation; revision: number },
) {
  const online = conversation.kind === "private" && page.online.has(conversation.title);
  const channel = isChannel(conversation);
  const info = channel ? page.topicOf(conversation) : undefined;
  const room = conversation.key === "room"; // #general: no topic, cannot be left
  const about = conversation.kind === "private"
    ? `${online ? "Online" : "Offline"} · private: only the two of you`
    : conversation.kind === "search"
    ? "Search results: messages you may see, newest last"
    : room
    ? `${page.online.size} online · everyone here reads it`
    : `${info?.members ?? "?"} member${info?.members === 1 ? "" : "s"} · only members read it`;
  const topic = info?.topic ?? "";
  return (
    <header class="conversation-head">
      {conversation.kind === "private"
        ? <span class={`presence${online ? " online" : ""}`} aria-hidden="true" />
        : null}
      <h2 id="conversation-title" class="conversation-name">{conversationTitle(conversation)}</h2>
      {channel && !room && !page.guest.value
        ? (
          <button
            type="button"
            id="conversation-topic"
            class={`conversation-topic${topic === "" ? " empty" : ""}`}
            title={topic === "" ? "Set a topic" : `${visibleBidi(topic)} (click to change)`}
            onClick={() => page.editTopic()}
          >
            {topic === "" ? "Add a topic" : visibleBidi(topic)}
          </button>
        )
        : null}
      <p class="conversation-about">{about}</p>
      {conversation.name !== "" && !page.guest.value
        ? <NotifyLevelSelect page={page} conversation={conversation} />
        : null}
      {channel && !room
        ? (
          <button
            type="button"
            id="conversation-leave"
            class="secondary conversation-close"
            onClick={() => void page.leaveChannel(null)}
          >
            Leave channel
          </button>
        )
        : null}
      {channel ? null : (
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
export function ConversationView({ page, revision }: { page: ChatPage; revision: number }) {
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
      <Header page={page} conversation={active} revision={revision} />
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
            newSince={page.newSince(conversation)}
          />
        ))}
      </div>
    </>
  );
}
