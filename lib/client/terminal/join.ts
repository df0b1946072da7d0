/**
 * `lanchat join`: picks full-screen, line or piped mode and wires the session,
 * the output and the input.
 *
 * Owns: which mode runs (full screen when stdin and stdout are terminals,
 * line mode when only stdin is, piped otherwise), how long each keeps
 * reconnecting (full screen: until the server is back or the person quits;
 * line and piped mode: 3 attempts, then exit 1), which events are shown
 * where (stdout or stderr) in line and piped mode, the exit code, and when
 * a room password is expected (LANCHAT_PASSWORD set, a password typed in this
 * run, or this host:port joined with one before, remembered through
 * lib/client/terminal/recent_servers.ts), so that a server asking for none is refused, and
 * this device's key (issue #14: loaded, or made silently the first time, from
 * the file the CLI names; none with --guest) and a link code, and the
 * channel lines go to (issue #15: `--channel`, `/join` in line and piped
 * mode; channels need an account, so not with --guest), and files (issue
 * #16: SHA-256 by node:crypto; /send, /files and /get in line mode too,
 * through lib/client/terminal/terminal_files.ts). The
 * protocol lives in session.ts, the line-mode look in format.ts, the commands
 * in commands.ts, the full-screen client in full_screen.ts.
 * Imports lib/client/, lib/wire/, lib/client/terminal/recent_servers.ts,
 * lib/identity/key_file.ts (the device key file) and lib/cli/run_command.ts
 * (how the advice writes commands) only; never lib/server/server.ts.
 */
import { ChatSession, JoinFailure } from "../session.ts";
import { channelNameProblem } from "../../wire/protocol.ts";
import {
  channelName,
  directName,
  generalChannel,
  sameConversation,
} from "../conversation_names.ts";
import { channelText, membersText } from "../event_words.ts";
import { KeyFileError, loadOrCreateKey } from "../../identity/key_file.ts";
import type { KeyPair } from "../../wire/identity.ts";
import { ownedNickAdvice } from "../event_words.ts";
import { serverKeyCheck } from "../server_keys.ts";
import { dialTcp } from "./tcp_channel.ts";
import type {
  DecodedMessage,
  NickChooser,
  SessionEnd,
  SessionEvent,
  SessionState,
} from "../session.ts";
import { formatEvent, inert } from "./format.ts";
import { type CommandContext, runLine } from "../commands.ts";
import { type LineReader, readLines } from "./line_input.ts";
import { openTerminal, type Terminal } from "./terminal.ts";
import { askNick, askPassword } from "./prompt.ts";
import { passwordVariable, roomPassword } from "./room_password.ts";
import {
  forgetRoomPassword,
  forgetServerKey,
  hadRoomPassword,
  knownServerKey,
  rememberRoomPassword,
  rememberServerKey,
} from "./recent_servers.ts";
import { formatAddress } from "../address.ts";
import type { Address } from "../address.ts";
import { documentedCommand } from "../../cli/run_command.ts";
import type { CommandFormat } from "../../cli/run_command.ts";
import { FullScreenClient } from "./full_screen.ts";
import { createView } from "./chat_view.ts";
import { terminalSize } from "./tty.ts";
import { nodeSha256 } from "./file_disk.ts";
import { rememberFile, TerminalFiles } from "./terminal_files.ts";
import type { FileInfo } from "../../wire/protocol.ts";

export { parseAddress } from "../address.ts";

