// @ts-check
/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The chat page: conversations in tabs (the room, private chats, search
 * results), the online list, the composer and its commands, unread counts,
 * and the chat side of the session: hello, history, resume after a drop.
 *
 * Owns: chat state and the DOM of index.html. The socket, reconnects and
 * liveness are connection.js; payload fields are wire.js; row markup is view.js.
 */
import { ChatConnection } from "./connection.js";
import { downgradeMessage } from "./noise.js";
import { secureHandshake } from "./secure.js";
import { chatItems, encodeBody, nickKey, nickProblem, toChatMessage } from "./wire.js";
import { privateKey, Tabs } from "./tabs.js";
import { element, messageRow, noticeRow } from "./view.js";

/** @typedef {import("./wire.js").ChatMessage} ChatMessage */
/** @typedef {import("./wire.js").Payload} Payload */
/** @typedef {import("./tabs.js").Conversation} Conversation */

/** Messages asked for after joining, and per page when scrolling up. */
const historyPageSize = 50;
/** Where the chosen nick is remembered. */
const nickStorageKey = "lanchat.nick";
/** Set once this browser joined this origin's room with its password. */
const passwordMarkKey = "lanchat.roomHadPassword";
/** Sent as `hello.client`. */
const clientName = "lanchat-web/0.1";
/** Renames tried when a reconnect finds my old nick still held by my dead connection. */
const maxGhostRenames = 5;

/**
 * A `history` request awaiting its answer (answers come in request order).
 * A history page asked for, matched with its answer (or refusal) by `ref`.
 * @typedef {{ key: string, general: boolean, initial: boolean, before: number | null, ref?: string }} PendingHistory
 */

const $ = /** @param {string} id */ (id) => {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`index.html lacks #${id}`);
  return node;
};
const dom = {
  roomName: $("room-name"),
  status: $("status"),
  statusText: $("status-text"),
  retry: /** @type {HTMLButtonElement} */ ($("retry")),
  notice: $("notice"),
  tabs: $("tabs"),
  panels: $("panels"),
  newMessages: /** @type {HTMLButtonElement} */ ($("new-messages")),
  composer: /** @type {HTMLFormElement} */ ($("composer")),
  input: /** @type {HTMLTextAreaElement} */ ($("composer-input")),
  people: $("people"),
  peopleToggle: /** @type {HTMLButtonElement} */ ($("people-toggle")),
  peopleClose: /** @type {HTMLButtonElement} */ ($("people-close")),
  peopleCount: $("people-count"),
  peopleCountShort: $("people-count-short"),
  userList: $("user-list"),
  backdrop: $("drawer-backdrop"),
  searchForm: /** @type {HTMLFormElement} */ ($("search-form")),
  searchInput: /** @type {HTMLInputElement} */ ($("search-input")),
  nickDialog: /** @type {HTMLDialogElement} */ ($("nick-dialog")),
  nickForm: /** @type {HTMLFormElement} */ ($("nick-form")),
  nickInput: /** @type {HTMLInputElement} */ ($("nick-input")),
  nickError: $("nick-error"),
  nickRoom: $("nick-room"),
  passwordDialog: /** @type {HTMLDialogElement} */ ($("password-dialog")),
  passwordForm: /** @type {HTMLFormElement} */ ($("password-form")),
  passwordInput: /** @type {HTMLInputElement} */ ($("password-input")),
  passwordError: $("password-error"),
  passwordRoom: $("password-room"),
};

/** Phones: the online list is a drawer and hints are shorter (as in style.css). */
const narrowScreen = matchMedia("(max-width: 720px)");

