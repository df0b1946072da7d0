/**
 * `lanchat send HOST FILE...` and `lanchat get HOST FILE-ID`: file transfer
 * from a shell or a script (PROTOCOL.md section 10).
 *
 * Owns: joining for one errand as `join` does (this device's key, the room
 * password from LANCHAT_PASSWORD or a hidden prompt, the server key and
 * password marks of lib/client/terminal/recent_servers.ts), the nick sent
 * when none is given (the server ignores it for a device with an account;
 * a device without one is told to give --nick), sending each file in turn,
 * fetching one into `PATH.part` and renaming it once its SHA-256 matched
 * (a second run resumes from the `.part`), where the file goes (`-o`, the
 * file's safe name, never over an existing file without --force), what is
 * printed (results on stdout, one JSON object per file with --json; the
 * progress bar, or a line per 10 %, and problems on stderr), and the exit
 * code (as `join`: 0 done, 1 failed, 2 wrong usage, 130 a prompt cancelled).
 * The transfers themselves live in lib/client/files/ through ChatSession.
 * Imports lib/client/, lib/wire/, lib/identity/key_file.ts and lib/cli/run_command.ts only.
 */
import { join as joinPath } from "node:path";
import { ChatSession, JoinFailure } from "../session.ts";
import type { SessionEvent } from "../session.ts";
import type { FileInfo } from "../../wire/protocol.ts";
import { channelNameProblem } from "../../wire/protocol.ts";
import { formatFileSize, safeFileName } from "../../wire/file_chunk.ts";
import { channelName, generalChannel, sameConversation } from "../conversation_names.ts";
import { formatAddress } from "../address.ts";
import { serverKeyCheck } from "../server_keys.ts";
import { filesVersion } from "../files/file_transfers.ts";
import type { FileTransfer, UploadTarget } from "../files/transfer_types.ts";
import { KeyFileError, loadOrCreateKey } from "../../identity/key_file.ts";
import type { KeyPair } from "../../wire/identity.ts";
import { documentedCommand } from "../../cli/run_command.ts";
import type { CommandFormat } from "../../cli/run_command.ts";
import { dialTcp } from "./tcp_channel.ts";
import { formatEvent, inert } from "./format.ts";
import { askPassword } from "./prompt.ts";
import { roomPassword } from "./room_password.ts";
import {
  hadRoomPassword,
  knownServerKey,
  rememberRoomPassword,
  rememberServerKey,
} from "./recent_servers.ts";
import { plaintextAdvice, reachAdvice } from "./join.ts";
import {
  DiskFileError,
  nodeSha256,
  openFileSource,
  openPartSink,
  pathExists,
} from "./file_disk.ts";
import { TransferBar } from "./transfer_bar.ts";

/** What `send` and `get` share. */
export interface FileCommandOptions {
  host: string;
  port: number;
  /**
   * The nick a device without an account claims (one with an account joins as
   * its account, whatever this says). Default: none, so such a device is told to give it.
   */
  nick?: string;
  /** This device's key file; default none (a guest: `get` only, files of #general). */
  deviceKeyPath?: string;
  /** The file that remembers server keys and rooms with a password. Default: none. */
  recentServersPath?: string;
  /** One JSON object per file on stdout instead of a sentence. Default false. */
  json?: boolean;
  /** How advice writes commands. Default documentedCommand. */
  command?: CommandFormat;
  /** Results. Default: stdout. */
  writeOut?: (line: string) => void;
  /** Problems and progress, as they are (no newline added). Default: stderr. */
  writeErr?: (text: string) => void;
  /** Draw the progress bar in place. Default: when stderr is a terminal. */
  progressBar?: boolean;
  /** May a password be asked (hidden)? Default: when stdin and stdout are terminals. */
  interactive?: boolean;
  /** Waits before reconnect attempts. Default [1000, 2000, 4000]. */
  reconnectDelaysMs?: number[];
  connectTimeoutMs?: number;
}

/** Options of {@link runSend}. */
export interface SendOptions extends FileCommandOptions {
  /** Paths of the files to send, in order. */
  files: string[];
  /** A channel (`ops` or `#ops`); joined first (made when missing), as `join --channel` does. */
  channel?: string;
  /** A person: the files go to the direct conversation with them. */
  to?: string;
}

