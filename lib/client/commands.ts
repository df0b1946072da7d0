/**
 * The slash commands of `lanchat join`, in one registry.
 *
 * Owns: which commands exist, their usage and help text, splitting a typed
 * line into a chat message or a command, and checking arguments in one place
 * (a bad command prints its usage; the session goes on).
 * Acts only through {@link CommandContext}; must not import the session,
 * sockets or terminal code, so the full-screen UI can reuse it.
 */
import {
  channelNameProblem,
  type ConversationEntry,
  formatLinkCode,
  nickProblem,
} from "../wire/protocol.ts";
import { linkCodeText, type WhoisAnswer, whoisLines } from "./event_words.ts";
import { channelName } from "./conversation_names.ts";

/** How a person wants to be told of a conversation (PROTOCOL.md 9.5). */
export type NotifyLevel = ConversationEntry["notify"];

/** The levels of /notify, in the order its usage lists them. */
export const notifyLevels: readonly NotifyLevel[] = ["all", "mentions", "muted"];

/** What a command may do. The line-mode client and the TUI each provide one. */
export interface CommandContext {
  /** Sends a chat message (public unless `to` is set). */
  say(text: string, options?: { to?: string; kind?: "text" | "action" }): void;
  /** Asks the server for a new nick. */
  rename(nick: string): void;
  /** Asks the server for the online list. */
  requestUsers(): void;
  /** Leaves the room and ends the client. */
  quit(): void;
  /** Shows a local line to the person typing (help, usage, mistakes). */
  print(text: string): void;
  /** Sends every later line privately to `nick`, or to the room again when null. */
  query?(nick: string | null): void;
  /** Shows the last `count` messages (of the query, when one is open). */
  history?(count: number): void;
  /** Shows the messages that contain `text`. */
  /** Finds messages containing `text`, in every channel I am in or only in `channel` (`#ops`). */
  search?(text: string, channel?: string): void;
  /** Empties the screen's message log. */
  clear?(): void;
  /**
   * Asks the server for a one-time code that adds another device to my
   * account (ChatSession.requestLinkCode); rejects with what to tell the person.
   */
  requestLinkCode?(): Promise<{ code: string; expires: number }>;
  /**
   * The command line a new device runs to join this server with `code` (as
   * people read it, `K7QM-3XPA`), for /link's answer. Default:
   * `lanchat join <this server> --link CODE`.
   */
  linkCommand?(code: string): string;
  /** Asks who holds `nick` (ChatSession.whois); rejects with what to tell the person. */
  whois?(nick: string): Promise<WhoisAnswer>;
  /** The clock, for how long a link code is good. Default `Date.now`. */
  now?(): number;
  /**
   * Joins channel `name` (`#ops`, checked; made when it does not exist) and
   * makes it the conversation typed lines go to (version 3).
   */
  joinChannel?(name: string): void;
  /**
   * Leaves channel `name`, or the conversation typed lines go to when null
   * (a private one is closed; `#general` cannot be left).
   */
  part?(name: string | null): void;
  /** Lists every channel with its topic and member count. */
  listChannels?(): void;
  /** Shows who is in channel `name` (default: the one typed lines go to). */
  members?(name: string | null): void;
  /** Sets the topic of the channel typed lines go to, or shows it when `text` is null. */
  topic?(text: string | null): void;
  /** Sets how the bell tells of the conversation on screen, or shows it when `level` is null. */
  notify?(level: NotifyLevel | null): void;
  /** Goes to the next conversation with unread messages (mentions first). */
  next?(): void;
  /**
   * Sends the files at `paths` (as typed, quotes and escapes taken away) to
   * the conversation typed lines go to (version 4).
   */
  sendFiles?(paths: string[]): void;
  /** Lists the newest files of the conversation typed lines go to, with their numbers (ids). */
  listFiles?(): void;
  /** Saves file `id` at `path` (as typed; a folder keeps the file's name), or under its name when null. */
  getFile?(id: number, path: string | null): void;
}

