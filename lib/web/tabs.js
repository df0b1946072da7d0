// @ts-check
/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The conversations on screen, one tab each: the room, private chats, search
 * results. Each tab has its own scrolling log that sticks to the bottom unless
 * the reader scrolled up (then the "new messages" marker shows), its unread
 * count, and its rows kept in message-id order.
 *
 * Owns: the tab strip, the logs and the marker. Knows nothing of the
 * protocol: what to load and send is the app's (through the hooks).
 */
import { nickKey } from "./wire.js";
import { element, noticeRow } from "./view.js";

/**
 * @typedef {object} Conversation
 * @property {string} key  "room", "search", or "@" + nickKey(peer).
 * @property {"room" | "private" | "search"} kind
 * @property {string} title  The room's name, the peer's nick, or the search query.
 * @property {HTMLElement} item  The tab with its close button.
 * @property {HTMLButtonElement} tab
 * @property {HTMLElement} label
 * @property {HTMLElement} badge
 * @property {HTMLElement} panel  The scrolling log.
 * @property {HTMLElement} list  The rows.
 * @property {HTMLButtonElement} older  "Load older messages".
 * @property {number} unread
 * @property {boolean} more  Older messages exist on the server.
 * @property {number | null} oldest  Smallest message id shown (this epoch).
 * @property {boolean} loading  A history request for this tab is out.
 * @property {boolean} stuck  The view follows new messages.
 * @property {boolean} missedBelow  New messages came while scrolled up.
 * @property {boolean} askedHistory  Its own history was requested (private tabs).
 */

/**
 * @typedef {object} TabsOptions
 * @property {HTMLElement} tablist
 * @property {HTMLElement} panels
 * @property {HTMLButtonElement} marker  The "new messages" button.
 * @property {(conversation: Conversation, focus: boolean) => void} onActivate  A tab came on screen.
 * @property {(conversation: Conversation) => void} onNearTop  The reader wants older messages.
 * @property {(total: number) => void} onUnread  The total unread count changed.
 */

/** Pixels from the bottom that still count as "at the bottom". */
const stickyPixels = 48;
/** Pixels from the top at which older messages are asked for. */
const loadOlderPixels = 120;

/** The key of the private conversation with `nick`. */
export const privateKey = /** @param {string} nick */ (nick) => `@${nickKey(nick)}`;

/** The tab strip and its conversations. */
export class Tabs {
  /** @type {Map<string, Conversation>} */
  conversations = new Map();
  /** Key of the tab on screen. */
  active = "room";
  /**
   * Bumped when a server comes back with lower ids (it lost its history):
   * rows of an older epoch are a wall that newer rows are not sorted past.
   */
  epoch = 0;
  #counter = 0;
  /** @type {TabsOptions} */
  #options;

