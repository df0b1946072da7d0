/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The lines of a conversation: a message that starts a group (the sender's
 * initial, name and time, then the text), a message that goes on a group
 * (the text; its time shows in the time column on hover), an action ("* ana
 * waves", which starts a group of its own), a line from the page itself
 * (joins, leaves, errors, help), and a day separator. A file message shows
 * its file (file_card.tsx) instead of its text.
 *
 * Owns: the markup of a row, the nick colours, the local time a row shows,
 * and the hover action "reply privately". Every text from the network goes
 * into the page as a text node (JSX children; the body through body.tsx), so
 * no message or nick is ever parsed as HTML, and with its bidi controls made
 * visible (lib/wire/inert_text.ts), so no line appears reversed. Imports
 * lib/client/ (conversation types, the nick hash), lib/wire/ (inert text,
 * the mention rule), body.tsx, file_card.tsx and preact; keeps no state.
 */
import { memo } from "./memo.ts";
import type { MessageEntry, NoticeEntry } from "../../../client/conversations.ts";
import { nickHash } from "../../../client/online_list.ts";
import { visibleBidi } from "../../../wire/inert_text.ts";
import type { ChatPage } from "../chat_page.ts";
import { mentionsMe } from "../../../wire/mentions.ts";
import { renderBody } from "./body.tsx";
import { FileMessage } from "./file_card.tsx";

const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/**
 * A `<time>` in the reader's local time zone: the clock (the day separator
 * above says the day); the full date and time on hover.
 */
export function When({ ts }: { ts: number }) {
  const date = new Date(ts);
  return (
    <time class="when" dateTime={date.toISOString()} title={full.format(date)}>
      {clock.format(date)}
    </time>
  );
}

/** How many nick colours the style sheet defines (`.hue-0` ...). */
const hueCount = 8;

/** A stable colour class for a nick (any case), so a reader can follow who is talking. */
export function hueClass(nick: string): string {
  return `hue-${nickHash(nick) % hueCount}`;
}

/** A round badge with the nick's first letter in its colour (no image: nothing to fetch). */
export function Avatar({ nick }: { nick: string }) {
  const initial = [...visibleBidi(nick)][0]?.toUpperCase() ?? "?";
  return <span class={`avatar ${hueClass(nick)}`} aria-hidden="true">{initial}</span>;
}

/** What an action starts with, and what follows a sender's name on it. */
const actionStar = "* ", separator = " ";

export interface MessageRowProps {
  entry: MessageEntry;
  /** The first of its group: the sender's name and time above the text. */
  head: boolean;
  /** "to bob" after the sender (search results list private messages among public ones). */
  showAddressee: boolean;
  /** My nick: a message that mentions it is marked. */
  me: string | null;
  /** Offer "reply privately" on hover (a message from someone else, outside their conversation). */
  replyable: boolean;
  page: ChatPage;
}

/** A chat message. */
export const MessageRow = memo(function MessageRow(
  { entry, head, showAddressee, me, replyable, page }: MessageRowProps,
) {
  const { message } = entry;
  const action = message.kind === "action";
  const from = visibleBidi(message.from);
  const nick = <span class={`from ${hueClass(message.from)}`}>{from}</span>;
  const mention = !entry.own && me !== null && mentionsMe(entry.text, me);
  const classes = [
    "row msg",
    head ? "head" : "cont",
    entry.own ? "mine" : "",
    action ? "action" : "",
    message.to === undefined ? "" : "private",
    mention ? "mention" : "",
  ].filter((name) => name !== "").join(" ");
  const addressee = showAddressee && message.to !== undefined
    ? <span class="to" title="A private message">{`to ${visibleBidi(message.to)}`}</span>
    : null;
  return (
    <div class={classes} data-id={String(message.id)}>
      {replyable && !entry.own
        ? (
          <div class="row-actions">
            <button
              type="button"
              class="row-action"
              tabIndex={-1}
              title={`Reply privately to ${from}`}
              aria-label={`Reply privately to ${from}`}
              onClick={() => page.openPrivate(message.from)}
            >
              ↩
            </button>
          </div>
        )
        : null}
      <div class="gutter">
        {head ? <Avatar nick={message.from} /> : <When ts={message.ts} />}
      </div>
      <div class="content">
        {head && !action
          ? (
            <div class="meta">
              {nick}
              {addressee}
              <When ts={message.ts} />
            </div>
          )
          : null}
        {action
          ? (
            <>
              <span class="star">{actionStar}</span>
              {nick}
              {separator}
              {addressee === null ? null : <>{addressee}{separator}</>}
            </>
          )
          : null}
        {message.file === undefined
          ? <span class="text">{renderBody(entry.text, me)}</span>
          : <FileMessage page={page} id={message.id} file={message.file} />}
        {action && head ? <When ts={message.ts} /> : null}
      </div>
    </div>
  );
});

/** A line from the page itself; one without a time leaves the time column empty. */
export const NoticeRow = memo(function NoticeRow({ entry }: { entry: NoticeEntry }) {
  return (
    <div class={`row notice ${entry.tone}`} role={entry.tone === "error" ? "alert" : undefined}>
      <div class="gutter">{entry.ts === null ? null : <When ts={entry.ts} />}</div>
      <div class="content">{visibleBidi(entry.text)}</div>
    </div>
  );
});

/** Where the day changes: "Today", "Yesterday", "Mon, Dec 1". */
export function DaySeparator({ label }: { label: string }) {
  return (
    <div class="day" role="separator" aria-label={label}>
      <span class="day-label">{label}</span>
    </div>
  );
}