/** The capabilities a client may lack; such a command then says where it works. */
type OptionalCapability =
  | "query"
  | "history"
  | "search"
  | "clear"
  | "link"
  | "whois"
  | "join"
  | "part"
  | "channels"
  | "members"
  | "topic"
  | "files"
  | "get";

function unavailable(name: OptionalCapability | "notify" | "next" | "send"): string {
  if (name === "send") {
    return "/send works in the interactive terminal client; on the web page, use the attach button";
  }
  return name === "notify" || name === "next"
    ? `/${name} works only in the full-screen client`
    : `/${name} works only in the interactive client`;
}

/** Messages /history shows when no count is given. */
export const defaultHistoryCount = 20;

/** A parsed command line: the words after the name, and the raw text after word `n`. */
export interface CommandArgs {
  /** Words after the command name, split on whitespace. */
  words: string[];
  /** Text after the first `n` words, with its inner spacing kept. */
  rest(n: number): string;
}

/** One slash command. */
export interface Command {
  /** Name without the slash, lower case. */
  name: string;
  /** Shown when the arguments are wrong, e.g. "/msg NICK text". */
  usage: string;
  /** One line for /help. */
  help: string;
  /** Fewest words after the name that the command needs. */
  minArgs: number;
  /** Runs the command; return a problem to print its usage after it, or nothing. */
  run(args: CommandArgs, context: CommandContext): string | void;
}

