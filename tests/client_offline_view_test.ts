/**
 * Tests of the full-screen view while offline (chat_view.ts, issue #13): the
 * status bar's countdown to the next reconnect attempt, and a log that shows
 * the quick attempts one by one but a long outage only once per reason.
 * Pure: the clock is passed in.
 */
import { assert, assertEquals } from "./_assert.ts";
import { rowText } from "../lib/client/terminal/screen.ts";
import {
  applyEvent,
  applyState,
  type ChatView,
  createView,
  layoutChat,
  loggedAttempts,
  offlineText,
  statusBar,
  tickCountdown,
} from "../lib/client/terminal/chat_view.ts";
import type { SessionEvent, SessionState } from "../lib/client/session.ts";

const now = new Date(2026, 10, 25, 14, 30).getTime();
const address = { host: "127.0.0.1", port: 9000 };

function logText(view: ChatView): string[] {
  return view.log.map((entry) => entry.spans.map((span) => span.text).join(""));
}

/** Feeds what a session that keeps retrying reports for attempt `attempt` failing with `reason`. */
function failedAttempt(view: ChatView, attempt: number, delayMs: number, reason: string): void {
  const events: Array<SessionEvent | SessionState> = [
    { type: "reconnecting", attempt, attempts: null, delayMs },
    { state: "waiting", attempt, delayMs, reason: view.offlineReason ?? "the connection was lost" },
    { state: "connecting", reconnect: true },
    { type: "reconnect_failed", attempt, attempts: null, reason },
  ];
  for (const item of events) {
    if ("state" in item) applyState(view, item, now);
    else applyEvent(view, item, now);
  }
}

Deno.test("offline view: the status bar counts down to the next attempt, second by second", () => {
  const view = createView({ width: 100, height: 8 }, "ana");
  applyState(view, { state: "waiting", attempt: 4, delayMs: 8_000, reason: "refused" }, now);
  assertEquals(view.connection, "offline, retrying in 8 s (Ctrl+R: now)");
  assert(rowText(statusBar(view)).includes("│ offline, retrying in 8 s (Ctrl+R: now) │ ana │"));
  assertEquals(tickCountdown(view, now + 300), 700);
  assertEquals(view.connection, offlineText(7_700));
  assertEquals(view.connection, "offline, retrying in 8 s (Ctrl+R: now)");
  assertEquals(tickCountdown(view, now + 1_000), 1_000);
  assertEquals(view.connection, "offline, retrying in 7 s (Ctrl+R: now)");
  assertEquals(tickCountdown(view, now + 7_999), 1);
  assertEquals(view.connection, "offline, retrying in 1 s (Ctrl+R: now)");
  assertEquals(tickCountdown(view, now + 9_000), null);
  assertEquals(view.connection, "offline, retrying in 0 s (Ctrl+R: now)");

  applyState(view, { state: "connecting", reconnect: true }, now);
  assertEquals(tickCountdown(view, now), null);
  assertEquals(view.connection, "reconnecting…");
  applyState(view, { state: "joining", reconnect: true }, now);
  assertEquals(view.connection, "joining");
  applyState(view, { state: "online" }, now);
  assertEquals(view.connection, "connected");
  assertEquals(view.retryAt, null);
});

Deno.test("offline view: the quick attempts are logged one by one, a long outage once per reason", () => {
  const view = createView({ width: 200, height: 40 }, "ana");
  applyEvent(view, { type: "lost", address, reason: "the server closed it" }, now);
  for (let attempt = 1; attempt <= 9; attempt++) {
    failedAttempt(view, attempt, 1000 * 2 ** (attempt - 1), "connection refused");
  }
  failedAttempt(view, 10, 25_000, "connection timed out");
  failedAttempt(view, 11, 25_000, "connection timed out");
  assertEquals(logText(view), [
    "! lost the connection to 127.0.0.1:9000 (the server closed it)",
    "-- reconnecting in 1 s (attempt 1)",
    "! attempt 1 failed: connection refused",
    "-- reconnecting in 2 s (attempt 2)",
    "! attempt 2 failed: connection refused",
    "-- reconnecting in 4 s (attempt 3)",
    "! attempt 3 failed: connection refused",
    "-- still offline: trying again after longer waits (30 s at most), counted down in the status bar; Ctrl+R tries at once",
    "! attempt 10 failed: connection timed out",
  ]);
  assertEquals(loggedAttempts, 3);

  // A refused password is tried again without a failed attempt: its reason is logged once.
  const wrong = "wrong room password";
  applyState(view, { state: "waiting", attempt: 12, delayMs: 25_000, reason: wrong }, now);
  applyState(view, { state: "connecting", reconnect: true }, now);
  applyState(view, { state: "waiting", attempt: 13, delayMs: 25_000, reason: wrong }, now);
  assertEquals(logText(view).slice(-1), [`! still offline: ${wrong}`]);
  assertEquals(logText(view).filter((line) => line.includes(wrong)).length, 1);

  // Back online: the next outage logs its reasons afresh.
  applyState(view, { state: "online" }, now);
  applyEvent(view, { type: "resumed", missed: 0 }, now);
  assertEquals(view.offlineReason, null);
  const screen = layoutChat(view).rows.map(rowText);
  assert(screen.some((row) => row.includes("│ connected │ ana │")), screen.join("\n"));
});
