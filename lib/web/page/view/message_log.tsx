/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The scrolling log of one conversation: "Load older messages" on top (or,
 * at the very start, what the conversation is, and in an empty one what to
 * do), the rows laid out by timeline.ts (day separators, messages grouped by
 * sender), a view that sticks to the bottom unless the reader scrolled up
 * (then new messages do not move it and the "new messages" marker shows),
 * and older rows added above without moving what the reader looks at, and
 * the "New since you last read" line before the first message from others
 * after the read mark the page gives (`newSince`). Rows that grow once drawn
 * (a thumbnail) keep a log that was at the bottom there.
 *
 * Owns: the scroll position rules, asking for older messages near the top,
 * and the conversation's introduction. Knows nothing of the protocol: it
 * reads a Conversation and calls the page. Imports preact, the page's types,
 * timeline.ts and rows.tsx.
 */
import { Fragment } from "preact";
import { useLayoutEffect, useMemo, useRef } from "preact/hooks";
import type { Conversation } from "../../../client/conversations.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import type { ChatPage } from "../chat_page.ts";
import { channelTitle, isChannel } from "../conversation_list.ts";
import { layoutTimeline, startOfDay } from "../timeline.ts";
import { DaySeparator, MessageRow, NoticeRow } from "./rows.tsx";

/** Pixels from the bottom that still count as "at the bottom". */
const stickyPixels = 48;
/** Pixels from the top at which older messages are asked for. */
const loadOlderPixels = 120;

/** What a log remembers of its scroll between renders. */
export interface ScrollMemory {
  /** The view follows new messages. */
  stuck: boolean;
  /** New messages came while scrolled up: the marker shows. */
  missedBelow: boolean;
}

export interface MessageLogProps {
  page: ChatPage;
  conversation: Conversation;
  /** My nick (mentions of it are marked). */
  me: string | null;
  /** Its element ids: `panel-N` and `tab-N`. */
  id: number;
  active: boolean;
  memory: ScrollMemory;
  /** The marker's state changed (shown or hidden). */
  onMarker(): void;
  /** The reader is near the top, or pressed "Load older messages". */
  onNearTop(): void;
  /** The reader reached the bottom (what is there has been seen). */
  onBottom(): void;
  /** "New since you last read" goes before the first message from others after this id. */
  newSince: number | null;
}

function atBottom(panel: HTMLElement): boolean {
  return panel.scrollHeight - panel.scrollTop - panel.clientHeight < stickyPixels;
}

/** Scrolls a log to its newest row. */
export function scrollToBottom(panel: HTMLElement, memory: ScrollMemory): void {
  panel.scrollTop = panel.scrollHeight;
  memory.stuck = true;
  memory.missedBelow = false;
}

