// @ts-check
/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * Builds the page's pieces from data: message rows, notices, local times.
 *
 * Owns: the markup of one row. Every text from the network goes into the page
 * through `textContent` only, so no message or nick is ever parsed as HTML.
 * Imports only wire.js types; keeps no state.
 */

/** @typedef {import("./wire.js").ChatMessage} ChatMessage */

/**
 * A new element with a class and, optionally, its text (set as text, never HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string | null} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function element(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className !== "") node.className = className;
  if (text !== null) node.textContent = text;
  return node;
}

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
 * @param {number} ts  Milliseconds since the epoch (UTC), as the server sends.
 * @param {Date} [now]
 */
export function timeElement(ts, now = new Date()) {
  const date = new Date(ts);
  const sameDay = date.toDateString() === now.toDateString();
  const node = element("time", "when", (sameDay ? clock : dayAndClock).format(date));
  node.dateTime = date.toISOString();
  node.title = full.format(date);
  return node;
}

/** How many nick colours the style sheet defines (`.hue-0` ...). */
const hueCount = 8;

/**
 * A stable colour class for a nick, so a reader can follow who is talking.
 * @param {string} nick
 */
export function hueClass(nick) {
  let hash = 0;
  for (const char of nick.toLowerCase()) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return `hue-${hash % hueCount}`;
}

/**
 * One chat message as a row: time, sender, text (an action reads "* ana waves").
 * @param {ChatMessage} message
 * @param {{ mine: boolean, addressee?: string | null }} options
 *   `addressee`: shown as "to bob" (search results list private messages among public ones).
 */
export function messageRow(message, options) {
  const row = element("div", `row msg${options.mine ? " mine" : ""}`);
  row.dataset.id = String(message.id);
  row.append(timeElement(message.ts));
  const content = element("div", "content");
  const from = element("span", `from ${hueClass(message.from)}`, message.from);
  if (message.kind === "action") {
    row.classList.add("action");
    content.append(element("span", "star", "* "), from, " ");
  } else {
    content.append(from, " ");
  }
  if (options.addressee) {
    content.append(element("span", "to", `to ${options.addressee} `));
  }
  content.append(element("span", "text", message.text));
  row.append(content);
  return row;
}

/**
 * A line from the page itself: joins, leaves, errors, help.
 * @param {string} text
 * @param {"info" | "quiet" | "error"} tone
 * @param {{ timed?: boolean }} [options]  `timed: false` leaves the time column empty.
 */
export function noticeRow(text, tone, options = {}) {
  const row = element("div", `row notice ${tone}`);
  row.append(
    options.timed === false ? element("span", "when") : timeElement(Date.now()),
    element("div", "content", text),
  );
  if (tone === "error") row.setAttribute("role", "alert");
  return row;
}
