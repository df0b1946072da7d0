/**
 * What the full-screen client shows, as state, and the screen made from it.
 *
 * Owns: the view state ({@link ChatView}: the message log of the
 * conversation on screen, scroll position, the other conversations' logs and
 * their unread counts (issue #15: the client core's UnreadTracker, each
 * message in the log of its conversation, switching with
 * {@link switchConversation}), who is online, connection state, the
 * private-query target, the input editor, the terminal size), how session
 * events and states change it
 * (while offline: the countdown to the next attempt in the status bar, and
 * only the first reconnect attempts and changed reasons in the log, so a long
 * outage does not push the chat out), how a chat message looks (timestamps,
 * per-nick colours, private marks; its text formatted by markup_spans.ts, with
 * mentions of me highlighted by lib/wire/mentions.ts's rule; a message's line
 * breaks start rows indented past its timestamp; a file message as
 * `📎 NAME (SIZE) — /get N`), the status bar (with the newest file transfer
 * in progress, lib/client/terminal/transfer_status.ts), and
 * {@link layoutChat}: the Screen as a pure function of the view. No I/O, no
 * timers; the caller passes the clock in and ticks the countdown.
 * Imports lib/client/ modules and lib/wire/ only.
 */
import type { ChatMessage } from "../../wire/protocol.ts";
import { parseMarkup } from "../markup.ts";
import {
  conversationKey,
  directName,
  generalChannel,
  peerOfDirect,
  sameConversation,
} from "../conversation_names.ts";
import { type ReadMark, UnreadTracker } from "../unread.ts";
import {
  appendParked,
  conversationsBar,
  emptyParkedLog,
  mergeById,
  type ParkedLog,
} from "./conversations_view.ts";
import { markupSpans } from "./markup_spans.ts";
import { nickHash, OnlineList } from "../online_list.ts";
import type { SessionEvent, SessionState } from "../session.ts";
import { fileMessageText, formatEvent, inert, type LineKind } from "./format.ts";
import { type TransferShown, transfersText } from "./transfer_status.ts";
import { type EditorState, emptyEditor } from "./line_editor.ts";
import {
  fitRow,
  layoutInput,
  type Row,
  type Screen,
  type Span,
  type Style,
  wrapSpans,
} from "./screen.ts";
import { displayWidth, truncate } from "./text_width.ts";

/** One entry of the message log: a message or a status line, wrapped when shown. */
export interface LogEntry {
  /** The message id, for entries that are messages in their place in the conversation. */
  id?: number;
  spans: Span[];
  /** Indent of wrapped rows (the width of the timestamp). */
  indent: number;
}

/** Whether older messages can be fetched at the top of the log. */
export type OlderState = "idle" | "loading" | "none";

/** Everything the full-screen client shows. Changed by the functions below. */
export interface ChatView {
  width: number;
  height: number;
  room: string;
  nick: string;
  /** Short words for the status bar: "connecting", "connected", "offline, retrying in 8 s", ... */
  connection: string;
  /** While waiting to reconnect: when the next attempt starts (ms, the caller's clock); else null. */
  retryAt: number | null;
  /** Why the last reconnect attempt failed, while offline: a reason is logged once, not per attempt. */
  offlineReason: string | null;
  /** Online nicks, sorted without regard to case. */
  /** Who is online, by name (from {@link ChatView.online}). */
  users: string[];
  /** Who is online, kept by the client core's rules. */
  online: OnlineList;
  log: LogEntry[];
  /** Rows scrolled up from the newest (0 = following new messages). */
  scroll: number;
  /** Entries that arrived below while scrolled up. */
  unseen: number;
  older: OlderState;
  /** Fetch older messages before this id when the log holds none (after /clear). */
  olderBefore: number | null;
  newestId: number;
  /** Every typed line goes privately to this nick, or null: the peer of the direct conversation on screen. */
  query: string | null;
  editor: EditorState;
  /**
   * My conversations and their unread counts, and which one is on screen
   * (the client core's rules). `log`, `scroll`, `unseen`, `older`,
   * `olderBefore` and `newestId` above are that one's.
   */
  conversations: UnreadTracker;
  /** The logs of the conversations not on screen, by conversationKey. */
  parked: Map<string, ParkedLog>;
  /** Conversations whose history was asked for, by conversationKey (#general's comes with the join). */
  historyAsked: Set<string>;
  /** Read marks to send, oldest first: the full-screen client takes them (ReadSender). */
  reads: ReadMark[];
  /**
   * The conversation on screen had unread messages when it was opened: a
   * "new since you last read" line goes before its first message after this
   * id. Null: no line.
   */
  newSince: number | null;
  /** File transfers in progress, oldest first (issue #16): the newest shows in the status bar. */
  transfers: readonly TransferShown[];
  /** Transfers waiting for their turn (counted in the status bar's `+N`). */
  transfersQueued: number;
}