export function MessageLog(props: MessageLogProps) {
  const { page, conversation, id, active, memory, me } = props;
  const panel = useRef<HTMLElement>(null);
  /** The first and last entry keys and the scroll height at the last render. */
  const last = useRef({ first: "", final: "", height: 0, top: 0, active: false });

  useLayoutEffect(() => {
    const element = panel.current;
    if (element === null) return;
    const entries = conversation.entries;
    const first = entries[0]?.key ?? "";
    const final = entries.at(-1);
    const before = last.current;
    const newBelow = final !== undefined && final.key !== before.final;
    const addedAbove = first !== before.first && before.first !== "" &&
      entries.some((entry) => entry.key === before.first);
    if (memory.stuck || (active && !before.active)) {
      if (memory.stuck) scrollToBottom(element, memory);
    } else if (addedAbove && active) {
      // Older rows came in above: the rows on screen stay on screen.
      element.scrollTop = before.top + element.scrollHeight - before.height;
    }
    if (
      newBelow && !memory.stuck && final.kind === "message" && !final.own && before.final !== ""
    ) {
      memory.missedBelow = true;
      props.onMarker();
    }
    last.current = {
      first,
      final: final?.key ?? "",
      height: element.scrollHeight,
      top: element.scrollTop,
      active,
    };
  });

  // Rows that grow after they are drawn (a picture's thumbnail) keep a log at the bottom there.
  useLayoutEffect(() => {
    const element = panel.current;
    const rows = element?.querySelector(".rows");
    if (element === null || rows === null || rows === undefined) return;
    const observer = new ResizeObserver(() => {
      if (memory.stuck && !element.hidden) scrollToBottom(element, memory);
    });
    observer.observe(rows);
    return () => observer.disconnect();
  }, [memory]);

  const onScroll = () => {
    const element = panel.current;
    if (element === null || !active) return;
    memory.stuck = atBottom(element);
    last.current.top = element.scrollTop;
    last.current.height = element.scrollHeight;
    if (memory.stuck) {
      if (memory.missedBelow) {
        memory.missedBelow = false;
        props.onMarker();
      }
      props.onBottom();
    }
    if (element.scrollTop < loadOlderPixels) props.onNearTop();
  };

  const showOlder = conversation.more || conversation.loading;
  const search = conversation.kind === "search";
  const today = startOfDay(Date.now());
  const timeline = useMemo(
    () => layoutTimeline(conversation.entries, { now: Date.now() }),
    [conversation.entries, today],
  );
  const empty = !conversation.entries.some((entry) => entry.kind === "message");
  const replyable = isChannel(conversation);
  const newSince = props.newSince;
  const firstNew = newSince === null
    ? undefined
    : timeline.find((item) =>
      item.type === "message" && !item.entry.own && item.entry.message.id > newSince &&
      item.entry.epoch === conversation.entries.at(-1)?.epoch
    )?.key;
  return (
    <section
      ref={panel}
      class="log"
      id={`panel-${id}`}
      aria-label={search ? "Search results" : "Messages"}
      tabIndex={0}
      hidden={!active}
      onScroll={onScroll}
    >
      <button
        type="button"
        class="older"
        hidden={!showOlder}
        disabled={conversation.loading}
        onClick={props.onNearTop}
      >
        {conversation.loading ? "Loading older messages…" : "Load older messages"}
      </button>
      {showOlder || search ? null : <Intro page={page} conversation={conversation} empty={empty} />}
      <div class="rows" role="log" aria-live={search ? "off" : "polite"}>
        {timeline.map((item) => {
          switch (item.type) {
            case "day":
              return <DaySeparator key={item.key} label={item.label} />;
            case "notice":
              return <NoticeRow key={item.key} entry={item.entry} />;
            case "message": {
              const row = (
                <MessageRow
                  key={item.key}
                  entry={item.entry}
                  head={item.head}
                  showAddressee={search}
                  me={me}
                  replyable={replyable}
                  page={page}
                />
              );
              return item.key !== firstNew ? row : (
                <Fragment key={item.key}>
                  <div id="new-since" class="new-since" role="separator">
                    <span>New since you last read</span>
                  </div>
                  {row}
                </Fragment>
              );
            }
          }
        })}
      </div>
    </section>
  );
}

/**
 * The top of a conversation's history: what it is, and in one without
 * messages yet, what to do (say hello, or invite people, and how).
 */
function Intro(
  { page, conversation, empty }: { page: ChatPage; conversation: Conversation; empty: boolean },
) {
  const title = visibleBidi(conversation.title);
  if (conversation.kind === "private") {
    return (
      <div class="intro" id={`intro-${conversation.id}`}>
        <h2 class="intro-title">This is the start of your conversation with {title}</h2>
        <p class="intro-text">
          Only the two of you see these messages.{empty ? " Say hello!" : ""}
        </p>
      </div>
    );
  }
  return (
    <div class="intro" id={`intro-${conversation.id}`}>
      <h2 class="intro-title">This is the start of #{visibleBidi(channelTitle(conversation))}</h2>
      {empty
        ? (
          <p class="intro-text">
            Say hello, or invite people with the address of this page: they open{" "}
            <code>{location.origin}</code> in a browser, or type <code>{page.joinCommand()}</code>
            {" "}
            in a terminal.
          </p>
        )
        : <p class="intro-text">Everyone in the room sees what is written here.</p>}
    </div>
  );
}