const state = {
  roomName: "",
  /** The nick the person chose (remembered once the server accepted it). */
  wantedNick: readStoredNick(),
  /** My nick in the room, or null before `welcome`. */
  nick: /** @type {string | null} */ (null),
  /** A `hello` is out and unanswered. */
  joining: false,
  /** The nick of that `hello`. */
  helloNick: "",
  ghostRenames: 0,
  /** Joined at least once on this page: later joins resume with `hello.after`. */
  everJoined: false,
  /** The first `history` has not been answered yet (asked again after a drop). */
  needInitialHistory: true,
  /** Newest message id seen: `hello.after` of the next reconnect. */
  lastSeenId: 0,
  /** Smallest id seen: `before` of the room's next older page. */
  oldestSeenId: /** @type {number | null} */ (null),
  /** Ids shown, to show each message once across reconnects and overlapping pages. */
  seen: new Set(/** @type {number[]} */ ([])),
  /** @type {Map<string, { nick: string, since: number }>} */
  users: new Map(),
  /** A long `users` list arrives in parts: true while parts marked `more` are coming. */
  usersGathering: false,
  /** @type {PendingHistory[]} */
  pendingHistory: [],
  /** `ref` of each unconfirmed `say` -> the tab it was written in. */
  refs: new Map(/** @type {[string, string][]} */ ([])),
  refCounter: 0,
  /** Numbers the `ref` of history pages and searches. */
  requestCounter: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  countdown: undefined,
  /** The first connection was opened (it waits for a nick on a first visit). */
  started: false,
};

function readStoredNick() {
  try {
    return localStorage.getItem(nickStorageKey) ?? "";
  } catch {
    return ""; // Storage disabled: the prompt simply comes back on each visit.
  }
}

/**
 * Whether this browser joined the room at this origin with its password
 * (localStorage is per origin). Once it has, a greeting that does not ask for
 * the password is refused (issue #12: a man in the middle could send it).
 */
function roomHadPassword() {
  try {
    return localStorage.getItem(passwordMarkKey) === "yes";
  } catch {
    return false; // Storage disabled: the link still refuses plaintext after a secure session.
  }
}

/** @param {boolean} had */
function markRoomPassword(had) {
  try {
    if (had) localStorage.setItem(passwordMarkKey, "yes");
    else localStorage.removeItem(passwordMarkKey);
  } catch {
    // Storage disabled: nothing to remember with.
  }
}

/**
 * The greeting did not ask for the password this browser joined with. Says so,
 * and offers to forget the password (the room's operator may really have
 * removed it); otherwise the page stays disconnected.
 */
function onDowngrade() {
  const forget = confirm(
    `${downgradeMessage}.\n\nThis browser joined the room at ${location.host} with a room ` +
      "password before. If whoever runs it says they removed the password, choose OK to " +
      "forget it here and join without one.",
  );
  if (!forget) return;
  markRoomPassword(false);
  dom.notice.hidden = true;
  connection.restart();
}

/** @param {string} nick */
function storeNick(nick) {
  try {
    localStorage.setItem(nickStorageKey, nick);
  } catch {
    // Storage disabled or full: nothing to remember with.
  }
}

// ---- conversations -------------------------------------------------------------

const tabs = new Tabs({
  tablist: dom.tabs,
  panels: dom.panels,
  marker: dom.newMessages,
  onActivate: (conversation, focus) => {
    const keys = narrowScreen.matches ? "" : " (Enter sends, Shift+Enter new line)";
    dom.input.placeholder = conversation.kind === "private"
      ? `Private message to ${conversation.title}${keys}`
      : `Message the room${keys}`;
    if (conversation.kind === "private" && !conversation.askedHistory) {
      requestPrivateHistory(conversation);
    }
    if (focus) dom.input.focus();
  },
  onNearTop: (conversation) => requestOlder(conversation),
  onUnread: () => updateTitle(),
});

/**
 * Opens (or shows) the private conversation with `nick` and puts the cursor in the composer.
 * @param {string} nick
 */
function openPrivate(nick) {
  if (isMe(nick)) return;
  const conversation = tabs.private(nick);
  closeDrawer();
  tabs.activate(conversation.key, { focus: true });
}

/** @param {string} nick */
function isMe(nick) {
  return state.nick !== null && nickKey(nick) === nickKey(state.nick);
}

/**
 * The conversation a message belongs to: the room, or the private one with the other party.
 * @param {ChatMessage} message
 */
function conversationOf(message) {
  if (message.to === null) return tabs.room();
  return tabs.private(isMe(message.from) ? message.to : message.from);
}

