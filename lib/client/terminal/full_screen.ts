/**
 * The full-screen client: wires the session, the view and the terminal.
 *
 * Owns: what each key does beyond editing (Enter runs what was typed, line
 * breaks from Alt+Enter or a paste included, as one message; PageUp/PageDown
 * scroll and fetch older history at the top; Ctrl-C/Ctrl-D/Ctrl-L; Ctrl-R
 * reconnects now while offline), the commands' actions in full-screen mode
 * (/query, /history, /search, /clear), Tab completion of commands and nicks,
 * the bell, the offline countdown's timer, and redrawing (coalesced, only
 * changed rows). The look lives in chat_view.ts, the terminal in tty.ts.
 * Imports lib/client/ and lib/wire/protocol.ts only.
 */
import { nickKey } from "../../wire/protocol.ts";
import type { ChatSession, SessionEnd, SessionEvent, SessionState } from "../session.ts";
import { type CommandContext, commands, runLine } from "../commands.ts";
import { drawScreen } from "./ansi.ts";
import {
  addEntries,
  addNote,
  applyEvent,
  applyState,
  type ChatView,
  clampScroll,
  clearLog,
  layoutChat,
  messageEntry,
  olderCursor,
  pageRows,
  prependEntries,
  retryNowKey,
  scrollBy,
  tickCountdown,
} from "./chat_view.ts";
import { type Completer, editKey, emptyEditor } from "./line_editor.ts";
import type { Key } from "./keys.ts";
import type { Screen } from "./screen.ts";
import { openTty, type TerminalSize, type Tty } from "./tty.ts";
import { inert } from "./format.ts";

/** Options of {@link FullScreenClient}. */
export interface FullScreenOptions {
  /** Ring the terminal bell on a private message or a mention. Default true. */
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
}

/** Messages fetched per PageUp at the top of the log. */
export const olderPageSize = 100;

/** The key help that /help adds in full-screen mode. */
export const keyHelp = [
  "keys: Enter send · Alt+Enter new line · Tab complete a nick or command · Up/Down lines sent before",
  "      PageUp/PageDown scroll (older messages load at the top) · Esc back to the newest",
  "      Ctrl+A/E start/end · Ctrl+U/K/W cut · Ctrl+Y paste the cut · Ctrl+L redraw",
  "      Ctrl+C clear the line (on an empty line: quit) · Ctrl+D quit",
  `      ${retryNowKey} reconnect now, while offline (it retries by itself, at most 30 s apart)`,
];

/**
 * Completes the word before the cursor: a command at the start of the line,
 * else a nick of someone online (`@` kept; `: ` after a nick that starts the line).
 */
export function completer(view: ChatView): Completer {
  return ({ before, word }) => {
    if (before === "" && word.startsWith("/")) {
      const prefix = word.slice(1).toLowerCase();
      return commands.filter((command) => command.name.startsWith(prefix))
        .map((command) => `/${command.name} `);
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
  #session: ChatSession | null = null;
  #tty: Tty | null = null;
  #previous: Screen | null = null;
  #renderTimer: ReturnType<typeof setTimeout> | undefined;
  #countdownTimer: ReturnType<typeof setTimeout> | undefined;
  #quit = Promise.withResolvers<void>();

  constructor(view: ChatView, options: FullScreenOptions = {}) {
    this.view = view;
    this.#bell = options.bell ?? true;
    this.#color = options.color ?? true;
    this.#now = options.now ?? Date.now;
    this.#openTerminal = options.openTerminal ?? openTty;
    this.#linkCommand = options.linkCommand;
  }

  /** Shows a session event (and rings the bell when it calls for one). */
  onEvent(event: SessionEvent): void {
    const outcome = applyEvent(this.view, event, this.#now());
    if (outcome.bell && this.#bell) this.#tty?.write("\x07");
    this.#scheduleRender();
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
    const tty = this.#openTerminal({
      onKeys: (keys) => this.#onKeys(keys),
      onResize: (size) => this.#resize(size),
      onEnd: () => this.#quit.resolve(),
    });
    this.#tty = tty;
    try {
      this.#resize(tty.size());
      this.#tick();
      const ended = await Promise.race([
        this.#quit.promise.then(() => null),
        session.ended,
      ]);
      if (ended !== null) return ended;
      return await session.quit();
    } finally {
      clearTimeout(this.#renderTimer);
      clearTimeout(this.#countdownTimer);
      this.#tty = null;
      await tty.close();
    }
  }

  // ---- keys ---------------------------------------------------------------------------

  #onKeys(keys: Key[]): void {
    for (const key of keys) this.#onKey(key);
    this.#scheduleRender();
  }

  #onKey(key: Key): void {
    const view = this.view;
    if (key.type === "key") {
      const character = key.ctrl ? key.char : undefined;
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
    const result = editKey(view.editor, key, { complete: completer(view) });
    view.editor = result.state;
    clampScroll(view); // The input area may have grown or shrunk.
    if (result.submitted !== undefined) this.#submit(result.submitted);
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
    view.older = "loading";
    session.history({ before, limit: olderPageSize }).then((page) => {
      if (page === null) {
        view.older = "idle";
      } else {
        const now = this.#now();
        prependEntries(
          view,
          page.items.map((item) => messageEntry(item, { nick: view.nick, now })),
          page.more,
        );
      }
      this.#scheduleRender();
    });
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

  #say(text: string, options: { to?: string; kind?: "text" | "action" } = {}): void {
    const to = options.to ?? this.view.query ?? undefined;
    void this.#session?.say(text, {
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(to === undefined ? {} : { to }),
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
        view.query = nick;
        if (nick === null) {
          addNote(view, "-- back in the room: lines go to everyone");
          return;
        }
        const online = view.users.some((user) => nickKey(user) === nickKey(nick));
        addNote(
          view,
          `-- talking privately with ${inert(nick)}; /query alone goes back to the room` +
            (online ? "" : ` (${inert(nick)} is not online now)`),
        );
      },
      history: (count) => {
        const query = view.query;
        void session?.history({ limit: count, ...(query === null ? {} : { with: query }) })
          .then((page) => {
            if (page === null) return;
            const now = this.#now();
            const what = query === null ? "" : ` with ${inert(query)}`;
            addNote(view, `-- the last ${page.items.length} messages${what}:`);
            addEntries(
              view,
              page.items.map((item) => messageEntry(item, { nick: view.nick, now, placed: false })),
            );
            addNote(view, "-- end of /history");
            this.#scheduleRender();
          });
      },
      search: (text) => {
        void session?.search(text).then((items) => {
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
              messageEntry(item, { nick: view.nick, now, placed: false, alwaysDate: true })
            ),
          );
          if (items.length > 0) addNote(view, "-- end of /search");
          this.#scheduleRender();
        });
      },
      clear: () => clearLog(view),
    };
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
