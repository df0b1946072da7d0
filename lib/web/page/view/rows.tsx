/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * One row of a conversation: a chat message (time, sender, text; an action
 * reads "* ana waves") or a line from the page itself (joins, leaves,
 * errors, help), and the local time it shows.
 *
 * Owns: the markup of a row and the nick colours. Every text from the
 * network goes into the page as a text node (JSX children), so no message or
 * nick is ever parsed as HTML, and with its bidi controls made visible
 * (lib/wire/inert_text.ts), so no line appears reversed. Imports lib/client/
 * (conversation types, the nick hash), lib/wire/inert_text.ts and preact
 * only; keeps no state.
 */
import { memo } from "preact/compat";
import type { MessageEntry, NoticeEntry } from "../../../client/conversations.ts";
import { nickHash } from "../../../client/online_list.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";

const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayAndClock = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/**
 * A `<time>` in the reader's local time zone: the clock for today, the date
 * too for older days; the full date and time on hover.
 */
export function When({ ts }: { ts: number }) {
  const date = new Date(ts);
  const sameDay = date.toDateString() === new Date().toDateString();
  return (
    <time class="when" dateTime={date.toISOString()} title={full.format(date)}>
      {(sameDay ? clock : dayAndClock).format(date)}
    </time>
  );
}

/** How many nick colours the style sheet defines (`.hue-0` ...). */
const hueCount = 8;

/** A stable colour class for a nick (any case), so a reader can follow who is talking. */
export function hueClass(nick: string): string {
  return `hue-${nickHash(nick) % hueCount}`;
}

/** What an action starts with, and what follows a sender's name. */
const actionStar = "* ", separator = " ";

/**
 * A chat message. `showAddressee`: "to bob" after the sender (search results
 * list private messages among public ones).
 */
export const MessageRow = memo(function MessageRow(
  { entry, showAddressee }: { entry: MessageEntry; showAddressee: boolean },
) {
  const { message } = entry;
  const action = message.kind === "action";
  const from = <span class={`from ${hueClass(message.from)}`}>{visibleBidi(message.from)}</span>;
  return (
    <div
      class={`row msg${entry.own ? " mine" : ""}${action ? " action" : ""}`}
      data-id={String(message.id)}
    >
      <When ts={message.ts} />
      <div class="content">
        {action ? <span class="star">{actionStar}</span> : null}
        {from}
        {separator}
        {showAddressee && message.to !== undefined
          ? <span class="to">{`to ${visibleBidi(message.to)} `}</span>
          : null}
        <span class="text">{visibleBidi(entry.text)}</span>
      </div>
    </div>
  );
});

/** A line from the page itself; one without a time leaves the time column empty. */
export const NoticeRow = memo(function NoticeRow({ entry }: { entry: NoticeEntry }) {
  return (
    <div class={`row notice ${entry.tone}`} role={entry.tone === "error" ? "alert" : undefined}>
      {entry.ts === null ? <span class="when" /> : <When ts={entry.ts} />}
      <div class="content">{visibleBidi(entry.text)}</div>
    </div>
  );
});
