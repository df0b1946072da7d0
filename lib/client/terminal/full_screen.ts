/**
 * The full-screen client: wires the session, the view and the terminal.
 *
 * Owns: what each key does beyond editing (Enter runs what was typed, line
 * breaks from Alt+Enter or a paste included, as one message, to the
 * conversation on screen; PageUp/PageDown scroll and fetch older history of
 * that conversation at the top; Alt+1..9, Alt+Left/Right and Ctrl+P/N switch
 * conversations; Ctrl-C/Ctrl-D/Ctrl-L; Ctrl-R reconnects now while offline),
 * the commands' actions in full-screen mode (/join, /part, /channels, /topic,
 * /notify, /next, /query, /history, /search, /clear; /send, /files and /get
 * through lib/client/terminal/terminal_files.ts, its transfers in the status
 * bar and its lines in the conversation they belong to), a conversation's
 * history the first time it comes on screen, sending read marks (coalesced:
 * lib/client/read_sender.ts), Tab completion of commands, nicks, channels and
 * paths (after /send and /get N, lib/client/terminal/path_completion.ts; with
 * several matches and nothing to add, they are listed in the log),
 * the bell (by each conversation's notification level; `--no-bell` wins),
 * the offline countdown's timer, and redrawing (coalesced, only changed
 * rows). The look lives in chat_view.ts, the terminal in tty.ts.
 * Imports lib/client/ and lib/wire/protocol.ts only.
 */
import { type FileInfo, nickKey } from "../../wire/protocol.ts";
import type { ChatSession, SessionEnd, SessionEvent, SessionState } from "../session.ts";
import { type CommandContext, commands, runLine } from "../commands.ts";
import {
  conversationOf,
  directName,
  generalChannel,
  isDirect,
  peerOfDirect,
  sameConversation,
} from "../conversation_names.ts";
import { channelText, membersText, notifyText } from "../event_words.ts";
import { ReadSender } from "../read_sender.ts";
import { drawScreen } from "./ansi.ts";
import {
  activeConversation,
  addEntries,
  addHistory,
  addNote,
  addToConversation,
  applyEvent,
  applyState,
  type ChatView,
  clampScroll,
  clearLog,
  dropConversation,
  layoutChat,
  messageEntry,
  noteEntry,
  olderCursor,
  pageRows,
  prependEntries,
  retryNowKey,
  scrollBy,
  switchConversation,
  tickCountdown,
} from "./chat_view.ts";
import { type Completer, editKey, emptyEditor } from "./line_editor.ts";
import type { Key } from "./keys.ts";
import type { Screen } from "./screen.ts";
import { openTty, type TerminalSize, type Tty } from "./tty.ts";
import { inert } from "./format.ts";
import { completePath, maxFolderEntries, type PathCompletion } from "./path_completion.ts";
import { rememberFile, TerminalFiles } from "./terminal_files.ts";

/** Options of {@link FullScreenClient}. */
export interface FullScreenOptions {
  /**
   * Ring the terminal bell as each conversation's notification level says
   * (lib/client/unread.ts alertWanted: by default on a private message, a
   * mention, or a message in a conversation not on screen). Default true.
   */
  bell?: boolean;
  /** Use colours. Default true (false under NO_COLOR). */
  color?: boolean;
  /** The clock, for timestamps. Default `Date.now`. */
  now?: () => number;
  /** Opens the terminal. Default: the real TTY ({@link openTty}). */
  openTerminal?: typeof openTty;
  /**
   * The command line a new device runs to join this server with a link code,
   * for /link. Default: the registry's (`lanchat join <this server> --link CODE`).
   */
  linkCommand?: (code: string) => string;
  /** A channel to join (made when missing) and show once the screen opens (`--channel`). Default: none. */
  channel?: string;
}

/** Messages fetched per PageUp at the top of the log. */
export const olderPageSize = 100;

/** Messages of a channel or private conversation fetched when it first comes on screen. */
export const historyOnSwitch = 50;