/** Options of {@link join}. */
export interface JoinOptions {
  host: string;
  port: number;
  /** Nick to join with. Default: asked with a prompt (interactive) or required (piped). */
  nick?: string;
  /**
   * Interactive mode shows history, status lines and takes /commands; piped
   * mode sends every non-empty line as a message and exits when input ends.
   * Default: `Deno.stdin.isTerminal()`.
   */
  interactive?: boolean;
  /**
   * Where lines come from. Default: the terminal (line editing) when
   * interactive and stdin is a terminal, else `Deno.stdin.readable`.
   */
  input?: ReadableStream<Uint8Array>;
  /** Prints a line for the person (chat and status). Default: stdout. */
  writeOut?: (line: string) => void;
  /** Prints a problem. Default: stderr. */
  writeErr?: (line: string) => void;
  /** Asks for a nick. Default: an @inquirer/prompts prompt when interactive; none when piped. */
  chooseNick?: NickChooser;
  /**
   * Asks for the room password (hidden) when the server has one and
   * LANCHAT_PASSWORD is not set. Default: a prompt when interactive; none when piped.
   */
  askPassword?: () => Promise<string | null>;
  /**
   * Waits before the quick reconnect attempts. Default [1000, 2000, 4000].
   * Line and piped mode give up after them; full screen keeps trying
   * ({@link fullScreenRetrying}).
   */
  reconnectDelaysMs?: number[];
  /** Connect timeout. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Full-screen mode (message area, status bar, line editor). Default: when
   * interactive, with no `input` given, and both stdin and stdout are terminals.
   */
  fullScreen?: boolean;
  /** Full screen: ring the terminal bell as each conversation's `/notify` level says. Default true. */
  bell?: boolean;
  /** Full screen: use colours. Default: true unless the NO_COLOR variable is set and not empty. */
  color?: boolean;
  /**
   * The file (lib/client/terminal/recent_servers.ts) that remembers which servers had a room
   * password: read before connecting, written after a secure join. Default:
   * none, so nothing is remembered across runs (the CLI passes the data
   * folder's file).
   */
  recentServersPath?: string;
  /**
   * Forget, before connecting, that this server had a room password (its
   * operator removed it). Does not override LANCHAT_PASSWORD: while that is
   * set, a server asking for no password is still refused. Default false.
   */
  forgetPassword?: boolean;
  /**
   * Forget, before connecting, the key this server proved before (its
   * operator says it changed); the key it proves now is remembered instead.
   * Default false.
   */
  forgetServerKey?: boolean;
  /**
   * How the advice writes commands (`lanchat serve`, `lanchat firewall`).
   * Default: documentedCommand; main.ts passes lanchatCommand, the form that runs here.
   */
  command?: CommandFormat;
  /**
   * This device's key file (lib/identity/key_file.ts): read, or made the
   * first time (nothing to type), and proven with every `hello` to a server
   * of protocol version 2, so the nick stays this person's. Default: none, so
   * the join is a guest's (the CLI passes the data folder's file unless
   * --guest).
   */
  deviceKeyPath?: string;
  /**
   * A one-time code from `/link` on another device of the account (any case,
   * with or without its dash): this device's key joins that account, under
   * its nick (no --nick needed). Needs `deviceKeyPath`. Default: none.
   */
  linkCode?: string;
  /**
   * A channel (`ops` or `#ops`; made when it does not exist) joined after
   * the room: piped lines are posted there, interactive mode starts there.
   * Channels belong to accounts, so it needs `deviceKeyPath` (not a guest);
   * a server without channels, or one refusing the channel, ends a piped
   * join with exit code 1. Default: none (`#general`).
   */
  channel?: string;
}

/** True unless NO_COLOR is set to something (https://no-color.org). */
export function colorWanted(): boolean {
  try {
    return (Deno.env.get("NO_COLOR") ?? "") === "";
  } catch {
    return true; // No --allow-env: colours on.
  }
}

/**
 * How the full-screen client keeps reconnecting after the quick attempts: each
 * wait twice the one before, up to 25 s, every wait (the quick ones too) made
 * 20 % shorter or longer at random so a room's clients do not all come back at
 * the same instant: never more than 30 s apart. The person is there to see it
 * (a countdown in the status bar) and can retry at once or quit; a script is
 * not, so line and piped mode give up instead.
 */
export const fullScreenRetrying = { maxDelayMs: 25_000, jitter: 0.2 } as const;

/** Messages asked for after joining, in interactive mode. */
export const historyOnJoin = 50;

const encoder = new TextEncoder();