/** Most entries kept; older ones are dropped (and can be fetched again with PageUp). */
export const maxLogEntries = 5000;

/** A new, empty view. */
export function createView(
  size: { width: number; height: number },
  nick = "",
  history: readonly string[] = [],
): ChatView {
  const reads: ReadMark[] = [];
  return {
    width: size.width,
    height: size.height,
    room: "",
    nick,
    connection: "connecting",
    retryAt: null,
    offlineReason: null,
    users: [],
    online: new OnlineList(),
    log: [],
    scroll: 0,
    unseen: 0,
    older: "idle",
    olderBefore: null,
    newestId: 0,
    query: null,
    editor: emptyEditor(history),
    conversations: new UnreadTracker({ onRead: (mark) => reads.push(mark) }),
    parked: new Map(),
    historyAsked: new Set([conversationKey(generalChannel)]),
    reads,
    newSince: null,
    transfers: [],
    transfersQueued: 0,
  };
}

// ---- how things look ---------------------------------------------------------------

/** Nick colours: readable on dark and light backgrounds; no plain blue, no black or white. */
const nickPalette = [2, 3, 5, 6, 9, 10, 11, 12, 13, 14, 1];

/** A colour for `nick`, the same in every session (case does not matter). */
export function nickColor(nick: string): number {
  return nickPalette[nickHash(nick) % nickPalette.length]!;
}

const styles = {
  time: { dim: true },
  status: { dim: true },
  error: { color: 9, bold: true },
  privateTag: { color: 13, bold: true },
  channelTag: { color: 6 },
  mention: { color: 11, bold: true },
  bar: { inverse: true },
  barAlert: { inverse: true, bold: true },
} satisfies Record<string, Style>;

function two(value: number): string {
  return String(value).padStart(2, "0");
}

/** `HH:MM`, or `MM-DD HH:MM` when `ts` is not on the same day as `now` (local time). */
export function timestamp(ts: number, now: number, alwaysDate = false): string {
  const date = new Date(ts);
  const today = new Date(now);
  const clock = `${two(date.getHours())}:${two(date.getMinutes())}`;
  const sameDay = date.getFullYear() === today.getFullYear() &&
    date.getMonth() === today.getMonth() && date.getDate() === today.getDate();
  return sameDay && !alwaysDate
    ? clock
    : `${two(date.getMonth() + 1)}-${two(date.getDate())} ${clock}`;
}

/** A chat message as a log entry. */
export function messageEntry(
  input: { message: ChatMessage; text: string; own: boolean },
  options: {
    nick: string;
    now: number;
    alwaysDate?: boolean;
    placed?: boolean;
    /** Say which channel it is in (search results, shown in another conversation). */
    tagChannel?: boolean;
  },
): LogEntry {
  const { message, text, own } = input;
  const time = `[${timestamp(message.ts, options.now, options.alwaysDate)}]`;
  const from = inert(message.from);
  const nickStyle: Style = own ? { color: nickColor(message.from), bold: true } : {
    color: nickColor(message.from),
  };
  const spans: Span[] = [{ text: time, style: styles.time }, { text: " " }];
  if (options.tagChannel === true && message.to === undefined) {
    spans.push(
      { text: `[${inert(message.channel ?? generalChannel)}]`, style: styles.channelTag },
      {
        text: " ",
      },
    );
  }
  if (message.to !== undefined) {
    spans.push({
      text: own ? `[to ${inert(message.to)}]` : "[private]",
      style: styles.privateTag,
    }, { text: " " });
  }
  // A file: its name as it is (no markup), and how to get it.
  const body: Span[] = message.file === undefined
    ? markupSpans(parseMarkup(text), {
      me: options.nick,
      highlight: !own,
      mentionStyle: styles.mention,
    })
    : [{ text: fileMessageText(message.file, message.id) }];
  if (message.kind === "action") {
    spans.push({ text: "* " }, { text: from, style: nickStyle }, { text: " " }, ...body);
  } else {
    spans.push({ text: `<${from}>`, style: nickStyle }, { text: " " }, ...body);
  }
  return {
    ...(options.placed === false ? {} : { id: message.id }),
    spans,
    indent: displayWidth(time) + 1,
  };
}

