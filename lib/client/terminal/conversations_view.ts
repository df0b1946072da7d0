/**
 * The full-screen client's side of conversations (issue #15): the logs of
 * the conversations not on screen, and how the status bar lists them.
 *
 * Owns: a parked log (what a conversation shows when it comes back on
 * screen: its entries, at most {@link maxParkedEntries}, and its paging
 * state), merging a page of history into a log by message id, and the
 * status bar's list of conversations (`[#general] #ops 3 @2 @bob 1`: the one
 * on screen in brackets, unread counts after the name, unread mentions of a
 * channel after an `@`, in bold when there are any). Which conversation a
 * message belongs to and what counts as unread are the client core's
 * (lib/client/conversation_names.ts, lib/client/unread.ts). Pure; imports
 * lib/client/ and screen/text helpers only (chat_view.ts types).
 */
import type { LogEntry, OlderState } from "./chat_view.ts";
import { type ConversationStatus, countText } from "../unread.ts";
import { conversationKey } from "../conversation_names.ts";
import { inert } from "./format.ts";
import type { Span, Style } from "./screen.ts";
import { displayWidth } from "./text_width.ts";

/** Entries a conversation not on screen keeps; older ones can be fetched again with PageUp. */
export const maxParkedEntries = 5000;

/** A conversation's log while another one is on screen. */
export interface ParkedLog {
  log: LogEntry[];
  older: OlderState;
  /** Fetch older messages before this id when the log holds none. */
  olderBefore: number | null;
  newestId: number;
}

/** An empty log: nothing fetched yet. */
export function emptyParkedLog(): ParkedLog {
  return { log: [], older: "idle", olderBefore: null, newestId: 0 };
}

/** Adds entries at the bottom of a parked log (the oldest go past {@link maxParkedEntries}). */
export function appendParked(parked: ParkedLog, entries: readonly LogEntry[]): void {
  for (const entry of entries) {
    parked.log.push(entry);
    if (entry.id !== undefined) parked.newestId = Math.max(parked.newestId, entry.id);
  }
  if (parked.log.length > maxParkedEntries) {
    parked.log.splice(0, parked.log.length - maxParkedEntries);
    if (parked.older === "none") parked.older = "idle";
  }
}

/**
 * `log` with the messages of `page` it does not hold yet, each placed by
 * its id: before the first entry with a larger id (local lines stay where
 * they were). Returns a new array.
 */
export function mergeById(log: readonly LogEntry[], page: readonly LogEntry[]): LogEntry[] {
  const known = new Set(log.flatMap((entry) => (entry.id === undefined ? [] : [entry.id])));
  const merged = [...log];
  for (const entry of page) {
    if (entry.id === undefined || known.has(entry.id)) continue;
    known.add(entry.id);
    const id = entry.id;
    const at = merged.findIndex((other) => other.id !== undefined && other.id > id);
    if (at === -1) merged.push(entry);
    else merged.splice(at, 0, entry);
  }
  return merged;
}

/** How one conversation reads in the status bar: `[#ops 3 @2]` on screen, `@bob 1` otherwise. */
export function conversationLabel(status: ConversationStatus, active: boolean): string {
  let text = inert(status.name);
  if (status.unread > 0) text += ` ${countText(status.unread)}`;
  // A direct message is always a mention: its count says it already.
  if (status.kind === "channel" && status.mentions > 0) text += ` @${countText(status.mentions)}`;
  return active ? `[${text}]` : text;
}

/**
 * The status bar's list of conversations in at most `width` columns, or
 * nothing while there is only one (a guest, an older server, nobody wrote
 * to me). In the order of `all`; when not all fit, the one on screen and
 * those with unread messages are kept first, then `+N` says how many are left out.
 */
export function conversationsBar(
  all: readonly ConversationStatus[],
  active: ConversationStatus | null,
  width: number,
  styles: { bar: Style; alert: Style },
): Span[] {
  if (all.length < 2 || width <= 0) return [];
  const activeKey = active === null ? null : conversationKey(active.name);
  const items = all.map((status) => ({
    status,
    active: conversationKey(status.name) === activeKey,
    text: conversationLabel(status, conversationKey(status.name) === activeKey),
  }));
  const fits = (chosen: typeof items, hidden: number) =>
    displayWidth(chosen.map((item) => item.text).join(" ")) +
        (hidden > 0 ? displayWidth(` +${hidden}`) : 0) <= width;
  let shown = items;
  if (!fits(shown, 0)) {
    // Keep the one on screen and those with something unread; drop the quiet ones from the end.
    const wanted = items.filter((item) => item.active || item.status.unread > 0);
    shown = wanted;
    for (const item of items) {
      if (wanted.includes(item)) continue;
      const candidate = items.filter((other) => shown.includes(other) || other === item);
      if (fits(candidate, items.length - candidate.length)) shown = candidate;
    }
    while (shown.length > 1 && !fits(shown, items.length - shown.length)) {
      const last = shown.findLastIndex((item) => !item.active);
      if (last === -1) break;
      shown = shown.filter((_, index) => index !== last);
    }
  }
  const spans: Span[] = [];
  shown.forEach((item, index) => {
    if (index > 0) spans.push({ text: " ", style: styles.bar });
    const loud = item.status.mentions > 0;
    spans.push({ text: item.text, style: loud ? styles.alert : styles.bar });
  });
  const hidden = items.length - shown.length;
  if (hidden > 0) spans.push({ text: ` +${hidden}`, style: styles.bar });
  return spans;
}