/** The key help that /help adds in full-screen mode. */
export const keyHelp = [
  "keys: Enter send · Alt+Enter new line · Tab complete a nick, #channel, command or path · Up/Down lines sent before",
  "      Alt+1..9 go to conversation N of the status bar · Alt+Left/Right or Ctrl+P/N the one before/after",
  "      PageUp/PageDown scroll (older messages load at the top) · Esc back to the newest",
  "      Ctrl+A/E start/end · Ctrl+U/K/W cut · Ctrl+Y paste the cut · Ctrl+L redraw",
  "      Ctrl+C clear the line (on an empty line: quit) · Ctrl+D quit",
  `      ${retryNowKey} reconnect now, while offline (it retries by itself, at most 30 s apart)`,
];

/**
 * Completes the word before the cursor: a command at the start of the line,
 * a path after `/send ` or `/get N ` (through `paths`, when given), else a
 * nick of someone online (`@` kept; `: ` after a nick that starts the line).
 */
export function completer(
  view: ChatView,
  paths?: (line: string, wordStart: number) => PathCompletion | null,
): Completer {
  return ({ before, word }) => {
    const path = paths?.(before + word, before.length) ?? null;
    if (path !== null) return path.replacement === null ? [] : [path.replacement];
    if (before === "" && word.startsWith("/")) {
      const prefix = word.slice(1).toLowerCase();
      return commands.filter((command) => command.name.startsWith(prefix))
        .map((command) => `/${command.name} `);
    }
    if (word.startsWith("#")) {
      const prefix = nickKey(word);
      return view.conversations.all
        .filter((status) => status.kind === "channel" && nickKey(status.name).startsWith(prefix))
        .map((status) => `${status.name} `);
    }
    const at = word.startsWith("@") ? "@" : "";
    const wanted = nickKey(word.slice(at.length));
    const afterCommand = /^\/\S+\s+$/.test(before);
    if (wanted === "" && !afterCommand) return [];
    const suffix = before === "" && at === "" ? ": " : " ";
    return view.users
      .filter((nick) => nickKey(nick) !== nickKey(view.nick) && nickKey(nick).startsWith(wanted))
      .map((nick) => `${at}${nick}${suffix}`);
  };
}

/** `text` without the blank lines at its start and end (the inner ones are kept). */
function withoutBlankEnds(text: string): string {
  if (!text.includes("\n")) return text;
  const lines = text.split("\n");
  while (lines.length > 1 && lines[0]!.trim() === "") lines.shift();
  while (lines.length > 1 && lines.at(-1)!.trim() === "") lines.pop();
  return lines.join("\n");
}

/**
 * The full-screen chat. Feed it every session event with {@link onEvent}
 * from the start (events before {@link run} are shown once the screen
 * opens), then `run()` until the person quits or the session ends.
 */
export class FullScreenClient {
  readonly view: ChatView;
  readonly #bell: boolean;
  readonly #color: boolean;
  readonly #now: () => number;
  readonly #openTerminal: typeof openTty;
  readonly #linkCommand: ((code: string) => string) | undefined;
  readonly #startChannel: string | undefined;
  #session: ChatSession | null = null;
  /** Sends the read marks of the view; made when the screen opens. */
  #reads: ReadSender | null = null;
  #tty: Tty | null = null;
  #previous: Screen | null = null;
  #renderTimer: ReturnType<typeof setTimeout> | undefined;
  #countdownTimer: ReturnType<typeof setTimeout> | undefined;
  #quit = Promise.withResolvers<void>();
  /** What each file id is, from the messages seen (for /get's default name). */
  readonly #knownFiles = new Map<number, FileInfo>();
  /** /send, /files, /get: made when the screen opens. */
  #files: TerminalFiles | null = null;

  constructor(view: ChatView, options: FullScreenOptions = {}) {
    this.view = view;
    this.#bell = options.bell ?? true;
    this.#color = options.color ?? true;
    this.#now = options.now ?? Date.now;
    this.#openTerminal = options.openTerminal ?? openTty;
    this.#linkCommand = options.linkCommand;
    this.#startChannel = options.channel;
  }