/** Options of {@link runGet}. */
export interface GetOptions extends FileCommandOptions {
  /** The file's id (its message's id, as /files and `send --json` show it). */
  id: number;
  /**
   * Where to save it: a path, or a folder (the file's own name inside). The
   * bytes go to `PATH.part` first. Default: the file's safe name here.
   */
  output?: string;
  /** Replace a file already there. Default false. */
  force?: boolean;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** Output of one run: results, problems, and the bar of the transfer in progress. */
interface Output {
  out: (line: string) => void;
  /** A line on stderr (above the bar, when one is drawn). */
  err: (line: string) => void;
  bar: (name: string) => TransferBar;
  json: boolean;
}

function outputOf(options: FileCommandOptions): Output {
  const writeErr = options.writeErr ?? ((text: string) => writeAll(Deno.stderr, text));
  const terminal = options.progressBar ?? Deno.stderr.isTerminal();
  let current: TransferBar | null = null;
  return {
    out: options.writeOut ?? ((line: string) => writeAll(Deno.stdout, `${line}\n`)),
    err: (line) => (current === null ? writeErr(`${line}\n`) : current.print(line)),
    bar: (name) => (current = new TransferBar(name, { write: writeErr, terminal })),
    json: options.json === true,
  };
}

/** Session events worth a line while a file moves: trouble and reconnects. */
function shown(event: SessionEvent): boolean {
  switch (event.type) {
    case "server_error":
    case "notice":
    case "lost":
    case "reconnecting":
    case "reconnect_failed":
    case "linked":
      return true;
    case "connected":
      return event.reconnect;
    default:
      return false;
  }
}

/** Joined, or the exit code that says why not (already printed). */
type Joined = { session: ChatSession; done: () => Promise<void> } | { exitCode: number };

/** Joins the way `lanchat join` does, for one errand (no history, no chat shown). */
async function joinForFiles(options: FileCommandOptions, output: Output): Promise<Joined> {
  const address = { host: options.host, port: options.port };
  const where = formatAddress(address);
  const command = options.command ?? documentedCommand;
  let deviceKey: KeyPair | undefined;
  if (options.deviceKeyPath !== undefined) {
    try {
      deviceKey = (await loadOrCreateKey(options.deviceKeyPath, "device")).key.keyPair;
    } catch (error) {
      if (!(error instanceof KeyFileError)) throw error;
      output.err(error.message);
      return { exitCode: 1 };
    }
  }
  const marks = options.recentServersPath === undefined
    ? null
    : { path: options.recentServersPath };
  const checkServerKey = marks === null ? undefined : serverKeyCheck(
    where,
    {
      known: () => knownServerKey(address, marks),
      remember: (fingerprint) => rememberServerKey(address, fingerprint, marks),
    },
    `join it again with \`${command("join", where, "--forget-server-key")}\`.`,
  );
  const hadPassword = marks === null ? false : await hadRoomPassword(address, marks);
  const interactive = options.interactive ??
    (Deno.stdin.isTerminal() && Deno.stdout.isTerminal());
  const password = roomPassword(interactive ? { ask: askPassword } : {});
  let marking: Promise<unknown> | null = null;
  const session: ChatSession = new ChatSession({
    dial: dialTcp,
    address,
    ...(options.nick === undefined || options.nick === "" ? {} : { nick: options.nick }),
    chooseNick: (problem) => {
      // Asked first for a nick to send: a device with an account joins as the account whatever
      // `hello.nick` says (PROTOCOL.md 8.3), so an empty one is enough; anyone else must say.
      if (problem === null) return Promise.resolve(deviceKey === undefined ? guestNick() : "");
      if (session.serverVersion < filesVersion) {
        return Promise.reject(new JoinFailure(olderServer(where, session.serverVersion), 1));
      }
      return Promise.reject(
        new JoinFailure(
          options.nick === undefined
            ? `this device has no account on ${where} yet: give --nick NICK to claim one ` +
              `(or join it once with \`${command("join", where)}\`)`
            : `${where} refused the nick: ${problem}`,
          2,
        ),
      );
    },
    ...(deviceKey === undefined ? {} : { deviceKey }),
    roomKey: password.roomKey,
    ...(checkServerKey === undefined ? {} : { checkServerKey }),
    passwordExpected: () =>
      plaintextAdvice(where, {
        fromEnv: password.fromEnv(),
        given: password.given(),
        remembered: hadPassword,
      }),
    historyLimit: 0,
    sha256: nodeSha256,
    ...(options.reconnectDelaysMs === undefined
      ? {}
      : { reconnectDelaysMs: options.reconnectDelaysMs }),
    ...(options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: options.connectTimeoutMs }),
    reachHint: (address, still) => reachAdvice(address, options.command, still),
    onEvent: (event) => {
      if (event.type === "welcome" && marks !== null && session.encrypted && marking === null) {
        marking = rememberRoomPassword(address, marks);
      }
      if (!shown(event)) return;
      for (const line of formatEvent(event)) output.err(line.text);
    },
  });
  const done = async () => {
    await session.quit();
    await marking;
  };
  try {
    await session.start();
  } catch (error) {
    await marking;
    if (!(error instanceof JoinFailure)) throw error;
    if (error.message !== "" && error.exitCode !== 130) output.err(error.message);
    return { exitCode: error.exitCode };
  }
  if (session.serverVersion < filesVersion) {
    output.err(olderServer(where, session.serverVersion));
    await done();
    return { exitCode: 1 };
  }
  return { session, done };
}