/** A local or status line as a log entry. */
export function noteEntry(text: string, kind: LineKind = "status"): LogEntry {
  const style = kind === "error" ? styles.error : kind === "status" ? styles.status : undefined;
  const clock = /^\[[\d:-]+(?: [\d:]+)?\] /.exec(text)?.[0] ?? "";
  return {
    spans: [style === undefined ? { text } : { text, style }],
    indent: displayWidth(clock) || (text.startsWith("-- ") || text.startsWith("! ") ? 3 : 0),
  };
}

// ---- changing the view -------------------------------------------------------------

const wrapCache = new WeakMap<LogEntry, { width: number; rows: Row[] }>();

/** The rows `entry` takes at `width` columns (cached). */
export function entryRows(entry: LogEntry, width: number): Row[] {
  const cached = wrapCache.get(entry);
  if (cached !== undefined && cached.width === width) return cached.rows;
  const rows = wrapSpans(entry.spans, width, entry.indent);
  wrapCache.set(entry, { width, rows });
  return rows;
}

/** Adds entries at the bottom. While scrolled up, the view stays where it is. */
export function addEntries(view: ChatView, entries: LogEntry[]): void {
  for (const entry of entries) {
    view.log.push(entry);
    if (entry.id !== undefined) view.newestId = Math.max(view.newestId, entry.id);
    if (view.scroll > 0) {
      view.scroll += entryRows(entry, view.width).length;
      view.unseen++;
    }
  }
  if (view.log.length > maxLogEntries) {
    view.log.splice(0, view.log.length - maxLogEntries);
    if (view.older === "none") view.older = "idle";
  }
  clampScroll(view);
}

/** Adds older messages at the top (a page of `history`). */
export function prependEntries(view: ChatView, entries: LogEntry[], more: boolean): void {
  const known = new Set(view.log.flatMap((entry) => (entry.id === undefined ? [] : [entry.id])));
  view.log.unshift(...entries.filter((entry) => entry.id === undefined || !known.has(entry.id)));
  view.older = more ? "idle" : "none";
  if (!more) view.olderBefore = null;
}

/** The id to fetch older messages before, or null when there is nothing to ask for. */
export function olderCursor(view: ChatView): number | null {
  for (const entry of view.log) if (entry.id !== undefined) return entry.id;
  return view.olderBefore;
}

/** Empties the log (/clear). PageUp can fetch the messages again. */
export function clearLog(view: ChatView): void {
  view.log = [];
  view.scroll = 0;
  view.unseen = 0;
  if (view.newestId > 0) {
    view.olderBefore = view.newestId + 1;
    view.older = "idle";
  }
}

// ---- conversations ---------------------------------------------------------------

/** The name of the conversation on screen (`#general` when none of mine is). */
export function activeConversation(view: ChatView): string {
  return view.conversations.active?.name ?? generalChannel;
}

function isActive(view: ChatView, name: string): boolean {
  return sameConversation(activeConversation(view), name);
}

/** What {@link switchConversation} did. */
export interface SwitchResult {
  /** The conversation now on screen, as the wire names it. */
  name: string;
  /** Its history was never asked for: ask for it now (and give it to {@link addHistory}). */
  needsHistory: boolean;
}

/**
 * Puts conversation `name` on screen, opening it when new: the log on
 * screen is parked, the other one comes back (at its newest messages), and
 * it is read up to its newest message (a mark for the server in `reads`).
 */
export function switchConversation(view: ChatView, name: string): SwitchResult {
  const current = view.conversations.active;
  const target = view.conversations.open(name);
  const key = conversationKey(target.name);
  if (current === null || conversationKey(current.name) !== key) {
    view.newSince = target.unread > 0 ? target.readId : null;
    if (current !== null) {
      view.parked.set(conversationKey(current.name), {
        log: view.log,
        older: view.older === "loading" ? "idle" : view.older,
        olderBefore: view.olderBefore,
        newestId: view.newestId,
      });
    }
    const parked = view.parked.get(key) ?? emptyParkedLog();
    view.parked.delete(key);
    view.log = parked.log;
    view.older = parked.older;
    view.olderBefore = parked.olderBefore;
    view.newestId = parked.newestId;
    view.scroll = 0;
    view.unseen = 0;
  }
  view.conversations.activate(target.name);
  view.query = peerOfDirect(target.name);
  const needsHistory = !view.historyAsked.has(key);
  view.historyAsked.add(key);
  return { name: target.name, needsHistory };
}