function writeSync(file: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(`${text}\n`);
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** Events a piped join reports: messages from others, and trouble. Nothing else. */
function shownWhenPiped(event: SessionEvent): "out" | "err" | null {
  switch (event.type) {
    case "message":
      return event.own ? null : "out";
    case "server_error":
    case "refused":
    case "notice":
    case "lost":
    case "reconnecting":
    case "reconnect_failed":
    case "resumed":
      return "err";
    case "connected":
      return event.reconnect ? "err" : null;
    case "linked":
      return "err"; // A device joined the account: worth knowing, even in a script's log.
    default:
      return null;
  }
}

/**
 * Runs `lanchat join` until the person quits, input ends (piped) or the
 * connection is lost for good (line and piped mode; full screen keeps
 * reconnecting). Returns the exit code: 0 done, 1 cannot
 * connect / gave up reconnecting / a piped line was refused / wrong room
 * password / a server that asked for no password where one was expected
 * (nothing is sent to it, also on a reconnect), 2 wrong usage (no nick when piped, a room with a password and no
 * LANCHAT_PASSWORD when piped), 130 nick or password prompt cancelled.
 *
 * @example
 * Deno.exit(await join({ host: "127.0.0.1", port: 9000, nick: "ana" }));
 */
export async function join(options: JoinOptions): Promise<number> {
  const interactive = options.interactive ?? Deno.stdin.isTerminal();
  const writeErr = options.writeErr ?? ((line: string) => writeSync(Deno.stderr, line));
  const writeOutDefault = options.writeOut ?? ((line: string) => writeSync(Deno.stdout, line));
  const linkCode = options.linkCode;
  if (linkCode !== undefined && options.deviceKeyPath === undefined) {
    writeErr("--link adds this device's key to an account, so it cannot be used with --guest");
    return 2;
  }
  let channel: string | null = null;
  if (options.channel !== undefined) {
    if (options.deviceKeyPath === undefined) {
      writeErr(
        "--channel needs this device's key (channels belong to accounts), so it cannot be used " +
          "with --guest; leave out --guest, or post to #general without --channel",
      );
      return 2;
    }
    channel = channelName(options.channel);
    const problem = channelNameProblem(channel);
    if (problem !== null) {
      writeErr(`--channel ${options.channel}: ${problem} (e.g. --channel ops)`);
      return 2;
    }
  }
  if (
    !interactive && (options.nick === undefined || options.nick === "") && linkCode === undefined
  ) {
    writeErr("give --nick NICK when input is piped");
    return 2;
  }
  const command = options.command ?? documentedCommand;
  let deviceKey: KeyPair | undefined;
  if (options.deviceKeyPath !== undefined) {
    try {
      deviceKey = (await loadOrCreateKey(options.deviceKeyPath, "device")).key.keyPair;
    } catch (error) {
      if (!(error instanceof KeyFileError)) throw error;
      writeErr(`${error.message} (or join without an identity with --guest)`);
      return 1;
    }
  }

  const fullScreen = options.fullScreen ??
    (interactive && options.input === undefined && options.writeOut === undefined &&
      Deno.stdin.isTerminal() && Deno.stdout.isTerminal());
  const screen = fullScreen
    ? new FullScreenClient(createView(terminalSize(), options.nick ?? ""), {
      bell: options.bell ?? true,
      color: options.color ?? colorWanted(),
      linkCommand: (code) => linkCommand(code),
      ...(channel === null ? {} : { channel }),
    })
    : null;

  // Interactive output goes through the terminal once it is open, so lines
  // appear above the one being typed.
  let terminal: Terminal | null = null;
  const writeOut = (line: string) =>
    terminal === null ? writeOutDefault(line) : terminal.print(line);
  let refusedCount = 0;
  /** Line mode: what each file id is, from the messages seen (for /get's default name). */
  const knownFiles = new Map<number, FileInfo>();

  const onEvent = (event: SessionEvent) => {
    if (event.type === "refused") refusedCount++;
    if (event.type === "message" && screen === null) rememberFile(knownFiles, event.message);
    if (screen !== null) {
      screen.onEvent(event);
      // Before the screen opens, say where the nick prompt is connected to.
      if (event.type === "connected" && options.nick === undefined) {
        for (const line of formatEvent(event)) writeOutDefault(line.text);
      }
      return;
    }
    const lines = formatEvent(event);
    if (interactive) {
      for (const line of lines) writeOut(line.text);
      return;
    }
    const where = shownWhenPiped(event);
    if (where === null) return;
    for (const line of lines) (where === "out" ? writeOutDefault : writeErr)(line.text);
  };

  const address = { host: options.host, port: options.port };
  /** How a new device joins this server with a link code, as lanchat runs here. */
  const linkCommand = (code: string) => command("join", formatAddress(address), "--link", code);
  const marks = options.recentServersPath === undefined
    ? null
    : { path: options.recentServersPath };
  if (options.forgetPassword === true && marks !== null) {
    try {
      if (await forgetRoomPassword(address, marks)) {
        writeErr(
          `-- forgot that ${formatAddress(address)} had a room password; ` +
            "joining it even if it asks for none",
        );
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      writeErr(
        `cannot forget that ${formatAddress(address)} had a room password: ${reason}. ` +
          `Check that ${options.recentServersPath} can be written.`,
      );
      return 1;
    }
  }
  if (options.forgetServerKey === true && marks !== null) {
    try {
      if (await forgetServerKey(address, marks)) {
        writeErr(`-- forgot the key ${formatAddress(address)} had; it keeps the one it proves now`);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      writeErr(
        `cannot forget the key of ${formatAddress(address)}: ${reason}. ` +
          `Check that ${options.recentServersPath} can be written.`,
      );
      return 1;
    }
  }
  /** Issue #14: an address keeps the key it proved the first time (lib/client/server_keys.ts). */
  const checkServerKey = marks === null ? undefined : serverKeyCheck(
    formatAddress(address),
    {
      known: () => knownServerKey(address, marks),
      remember: (fingerprint) => rememberServerKey(address, fingerprint, marks),
    },
    "join again with --forget-server-key.",
  );
  let hadPassword = marks === null ? false : await hadRoomPassword(address, marks);
  const ask = options.askPassword ?? (interactive ? askPassword : undefined);
  const password = roomPassword(ask === undefined ? {} : { ask });
  const passwordExpected = () =>
    plaintextAdvice(formatAddress(address), {
      fromEnv: password.fromEnv(),
      given: password.given(),
      remembered: hadPassword,
    });
  /** The mark is written once, after the first secure welcome; awaited before returning. */
  let marking: Promise<unknown> | null = null;
  const markSecure = () => {
    if (marking !== null || marks === null || !session.encrypted) return;
    hadPassword = true;
    marking = rememberRoomPassword(address, marks);
  };

  const chooseNick: NickChooser | undefined = options.chooseNick ??
    (interactive
      ? (problem, refused, code) =>
        askNick(
          problem,
          code === "nick_owned" && refused !== null
            ? ownedNickAdvice(refused, `join from here with \`${linkCommand("CODE")}\``)
            : null,
        )
      : undefined);
  const session: ChatSession = new ChatSession({
    dial: dialTcp,
    address,
    ...(options.nick === undefined || options.nick === "" ? {} : { nick: options.nick }),
    ...(chooseNick === undefined ? {} : { chooseNick }),
    ...(deviceKey === undefined ? {} : { deviceKey }),
    ...(linkCode === undefined ? {} : { linkCode }),
    roomKey: password.roomKey,
    ...(checkServerKey === undefined ? {} : { checkServerKey }),
    passwordExpected,
    sha256: nodeSha256,
    historyLimit: interactive ? historyOnJoin : 0,
    ...(options.reconnectDelaysMs === undefined
      ? {}
      : { reconnectDelaysMs: options.reconnectDelaysMs }),
    ...(options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: options.connectTimeoutMs }),
    ...(screen === null ? {} : {
      keepRetrying: { ...fullScreenRetrying },
      onState: (state: SessionState) => screen.onState(state),
    }),
    // What to check when it cannot connect, with commands that run here.
    reachHint: (address, still) => reachAdvice(address, options.command, still),
    onEvent: (event) => {
      if (event.type === "welcome") markSecure();
      onEvent(event);
    },
  });

  const chat = async (): Promise<number> => {
    try {
      await session.start();
    } catch (error) {
      if (error instanceof JoinFailure) {
        const message = error.message;
        if (message !== "" && error.exitCode !== 130) writeErr(message);
        return error.exitCode;
      }
      throw error;
    }

    if (screen !== null) {
      const end = await screen.run(session);
      if (end.kind === "gave_up") {
        writeErr(end.message);
        return 1;
      }
      return 0;
    }

    let reader: LineReader;
    if (interactive && options.input === undefined && Deno.stdin.isTerminal()) {
      terminal = openTerminal();
      reader = terminal;
    } else {
      reader = readLines(options.input ?? Deno.stdin.readable);
    }

    let end: SessionEnd & { badCommands?: number };
    try {
      end = interactive
        ? await chatInteractively(session, reader, writeOut, linkCommand, channel, knownFiles)
        : await sendPiped(session, reader, writeErr, writeOutDefault, channel);
    } finally {
      await reader.close();
      terminal = null;
    }
    if (end.kind === "gave_up") {
      writeErr(end.message);
      return 1;
    }
    return !interactive && refusedCount + (end.badCommands ?? 0) > 0 ? 1 : 0;
  };
  try {
    return await chat();
  } finally {
    await marking; // The password mark of a secure join is on disk before join returns.
  }
}

/**
 * What to check when `address` cannot be reached, each command written by
 * `command` (default documentedCommand).
 *
 * @example
 * reachAdvice({ host: "192.168.1.20", port: 9000 });
 * // "Is `lanchat serve` running there? Is port 9000/tcp open in its firewall
 * // (run `lanchat firewall` there)? Is the address right?"
 */
export function reachAdvice(
  address: Address,
  command: CommandFormat = documentedCommand,
  still = false,
): string {
  const firewall = command(
    "firewall",
    ...(address.port === 9000 ? [] : ["--port", String(address.port)]),
  );
  return `Is \`${command("serve")}\` ${still ? "still " : ""}running there? Is port ` +
    `${address.port}/tcp open in its firewall (run \`${firewall}\` there)? Is the address right?`;
}

/**
 * Whether a server that asks for no room password must be refused, and what
 * to do then: null when none is expected. Issue #12: a man in the middle can
 * answer `server.secure = null`; a password must never fall back to plaintext.
 */
export function plaintextAdvice(
  where: string,
  why: { fromEnv: boolean; given: boolean; remembered: boolean },
): string | null {
  const removed = `If whoever runs ${where} says they removed the password,`;
  if (why.fromEnv) {
    return `${passwordVariable} is set, so only a room that asks for it is joined. ${removed} ` +
      `join without ${passwordVariable}${why.remembered ? " and with --forget-password" : ""}.`;
  }
  if (why.remembered) {
    return `You joined ${where} with a room password before. ${removed} ` +
      "join again with --forget-password.";
  }
  if (why.given) {
    return `It asked for the room password earlier in this run. ${removed} join again.`;
  }
  return null;
}

/** Reads the next line, or null when the session ends first (or input ends). */
async function nextLine(reader: LineReader, ended: Promise<SessionEnd>): Promise<string | null> {
  return await Promise.race([reader.next(), ended.then(() => null)]);
}

async function chatInteractively(
  session: ChatSession,
  reader: LineReader,
  print: (line: string) => void,
  linkCommand: (code: string) => string,
  startChannel: string | null,
  knownFiles: Map<number, FileInfo>,
): Promise<SessionEnd> {
  let quitting = false;
  let query: string | null = null;
  /** The channel typed lines go to (when no /query is open). */
  let channel = generalChannel;
  const problem = (error: unknown) => print(`! ${inert(reason(error))}`);
  /** The conversation typed lines go to: the private one of a /query, else the channel. */
  const here = () => (query === null ? channel : directName(query));
  const files = new TerminalFiles(session, {
    known: knownFiles,
    announce: true,
    note: (_conversation, text) => print(inert(text)),
  });
  const joinChannel = (name: string) =>
    session.joinChannel(name).then((joined) => {
      channel = joined.name;
      query = null;
      print(`-- lines now go to ${inert(joined.name)}; /part leaves it`);
    }, (error: unknown) => print(`! cannot join ${inert(name)}: ${inert(reason(error))}`));
  const context: CommandContext = {
    ...lookups(session, print, () => query, () => channel),
    requestLinkCode: () => session.requestLinkCode(),
    linkCommand,
    whois: (nick) => session.whois(nick),
    say: (text, sayOptions) => {
      const to = sayOptions?.to ?? query ?? undefined;
      void session.say(text, { ...sayOptions, ...sayTarget(to, channel) });
    },
    rename: (nick) => session.rename(nick),
    requestUsers: () => session.requestUsers(),
    quit: () => {
      quitting = true;
    },
    // Command output may hold what a server sent (/whois): never a control character.
    print: (text) => print(inert(text)),
    query: (nick) => {
      query = nick;
      print(
        nick === null
          ? `-- back in ${inert(channel)}: lines go to everyone there`
          : `-- talking privately with ${inert(nick)}; /query alone goes back to ${inert(channel)}`,
      );
    },
    joinChannel: (name) => void joinChannel(name),
    part: (name) => {
      const target = name ?? channel;
      if (sameConversation(target, generalChannel)) {
        print(`! ${generalChannel} cannot be left`);
        return;
      }
      session.partChannel(target).then(() => {
        if (sameConversation(target, channel)) channel = generalChannel;
        print(`-- lines now go to ${channel}`);
      }, problem);
    },
    listChannels: () => {
      session.listChannels().then((channels) => {
        for (const entry of channels) print(`-- ${inert(channelText(entry))}`);
      }, problem);
    },
    members: (name) => {
      const target = name ?? channel;
      session.channelMembers(target).then(
        (users) => print(`-- ${inert(membersText(target, users))}`),
        problem,
      );
    },
    sendFiles: (paths) => files.send(paths, here()),
    listFiles: () => files.list(here()),
    getFile: (id, path) => files.get(id, path, here()),
    topic: (text) => {
      if (text !== null) {
        session.setTopic(channel, text).catch(problem);
        return;
      }
      session.listChannels().then((channels) => {
        const topic = channels.find((entry) => sameConversation(entry.name, channel))?.topic ?? "";
        print(
          topic === ""
            ? `-- ${inert(channel)} has no topic`
            : `-- the topic of ${inert(channel)}: ${inert(topic)}`,
        );
      }, problem);
    },
  };
  if (startChannel !== null) await joinChannel(startChannel);
  while (!quitting) {
    const line = await nextLine(reader, session.ended);
    if (line === null) break;
    runLine(line, context);
  }
  return await session.quit();
}

/**
 * Piped input: each line is sent (or run, when it is a /command, so scripts
 * can `/me` and `/msg`; `//text` sends `/text`). A command the registry
 * refuses counts as a refused line. Writes are awaited, so stdin is read no
 * faster than the server takes lines.
 */
async function sendPiped(
  session: ChatSession,
  reader: LineReader,
  writeErr: (line: string) => void,
  writeOut: (line: string) => void,
  startChannel: string | null,
): Promise<SessionEnd & { badCommands: number }> {
  let over = false;
  let quitting = false;
  let badCommands = 0;
  let pending: Promise<unknown> = Promise.resolve();
  /** The channel lines are posted to: `--channel`, then the last `/join`. */
  let channel = generalChannel;
  if (startChannel !== null) {
    try {
      channel = (await session.joinChannel(startChannel)).name;
    } catch (error) {
      await session.quit();
      return {
        kind: "gave_up",
        message: `cannot post to ${startChannel}: ${inert(reason(error))}`,
        badCommands,
      };
    }
  }
  const show = (line: string) => writeOut(line);
  const { history, search } = lookups(session, show, () => null, () => channel);
  const context: CommandContext = {
    history: (count) => pending = history(count),
    search: (text, channel) => pending = search(text, channel),
    say: (text, sayOptions) =>
      pending = session.say(text, { ...sayOptions, ...sayTarget(sayOptions?.to, channel) }),
    joinChannel: (name) =>
      pending = session.joinChannel(name).then((joined) => (channel = joined.name), (error) => {
        badCommands++;
        writeErr(`! cannot join ${inert(name)}: ${inert(reason(error))}`);
      }),
    rename: (nick) => session.rename(nick),
    requestUsers: () => session.requestUsers(),
    quit: () => quitting = true,
    print: (text) => {
      badCommands++;
      writeErr(text);
    },
  };
  session.ended.then(() => (over = true));
  while (!over && !quitting) {
    const line = await nextLine(reader, session.ended);
    if (line === null) break;
    runLine(line, context);
    await pending;
  }
  await session.allDelivered();
  return { ...(await session.quit()), badCommands };
}

function printMessages(items: DecodedMessage[], print: (line: string) => void): void {
  for (const item of items) {
    for (const line of formatEvent({ type: "message", ...item, source: "history" })) {
      print(line.text);
    }
  }
}

/** Where a line goes: privately `to` someone, else to `channel` (nothing for `#general`). */
function sayTarget(to: string | undefined, channel: string): { to?: string; channel?: string } {
  if (to !== undefined) return { to };
  return sameConversation(channel, generalChannel) ? {} : { channel };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** /history and /search for line and piped mode: the answers are printed as chat lines. */
function lookups(
  session: ChatSession,
  print: (line: string) => void,
  query: () => string | null,
  channel: () => string,
): {
  history(count: number): Promise<void>;
  search(text: string, channel?: string): Promise<void>;
} {
  return {
    async history(count) {
      const target = query();
      const page = await session.history({
        limit: count,
        ...(target === null ? sayTarget(undefined, channel()) : { with: target }),
      });
      if (page !== null) printMessages(page.items, print);
    },
    async search(text, channel) {
      const items = await session.search(text, 50, channel);
      if (items === null) return;
      if (items.length === 0) print(`-- no message contains "${inert(text)}"`);
      printMessages(items, print);
    },
  };
}