/**
 * Shows `message` once (by id) in its conversation. Call inside tabs.keepingScroll.
 * @param {ChatMessage} message
 * @param {"live" | "history"} source  Live and missed messages count as unread.
 * @returns {Conversation | null}  Where it went, or null for a repeat.
 */
function showMessage(message, source) {
  if (state.seen.has(message.id)) return null;
  state.seen.add(message.id);
  state.lastSeenId = Math.max(state.lastSeenId, message.id);
  state.oldestSeenId = Math.min(state.oldestSeenId ?? message.id, message.id);
  const mine = isMe(message.from);
  const conversation = conversationOf(message);
  tabs.place(conversation, messageRow(message, { mine }), message.id);
  conversation.oldest = Math.min(conversation.oldest ?? message.id, message.id);
  if (source === "live" && !mine) tabs.countUnread(conversation);
  if (state.seen.size === 1) performance.mark("lanchat:first-message");
  return conversation;
}

/**
 * Adds a line from the page to a conversation (default: the one on screen).
 * @param {string} text
 * @param {"info" | "quiet" | "error"} [tone]
 * @param {Conversation} [conversation]
 */
function notice(text, tone = "info", conversation = tabs.current()) {
  tabs.notice(text, state.lastSeenId + 0.5, tone, conversation);
}

function updateTitle() {
  let unread = 0;
  for (const conversation of tabs.conversations.values()) unread += conversation.unread;
  const name = state.roomName === "" ? "lanchat" : `${state.roomName} · lanchat`;
  document.title = unread > 0 ? `(${unread}) ${name}` : name;
}

// ---- history and search -----------------------------------------------------------

/**
 * @param {PendingHistory} request
 * @param {Record<string, unknown>} payload
 */
function askHistory(request, payload) {
  const ref = `page-${++state.requestCounter}`;
  if (!connection.send({ type: "history", limit: historyPageSize, ref, ...payload })) return false;
  state.pendingHistory.push({ ...request, ref });
  const conversation = tabs.conversations.get(request.key);
  if (conversation !== undefined) {
    conversation.loading = true;
    tabs.renderOlder(conversation);
  }
  return true;
}

function requestInitialHistory() {
  askHistory({ key: "room", general: true, initial: true, before: null }, {});
}

/** @param {Conversation} conversation */
function requestPrivateHistory(conversation) {
  if (connection.state !== "online") return;
  conversation.askedHistory = askHistory(
    { key: conversation.key, general: false, initial: false, before: null },
    { with: conversation.title },
  );
}

/** @param {Conversation} conversation */
function requestOlder(conversation) {
  if (!conversation.more || conversation.loading || connection.state !== "online") return;
  if (conversation.kind === "room") {
    const before = state.oldestSeenId;
    if (before === null) return;
    askHistory({ key: "room", general: true, initial: false, before }, { before });
  } else if (conversation.kind === "private" && conversation.oldest !== null) {
    const before = conversation.oldest;
    askHistory({ key: conversation.key, general: false, initial: false, before }, {
      before,
      with: conversation.title,
    });
  }
}

/** @param {Payload} payload */
function onHistory(payload) {
  const request = takePendingHistory(payload.ref, true);
  const items = chatItems(payload);
  const more = payload.more === true;
  if (request === undefined) {
    // Unasked: the messages missed while disconnected (PROTOCOL.md, `hello.after`).
    for (const item of items) showInView(item, "live");
    return;
  }
  const target = tabs.conversations.get(request.key);
  let addedToTarget = 0;
  tabs.keepingScroll(tabs.conversations.values(), request.before !== null, () => {
    for (const item of items) {
      if (showMessage(item, "history") === target && target !== undefined) addedToTarget++;
    }
  });
  if (request.initial) state.needInitialHistory = false;
  if (target === undefined) return;
  target.loading = false;
  target.more = more;
  tabs.renderOlder(target);
  // A page of the room's history may hold only private messages: look further back.
  const cursorMoved = request.before === null || (state.oldestSeenId ?? 0) < request.before;
  if (request.before !== null && addedToTarget === 0 && more && cursorMoved) requestOlder(target);
}

/**
 * Shows one message, keeping its conversation's scroll where the reader wants it.
 * @param {ChatMessage} message
 * @param {"live" | "history"} source
 */