/** Adds entries at the bottom of conversation `name`'s log, on screen or not. */
export function addToConversation(view: ChatView, name: string, entries: LogEntry[]): void {
  if (isActive(view, name)) {
    addEntries(view, entries);
    return;
  }
  const key = conversationKey(name);
  const parked = view.parked.get(key) ?? emptyParkedLog();
  view.parked.set(key, parked);
  appendParked(parked, entries);
}

/**
 * A page of conversation `name`'s history (the one asked for when it first
 * came on screen): its messages go into its log by id, wherever it is now.
 */
export function addHistory(view: ChatView, name: string, entries: LogEntry[], more: boolean): void {
  const newest = Math.max(0, ...entries.map((entry) => entry.id ?? 0));
  if (isActive(view, name)) {
    view.log = mergeById(view.log, entries);
    view.newestId = Math.max(view.newestId, newest);
    view.older = more ? "idle" : "none";
    if (!more) view.olderBefore = null;
    clampScroll(view);
    return;
  }
  const key = conversationKey(name);
  const parked = view.parked.get(key) ?? emptyParkedLog();
  view.parked.set(key, parked);
  parked.log = mergeById(parked.log, entries);
  parked.newestId = Math.max(parked.newestId, newest);
  parked.older = more ? "idle" : "none";
}

/**
 * Conversation `name` is gone (a channel I left, a direct one closed);
 * never `#general`. When it was on screen, `#general` comes back.
 */
export function dropConversation(view: ChatView, name: string): void {
  if (sameConversation(name, generalChannel)) return;
  if (isActive(view, name)) switchConversation(view, generalChannel);
  const key = conversationKey(name);
  view.parked.delete(key);
  view.historyAsked.delete(key);
  view.conversations.remove(name);
}

/** `from` is now `to`: the direct conversation with them follows, log and all. */
function renamePeer(view: ChatView, from: string, to: string): void {
  const fromKey = conversationKey(directName(from));
  const toKey = conversationKey(directName(to));
  const wasActive = isActive(view, directName(from));
  if (view.conversations.renamePeer(from, to) === null || fromKey === toKey) {
    if (wasActive) view.query = to;
    return;
  }
  const moved = view.parked.get(fromKey);
  view.parked.delete(fromKey);
  if (view.historyAsked.delete(fromKey)) view.historyAsked.add(toKey);
  const there = view.parked.get(toKey);
  if (wasActive) {
    // Both were open (one account, two nicks): one conversation now, on screen.
    if (there !== undefined) view.log = mergeById(view.log, there.log);
    view.parked.delete(toKey);
    view.query = to;
  } else if (moved !== undefined) {
    view.parked.set(
      toKey,
      there === undefined ? moved : {
        ...there,
        log: mergeById(there.log, moved.log),
        newestId: Math.max(there.newestId, moved.newestId),
      },
    );
  }
}

/** The online list's rules are the client core's (OnlineList); the view keeps its names, in order. */
function usersOf(online: OnlineList): string[] {
  return online.sorted().map((user) => user.nick);
}

/** What the caller should do after an event, besides redrawing. */
export interface EventOutcome {
  /** Ring the terminal bell: a message arrived that its conversation's notification level tells of. */
  bell: boolean;
}

/**
 * Applies a session event to the view: the log, the online list, the
 * connection state, my nick. `now` is the current time (ms), for timestamps.
 */
