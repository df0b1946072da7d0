/**
 * Session events -> lines of text for a terminal or a pipe.
 *
 * Owns: how chat looks in line mode (`[HH:MM] <nick> text`, private and
 * action markers, `[#ops]` before a message in a channel other than
 * `#general`, the unread counts at join, joins, leaves, errors, a file message as
 * `📎 report.pdf (2.1 MB) — /get 1234`) and making received text inert, so a
 * hostile peer cannot move the cursor or fake lines. Pure: no I/O.
 * Imports lib/client/ types and lib/wire/ helpers only; never a socket or the session's internals.
 */
import { leftText, linkedText } from "../event_words.ts";
import type { SessionEvent } from "../session.ts";
import { formatAddress } from "../address.ts";
import { countText } from "../unread.ts";
import { formatFileSize } from "../../wire/file_chunk.ts";
import type { FileInfo } from "../../wire/protocol.ts";

import { inert } from "../../wire/inert_text.ts";

export { inert };

/** `HH:MM` in local time for a server timestamp (ms since the epoch). */
export function formatClock(ts: number): string {
  const date = new Date(ts);
  const two = (value: number) => String(value).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}`;
}

/** A file message's words: `📎 report.pdf (2.1 MB) — /get 1234` (the name made inert). */
export function fileMessageText(file: FileInfo, id: number): string {
  return `📎 ${inert(file.name)} (${formatFileSize(file.size)}) — /get ${id}`;
}

/** Where a formatted line belongs: the chat itself, or a status remark about the session. */
export type LineKind = "chat" | "status" | "error";

/** One line to show, and what kind of line it is. */
export interface FormattedLine {
  kind: LineKind;
  text: string;
}

function chat(text: string): FormattedLine {
  return { kind: "chat", text };
}
function status(text: string): FormattedLine {
  return { kind: "status", text };
}
function error(text: string): FormattedLine {
  return { kind: "error", text };
}

/**
 * Formats one session event as zero or more lines. Received nicks and text
 * always pass through {@link inert}.
 */
export function formatEvent(event: SessionEvent): FormattedLine[] {
  switch (event.type) {
    case "connected":
      return [
        status(
          `-- ${event.reconnect ? "reconnected to" : "connected to"} ` +
            `${event.serverName === "" ? "a lanchat room" : `"${inert(event.serverName)}"`} ` +
            `at ${formatAddress(event.address)}`,
        ),
      ];
    case "welcome":
      return event.reconnect ? [] : [
        status(
          `-- you are ${inert(event.nick)}${
            event.guest ? " (a guest: the nick is not kept for you)" : ""
          }; type /help for commands`,
        ),
        ...(event.motd === undefined ? [] : [status(`-- ${inert(event.motd)}`)]),
      ];
    case "users": {
      const nicks = event.users.map((user) => inert(user.nick));
      return [status(`-- ${nicks.length} online: ${nicks.join(", ")}`)];
    }
    case "message": {
      const { message, text, own } = event;
      const clock = `[${formatClock(message.ts)}]`;
      const from = inert(message.from);
      const marker = message.to === undefined
        ? message.channel === undefined ? "" : `[${inert(message.channel)}] `
        : own
        ? `[to ${inert(message.to)}] `
        : "[private] ";
      const body = message.file === undefined
        ? inert(text)
        : fileMessageText(message.file, message.id);
      const line = message.kind === "action"
        ? `${clock} ${marker}* ${from} ${body}`
        : `${clock} ${marker}<${from}> ${body}`;
      return [chat(line)];
    }
    case "history_end":
      return event.shown === 0 ? [] : [status(`-- end of history (${event.shown} messages)`)];
    case "joined":
      return [status(`[${formatClock(event.ts)}] -- ${inert(event.nick)} joined`)];
    case "left":
      return [status(`[${formatClock(event.ts)}] -- ${leftText(inert(event.nick), event.reason)}`)];
    case "renamed":
      return [
        status(
          event.own
            ? `[${formatClock(event.ts)}] -- you are now known as ${inert(event.to)}`
            : `[${formatClock(event.ts)}] -- ${inert(event.from)} is now known as ${
              inert(event.to)
            }`,
        ),
      ];
    case "server_error":
      return [error(`! ${inert(event.message)}`)];
    case "refused":
      return [error(`! not sent: ${inert(event.message)}`)];
    case "notice":
      return [status(`-- ${inert(event.text)}`)];
    case "lost":
      return [
        error(`! lost the connection to ${formatAddress(event.address)} (${inert(event.reason)})`),
      ];
    case "reconnecting":
      return [
        status(
          `-- reconnecting in ${seconds(event.delayMs)} (attempt ${event.attempt}${
            event.attempts === null ? "" : ` of ${event.attempts}`
          })`,
        ),
      ];
    case "reconnect_failed":
      return [
        error(
          `! attempt ${event.attempt}${
            event.attempts === null ? "" : ` of ${event.attempts}`
          } failed: ${inert(event.reason)}`,
        ),
      ];
    case "resumed":
      return [
        status(
          event.missed === 0
            ? "-- back in the room; you missed nothing"
            : `-- back in the room; ${event.missed} missed message${
              event.missed === 1 ? "" : "s"
            } above`,
        ),
      ];
    case "linked":
      return [status(`-- ${inert(linkedText(event.fingerprint, event.ts, event.own))}`)];
    case "channel":
      return [
        status(
          `-- ${event.channel.joined ? "you are in" : "you left"} ${
            inert(event.channel.name)
          } (${event.channel.members} member${event.channel.members === 1 ? "" : "s"})${
            event.channel.joined && event.channel.topic !== ""
              ? `: ${inert(event.channel.topic)}`
              : ""
          }`,
        ),
      ];
    case "topic":
      return [
        status(
          `-- ${inert(event.by)} set the topic of ${inert(event.channel)}: ${inert(event.topic)}`,
        ),
      ];
    case "conversations": {
      const unread = event.items.filter((item) => item.unread > 0).map((item) =>
        `${inert(item.conversation)} ${countText(item.unread)}${
          item.kind === "channel" && item.mentions > 0
            ? ` (${countText(item.mentions)} mentioning you)`
            : ""
        }`
      );
      return unread.length === 0 ? [] : [status(`-- unread: ${unread.join(", ")}`)];
    }
    case "read":
    case "notify":
    case "delivered":
      return [];
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