/** Every command, in the order /help lists them. */
export const commands: readonly Command[] = [
  {
    name: "msg",
    usage: "/msg NICK text",
    help: "send a private message to NICK",
    minArgs: 2,
    run(args, context) {
      const to = args.words[0] ?? "";
      context.say(args.rest(1), { to });
    },
  },
  {
    name: "query",
    usage: "/query [NICK]",
    help: "send every line privately to NICK; /query alone goes back to the room",
    minArgs: 0,
    run(args, context) {
      if (context.query === undefined) return unavailable("query");
      const nick = args.words[0];
      if (args.words.length > 1) return "a nick has no spaces";
      if (nick !== undefined) {
        const problem = nickProblem(nick);
        if (problem !== null) return problem;
      }
      context.query(nick ?? null);
    },
  },
  {
    name: "join",
    usage: "/join #CHANNEL",
    help: "join a channel (made when it does not exist) and talk there",
    minArgs: 1,
    run(args, context) {
      if (context.joinChannel === undefined) return unavailable("join");
      if (args.words.length > 1) return "a channel name has no spaces";
      const name = channelName(args.words[0] ?? "");
      const problem = channelNameProblem(name);
      if (problem !== null) return problem;
      context.joinChannel(name);
    },
  },
  {
    name: "part",
    usage: "/part [#CHANNEL]",
    help: "leave the channel you are in (or #CHANNEL); in a private conversation, close it",
    minArgs: 0,
    run(args, context) {
      if (context.part === undefined) return unavailable("part");
      if (args.words.length > 1) return "a channel name has no spaces";
      const typed = args.words[0];
      if (typed === undefined) {
        context.part(null);
        return;
      }
      const name = channelName(typed);
      const problem = channelNameProblem(name);
      if (problem !== null) return problem;
      context.part(name);
    },
  },
  {
    name: "channels",
    usage: "/channels",
    help: "list the channels with their topics and how many are in each",
    minArgs: 0,
    run(args, context) {
      if (context.listChannels === undefined) return unavailable("channels");
      if (args.words.length > 0) return "/channels takes no arguments";
      context.listChannels();
    },
  },
  {
    name: "members",
    usage: "/members [#NAME]",
    help: "who is in a channel (default: this one), online first",
    minArgs: 0,
    run(args, context) {
      if (context.members === undefined) return unavailable("members");
      if (args.words.length > 1) return "/members takes at most one channel";
      const typed = args.words[0];
      if (typed === undefined) {
        context.members(null);
        return;
      }
      const name = typed.startsWith("#") ? typed : `#${typed}`;
      const problem = channelNameProblem(name);
      if (problem !== null) return problem;
      context.members(name);
    },
  },
  {
    name: "topic",
    usage: "/topic [TEXT]",
    help: "show the topic of the channel you are in, or set it to TEXT",
    minArgs: 0,
    run(args, context) {
      if (context.topic === undefined) return unavailable("topic");
      const text = args.rest(0);
      context.topic(text === "" ? null : text);
    },
  },
  {
    name: "notify",
    usage: `/notify [${notifyLevels.join("|")}]`,
    help:
      "when the bell rings for this conversation: every message, mentions only, or never (kept for your account)",
    minArgs: 0,
    run(args, context) {
      if (context.notify === undefined) return unavailable("notify");
      const typed = args.words[0]?.toLowerCase();
      if (typed === undefined) {
        context.notify(null);
        return;
      }
      const level = notifyLevels.find((known) => known === typed);
      if (level === undefined || args.words.length > 1) {
        return `the level is one of ${notifyLevels.join(", ")}`;
      }
      context.notify(level);
    },
  },
  {
    name: "next",
    usage: "/next",
    help: "go to the next conversation with unread messages (mentions first)",
    minArgs: 0,
    run(args, context) {
      if (context.next === undefined) return unavailable("next");
      if (args.words.length > 0) return "/next takes no arguments";
      context.next();
    },
  },
  {
    name: "me",
    usage: "/me text",
    help: "describe an action: /me waves shows as * yournick waves",
    minArgs: 1,
    run(args, context) {
      context.say(args.rest(0), { kind: "action" });
    },
  },
  {
    name: "nick",
    usage: "/nick NEW",
    help: "change your nick",
    minArgs: 1,
    run(args, context) {
      const nick = args.words[0] ?? "";
      if (args.words.length > 1) return "a nick has no spaces";
      const problem = nickProblem(nick);
      if (problem !== null) return problem;
      context.rename(nick);
    },
  },
  {
    name: "users",
    usage: "/users",
    help: "list who is online",
    minArgs: 0,
    run(_args, context) {
      context.requestUsers();
    },
  },
  {
    name: "history",
    usage: "/history [N]",
    help: `show the last N messages (default ${defaultHistoryCount}, at most 200)`,
    minArgs: 0,
    run(args, context) {
      if (context.history === undefined) return unavailable("history");
      const text = args.words[0];
      const count = text === undefined ? defaultHistoryCount : Number(text);
      if (args.words.length > 1 || !Number.isInteger(count) || count < 1 || count > 200) {
        return "N is a number from 1 to 200";
      }
      context.history(count);
    },
  },
  {
    name: "search",
    usage: "/search [#CHANNEL] TEXT",
    help: "find the messages that contain TEXT (any case), everywhere or in one channel",
    minArgs: 1,
    run(args, context) {
      if (context.search === undefined) return unavailable("search");
      const first = args.words[0] ?? "";
      if (first.startsWith("#") && args.words.length > 1 && channelNameProblem(first) === null) {
        context.search(args.rest(1), first);
        return;
      }
      context.search(args.rest(0));
    },
  },
  {
    name: "send",
    usage: "/send PATH...",
    help:
      "send files to this conversation (quote a path with spaces; ~ is your home folder; Tab completes)",
    minArgs: 1,
    run(args, context) {
      if (context.sendFiles === undefined) return unavailable("send");
      const paths = quotedValues(args.rest(0));
      if (typeof paths === "string") return paths;
      context.sendFiles(paths);
    },
  },
  {
    name: "files",
    usage: "/files",
    help: "list the newest files of this conversation, numbered for /get",
    minArgs: 0,
    run(args, context) {
      if (context.listFiles === undefined) return unavailable("files");
      if (args.words.length > 0) return "/files takes no arguments";
      context.listFiles();
    },
  },
  {
    name: "get",
    usage: "/get N [PATH]",
    help:
      "save file N (its number in /files) as PATH, or under its own name in the current folder; an interrupted one resumes",
    minArgs: 1,
    run(args, context) {
      if (context.getFile === undefined) return unavailable("get");
      const id = Number(args.words[0]);
      if (!/^\d+$/.test(args.words[0] ?? "") || !Number.isSafeInteger(id) || id < 1) {
        return "N is the file's number, as /files lists it";
      }
      const paths = quotedValues(args.rest(1));
      if (typeof paths === "string") return paths;
      if (paths.length > 1) return "give one path (quote it when it has spaces)";
      context.getFile(id, paths[0] ?? null);
    },
  },
  {
    name: "link",
    usage: "/link",
    help: "show a one-time code that adds another device (laptop, phone, browser) to your nick",
    minArgs: 0,
    run(args, context) {
      const request = context.requestLinkCode;
      if (request === undefined) return unavailable("link");
      if (args.words.length > 0) return "/link takes no arguments";
      request.call(context).then(
        (answer) => {
          const readable = formatLinkCode(answer.code);
          const command = context.linkCommand?.(readable) ??
            `lanchat join <this server> --link ${readable}`;
          context.print(linkCodeText(answer, context.now?.() ?? Date.now(), command));
        },
        (error: unknown) => context.print(`! no code: ${reason(error)}`),
      );
    },
  },
  {
    name: "whois",
    usage: "/whois NICK",
    help: "who holds NICK: a guest, or an account with its devices' fingerprints",
    minArgs: 1,
    run(args, context) {
      const ask = context.whois;
      if (ask === undefined) return unavailable("whois");
      const nick = args.words[0] ?? "";
      if (args.words.length > 1) return "a nick has no spaces";
      ask.call(context, nick).then(
        (answer) => {
          for (const line of whoisLines(answer)) context.print(line);
        },
        (error: unknown) => context.print(`! ${reason(error)}`),
      );
    },
  },
  {
    name: "clear",
    usage: "/clear",
    help: "clear the screen (scrolling up brings the messages back)",
    minArgs: 0,
    run(_args, context) {
      if (context.clear === undefined) return unavailable("clear");
      context.clear();
    },
  },
  {
    name: "quit",
    usage: "/quit",
    help: "leave the room",
    minArgs: 0,
    run(_args, context) {
      context.quit();
    },
  },
  {
    name: "help",
    usage: "/help [COMMAND]",
    help: "list the commands, or explain one",
    minArgs: 0,
    run(args, context) {
      const wanted = args.words[0]?.replace(/^\//, "").toLowerCase();
      if (wanted !== undefined) {
        const command = findCommand(wanted);
        if (command === undefined) return `there is no command /${wanted}`;
        context.print(`${command.usage}  ${command.help}`);
        return;
      }
      const width = Math.max(...commands.map((command) => command.usage.length));
      for (const command of commands) {
        context.print(`${command.usage.padEnd(width)}  ${command.help}`);
      }
      context.print(`${"//text".padEnd(width)}  send a message that starts with /`);
    },
  },
];

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Looks a command up by name (without the slash, any case). */
export function findCommand(name: string): Command | undefined {
  const key = name.toLowerCase();
  return commands.find((command) => command.name === key);
}

/** What a typed line means. */
export type ParsedLine =
  | { kind: "empty" }
  | { kind: "say"; text: string }
  | { kind: "command"; name: string; argsText: string };

/**
 * Splits a typed line: blank -> empty; `//text` -> the chat message `/text`;
 * `/name args` -> a command; anything else -> a chat message, as typed.
 */
export function parseLine(line: string): ParsedLine {
  if (line.trim() === "") return { kind: "empty" };
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  const match = /^\/(\S*)\s*(.*)$/s.exec(line);
  return { kind: "command", name: match?.[1] ?? "", argsText: match?.[2] ?? "" };
}

/** Splits `text` into words, keeping where each word ends so `rest(n)` keeps inner spacing. */
export function splitArgs(text: string): CommandArgs {
  const words: string[] = [];
  const ends: number[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    words.push(match[0]);
    ends.push(match.index + match[0].length);
  }
  return {
    words,
    rest(n: number): string {
      const start = n === 0 ? 0 : ends[n - 1] ?? text.length;
      return text.slice(start).trim();
    },
  };
}

/** One word of a line typed with shell-like quoting (paths): its value and where it lies. */
export interface QuotedWord {
  /** The word with its quotes and escapes taken away. */
  value: string;
  /** Where it starts and ends in the text, quotes included. */
  start: number;
  end: number;
  /** The quote left open when the text ends inside this word's quotes; else null. */
  open: QuoteMark | null;
}

/** The quotes of {@link scanQuotedWords}. */
export type QuoteMark = '"' | "'";

/**
 * Splits `text` into words as a shell does, for paths: whitespace separates;
 * `"..."` and `'...'` keep spaces (`\"` and `\\` inside double quotes);
 * outside quotes a backslash escapes whitespace, a quote or a backslash (any
 * other backslash stays, so `C:\Users` is a path). A quote left open ends
 * the last word with `open` set.
 *
 * @example
 * scanQuotedWords(`"my report.pdf" notes\ 2.txt`).map((word) => word.value);
 * // ["my report.pdf", "notes 2.txt"]
 */
export function scanQuotedWords(text: string): QuotedWord[] {
  const words: QuotedWord[] = [];
  let index = 0;
  // Bounded by the text: every round of each loop moves `index` forward.
  while (index < text.length) {
    while (index < text.length && /\s/.test(text[index]!)) index++;
    if (index >= text.length) break;
    const start = index;
    let value = "";
    let open: QuoteMark | null = null;
    while (index < text.length) {
      const char = text[index]!;
      const next = text[index + 1];
      if (open === null) {
        if (/\s/.test(char)) break;
        if (char === '"' || char === "'") {
          open = char;
          index++;
        } else if (char === "\\" && next !== undefined && /[\s"'\\]/.test(next)) {
          value += next;
          index += 2;
        } else {
          value += char;
          index++;
        }
      } else if (char === open) {
        open = null;
        index++;
      } else if (open === '"' && char === "\\" && (next === '"' || next === "\\")) {
        value += next;
        index += 2;
      } else {
        value += char;
        index++;
      }
    }
    words.push({ value, start, end: index, open });
  }
  return words;
}

/**
 * `value` written so that {@link scanQuotedWords} reads it back as one word:
 * inside `quote` (closed when `close`), or with backslashes before
 * whitespace, quotes and backslashes when `quote` is null.
 */
export function quoteWord(value: string, quote: QuoteMark | null, close = true): string {
  if (quote === null) return value.replace(/[\s"'\\]/g, (char) => `\\${char}`);
  const inner = quote === '"' ? value.replace(/["\\]/g, (char) => `\\${char}`) : value;
  return `${quote}${inner}${close ? quote : ""}`;
}

/** The values of the quoted words of `text`, or what is wrong with them. */
function quotedValues(text: string): string[] | string {
  const words = scanQuotedWords(text);
  if (words.some((word) => word.open !== null)) return "a quote is not closed";
  if (words.some((word) => word.value === "")) return "a path cannot be empty";
  return words.map((word) => word.value);
}

/**
 * Runs one typed line: sends chat text, or finds the command, checks its
 * argument count and runs it. Unknown commands and wrong arguments print a
 * hint and change nothing.
 */
export function runLine(line: string, context: CommandContext): void {
  const parsed = parseLine(line);
  if (parsed.kind === "empty") return;
  if (parsed.kind === "say") {
    context.say(parsed.text);
    return;
  }
  const command = findCommand(parsed.name);
  if (command === undefined) {
    context.print(
      `! unknown command /${parsed.name}; type /help for the list (or //text to send a line starting with /)`,
    );
    return;
  }
  const args = splitArgs(parsed.argsText);
  if (args.words.length < command.minArgs) {
    context.print(`! usage: ${command.usage}`);
    return;
  }
  const problem = command.run(args, context);
  if (typeof problem === "string") context.print(`! ${problem}; usage: ${command.usage}`);
}