export function applyEvent(view: ChatView, event: SessionEvent, now: number): EventOutcome {
  const bell = false;
  switch (event.type) {
    case "connected":
      view.room = event.serverName;
      view.connection = "joining";
      break;
    case "welcome":
      view.nick = event.nick;
      view.connection = "connected";
      break;
    case "users":
      view.online.replace(event.users);
      view.users = usersOf(view.online);
      break;
    case "joined":
      view.online.joined(event.nick, event.ts, event.guest);
      view.users = usersOf(view.online);
      break;
    case "left":
      view.online.left(event.nick);
      view.users = usersOf(view.online);
      break;
    case "renamed":
      view.online.renamed(event.from, event.to, event.ts);
      view.users = usersOf(view.online);
      if (event.own) view.nick = event.to;
      else renamePeer(view, event.from, event.to);
      break;
    case "lost":
      view.connection = "disconnected";
      view.online.replace([]);
      view.users = []; // Unknown until the server sends the list again.
      break;
    case "reconnecting":
      view.connection = event.attempts === null
        ? `reconnecting (attempt ${event.attempt})`
        : `reconnecting ${event.attempt}/${event.attempts}`;
      if (event.attempts === null && event.attempt > loggedAttempts) {
        // The status bar counts down to each later attempt; the log says so once.
        if (event.attempt === loggedAttempts + 1) addNote(view, stillOfflineNote);
        return { bell };
      }
      break;
    case "reconnect_failed": {
      const repeated = event.reason === view.offlineReason;
      view.offlineReason = event.reason;
      if (event.attempts === null && event.attempt > loggedAttempts && repeated) return { bell };
      break;
    }
    case "resumed":
      view.connection = "connected";
      view.offlineReason = null;
      break;
    case "history_end": {
      // The join's history: #general's.
      const older = event.more ? "idle" : "none";
      if (isActive(view, generalChannel)) view.older = older;
      else {
        const parked = view.parked.get(conversationKey(generalChannel));
        if (parked !== undefined) parked.older = older;
      }
      break;
    }
    case "message": {
      const arrival = view.conversations.arrive(
        event.message,
        event.text,
        event.own,
        event.source,
        view.nick,
      );
      const name = arrival.conversation.name;
      addToConversation(view, name, [messageEntry(event, { nick: view.nick, now })]);
      if (
        event.own && event.source === "live" && event.message.to !== undefined &&
        !isActive(view, name)
      ) {
        // Sent with /msg from another conversation: shown where it was typed too.
        addEntries(view, [messageEntry(event, { nick: view.nick, now, placed: false })]);
      }
      return { bell: arrival.alert };
    }
    case "conversations":
      view.conversations.seed(event.items);
      return { bell };
    case "read":
      view.conversations.applyRead(event.conversation, event.id);
      return { bell };
    case "notify":
      view.conversations.applyNotify(event.conversation, event.level);
      return { bell };
    case "channel":
      if (event.channel.joined) {
        view.conversations.open(event.channel.name);
        // Said in the channel itself: that is where the person goes next.
        addToConversation(
          view,
          event.channel.name,
          formatEvent(event).map((line) => noteEntry(line.text, line.kind)),
        );
        return { bell };
      }
      dropConversation(view, event.channel.name);
      break;
    case "topic":
      if (view.conversations.find(event.channel) !== undefined) {
        addToConversation(
          view,
          event.channel,
          formatEvent(event).map((line) => noteEntry(line.text, line.kind)),
        );
        return { bell };
      }
      break;
    default:
      break;
  }
  addEntries(view, formatEvent(event).map((line) => noteEntry(line.text, line.kind)));
  return { bell };
}

/**
 * Reconnect attempts of a session that keeps retrying whose waits and
 * failures go in the log one by one (the quick ones, about 1 s, 2 s and 4 s
 * apart); later ones show only in the status bar, and a failure only when its
 * reason changed.
 */
export const loggedAttempts = 3;

/** The key that cuts the wait before the next reconnect attempt short. */
export const retryNowKey = "Ctrl+R";

const stillOfflineNote = `-- still offline: trying again after longer waits (30 s at most), ` +
  `counted down in the status bar; ${retryNowKey} tries at once`;

/** The status bar's words while waiting `msLeft` before the next reconnect attempt. */
export function offlineText(msLeft: number): string {
  const seconds = Math.max(0, Math.ceil(msLeft / 1000));
  return `offline, retrying in ${seconds} s (${retryNowKey}: now)`;
}

/**
 * Applies a session state to the view: the connection words of the status
 * bar, and while waiting to reconnect, when the next attempt starts (`now` +
 * the wait) for {@link tickCountdown}. A reason the log has not shown yet (a
 * refused password is tried again without a `reconnect_failed`) is logged.
 */
