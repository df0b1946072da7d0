/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The scrolling log of one conversation: "Load older messages" on top, the
 * rows in order, a view that sticks to the bottom unless the reader scrolled
 * up (then new messages do not move it and the "new messages" marker shows),
 * and older rows added above without moving what the reader looks at.
 *
 * Owns: the scroll position rules and asking for older messages near the
 * top. Knows nothing of the protocol: it reads a Conversation and calls the
 * page. Imports preact, the page's types and rows.tsx.
 */
import { useLayoutEffect, useRef } from "preact/hooks";
import type { Conversation } from "../../../client/conversations.ts";
import { MessageRow, NoticeRow } from "./rows.tsx";

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
  conversation: Conversation;
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
  const { conversation, id, active, memory } = props;
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
  return (
    <section
      ref={panel}
      class="log"
      id={`panel-${id}`}
      role="tabpanel"
      aria-labelledby={`tab-${id}`}
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
      <div class="rows" role="log" aria-live={search ? "off" : "polite"}>
        {conversation.kind === "private"
          ? (
            <NoticeRow
              key="intro"
              entry={{
                kind: "notice",
                key: "intro",
                epoch: 0,
                order: 0,
                tone: "quiet",
                ts: null,
                text:
                  `Private conversation with ${conversation.title}: only the two of you see these messages.`,
              }}
            />
          )
          : null}
        {conversation.entries.map((entry) =>
          entry.kind === "message"
            ? <MessageRow key={entry.key} entry={entry} showAddressee={search} />
            : <NoticeRow key={entry.key} entry={entry} />
        )}
      </div>
    </section>
  );
}