function showInView(message, source) {
  const conversation = conversationOf(message);
  tabs.keepingScroll([conversation], false, () => showMessage(message, source));
}

/** @param {Payload} payload */
function onResults(payload) {
  const query = typeof payload.q === "string" ? payload.q : "";
  const search = tabs.search();
  tabs.setTitle(search, query);
  search.list.replaceChildren();
  const items = chatItems(payload);
  for (const item of items) {
    search.list.append(messageRow(item, { mine: isMe(item.from), addressee: item.to }));
  }
  const count = items.length === 0
    ? `No message matches “${query}”.`
    : `${items.length} message${items.length === 1 ? "" : "s"} match “${query}”.`;
  search.list.prepend(noticeRow(count, "quiet", { timed: false }));
  tabs.activate("search");
  tabs.scrollToBottom(search);
}

// ---- the session ------------------------------------------------------------------

/** @param {Payload} server */
function onGreeting(server) {
  state.roomName = typeof server.name === "string" ? server.name : "";
  dom.roomName.textContent = state.roomName || "lanchat";
  dom.nickRoom.textContent = state.roomName || "the room";
  tabs.setTitle(tabs.room(), state.roomName);
  updateTitle();
}

function onOpen() {
  state.pendingHistory = [];
  for (const conversation of tabs.conversations.values()) {
    conversation.loading = false;
    tabs.renderOlder(conversation);
  }
  // The prompt is open: the nick comes with its submit (before the server's hello timeout,
  // or on the next connection).
  if (dom.nickDialog.open) return;
  if (nickProblem(state.wantedNick) !== null) askNick(null);
  else sayHello(state.wantedNick);
}

/** @param {string} nick */
function sayHello(nick) {
  /** @type {Record<string, unknown>} */
  const hello = { type: "hello", nick, client: clientName };
  if (state.everJoined) hello.after = state.lastSeenId;
  if (connection.send(hello)) {
    state.joining = true;
    state.helloNick = nick;
  }
}

/** @param {Payload} welcome */
function onWelcome(welcome) {
  state.usersGathering = false;
  const nick = typeof welcome.nick === "string" ? welcome.nick : state.helloNick;
  const last = typeof welcome.last === "number" ? welcome.last : 0;
  const resumed = state.everJoined;
  state.joining = false;
  state.nick = nick;
  connection.markJoined();
  if (nickKey(nick) === nickKey(state.wantedNick)) {
    state.ghostRenames = 0;
    storeNick(nick);
  }
  if (!resumed) {
    state.everJoined = true;
    if (document.activeElement === null || document.activeElement === document.body) {
      dom.input.focus();
    }
    state.lastSeenId = Math.max(state.lastSeenId, last);
    if (typeof welcome.motd === "string" && welcome.motd !== "") {
      notice(welcome.motd, "info", tabs.room());
    }
  } else if (last < state.lastSeenId) {
    // The server came back without its history: its ids start below mine.
    tabs.epoch++;
    state.seen.clear();
    state.lastSeenId = last;
    state.oldestSeenId = null;
    for (const conversation of tabs.conversations.values()) conversation.oldest = null;
    state.needInitialHistory = true;
    notice("The server restarted and lost its history; showing what it has.", "info", tabs.room());
  } else {
    notice("Reconnected.", "quiet", tabs.room());
  }
  if (state.needInitialHistory) requestInitialHistory();
  for (const conversation of tabs.conversations.values()) {
    if (conversation.kind === "private" && !conversation.askedHistory) {
      requestPrivateHistory(conversation);
    }
  }
  renderUsers();
}

/**
 * Shows the nick prompt, with the server's or the page's reason when a nick was refused.
 * @param {string | null} problem
 */
function askNick(problem) {
  dom.nickError.textContent = problem ?? "";
  dom.nickInput.value = state.wantedNick;
  if (!dom.nickDialog.open) dom.nickDialog.showModal();
  dom.nickInput.focus();
  dom.nickInput.select();
}