export function applyState(view: ChatView, state: SessionState, now: number): void {
  view.retryAt = null;
  switch (state.state) {
    case "connecting":
      view.connection = state.reconnect ? "reconnecting…" : "connecting";
      break;
    case "joining":
      view.connection = "joining";
      break;
    case "online":
      view.connection = "connected";
      view.offlineReason = null;
      break;
    case "waiting":
      if (state.attempt > 1 && state.reason !== view.offlineReason) {
        view.offlineReason = state.reason;
        addNote(view, `! still offline: ${inert(state.reason)}`);
      }
      view.retryAt = now + state.delayMs;
      view.connection = offlineText(state.delayMs);
      break;
    case "ended":
      view.connection = "disconnected";
      break;
  }
}

/**
 * Brings the countdown of the status bar to `now`. Returns the milliseconds
 * until its text changes next, or null when not waiting to reconnect.
 */
export function tickCountdown(view: ChatView, now: number): number | null {
  if (view.retryAt === null) return null;
  const msLeft = Math.max(0, view.retryAt - now);
  view.connection = offlineText(msLeft);
  if (msLeft === 0) return null;
  return msLeft % 1000 === 0 ? 1000 : msLeft % 1000;
}

/** Shows a local line (help, usage, mistakes): lines starting with "!" are errors. */
export function addNote(view: ChatView, text: string): void {
  addEntries(view, [noteEntry(text, text.startsWith("!") ? "error" : "status")]);
}

// ---- layout --------------------------------------------------------------------------

/** Rows of the input area at most: a third of the screen, 1 to 8. */
export function maxInputRows(height: number): number {
  return Math.max(1, Math.min(8, Math.floor(height / 3)));
}

function promptRow(view: ChatView): Row {
  if (view.query === null) {
    const active = activeConversation(view);
    if (sameConversation(active, generalChannel)) return [{ text: "> " }];
    return [{ text: "[" }, { text: inert(active), style: styles.channelTag }, { text: "] > " }];
  }
  return [{ text: "[" }, { text: inert(view.query), style: styles.privateTag }, { text: "] > " }];
}

/** The line before the first message not read yet when a conversation was opened (PROTOCOL.md 9.5). */
export const newSinceLine = "── new since you last read ──";

function topNote(view: ChatView): LogEntry | null {
  if (view.older === "loading") return noteEntry("-- loading older messages…");
  if (view.older === "none" && view.log.length > 0) {
    return noteEntry("-- beginning of the conversation");
  }
  return null;
}

/** The rows of the whole log, oldest first, up to `limit` rows from the bottom. */
function logRows(view: ChatView, limit: number): { rows: Row[]; complete: boolean } {
  const rows: Row[] = [];
  const since = view.newSince;
  const firstNew = since === null
    ? -1
    : view.log.findIndex((entry) => entry.id !== undefined && entry.id > since);
  for (let index = view.log.length - 1; index >= 0; index--) {
    const entryRowsList = entryRows(view.log[index]!, view.width);
    rows.unshift(...entryRowsList);
    if (index === firstNew) {
      rows.unshift(...entryRows(noteEntry(newSinceLine), view.width));
    }
    if (rows.length >= limit && index > 0) return { rows, complete: false };
  }
  const note = topNote(view);
  if (note !== null) rows.unshift(...entryRows(note, view.width));
  return { rows, complete: true };
}

function areaHeight(view: ChatView): number {
  return Math.max(0, view.height - 1 - inputLayout(view).rows.length);
}

function inputLayout(view: ChatView) {
  return layoutInput(
    promptRow(view),
    view.editor.text,
    view.editor.cursor,
    view.width,
    maxInputRows(view.height),
  );
}

/** Keeps `scroll` between 0 and the top of the log. */
export function clampScroll(view: ChatView): void {
  if (view.scroll <= 0) {
    view.scroll = 0;
    view.unseen = 0;
    return;
  }
  const height = areaHeight(view);
  const { rows } = logRows(view, view.scroll + height + 1);
  view.scroll = Math.max(0, Math.min(view.scroll, rows.length - height));
  if (view.scroll === 0) view.unseen = 0;
}

/** Scrolls by `rows` (positive = up, into the past). Returns true when the top of the log is shown. */
export function scrollBy(view: ChatView, rows: number): boolean {
  view.scroll += rows;
  clampScroll(view);
  return atTop(view);
}

/** A page for PageUp/PageDown: the message area's height less one row of overlap. */
export function pageRows(view: ChatView): number {
  return Math.max(1, areaHeight(view) - 1);
}

/** True when the oldest entry of the log is on screen. */
export function atTop(view: ChatView): boolean {
  const height = areaHeight(view);
  const { rows, complete } = logRows(view, view.scroll + height + 1);
  return complete && rows.length <= view.scroll + height;
}

