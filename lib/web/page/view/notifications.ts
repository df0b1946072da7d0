/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The browser's notifications (issue #15): whether the person allowed them,
 * asking (only when they click "Turn on notifications", never at load), and
 * showing one that brings the tab forward and opens its conversation when
 * clicked.
 *
 * Owns: every use of the Notification API. Imports the page's notification type.
 */
import type { PageNotification } from "../chat_page.ts";

/** What the browser says of notifications here: "unsupported" without the API (or over http on some). */
export function notificationPermission(): NotificationPermission | "unsupported" {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** Asks the person (the browser's own question); resolves with the answer. */
export async function askNotificationPermission(): Promise<NotificationPermission | "unsupported"> {
  if (typeof Notification === "undefined") return "unsupported";
  return await Notification.requestPermission();
}

/** Shows `notification` when allowed; a click focuses the tab and opens its conversation. */
export function showNotification(notification: PageNotification): void {
  if (notificationPermission() !== "granted") return;
  try {
    const shown = new Notification(notification.title, {
      body: notification.body,
      tag: notification.tag,
    });
    shown.onclick = () => {
      globalThis.focus();
      notification.onClick();
      shown.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker: the tab title still counts.
  }
}
