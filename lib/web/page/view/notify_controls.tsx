/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * How the person is told of messages (issue #15): the level of the
 * conversation on screen (every message, mentions only, muted; kept on the
 * server with the account), and "Turn on notifications", which asks the
 * browser only when clicked.
 *
 * Owns: those two controls' markup. The permission is notifications.ts's;
 * the level is the page's. Imports preact, the page's types and notifications.ts.
 */
import { useState } from "preact/hooks";
import type { Conversation } from "../../../client/conversations.ts";
import type { NotifyLevel } from "../../../client/session.ts";
import type { ChatPage } from "../chat_page.ts";
import { askNotificationPermission, notificationPermission } from "./notifications.ts";

const levelWords: Record<NotifyLevel, string> = {
  all: "All messages",
  mentions: "Mentions only",
  muted: "Muted",
};

/** The conversation header's level control. */
export function NotifyLevelSelect(
  { page, conversation }: { page: ChatPage; conversation: Conversation },
) {
  return (
    <select
      id="notify-level"
      class="notify-level"
      aria-label="Notify me of"
      title="Notify me of"
      value={conversation.notify}
      data-level={conversation.notify}
      onChange={(event) => {
        const level = (event.currentTarget as HTMLSelectElement).value as NotifyLevel;
        void page.setNotifyLevel(conversation, level);
      }}
    >
      {(Object.keys(levelWords) as NotifyLevel[]).map((level) => (
        <option key={level} value={level}>{levelWords[level]}</option>
      ))}
    </select>
  );
}

/** "Turn on notifications" while the browser has not asked; what it says once it did. */
export function NotificationsButton() {
  const [permission, setPermission] = useState(notificationPermission);
  if (permission === "unsupported" || permission === "granted") return null;
  if (permission === "denied") {
    return (
      <p id="notifications-state" class="sidebar-empty">
        Notifications are blocked for this page in the browser's settings.
      </p>
    );
  }
  return (
    <button
      id="notifications-button"
      type="button"
      class="sidebar-link"
      onClick={() => void askNotificationPermission().then(setPermission)}
    >
      Turn on notifications
    </button>
  );
}
