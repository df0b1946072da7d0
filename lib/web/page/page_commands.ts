/**
 * What the page's composer does with a line: the slash commands of
 * lib/client/commands.ts (the same registry, usage and help as the
 * terminal), acted out on the page's {@link ChatPage}.
 *
 * Owns: the page's CommandContext (what /query, /history, /search, /clear,
 * /quit, /link, /whois, /join, /part, /channels, /topic, /notify and /next mean here) and whether the composer empties: a line that was sent or
 * ran is used up; one that was refused (not connected, wrong usage, unknown
 * command) stays in the box to be fixed. Imports lib/client/commands.ts and
 * the page's notice type only; no DOM, and not the page itself (it calls
 * this module: {@link PageActions} is what it offers).
 */
import { type CommandContext, runLine } from "../../client/commands.ts";
import type { NoticeTone } from "../../client/conversations.ts";
import type { MessageKind } from "../../wire/protocol.ts";
import type { LinkCode, NotifyLevel, WhoisAnswer } from "../../client/session.ts";
import type { Conversations } from "../../client/conversations.ts";

/** What the commands do on the page (ChatPage has them all). */
export interface PageActions {
  /** Sends to the conversation on screen (or privately to `to`); false when it could not. */
  send(text: string, options?: { to?: string; kind?: MessageKind }): boolean;
  rename(nick: string): void;
  requestUsers(): void;
  quit(): void;
  notice(text: string, tone: NoticeTone): void;
  /** Shows a conversation ("room"), the cursor in the composer when `focus`. */
  activate(key: string, focus?: boolean): void;
  openPrivate(nick: string): void;
  reloadHistory(count: number): Promise<void>;
  search(query: string, channel?: string): Promise<void>;
  /** Empties the conversation on screen (its messages are not shown again). */
  clearActive(): void;
  /** Who holds `nick`: guest or account, and the account's devices (rejects saying why not). */
  whois(nick: string): Promise<WhoisAnswer>;
  /** Asks for a code that adds another device to my account and shows it ("Add a device"). */
  addDevice(): Promise<LinkCode>;
  /** The command line that joins this server from a terminal with `code`. */
  linkCommand(code: string): string;
  readonly conversations: Conversations;
  /** Joins (or makes) a channel and shows it; resolves with why not, or null. */
  joinChannel(name: string): Promise<string | null>;
  /** Leaves a channel (default: the one on screen), or closes the private conversation. */
  leaveChannel(name: string | null): Promise<void>;
  /** "Browse channels". */
  browseChannels(): Promise<void>;
  /** `/members`: who is in channel `name` (default: the one on screen), as a line. */
  showMembers(name: string | null): Promise<void>;
  /** The topic dialog of the channel on screen. */
  editTopic(): void;
  /** Sets the topic of the channel on screen; resolves with why not, or null. */
  setTopic(topic: string): Promise<string | null>;
  setNotifyLevel(conversation: Conversations["active"], level: NotifyLevel): Promise<void>;
  showNotifyLevel(): void;
  /** The next conversation with unread messages. */
  next(): void;
}

/**
 * Runs one composer entry on `page`; true when it was used up (the box
 * empties), false when it stays to be fixed.
 *
 * @example
 * if (runComposerLine(textarea.value, page)) textarea.value = "";
 */
export function runComposerLine(text: string, page: PageActions): boolean {
  let usedUp = true;
  const context: CommandContext = {
    say(text, options = {}) {
      if (!page.send(text, options)) usedUp = false;
    },
    rename(nick) {
      page.rename(nick);
    },
    requestUsers() {
      page.requestUsers();
    },
    quit() {
      page.quit();
    },
    print(line) {
      // The registry marks a refused line with "! ": the page shows it as an error.
      if (line.startsWith("! ")) {
        usedUp = false;
        page.notice(line.slice(2), "error");
      } else {
        page.notice(line, "info");
      }
    },
    query(nick) {
      if (nick === null) page.activate("room", true);
      else page.openPrivate(nick);
    },
    history(count) {
      void page.reloadHistory(count);
    },
    search(text, channel) {
      void page.search(text, channel);
    },
    clear() {
      page.clearActive();
    },
    requestLinkCode() {
      return page.addDevice();
    },
    linkCommand(code) {
      return page.linkCommand(code);
    },
    whois(nick) {
      return page.whois(nick);
    },
    joinChannel(name) {
      void page.joinChannel(name).then((problem) => {
        if (problem !== null) page.notice(`Cannot join ${name}: ${problem}`, "error");
      });
    },
    part(name) {
      void page.leaveChannel(name);
    },
    listChannels() {
      void page.browseChannels();
    },
    members(name) {
      void page.showMembers(name);
    },
    topic(text) {
      if (text === null) {
        page.editTopic();
        return;
      }
      void page.setTopic(text).then((problem) => {
        if (problem !== null) page.notice(`Topic unchanged: ${problem}`, "error");
      });
    },
    notify(level) {
      if (level === null) page.showNotifyLevel();
      else void page.setNotifyLevel(page.conversations.active, level);
    },
    next() {
      page.next();
    },
  };
  runLine(text, context);
  return usedUp;
}