/** @param {SubmitEvent} event */
function onNickSubmit(event) {
  event.preventDefault();
  const nick = dom.nickInput.value.trim();
  const problem = nickProblem(nick);
  if (problem !== null) {
    dom.nickError.textContent = problem;
    return;
  }
  state.wantedNick = nick;
  dom.nickDialog.close();
  if (!state.started) startConnection();
  else if (connection.state === "open" && !state.joining) sayHello(nick);
  else connection.retryNow();
}

function startConnection() {
  state.started = true;
  connection.start();
}

/**
 * The pending page answered by a reply with `ref`; for a server that does
 * not echo `ref`, the oldest (`fallback`).
 * @param {unknown} ref
 * @param {boolean} fallback
 * @returns {PendingHistory | undefined}
 */
function takePendingHistory(ref, fallback) {
  const index = typeof ref === "string"
    ? state.pendingHistory.findIndex((request) => request.ref === ref)
    : -1;
  if (index >= 0) return state.pendingHistory.splice(index, 1)[0];
  return fallback && ref === undefined ? state.pendingHistory.shift() : undefined;
}

/** @param {Payload} error */
function onError(error) {
  const code = typeof error.code === "string" ? error.code : "";
  const message = typeof error.message === "string" ? error.message : code;
  const ref = typeof error.ref === "string" ? error.ref : null;
  if (state.joining && (code === "nick_taken" || code === "nick_invalid")) {
    state.joining = false;
    if (state.everJoined && code === "nick_taken" && state.ghostRenames < maxGhostRenames) {
      // After a drop my old connection may still hold the nick until the server notices.
      state.ghostRenames++;
      sayHello(`${[...state.helloNick].slice(0, 31).join("")}_`);
      return;
    }
    askNick(message);
    return;
  }
  // A refused history page (rate_limited, a busy store): stop showing it as loading.
  const page = ref === null ? undefined : takePendingHistory(ref, false);
  if (page !== undefined) {
    const conversation = tabs.conversations.get(page.key);
    if (conversation !== undefined) {
      conversation.loading = false;
      tabs.renderOlder(conversation);
    }
    notice(message, "error", conversation ?? tabs.current());
    return;
  }
  if (ref !== null && ref.startsWith("search-")) {
    notice(`Search: ${message}`, "error");
    return;
  }
  const target = ref === null ? null : tabs.conversations.get(state.refs.get(ref) ?? "");
  if (ref !== null) state.refs.delete(ref);
  switch (code) {
    case "shutting_down":
      notice(
        "The server is shutting down. This page reconnects when it is back.",
        "info",
        tabs.room(),
      );
      return;
    case "server_full":
      notice(`${message}. This page tries again shortly.`, "error", tabs.room());
      return;
    default:
      notice(target ? `Not sent: ${message}` : message, "error", target ?? tabs.current());
  }
}

/** @param {Payload} payload */
function onPayload(payload) {
  switch (payload.type) {
    case "welcome":
      onWelcome(payload);
      return;
    case "users":
      // A list too long for one frame comes in parts; every part but the last has `more`.
      if (!state.usersGathering) state.users.clear();
      for (const entry of Array.isArray(payload.users) ? payload.users : []) {
        if (typeof entry?.nick !== "string") continue;
        const since = typeof entry.since === "number" ? entry.since : 0;
        state.users.set(nickKey(entry.nick), { nick: entry.nick, since });
      }
      state.usersGathering = payload.more === true;
      if (!state.usersGathering) renderUsers();
      return;
    case "joined":
      if (typeof payload.nick === "string") onJoined(payload.nick);
      return;
    case "left":
      if (typeof payload.nick === "string") {
        onLeft(payload.nick, typeof payload.reason === "string" ? payload.reason : "");
      }
      return;
    case "renamed":
      if (typeof payload.from === "string" && typeof payload.to === "string") {
        onRenamed(payload.from, payload.to);
      }
      return;
    case "msg": {
      const message = toChatMessage(payload);
      if (message === null) return;
      if (message.ref !== null) state.refs.delete(String(message.ref));
      showInView(message, "live");
      return;
    }
    case "history":
      onHistory(payload);
      return;
    case "results":
      onResults(payload);
      return;
    case "error":
      onError(payload);
      return;
  }
}

