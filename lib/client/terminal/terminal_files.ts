/**
 * Files in the terminal client (issue #16): what `/send`, `/files` and
 * `/get` do, for the full-screen client and line mode alike.
 *
 * Owns: refusing at once what cannot be sent (a guest, a server without
 * files, a path that is missing or unreadable, a file over the server's
 * limit, said in words), starting uploads to the conversation on screen and
 * downloads to the path lib/client/terminal/download_path.ts plans (bytes in
 * `PATH.part`, renamed when whole; an interrupted one resumes), at most
 * {@link maxTransfersAtOnce} of each direction at a time (the server's limit;
 * the rest wait their turn), the transfers in progress for the status bar,
 * the line said in the conversation when one is done or failed, the `/files`
 * list, and what is known of each file id (from the messages seen and the
 * lists), so that `/get N` knows the file's name before asking.
 * Disk access goes through lib/client/terminal/file_disk.ts (Deno files,
 * node:crypto SHA-256), apart from removing a `.part` that got no byte; the
 * transfers themselves go through the session.
 * Imports lib/client/, lib/wire/ and lib/client/terminal/ modules only.
 */
import { formatFileSize } from "../../wire/file_chunk.ts";
import type { ChatMessage, FileInfo, FileLimits } from "../../wire/protocol.ts";
import { generalChannel, peerOfDirect, sameConversation } from "../conversation_names.ts";
import type { FileSink, FileSource, FileTransfer, UploadTarget } from "../files/transfer_types.ts";
import { fileSizeProblem } from "../files/upload_job.ts";
import type { HistoryResult } from "../session.ts";
import { timestamp } from "./chat_view.ts";
import { DownloadPathError, planDownload } from "./download_path.ts";
import { diskProblem, openFileSource, openPartSink } from "./file_disk.ts";
import { inert } from "./format.ts";
import { expandHome, homeFolder } from "./path_completion.ts";
import { displayWidth, truncate } from "./text_width.ts";
import { savedText, sentText, type TransferShown } from "./transfer_status.ts";

/** Uploads (and downloads) running at once; the server takes 4 of each per connection. */
export const maxTransfersAtOnce = 4;

/** Files /files lists (the server's default page). */
export const filesListed = 20;

/** What of the session the files use (ChatSession has it all). */
export interface FileSession {
  readonly fileLimits: FileLimits | null;
  readonly guest: boolean | null;
  readonly serverVersion: number;
  sendFile(source: FileSource, target?: UploadTarget): FileTransfer;
  getFile(id: number, sink: FileSink): FileTransfer;
  listFiles(
    where?: { channel?: string; with?: string },
    before?: number,
    limit?: number,
  ): Promise<HistoryResult>;
}

/** Options of {@link TerminalFiles}. */
export interface TerminalFilesOptions {
  /** Writes a line into conversation `conversation`'s log; errors start with "! ". */
  note(conversation: string, text: string): void;
  /** The transfers in progress changed (the status bar redraws). Default: nothing. */
  changed?(): void;
  /** Also say when a transfer starts (line mode, which has no status bar). Default false. */
  announce?: boolean;
  /** Where files go without a PATH (and relative PATHs start). Default: Deno.cwd() at each command. */
  cwd?: () => string;
  /** What `~` stands for. Default: HOME. */
  home?: string | null;
  /** The clock, for durations and /files times. Default Date.now. */
  now?: () => number;
  /**
   * What each file id is, kept by whoever sees the messages (see
   * {@link TerminalFiles.remember}); shared, not copied. Default: a new map.
   */
  known?: Map<number, FileInfo>;
}

/** The first protocol version with files (PROTOCOL.md section 10). */
const filesVersion = 4;

interface Running {
  direction: "send" | "get";
  transfer: FileTransfer;
}

/** A transfer waiting for its turn. */
interface Waiting {
  direction: "send" | "get";
  start(): void;
}