function usersText(users: string[], width: number): string {
  const head = `${users.length} online`;
  if (users.length === 0 || width <= displayWidth(head)) return truncate(head, width);
  const names = users.map(inert);
  for (let shown = names.length; shown > 0; shown--) {
    const rest = names.length - shown;
    const text = `${head}: ${names.slice(0, shown).join(", ")}${rest > 0 ? `, +${rest} more` : ""}`;
    if (displayWidth(text) <= width) return text;
  }
  return head;
}

/** The status bar: room, connection, my nick, the conversations, who is online, query, scroll state. */
export function statusBar(view: ChatView): Row {
  const room = view.room === "" ? "lanchat" : inert(view.room);
  const alerts: string[] = [];
  if (view.query !== null) alerts.push(`query: ${inert(view.query)}`);
  if (view.scroll > 0) {
    alerts.push(view.unseen > 0 ? `↓ ${view.unseen} new below` : "↓ scrolled up");
  }
  const alertText = alerts.length === 0 ? " " : ` [${alerts.join("] [")}] `;
  // A transfer in progress (issue #16): at most about half the bar, before the alerts.
  const transfer = transfersText(
    view.transfers,
    view.transfersQueued,
    Math.max(12, Math.floor(view.width * 0.45)),
  );
  const transferText = transfer === "" ? "" : `│ ${transfer} `;
  const right = transferText + alertText;
  // On a narrow screen the online list goes first, then my nick, then the connection state.
  const nick = truncate(inert(view.nick), 20);
  const lefts = [
    ` ${truncate(room, 24)} │ ${view.connection} │ ${nick} │ `,
    ` ${truncate(room, 16)} │ ${view.connection} │ `,
    ` ${truncate(room, 16)} │ `,
  ];
  const left = lefts.find((text) => displayWidth(text) + displayWidth(right) + 10 <= view.width) ??
    truncate(lefts[2]!, Math.max(0, view.width - displayWidth(right)));
  const middleWidth = view.width - displayWidth(left) - displayWidth(right);
  // The conversations (when there are several) before the online list, which shrinks first.
  const separator = " │ ";
  const conversations = conversationsBar(
    view.conversations.all,
    view.conversations.active,
    middleWidth - displayWidth(`${view.users.length} online`) - displayWidth(separator),
    { bar: styles.bar, alert: styles.barAlert },
  );
  const conversationsWidth = conversations.length === 0
    ? 0
    : displayWidth(conversations.map((span) => span.text).join("")) + displayWidth(separator);
  const usersWidth = middleWidth - conversationsWidth;
  const users = usersText(view.users, Math.max(0, usersWidth));
  const gap = Math.max(0, usersWidth - displayWidth(users));
  const bar: Row = [
    { text: left, style: styles.bar },
    ...conversations,
    ...(conversations.length === 0 ? [] : [{ text: separator, style: styles.bar }]),
    { text: users + " ".repeat(gap), style: styles.bar },
    ...(transferText === "" ? [] : [{ text: transferText, style: styles.bar }]),
    { text: alertText, style: alerts.length === 0 ? styles.bar : styles.barAlert },
  ];
  return fitRow(bar, view.width, styles.bar);
}

/**
 * The screen for `view`: the message area (newest at the bottom, or
 * scrolled back), the status bar, the input line and the cursor in it.
 */
export function layoutChat(view: ChatView): Screen {
  const width = Math.max(1, view.width);
  const height = Math.max(1, view.height);
  const input = inputLayout(view);
  const area = Math.max(0, height - 1 - input.rows.length);
  const { rows } = logRows(view, view.scroll + area);
  const end = Math.max(0, rows.length - view.scroll);
  const shown = rows.slice(Math.max(0, end - area), end);
  const screenRows: Row[] = [];
  // Messages sit at the bottom of the area, just above the status bar.
  for (let index = shown.length; index < area; index++) screenRows.push([]);
  for (const row of shown) screenRows.push(fitRow(row, width));
  if (height >= 2) screenRows.push(statusBar(view));
  for (const row of input.rows) screenRows.push(fitRow(row, width));
  const inputTop = screenRows.length - input.rows.length;
  return {
    width,
    height,
    rows: screenRows.slice(-height),
    cursor: { row: Math.min(height - 1, inputTop + input.cursor.row), column: input.cursor.column },
  };
}