/** @param {string} nick */
function onJoined(nick) {
  state.users.set(nickKey(nick), { nick, since: Date.now() });
  renderUsers();
  notice(`${nick} joined`, "quiet", tabs.room());
  const conversation = tabs.conversations.get(privateKey(nick));
  if (conversation !== undefined) notice(`${nick} is back online`, "quiet", conversation);
}

const leaveReasons = /** @type {Record<string, string>} */ ({
  quit: "",
  timeout: " (connection timed out)",
  error: " (connection error)",
  slow: " (too slow to keep up)",
  kicked: " (removed)",
});

/**
 * @param {string} nick
 * @param {string} reason
 */
function onLeft(nick, reason) {
  state.users.delete(nickKey(nick));
  renderUsers();
  const text = `${nick} left${leaveReasons[reason] ?? ""}`;
  notice(text, "quiet", tabs.room());
  const conversation = tabs.conversations.get(privateKey(nick));
  if (conversation !== undefined) notice(text, "quiet", conversation);
  // The ghost of my previous connection is gone: take my nick back.
  if (
    state.nick !== null && nickKey(nick) === nickKey(state.wantedNick) &&
    nickKey(state.nick) !== nickKey(state.wantedNick)
  ) {
    connection.send({ type: "nick", nick: state.wantedNick });
  }
}

/**
 * @param {string} from
 * @param {string} to
 */
function onRenamed(from, to) {
  const entry = state.users.get(nickKey(from));
  state.users.delete(nickKey(from));
  state.users.set(nickKey(to), { nick: to, since: entry?.since ?? Date.now() });
  if (isMe(from)) {
    state.nick = to;
    state.wantedNick = to;
    storeNick(to);
  }
  const conversation = tabs.renamePeer(from, to);
  if (conversation !== null) notice(`${from} is now ${to}`, "quiet", conversation);
  notice(`${from} is now ${to}`, "quiet", tabs.room());
  renderUsers();
}

// ---- the online list --------------------------------------------------------------

function renderUsers() {
  const users = [...state.users.values()].sort((a, b) =>
    a.nick.localeCompare(b.nick, undefined, { sensitivity: "base" })
  );
  const items = users.map(({ nick }) => {
    const item = element("li");
    const button = element("button", "user");
    button.type = "button";
    button.dataset.nick = nick;
    const me = isMe(nick);
    button.append(element("span", "user-nick", nick));
    if (me) {
      button.classList.add("me");
      button.append(element("span", "you", " (you)"));
      button.title = "This is you";
    } else {
      button.title = `Double-click (or tap) for a private conversation with ${nick}`;
    }
    item.append(button);
    return item;
  });
  dom.userList.replaceChildren(...items);
  dom.peopleCount.textContent = String(users.length);
  dom.peopleCountShort.textContent = String(users.length);
}

/** @param {Event} event */
function userButtonOf(event) {
  const target = event.target instanceof Element ? event.target.closest("button.user") : null;
  return target instanceof HTMLButtonElement ? target : null;
}

function openDrawer() {
  document.body.classList.add("drawer-open");
  dom.peopleToggle.setAttribute("aria-expanded", "true");
  dom.backdrop.hidden = false;
  const first = dom.userList.querySelector("button");
  if (first instanceof HTMLElement) first.focus();
}

function closeDrawer() {
  if (!document.body.classList.contains("drawer-open")) return;
  document.body.classList.remove("drawer-open");
  dom.peopleToggle.setAttribute("aria-expanded", "false");
  dom.backdrop.hidden = true;
}

// ---- the composer and its commands -----------------------------------------------------

const helpLines = [
  "Enter sends, Shift+Enter starts a new line.",
  "/me waves: an action (“* you waves”).",
  "/msg NICK text: a private message, in its own tab.",
  "/nick NEW: change your nick.",
  "Double-click (or tap, or Enter on) a name in the online list for a private conversation.",
];

/**
 * Sends text to the tab on screen (or to `to`). Returns false when it could not be sent.
 * @param {string} text
 * @param {{ to?: string, kind?: "text" | "action" }} [options]
 */