  /** @param {TabsOptions} options */
  constructor(options) {
    this.#options = options;
    options.marker.addEventListener("click", () => {
      const conversation = this.current();
      this.scrollToBottom(conversation);
      this.markRead(conversation);
      this.#updateMarker();
    });
    options.tablist.addEventListener("keydown", (event) => this.#onArrowKey(event));
    document.addEventListener("visibilitychange", () => this.markRead(this.current()));
  }

  /** The room's tab (always there). */
  room() {
    return this.conversations.get("room") ?? this.#create("room", "room", "");
  }

  /**
   * The private conversation with `nick`, created (as a new tab) when missing.
   * @param {string} nick
   */
  private(nick) {
    return this.conversations.get(privateKey(nick)) ??
      this.#create(privateKey(nick), "private", nick);
  }

  /** The search results tab, created when missing. */
  search() {
    return this.conversations.get("search") ?? this.#create("search", "search", "");
  }

  /** The conversation on screen. */
  current() {
    return this.conversations.get(this.active) ?? this.room();
  }

  /**
   * @param {string} key
   * @param {"room" | "private" | "search"} kind
   * @param {string} title
   * @returns {Conversation}
   */
  #create(key, kind, title) {
    const number = ++this.#counter;
    const item = element("div", `tab-item ${kind}`);
    item.setAttribute("role", "presentation");
    const tab = element("button", "tab");
    tab.type = "button";
    tab.id = `tab-${number}`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", `panel-${number}`);
    tab.setAttribute("aria-selected", "false");
    tab.tabIndex = -1;
    const label = element("span", "tab-label");
    const badge = element("span", "badge");
    badge.hidden = true;
    tab.append(label, badge);
    item.append(tab);
    const panel = element("section", "log");
    panel.id = `panel-${number}`;
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    panel.tabIndex = 0;
    panel.hidden = true;
    const older = element("button", "older", "Load older messages");
    older.type = "button";
    older.hidden = true;
    const list = element("div", "rows");
    list.setAttribute("role", "log");
    list.setAttribute("aria-live", kind === "search" ? "off" : "polite");
    panel.append(older, list);
    this.#options.tablist.append(item);
    this.#options.panels.append(panel);

    /** @type {Conversation} */
    const conversation = {
      key,
      kind,
      title,
      item,
      tab,
      label,
      badge,
      panel,
      list,
      older,
      unread: 0,
      more: false,
      oldest: null,
      loading: false,
      stuck: true,
      missedBelow: false,
      askedHistory: false,
    };
    if (kind !== "room") {
      const close = element("button", "tab-close", "×");
      close.type = "button";
      close.addEventListener("click", () => this.close(conversation.key));
      item.append(close);
    }
    this.setTitle(conversation, title);
    if (kind === "private") {
      const intro = `Private conversation with ${title}: only the two of you see these messages.`;
      this.place(conversation, noticeRow(intro, "quiet", { timed: false }), 0);
    }
    tab.addEventListener("click", () => this.activate(conversation.key));
    older.addEventListener("click", () => this.#options.onNearTop(conversation));
    panel.addEventListener("scroll", () => this.#onScroll(conversation), { passive: true });
    this.conversations.set(key, conversation);
    return conversation;
  }

  /**
   * @param {Conversation} conversation
   * @param {string} title
   */
  setTitle(conversation, title) {
    conversation.title = title;
    conversation.label.textContent = conversation.kind === "room"
      ? `# ${title || "room"}`
      : conversation.kind === "private"
      ? `@ ${title}`
      : `Search: ${title}`;
    conversation.tab.title = conversation.kind === "private"
      ? `Private conversation with ${title}`
      : "";
    conversation.item.querySelector(".tab-close")?.setAttribute(
      "aria-label",
      conversation.kind === "search" ? "Close search results" : `Close ${title}`,
    );
    this.#renderBadge(conversation);
  }

  /**
   * The peer of a private conversation changed nick: the tab follows.
   * @param {string} from
   * @param {string} to
   */
  renamePeer(from, to) {
    const conversation = this.conversations.get(privateKey(from));
    if (conversation === undefined || this.conversations.has(privateKey(to))) return null;
    this.conversations.delete(conversation.key);
    const wasActive = this.active === conversation.key;
    conversation.key = privateKey(to);
    this.conversations.set(conversation.key, conversation);
    if (wasActive) this.active = conversation.key;
    this.setTitle(conversation, to);
    return conversation;
  }

  /**
   * Shows a tab. `focus`: the person opened it on purpose (the app moves the cursor).
   * @param {string} key
   * @param {{ focus?: boolean }} [options]
   */
  activate(key, options = {}) {
    const target = this.conversations.get(key);
    if (target === undefined) return;
    this.active = key;
    for (const conversation of this.conversations.values()) {
      const selected = conversation === target;
      conversation.tab.setAttribute("aria-selected", String(selected));
      conversation.tab.tabIndex = selected ? 0 : -1;
      conversation.item.classList.toggle("selected", selected);
      conversation.panel.hidden = !selected;
    }
    if (target.stuck) this.scrollToBottom(target);
    this.markRead(target);
    this.#updateMarker();
    this.#options.onActivate(target, options.focus ?? false);
  }

  /** @param {string} key */
  close(key) {
    const conversation = this.conversations.get(key);
    if (conversation === undefined || conversation.kind === "room") return;
    conversation.item.remove();
    conversation.panel.remove();
    this.conversations.delete(key);
    if (this.active === key) this.activate("room", { focus: true });
    this.#totalChanged();
  }

  /** @param {KeyboardEvent} event */
  #onArrowKey(event) {
    // Arrow keys move along the tabs (the WAI-ARIA tabs pattern).
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const all = [...this.conversations.values()];
    const index = all.findIndex((conversation) => conversation.tab === event.target);
    if (index < 0) return;
    const step = event.key === "ArrowRight" ? 1 : all.length - 1;
    const next = all[(index + step) % all.length];
    if (next === undefined) return;
    this.activate(next.key);
    next.tab.focus();
  }

  // ---- scrolling ----------------------------------------------------------------

  /** @param {HTMLElement} panel */
  #atBottom(panel) {
    return panel.scrollHeight - panel.scrollTop - panel.clientHeight < stickyPixels;
  }

  /** @param {Conversation} conversation */
  scrollToBottom(conversation) {
    conversation.panel.scrollTop = conversation.panel.scrollHeight;
    conversation.stuck = true;
    conversation.missedBelow = false;
  }