  /** Shows a session event (and rings the bell when it calls for one). */
  onEvent(event: SessionEvent): void {
    if (event.type === "message") rememberFile(this.#knownFiles, event.message);
    const outcome = applyEvent(this.view, event, this.#now());
    if (outcome.bell && this.#bell) this.#tty?.write("\x07");
    this.#sendReads();
    this.#scheduleRender();
  }

  /** Hands the read marks the view made to the server (coalesced), once the screen is open. */
  #sendReads(): void {
    const reads = this.#reads;
    if (reads === null) return;
    for (const mark of this.view.reads.splice(0)) reads.mark(mark);
  }

  /** Shows where the session is (the status bar; a countdown while waiting to reconnect). */
  onState(state: SessionState): void {
    applyState(this.view, state, this.#now());
    this.#tick();
  }

  /** Keeps the offline countdown of the status bar current, one redraw per second shown. */
  #tick(): void {
    clearTimeout(this.#countdownTimer);
    this.#countdownTimer = undefined;
    const nextChangeMs = tickCountdown(this.view, this.#now());
    this.#scheduleRender();
    // Only while the screen is open; run() starts the countdown of a state reported before it.
    if (nextChangeMs === null || this.#tty === null) return;
    this.#countdownTimer = setTimeout(() => this.#tick(), nextChangeMs + 5);
  }

  /** Opens the screen and runs until /quit, Ctrl-D, a signal, or the session's end. */
  async run(session: ChatSession): Promise<SessionEnd> {
    this.#session = session;
    this.#files = new TerminalFiles(session, {
      known: this.#knownFiles,
      now: () => this.#now(),
      note: (conversation, text) => {
        addToConversation(this.view, conversation, [
          noteEntry(inert(text), text.startsWith("!") ? "error" : "status"),
        ]);
        this.#scheduleRender();
      },
      changed: () => {
        const files = this.#files;
        if (files === null) return;
        this.view.transfers = files.shown;
        this.view.transfersQueued = files.queued;
        this.#scheduleRender();
      },
    });
    const reads = new ReadSender((mark) => session.markRead(mark.conversation, mark.id));
    this.#reads = reads;
    this.#sendReads();
    const tty = this.#openTerminal({
      onKeys: (keys) => this.#onKeys(keys),
      onResize: (size) => this.#resize(size),
      onEnd: () => this.#quit.resolve(),
    });
    this.#tty = tty;
    try {
      this.#resize(tty.size());
      this.#tick();
      if (this.#startChannel !== undefined) this.#joinChannel(this.#startChannel);
      const ended = await Promise.race([
        this.#quit.promise.then(() => null),
        session.ended,
      ]);
      if (ended !== null) return ended;
      reads.close(); // What waits goes before `bye`.
      return await session.quit();
    } finally {
      reads.close();
      this.#reads = null;
      clearTimeout(this.#renderTimer);
      clearTimeout(this.#countdownTimer);
      this.#files = null;
      this.#tty = null;
      await tty.close();
    }
  }

  // ---- keys ---------------------------------------------------------------------------

  #onKeys(keys: Key[]): void {
    for (const key of keys) this.#onKey(key);
    this.#sendReads();
    this.#scheduleRender();
  }

  #onKey(key: Key): void {
    const view = this.view;
    if (key.type === "key") {
      const character = key.ctrl ? key.char : undefined;
      if (key.alt && !key.ctrl && key.name === "char" && /^[1-9]$/.test(key.char ?? "")) {
        const status = view.conversations.all[Number(key.char) - 1];
        if (status !== undefined) this.#show(status.name);
        return;
      }
      if (
        (key.alt && (key.name === "left" || key.name === "right")) ||
        (key.ctrl && key.name === "char" && (key.char === "p" || key.char === "n"))
      ) {
        this.#step(key.name === "right" || key.char === "n" ? 1 : -1);
        return;
      }
      if (key.name === "pageup" || (key.shift && key.name === "up")) {
        this.#scroll(key.name === "pageup" ? pageRows(view) : 1);
        return;
      }
      if (key.name === "pagedown" || (key.shift && key.name === "down")) {
        this.#scroll(-(key.name === "pagedown" ? pageRows(view) : 1));
        return;
      }
      if (key.name === "escape") {
        view.scroll = 0;
        clampScroll(view);
        return;
      }
      if (character === "l") {
        this.#previous = null;
        return;
      }
      if (character === "c") {
        if (view.editor.text === "") this.#quit.resolve();
        else view.editor = { ...emptyEditor(view.editor.history), killed: view.editor.text };
        return;
      }
      if (character === "d" && view.editor.text === "") {
        this.#quit.resolve();
        return;
      }
      if (character === "r") {
        // Offline: try now instead of at the end of the countdown. Otherwise nothing to do.
        if (view.retryAt !== null) this.#session?.retryNow();
        return;
      }
    }
    const result = editKey(view.editor, key, {
      complete: completer(view, (line, wordStart) => this.#completePath(line, wordStart)),
    });
    view.editor = result.state;
    clampScroll(view); // The input area may have grown or shrunk.
    if (result.submitted !== undefined) this.#submit(result.submitted);
  }

  /** Tab in a path: what to put in; several matches with nothing to add are listed in the log. */
  #completePath(line: string, wordStart: number): PathCompletion | null {
    const completion = completePath(line, wordStart);
    if (completion === null) return null;
    const partial = completion.partial
      ? ` (only the first ${maxFolderEntries} entries of this large folder were looked at)`
      : "";
    if (completion.choices.length > 0) {
      const more = completion.more > 0 ? `  (+${completion.more} more)` : "";
      this.#note(`-- ${completion.choices.join("  ")}${more}${partial}`);
    } else if (partial !== "") {
      this.#note(`--${partial}`);
    }
    return completion;
  }

  #scroll(rows: number): void {
    const view = this.view;
    const top = scrollBy(view, rows);
    if (rows > 0 && top) this.#fetchOlder();
  }

  #fetchOlder(): void {
    const view = this.view;
    const session = this.#session;
    const before = olderCursor(view);
    if (session === null || view.older !== "idle" || before === null) return;
    const name = activeConversation(view);
    view.older = "loading";
    session.history({ before, limit: olderPageSize, ...this.#historyFilter(name) }).then((page) => {
      if (!sameConversation(activeConversation(view), name)) return; // Switched away: ask again there.
      if (page === null) {
        view.older = "idle";
      } else {
        const now = this.#now();
        for (const item of page.items) rememberFile(this.#knownFiles, item.message);
        prependEntries(
          view,
          page.items
            .filter((item) => sameConversation(conversationOf(item.message, item.own), name))
            .map((item) => messageEntry(item, { nick: view.nick, now })),
          page.more,
        );
      }
      this.#scheduleRender();
    });
  }

  // ---- conversations ------------------------------------------------------------------

  /**
   * What `history` needs for conversation `name`: `with` for a private one,
   * `channel` for a channel (for `#general` only on a server with channels:
   * an older one's `history` is `#general` and my private messages, which are
   * left out where it is shown).
   */
  #historyFilter(name: string): { with?: string; channel?: string } {
    const peer = peerOfDirect(name);
    if (peer !== null) return { with: peer };
    if (sameConversation(name, generalChannel) && (this.#session?.serverVersion ?? 1) < 3) {
      return {};
    }
    return { channel: name };
  }

  /** Puts conversation `name` on screen; the first time, asks for its history. */
  #show(name: string): void {
    const shown = switchConversation(this.view, name);
    this.#sendReads();
    if (shown.needsHistory) this.#askHistory(shown.name);
    this.#scheduleRender();
  }