function say(text, options = {}) {
  const active = tabs.current();
  const to = options.to ?? (active.kind === "private" ? active.title : undefined);
  const target = to === undefined ? tabs.room() : tabs.private(to);
  const ref = `w${++state.refCounter}`;
  /** @type {Record<string, unknown>} */
  const payload = { type: "say", body: encodeBody(text), ref };
  if (to !== undefined) payload.to = to;
  if (options.kind === "action") payload.kind = "action";
  if (connection.state !== "online" || !connection.send(payload)) {
    notice("Not connected: your message stays in the box until the connection is back.", "error");
    return false;
  }
  state.refs.set(ref, target.key);
  if (target !== active) tabs.activate(target.key, { focus: true });
  return true;
}

/**
 * Runs one composer entry; returns true when it was used up (the box empties).
 * @param {string} text
 */
function runInput(text) {
  if (text.startsWith("//")) return say(text.slice(1));
  if (!text.startsWith("/")) return say(text);
  const match = /^\/(\S+)\s*([\s\S]*)$/.exec(text);
  const name = match?.[1]?.toLowerCase() ?? "";
  const rest = match?.[2] ?? "";
  switch (name) {
    case "me":
      if (rest.trim() === "") return usage("/me ACTION, e.g. /me waves");
      return say(rest, { kind: "action" });
    case "msg": {
      const parts = /^(\S+)\s+([\s\S]+)$/.exec(rest);
      if (parts === null) return usage("/msg NICK text");
      return say(parts[2] ?? "", { to: parts[1] ?? "" });
    }
    case "nick": {
      const nick = rest.trim();
      const problem = nickProblem(nick);
      if (problem !== null) return usage(`/nick NEW. ${problem}`);
      // Remembered once the server confirms it (`renamed`).
      if (!connection.send({ type: "nick", nick })) return usage("Not connected right now.");
      return true;
    }
    case "help":
      for (const line of helpLines) notice(line, "info");
      return true;
    default:
      notice(`Unknown command /${name}. /help lists them; start with // to send a “/”.`, "error");
      return false;
  }
}

/** @param {string} text */
function usage(text) {
  notice(`Usage: ${text}`, "error");
  return false;
}

function resizeComposer() {
  dom.input.style.height = "auto";
  dom.input.style.height = `${Math.min(dom.input.scrollHeight + 2, 160)}px`;
}

function submitComposer() {
  const text = dom.input.value;
  if (text.trim() === "") return;
  if (runInput(text)) {
    dom.input.value = "";
    resizeComposer();
  }
}

// ---- connection state ---------------------------------------------------------------

/**
 * @param {import("./connection.js").LinkState} linkState
 * @param {{ retryAt?: number, reason?: string }} detail
 */
function onState(linkState, detail) {
  clearInterval(state.countdown);
  dom.status.dataset.state = linkState;
  document.body.classList.toggle("offline", linkState !== "online");
  dom.retry.hidden = linkState !== "waiting";
  dom.input.disabled = dom.searchInput.disabled = linkState === "stopped";
  switch (linkState) {
    case "connecting":
      dom.statusText.textContent = state.everJoined ? "Reconnecting…" : "Connecting…";
      break;
    case "open":
      dom.statusText.textContent = "Joining…";
      break;
    case "online":
      dom.statusText.textContent = "Online";
      break;
    case "waiting": {
      state.joining = false;
      const retryAt = detail.retryAt ?? Date.now();
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
        dom.statusText.textContent = `Offline · retrying in ${seconds} s`;
      };
      tick();
      state.countdown = setInterval(tick, 1000);
      break;
    }
    case "stopped":
      dom.statusText.textContent = "Not connected";
      if (detail.reason !== undefined && detail.reason !== "left the page") {
        dom.notice.textContent = detail.reason;
        dom.notice.hidden = false;
      }
      break;
  }
}

// ---- wiring ---------------------------------------------------------------------------