  /** @param {Conversation} conversation */
  #onScroll(conversation) {
    if (conversation.panel.hidden) return;
    conversation.stuck = this.#atBottom(conversation.panel);
    if (conversation.stuck) {
      conversation.missedBelow = false;
      this.markRead(conversation);
    }
    this.#updateMarker();
    if (conversation.panel.scrollTop < loadOlderPixels) this.#options.onNearTop(conversation);
  }

  #updateMarker() {
    this.#options.marker.hidden = !this.current().missedBelow;
  }

  /**
   * Runs `change` on the rows of the listed conversations, then keeps each view
   * where the reader expects it: at the bottom if it was there, else on the same
   * rows (`above`: rows were added above the view, so it moves down with them).
   * @param {Iterable<Conversation>} conversations
   * @param {boolean} above
   * @param {() => void} change
   */
  keepingScroll(conversations, above, change) {
    const before = [...conversations].map((conversation) => ({
      conversation,
      stick: conversation.panel.hidden ? conversation.stuck : this.#atBottom(conversation.panel),
      height: conversation.panel.scrollHeight,
      top: conversation.panel.scrollTop,
    }));
    change();
    for (const { conversation, stick, height, top } of before) {
      if (stick) this.scrollToBottom(conversation);
      else if (above && !conversation.panel.hidden) {
        conversation.panel.scrollTop = top + conversation.panel.scrollHeight - height;
      }
    }
    this.#updateMarker();
  }

  // ---- rows -----------------------------------------------------------------------

  /**
   * Places `row` among the rows of `conversation` by `sortKey` (a message id;
   * a notice takes the newest id at the time plus a half, so it stays where it
   * happened). Call inside keepingScroll.
   * @param {Conversation} conversation
   * @param {HTMLElement} row
   * @param {number} sortKey
   */
  place(conversation, row, sortKey) {
    const epoch = String(this.epoch);
    row.dataset.key = String(sortKey);
    row.dataset.epoch = epoch;
    let before = /** @type {Element | null} */ (null);
    let node = conversation.list.lastElementChild;
    for (let steps = 0; node instanceof HTMLElement && steps < 1_000_000; steps++) {
      if (node.dataset.epoch !== epoch || Number(node.dataset.key) <= sortKey) break;
      before = node;
      node = node.previousElementSibling;
    }
    conversation.list.insertBefore(row, before);
  }

  /**
   * Adds a line from the page itself to a conversation (default: the one on screen).
   * @param {string} text
   * @param {number} sortKey
   * @param {"info" | "quiet" | "error"} tone
   * @param {Conversation} [conversation]
   */
  notice(text, sortKey, tone, conversation = this.current()) {
    this.keepingScroll([conversation], false, () => {
      this.place(conversation, noticeRow(text, tone), sortKey);
    });
  }

  /**
   * Shows or hides the "Load older messages" button of a conversation.
   * @param {Conversation} conversation
   */
  renderOlder(conversation) {
    conversation.older.hidden = !conversation.more && !conversation.loading;
    conversation.older.disabled = conversation.loading;
    conversation.older.textContent = conversation.loading
      ? "Loading older messages…"
      : "Load older messages";
  }

  // ---- unread ---------------------------------------------------------------------

  /**
   * A new message from someone else landed in `conversation`: counted unread
   * unless the reader is looking at it; marked below when scrolled up.
   * @param {Conversation} conversation
   */
  countUnread(conversation) {
    const onScreen = conversation.key === this.active && !document.hidden;
    if (onScreen) {
      if (!conversation.stuck) conversation.missedBelow = true;
      this.#updateMarker();
      return;
    }
    conversation.unread++;
    if (conversation.key === this.active && !conversation.stuck) conversation.missedBelow = true;
    this.#renderBadge(conversation);
    this.#totalChanged();
  }

  /** @param {Conversation} conversation */
  markRead(conversation) {
    if (document.hidden || conversation.key !== this.active || conversation.unread === 0) return;
    conversation.unread = 0;
    this.#renderBadge(conversation);
    this.#totalChanged();
  }

  /** @param {Conversation} conversation */
  #renderBadge(conversation) {
    conversation.badge.hidden = conversation.unread === 0;
    conversation.badge.textContent = conversation.unread > 99 ? "99+" : String(conversation.unread);
    const unread = conversation.unread > 0 ? `, ${conversation.unread} unread` : "";
    conversation.tab.setAttribute("aria-label", `${conversation.label.textContent}${unread}`);
  }

  #totalChanged() {
    let total = 0;
    for (const conversation of this.conversations.values()) total += conversation.unread;
    this.#options.onUnread(total);
  }
}
