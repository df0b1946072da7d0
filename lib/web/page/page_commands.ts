/**
 * What the page's composer does with a line: the slash commands of
 * lib/client/commands.ts (the same registry, usage and help as the
 * terminal), acted out on the page's {@link ChatPage}.
 *
 * Owns: the page's CommandContext (what /query, /history, /search, /clear and
 * /quit mean here) and whether the composer empties: a line that was sent or
 * ran is used up; one that was refused (not connected, wrong usage, unknown
 * command) stays in the box to be fixed. Imports lib/client/commands.ts and
 * the page's types only; no DOM.
 */
import { type CommandContext, runLine } from "../../client/commands.ts";
import type { ChatPage } from "./chat_page.ts";

/**
 * Runs one composer entry on `page`; true when it was used up (the box
 * empties), false when it stays to be fixed.
 *
 * @example
 * if (runComposerLine(textarea.value, page)) textarea.value = "";
 */
export function runComposerLine(text: string, page: ChatPage): boolean {
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
    search(text) {
      void page.search(text);
    },
    clear() {
      page.conversations.clear(page.conversations.active);
    },
  };
  runLine(text, context);
  return usedUp;
}