/**
 * The files of one terminal session.
 *
 * @example
 * const files = new TerminalFiles(session, { note: (where, text) => print(text) });
 * files.send(["~/report.pdf"], "#ops");
 */
export class TerminalFiles {
  readonly #session: FileSession;
  readonly #options: TerminalFilesOptions;
  readonly #now: () => number;
  readonly #running: Running[] = [];
  readonly #waiting: Waiting[] = [];
  /** What each file id is, from the messages seen and the /files lists. */
  readonly #known: Map<number, FileInfo>;
  /** The `.part` files of the downloads not over yet: two never write one. */
  readonly #partsInUse = new Set<string>();

  constructor(session: FileSession, options: TerminalFilesOptions) {
    this.#session = session;
    this.#options = options;
    this.#known = options.known ?? new Map();
    this.#now = options.now ?? Date.now;
  }

  /** The transfers in progress, oldest first, for the status bar. */
  get shown(): TransferShown[] {
    return this.#running.map(({ direction, transfer }) => ({
      direction,
      name: inert(transfer.name),
      progress: transfer.progress,
    }));
  }

  /** Transfers waiting for their turn. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Keeps what a message says of its file (a message without one is ignored). */
  remember(message: ChatMessage): void {
    rememberFile(this.#known, message);
  }

  // ---- /send ------------------------------------------------------------------------

  /** `/send PATH...`: each file to `conversation` (a channel, or `@nick` for a direct one). */
  send(paths: string[], conversation: string): void {
    const problem = this.#sendProblem();
    if (problem !== null) {
      this.#note(conversation, `! ${problem}`);
      return;
    }
    void this.#sendEach(paths, conversation);
  }

  /** Why this session cannot send files, or null. */
  #sendProblem(): string | null {
    const session = this.#session;
    if (session.guest === true) {
      return "only accounts send files, and you joined as a guest (without a device key); " +
        "join again without --guest to send files";
    }
    if (session.serverVersion < filesVersion) {
      return "this server runs an older lanchat without file transfer; ask whoever runs it to update";
    }
    if (session.fileLimits === null) {
      return "this server does not take files (it runs with --no-files)";
    }
    return null;
  }

  async #sendEach(paths: string[], conversation: string): Promise<void> {
    const home = this.#home();
    // One at a time, in the order typed: bounded by the paths given.
    for (const typed of paths) {
      // Relative to the current folder, as typed, so a problem names the path as typed.
      const path = expandHome(typed, home);
      let source: FileSource;
      try {
        source = await openFileSource(path);
      } catch (error) {
        this.#note(conversation, `! not sent: ${reason(error)}`);
        continue;
      }
      const tooBig = fileSizeProblem(source.name, source.size, this.#session.fileLimits);
      if (tooBig !== null) {
        source.close?.();
        this.#note(conversation, `! not sent: ${tooBig}`);
        continue;
      }
      this.#enqueue("send", () => this.#startUpload(source, conversation));
    }
  }

  #startUpload(source: FileSource, conversation: string): void {
    const started = this.#now();
    const peer = peerOfDirect(conversation);
    const target: UploadTarget = peer !== null
      ? { to: peer }
      : sameConversation(conversation, generalChannel)
      ? {}
      : { channel: conversation };
    const transfer = this.#session.sendFile(source, target);
    if (this.#options.announce === true) {
      this.#note(
        conversation,
        `-- sending ${source.name} (${formatFileSize(source.size)}) to ${conversation}…`,
      );
    }
    this.#track("send", transfer);
    transfer.done.then(
      () => {
        this.#note(
          conversation,
          sentText({
            name: transfer.name,
            size: source.size,
            bytesOnWire: transfer.progress.bytesOnWire,
            ms: this.#now() - started,
          }, conversation),
        );
      },
      (error: unknown) =>
        this.#note(conversation, `! ${transfer.name} was not sent: ${reason(error)}`),
    ).finally(() => this.#untrack(transfer));
  }

  // ---- /files -----------------------------------------------------------------------

  /** `/files`: the newest files of `conversation`, with their numbers for /get. */
  list(conversation: string): void {
    this.#session.listFiles(this.#where(conversation), undefined, filesListed).then(
      (page) => this.#showList(conversation, page),
      (error: unknown) => this.#note(conversation, `! no list of files: ${reason(error)}`),
    );
  }

  #showList(conversation: string, page: HistoryResult): void {
    const files = page.items.flatMap((item) => {
      const file = item.message.file ?? item.file;
      return file === undefined ? [] : [{ message: item.message, file }];
    });
    if (files.length === 0) {
      this.#note(conversation, `-- no files in ${conversation} yet; /send PATH sends one`);
      return;
    }
    const now = this.#now();
    const rows = files.map(({ message, file }) => {
      this.#known.set(message.id, file);
      return [
        String(message.id),
        truncate(inert(file.name), 48),
        formatFileSize(file.size),
        inert(message.from),
        timestamp(message.ts, now),
      ];
    });
    const widths = [0, 1, 2, 3].map((column) =>
      Math.max(...rows.map((row) => displayWidth(row[column]!)))
    );
    const pad = (text: string, width: number) =>
      text + " ".repeat(Math.max(0, width - displayWidth(text)));
    this.#note(
      conversation,
      `-- ${page.more ? "the newest " : ""}${
        countWords(files.length, "file")
      } in ${conversation}, ` +
        "newest last; /get N saves one:",
    );
    for (const row of rows) {
      const [id, name, size, from, when] = row;
      this.#note(
        conversation,
        `   ${id!.padStart(widths[0]!)}  ${pad(name!, widths[1]!)}  ${size!.padStart(widths[2]!)}` +
          `  ${pad(from!, widths[3]!)}  ${when}`,
      );
    }
  }

  // ---- /get ---------------------------------------------------------------------------

  /** `/get N [PATH]`: saves file `id` at `typed` (or under its own name), said in `conversation`. */
  get(id: number, typed: string | null, conversation: string): void {
    void this.#get(id, typed, conversation);
  }

  async #get(id: number, typed: string | null, conversation: string): Promise<void> {
    const file = this.#known.get(id) ?? await this.#lookUp(id, conversation);
    let sink: FileSink & { path: string | null };
    let partPath: string;
    try {
      const plan = planDownload(id, typed, file, { cwd: this.#cwd(), home: this.#home() });
      partPath = plan.partPath;
      if (this.#partsInUse.has(partPath)) {
        this.#note(conversation, `! ${partPath} is being written already (a /get in progress)`);
        return;
      }
      this.#partsInUse.add(partPath);
      sink = await openPartSink({ partPath, finalPath: plan.finalPath }).catch((error) => {
        this.#partsInUse.delete(partPath);
        throw error;
      });
    } catch (error) {
      this.#note(conversation, `! file ${id} was not saved: ${reason(error)}`);
      return;
    }
    const label = file === null ? `file ${id}` : inert(file.name);
    this.#enqueue("get", () => this.#startDownload(id, sink, partPath, conversation, label));
  }

  /** What file `id` is, from the newest files of `conversation`; null when it is not among them. */
  async #lookUp(id: number, conversation: string): Promise<FileInfo | null> {
    try {
      const page = await this.#session.listFiles(this.#where(conversation), undefined, 100);
      for (const item of page.items) this.remember(item.message);
    } catch {
      // Not connected, or an older server: the download says so itself.
    }
    return this.#known.get(id) ?? null;
  }

  #startDownload(
    id: number,
    sink: FileSink & { path: string | null },
    partPath: string,
    conversation: string,
    label: string,
  ): void {
    const started = this.#now();
    const transfer = this.#session.getFile(id, keepOnlyWhatCame(sink, partPath));
    if (this.#options.announce === true) {
      this.#note(conversation, `-- getting ${label}…`);
    }
    this.#track("get", transfer);
    transfer.done.then(
      () => {
        const size = transfer.progress.total;
        this.#note(
          conversation,
          savedText({
            name: transfer.name,
            size,
            bytesOnWire: transfer.progress.bytesOnWire,
            ms: this.#now() - started,
          }, sink.path ?? partPath),
        );
      },
      (error: unknown) => {
        const held = sink.held;
        const kept = held > 0
          ? ` (the ${formatFileSize(held)} that came stay in ${partPath}: the same /get resumes)`
          : "";
        this.#note(
          conversation,
          `! ${transfer.name} was not saved: ${reason(error)}${kept}`,
        );
      },
    ).finally(() => {
      this.#partsInUse.delete(partPath);
      this.#untrack(transfer);
    });
  }

  // ---- the transfers in progress ------------------------------------------------------

  #enqueue(direction: "send" | "get", start: () => void): void {
    this.#waiting.push({ direction, start });
    this.#startWaiting();
    this.#options.changed?.();
  }

  /** Starts what waits, as far as each direction has room. */
  #startWaiting(): void {
    for (let index = 0; index < this.#waiting.length;) {
      const next = this.#waiting[index]!;
      const busy = this.#running.filter((running) => running.direction === next.direction).length;
      if (busy >= maxTransfersAtOnce) {
        index++;
        continue;
      }
      this.#waiting.splice(index, 1);
      next.start();
    }
  }

  #track(direction: "send" | "get", transfer: FileTransfer): void {
    this.#running.push({ direction, transfer });
    transfer.onProgress(() => this.#options.changed?.());
    this.#options.changed?.();
  }

  #untrack(transfer: FileTransfer): void {
    const index = this.#running.findIndex((running) => running.transfer === transfer);
    if (index >= 0) this.#running.splice(index, 1);
    this.#startWaiting();
    this.#options.changed?.();
  }

  // ---- helpers ---------------------------------------------------------------------------

  #note(conversation: string, text: string): void {
    this.#options.note(conversation, text);
  }

  /** What `files` needs for `conversation`: `with` for a direct one, else the channel. */
  #where(conversation: string): { channel?: string; with?: string } {
    const peer = peerOfDirect(conversation);
    return peer !== null ? { with: peer } : { channel: conversation };
  }

  #cwd(): string {
    if (this.#options.cwd !== undefined) return this.#options.cwd();
    try {
      return Deno.cwd();
    } catch {
      return ".";
    }
  }

  #home(): string | null {
    return this.#options.home === undefined ? homeFolder() : this.#options.home;
  }
}

/** Keeps in `known` what `message` says of its file (a message without one is ignored). */
export function rememberFile(
  known: Map<number, FileInfo>,
  message: { id: number; file?: FileInfo },
): void {
  if (message.file !== undefined) known.set(message.id, message.file);
}

/**
 * `sink`, except that a `.part` that got no byte is removed when the
 * download stops (a refused `/get` leaves nothing behind); one with bytes
 * stays for a resume.
 */
function keepOnlyWhatCame(sink: FileSink, partPath: string): FileSink {
  return {
    get held() {
      return sink.held;
    },
    write: (offset, data) => sink.write(offset, data),
    finish: () => sink.finish(),
    abandon: async (keep) => {
      await sink.abandon(keep);
      if (keep && sink.held === 0) await Deno.remove(partPath).catch(() => {});
    },
    ...(sink.begin === undefined ? {} : { begin: sink.begin.bind(sink) }),
    ...(sink.readHeld === undefined ? {} : { readHeld: sink.readHeld.bind(sink) }),
  };
}

/** "1 file", "3 files". */
function countWords(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function reason(error: unknown): string {
  if (error instanceof DownloadPathError) return error.message;
  if (error instanceof Error) return error.message;
  return diskProblem(error);
}