const connection = new ChatConnection({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`,
  onGreeting,
  onOpen,
  onPayload,
  onState,
  expectsPassword: roomHadPassword,
  onSecured: () => markRoomPassword(true),
  onDowngrade,
  // PROTOCOL.md section 5: a room with a password asks for it, then seals every payload.
  handshake: secureHandshake({
    askPassword,
    onDeriving: (busy) => {
      if (busy) dom.statusText.textContent = "Checking the password…";
    },
  }),
});

/** Whoever waits for the password (a retried connection may ask while the prompt is open). */
/** @type {((password: string) => void)[]} */
let passwordWaiters = [];

/**
 * Shows the password prompt; resolves with what the person enters. The
 * password stays in this page's memory only.
 * @param {string | null} problem  Why the previous one was refused.
 * @returns {Promise<string>}
 */
function askPassword(problem) {
  dom.passwordRoom.textContent = state.roomName || "lanchat";
  // A retried connection asking while the prompt is open keeps what it shows and what is typed.
  if (problem !== null || !dom.passwordDialog.open) dom.passwordError.textContent = problem ?? "";
  if (!dom.passwordDialog.open) {
    dom.passwordInput.value = "";
    dom.passwordDialog.showModal();
    dom.passwordInput.focus();
  }
  dom.statusText.textContent = "Waiting for the room password";
  return new Promise((resolve) => passwordWaiters.push(resolve));
}

dom.passwordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const password = dom.passwordInput.value;
  if (password === "") {
    dom.passwordError.textContent = "Enter the room's password.";
    return;
  }
  dom.passwordInput.value = "";
  dom.passwordDialog.close();
  const waiters = passwordWaiters;
  passwordWaiters = [];
  for (const resolve of waiters) resolve(password);
  connection.retryNow(); // after a refused password the link is waiting to retry: go now
});
dom.passwordDialog.addEventListener("cancel", (event) => {
  // Without the password there is no chat: Escape does not dismiss the prompt.
  if (passwordWaiters.length > 0) event.preventDefault();
});

dom.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  submitComposer();
});
dom.input.addEventListener("keydown", (event) => {
  // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition is neither.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitComposer();
  }
});
dom.input.addEventListener("input", resizeComposer);
dom.searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = dom.searchInput.value.trim();
  if (query === "") return;
  const ref = `search-${++state.requestCounter}`;
  if (!connection.send({ type: "search", q: query, limit: historyPageSize, ref })) {
    notice("Not connected: search again once the connection is back.", "error");
  }
});
dom.newMessages.addEventListener("click", () => dom.input.focus());
dom.retry.addEventListener("click", () => connection.retryNow());
dom.userList.addEventListener("dblclick", (event) => {
  const button = userButtonOf(event);
  if (button?.dataset.nick !== undefined) openPrivate(button.dataset.nick);
});
dom.userList.addEventListener("click", (event) => {
  // A tap, or Enter/Space on the focused name (a click with detail 0), opens at once;
  // a mouse needs a double-click, so a stray click does not switch tabs.
  const button = userButtonOf(event);
  const pointer = event instanceof PointerEvent ? event.pointerType : "";
  if (button?.dataset.nick !== undefined && (event.detail === 0 || pointer === "touch")) {
    openPrivate(button.dataset.nick);
  }
});
dom.peopleToggle.addEventListener("click", () => {
  if (document.body.classList.contains("drawer-open")) closeDrawer();
  else openDrawer();
});
dom.backdrop.addEventListener("click", closeDrawer);
dom.peopleClose.addEventListener("click", () => {
  closeDrawer();
  dom.peopleToggle.focus();
});
narrowScreen.addEventListener("change", () => tabs.activate(tabs.active));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.body.classList.contains("drawer-open")) {
    closeDrawer();
    dom.peopleToggle.focus();
  }
});
dom.nickForm.addEventListener("submit", onNickSubmit);
dom.nickDialog.addEventListener("cancel", (event) => {
  // Without a nick there is no chat: Escape does not dismiss the prompt.
  if (state.nick === null) event.preventDefault();
});
globalThis.addEventListener("pagehide", () => connection.stop("left the page", { type: "bye" }));
globalThis.addEventListener("pageshow", (event) => {
  // Back from the back/forward cache: the old session is gone, start a fresh one.
  if (event.persisted) location.reload();
});

tabs.activate(tabs.room().key);
updateTitle();
// A first visit asks for the nick before connecting: the server gives a new
// connection only a few seconds to say hello.
if (nickProblem(state.wantedNick) === null) startConnection();
else askNick(null);