  /** Goes `steps` conversations along the status bar's order (round). */
  #step(steps: number): void {
    const all = this.view.conversations.all;
    const at = all.findIndex((status) =>
      sameConversation(status.name, activeConversation(this.view))
    );
    const next = all[(at + steps + all.length) % all.length];
    if (next !== undefined) this.#show(next.name);
  }

  #askHistory(name: string): void {
    const session = this.#session;
    const view = this.view;
    if (session === null) return;
    void session.history({ limit: historyOnSwitch, ...this.#historyFilter(name) }).then((page) => {
      if (view.conversations.find(name) === undefined) return; // Left meanwhile.
      if (page === null) {
        view.historyAsked.delete(nickKey(name)); // Not connected: asked again next time.
        return;
      }
      const now = this.#now();
      const items = page.items.filter((item) =>
        sameConversation(conversationOf(item.message, item.own), name)
      );
      for (const item of items) rememberFile(this.#knownFiles, item.message);
      for (const item of items) {
        view.conversations.arrive(item.message, item.text, item.own, "history", view.nick);
      }
      addHistory(
        view,
        name,
        items.map((item) => messageEntry(item, { nick: view.nick, now })),
        page.more,
      );
      this.#sendReads();
      this.#scheduleRender();
    });
  }

  /** `/join #name` (and `--channel`): joins, making it when missing, then shows it. */
  #joinChannel(name: string): void {
    const session = this.#session;
    const known = this.view.conversations.find(name);
    if (known !== undefined && known.kind === "channel") {
      this.#show(known.name);
      return;
    }
    if (session === null) return;
    session.joinChannel(name).then(
      (channel) => this.#show(channel.name),
      (error: unknown) => this.#note(`! cannot join ${inert(name)}: ${reason(error)}`),
    );
  }

  /** Adds a local line to the conversation on screen and redraws; it may hold a server's words. */
  #note(text: string): void {
    addNote(this.view, inert(text));
    this.#scheduleRender();
  }

  // ---- lines and commands ---------------------------------------------------------------

  #submit(text: string): void {
    const view = this.view;
    view.scroll = 0;
    clampScroll(view);
    // Line breaks (Alt+Enter, a paste) stay in one message, as Shift+Enter makes them on the
    // page; what the text starts with decides, as for one line (/me, /msg, // keep them too).
    runLine(withoutBlankEnds(text), this.#context());
    if (/^\/help\s*$/i.test(text)) { for (const line of keyHelp) addNote(view, line); }
  }

  /** Sends to `to`, else to the conversation on screen (a channel, or a private one). */
  #say(text: string, options: { to?: string; kind?: "text" | "action" } = {}): void {
    const to = options.to ?? this.view.query ?? undefined;
    const active = activeConversation(this.view);
    const channel = to === undefined && !sameConversation(active, generalChannel)
      ? active
      : undefined;
    void this.#session?.say(text, {
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(to === undefined ? {} : { to }),
      ...(channel === undefined ? {} : { channel }),
    });
  }

  #context(): CommandContext {
    const view = this.view;
    const session = this.#session;
    return {
      say: (text, options) => this.#say(text, options),
      rename: (nick) => session?.rename(nick),
      requestUsers: () => session?.requestUsers(),
      quit: () => this.#quit.resolve(),
      // Command output may hold what a server sent (/whois): never a control character.
      print: (text) => {
        addNote(view, inert(text));
        this.#scheduleRender();
      },
      ...(session === null ? {} : {
        requestLinkCode: () => session.requestLinkCode(),
        whois: (nick: string) => session.whois(nick),
      }),
      ...(this.#linkCommand === undefined ? {} : { linkCommand: this.#linkCommand }),
      now: () => this.#now(),
      query: (nick) => {
        if (nick === null) {
          this.#show(generalChannel);
          addNote(view, `-- back in ${generalChannel}: lines go to everyone`);
          return;
        }
        this.#show(directName(nick));
        const online = view.users.some((user) => nickKey(user) === nickKey(nick));
        addNote(
          view,
          `-- talking privately with ${inert(nick)}; /query alone goes back to ${generalChannel}` +
            (online ? "" : ` (${inert(nick)} is not online now; they see it when they are back)`),
        );
      },
      joinChannel: (name) => this.#joinChannel(name),
      part: (name) => this.#part(name),
      listChannels: () => {
        session?.listChannels().then(
          (channels) => {
            this.#note(
              `-- ${channels.length} channel${
                channels.length === 1 ? "" : "s"
              }; /join #NAME joins one (or makes it):`,
            );
            for (const channel of channels) this.#note(`   ${inert(channelText(channel))}`);
          },
          (error: unknown) => this.#note(`! ${reason(error)}`),
        );
      },
      topic: (text) => this.#topic(text),
      members: (name) => {
        const target = name ?? activeConversation(this.view);
        if (isDirect(target)) {
          this.#note("! a private conversation has no members list; /members #NAME");
          return;
        }
        session?.channelMembers(target).then(
          (users) => this.#note(`-- ${inert(membersText(target, users))}`),
          (error: unknown) => this.#note(`! ${reason(error)}`),
        );
      },
      notify: (level) => {
        const status = view.conversations.active;
        if (status === null || session === null) return;
        const quiet = this.#bell ? "" : " (--no-bell is on: the bell stays quiet anyway)";
        if (level === null) {
          this.#note(`-- ${inert(notifyText(status.name, status.notify))}${quiet}`);
          return;
        }
        session.setNotify(status.name, level).then(
          () => this.#note(`-- ${inert(notifyText(status.name, level))}${quiet}`),
          (error: unknown) => this.#note(`! ${reason(error)}`),
        );
      },
      next: () => {
        const next = view.conversations.nextUnread();
        if (next === null) this.#note("-- nothing unread");
        else this.#show(next.name);
      },
      history: (count) => {
        const name = activeConversation(view);
        void session?.history({ limit: count, ...this.#historyFilter(name) })
          .then((page) => {
            if (page === null) return;
            const now = this.#now();
            const items = page.items.filter((item) =>
              sameConversation(conversationOf(item.message, item.own), name)
            );
            addNote(view, `-- the last ${items.length} messages in ${inert(name)}:`);
            addEntries(
              view,
              items.map((item) => messageEntry(item, { nick: view.nick, now, placed: false })),
            );
            addNote(view, "-- end of /history");
            this.#scheduleRender();
          });
      },
      search: (text, channel) => {
        void session?.search(text, 50, channel).then((items) => {
          if (items === null) return;
          const now = this.#now();
          addNote(
            view,
            items.length === 0
              ? `-- no message contains "${inert(text)}"`
              : `-- ${items.length} ${
                items.length === 1 ? "message contains" : "messages contain"
              } "${inert(text)}":`,
          );
          addEntries(
            view,
            items.map((item) =>
              messageEntry(item, {
                nick: view.nick,
                now,
                placed: false,
                alwaysDate: true,
                tagChannel: true,
              })
            ),
          );
          if (items.length > 0) addNote(view, "-- end of /search");
          this.#scheduleRender();
        });
      },
      clear: () => clearLog(view),
      ...(this.#files === null ? {} : this.#fileCommands(this.#files)),
    };
  }

  /** /send, /files and /get, in the conversation on screen. */
  #fileCommands(
    files: TerminalFiles,
  ): Pick<CommandContext, "sendFiles" | "listFiles" | "getFile"> {
    const here = () => activeConversation(this.view);
    return {
      sendFiles: (paths) => files.send(paths, here()),
      listFiles: () => files.list(here()),
      getFile: (id, path) => files.get(id, path, here()),
    };
  }

  /** `/part`: leaves a channel (the `channel` event closes it), closes a private conversation. */
  #part(name: string | null): void {
    const target = name ?? activeConversation(this.view);
    if (sameConversation(target, generalChannel)) {
      this.#note(`! ${generalChannel} cannot be left; /join #NAME to talk in another channel`);
      return;
    }
    if (isDirect(target)) {
      dropConversation(this.view, target);
      this.#note(`-- closed the conversation with ${inert(target.slice(1))}`);
      return;
    }
    this.#session?.partChannel(target).catch((error: unknown) =>
      this.#note(`! cannot leave ${inert(target)}: ${reason(error)}`)
    );
  }

  /** `/topic [text]`: shows or sets the topic of the channel on screen. */
  #topic(text: string | null): void {
    const session = this.#session;
    const name = activeConversation(this.view);
    if (session === null) return;
    if (isDirect(name)) {
      this.#note("! a private conversation has no topic; /topic works in a channel");
      return;
    }
    if (text !== null) {
      session.setTopic(name, text).catch((error: unknown) => this.#note(`! ${reason(error)}`));
      return;
    }
    session.listChannels().then(
      (channels) => {
        const topic = channels.find((channel) => sameConversation(channel.name, name))?.topic ?? "";
        this.#note(
          topic === ""
            ? `-- ${inert(name)} has no topic; /topic TEXT sets one`
            : `-- the topic of ${inert(name)}: ${inert(topic)}`,
        );
      },
      (error: unknown) => this.#note(`! ${reason(error)}`),
    );
  }

  // ---- drawing ---------------------------------------------------------------------------

  #resize(size: TerminalSize): void {
    this.view.width = size.width;
    this.view.height = size.height;
    clampScroll(this.view);
    this.#previous = null;
    this.#render();
  }

  #scheduleRender(): void {
    if (this.#tty === null || this.#renderTimer !== undefined) return;
    this.#renderTimer = setTimeout(() => this.#render(), 10);
  }

  #render(): void {
    clearTimeout(this.#renderTimer);
    this.#renderTimer = undefined;
    const tty = this.#tty;
    if (tty === null) return;
    const screen = layoutChat(this.view);
    tty.write(drawScreen(this.#previous, screen, { color: this.#color }));
    this.#previous = screen;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