function olderServer(where: string, version: number): string {
  return `${where} runs an older lanchat without file transfer (protocol version ${version}); ` +
    "ask whoever runs it to update";
}

/** A nick for a guest fetching a file: nobody's, and unlikely to be online. */
function guestNick(): string {
  const digits = crypto.getRandomValues(new Uint8Array(3));
  return `get-${Array.from(digits, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** Waits for `transfer`, drawing its progress; returns its result or the problem. */
async function follow(
  transfer: FileTransfer,
  output: Output,
): Promise<{ id: number; sha256: string } | { problem: string }> {
  const bar = output.bar(transfer.name);
  transfer.onProgress((progress) => {
    bar.rename(transfer.name);
    bar.update(progress);
  });
  try {
    return await transfer.done;
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  } finally {
    bar.clear();
  }
}

/**
 * Runs `lanchat send`: joins, sends each file in turn, quits. Returns the
 * exit code: 0 when every file was sent, 1 when one could not be read or
 * was refused (the others are still sent), or the join failed, 2 for wrong
 * usage, 130 when a prompt was cancelled.
 *
 * @example
 * Deno.exitCode = await runSend({ host: "192.168.1.20", port: 9000, files: ["report.pdf"] });
 */
export async function runSend(options: SendOptions): Promise<number> {
  const output = outputOf(options);
  if (options.channel !== undefined && options.to !== undefined) {
    output.err("give --channel or --to, not both");
    return 2;
  }
  let channel: string | null = null;
  if (options.channel !== undefined) {
    channel = channelName(options.channel);
    const problem = channelNameProblem(channel);
    if (problem !== null) {
      output.err(`--channel ${options.channel}: ${problem} (e.g. --channel ops)`);
      return 2;
    }
  }
  if (options.deviceKeyPath === undefined) {
    output.err("only accounts send files: this needs this device's key");
    return 2;
  }
  // Every file is checked before anything is sent, so a typo costs no half-done run.
  for (const path of options.files) {
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) throw new DiskFileError(`${path} is not a file`);
    } catch (error) {
      output.err(
        error instanceof DiskFileError
          ? error.message
          : `cannot read ${path}: ${
            error instanceof Deno.errors.NotFound ? "no such file" : String(error)
          }`,
      );
      return 1;
    }
  }
  const joined = await joinForFiles(options, output);
  if ("exitCode" in joined) return joined.exitCode;
  const { session } = joined;
  const where = formatAddress({ host: options.host, port: options.port });
  let failures = 0;
  try {
    if (session.fileLimits === null) {
      output.err(
        `${where} let you in as a guest (without this device's key): only accounts send files`,
      );
      return 1;
    }
    const target: UploadTarget = options.to !== undefined ? { to: options.to } : {};
    let shownTarget = options.to !== undefined ? options.to : generalChannel;
    if (channel !== null && !sameConversation(channel, generalChannel)) {
      try {
        const entry = await session.joinChannel(channel);
        target.channel = entry.name;
        shownTarget = entry.name;
      } catch (error) {
        output.err(`cannot send to ${inert(channel)}: ${inert(reason(error))}`);
        return 1;
      }
    }
    for (const path of options.files) {
      let source;
      try {
        source = await openFileSource(path);
      } catch (error) {
        output.err(reason(error));
        failures++;
        continue;
      }
      const transfer = session.sendFile(source, target);
      const result = await follow(transfer, output);
      if ("problem" in result) {
        failures++;
        output.err(`cannot send ${inert(path)}: ${inert(result.problem)}`);
        continue;
      }
      const sent = {
        id: result.id,
        name: transfer.name,
        size: source.size,
        sha256: result.sha256,
        mime: source.mime,
        ...(target.to !== undefined ? { to: target.to } : { channel: shownTarget }),
        path,
        bytesSent: transfer.progress.bytesOnWire,
      };
      output.out(
        output.json
          ? JSON.stringify(sent)
          : `sent ${inert(transfer.name)} (${formatFileSize(source.size)}) to ${
            inert(shownTarget)
          } as file ${result.id}`,
      );
    }
  } finally {
    await joined.done();
  }
  return failures > 0 ? 1 : 0;
}

/** Where `get` writes: the `.part` now, and the final path once the file's name is known. */
function outputPaths(
  id: number,
  output: string | undefined,
): { partPath: string; finalPath: (file: FileInfo) => string; fixed: string | null } {
  let folder: string | null = null;
  if (output === undefined) folder = ".";
  else {
    try {
      if (Deno.statSync(output).isDirectory) folder = output;
    } catch {
      // Not there yet: a file path (a folder path must exist).
      if (/[/\\]$/.test(output)) throw new DiskFileError(`there is no folder ${output}`);
    }
  }
  if (folder === null) {
    const path = output!;
    return { partPath: `${path}.part`, finalPath: () => path, fixed: path };
  }
  const inFolder = (name: string) => folder === "." ? name : joinPath(folder, name);
  return {
    partPath: inFolder(`lanchat-file-${id}.part`),
    finalPath: (file) => inFolder(safeFileName(file.name)),
    fixed: null,
  };
}

/**
 * Runs `lanchat get`: joins, fetches file `id` into `PATH.part` (from the
 * bytes it holds), checks its SHA-256, renames it to PATH, quits. Returns
 * the exit code: 0 saved, 1 not (no such file, damaged, cannot write, the
 * join failed, PATH exists without --force), 2 wrong usage, 130 a prompt
 * cancelled.
 *
 * @example
 * Deno.exitCode = await runGet({ host: "192.168.1.20", port: 9000, id: 42, output: "a.pdf" });
 */
export async function runGet(options: GetOptions): Promise<number> {
  const output = outputOf(options);
  if (!Number.isSafeInteger(options.id) || options.id < 1) {
    output.err(`a file id is a whole number above 0, as /files shows it`);
    return 2;
  }
  let paths: ReturnType<typeof outputPaths>;
  try {
    paths = outputPaths(options.id, options.output);
  } catch (error) {
    output.err(reason(error));
    return 1;
  }
  if (paths.fixed !== null && options.force !== true && pathExists(paths.fixed)) {
    output.err(`${paths.fixed} exists already; use --force to replace it, or -o to save elsewhere`);
    return 1;
  }
  let sink;
  try {
    sink = await openPartSink({
      partPath: paths.partPath,
      finalPath: paths.finalPath,
      force: options.force === true,
    });
  } catch (error) {
    output.err(reason(error));
    return 1;
  }
  const joined = await joinForFiles(options, output);
  if ("exitCode" in joined) {
    await sink.abandon(true);
    return joined.exitCode;
  }
  try {
    const transfer = joined.session.getFile(options.id, sink);
    const result = await follow(transfer, output);
    if ("problem" in result) {
      const kept = sink.held > 0
        ? `; the ${formatFileSize(sink.held)} already here stay in ${paths.partPath}: ` +
          "run the same command again to resume"
        : "";
      output.err(`cannot get file ${options.id}: ${inert(result.problem)}${kept}`);
      return 1;
    }
    const path = sink.path ?? paths.partPath;
    const size = transfer.progress.total;
    output.out(
      output.json
        ? JSON.stringify({
          id: result.id,
          name: transfer.name,
          size,
          sha256: result.sha256,
          path,
          bytesReceived: transfer.progress.bytesOnWire,
        })
        : `saved ${inert(transfer.name)} (${formatFileSize(size)}) as ${inert(path)}`,
    );
    return 0;
  } finally {
    await joined.done();
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
