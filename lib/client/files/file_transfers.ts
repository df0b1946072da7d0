/**
 * The file transfers of one chat session (PROTOCOL.md section 10): what
 * lib/client/session.ts hands file work to, so that it only routes.
 *
 * Owns: the uploads and downloads in progress, which `ref` and which stream
 * (of the connection of the moment) belong to which of them, `files` list
 * requests, the limits of the last `welcome`, and telling every transfer when
 * a joined connection is there (they resume), when it dropped (they wait) and
 * when the session is over (they fail).
 * Runtime-neutral. Imports lib/wire/ and lib/client/files/ only (types of
 * lib/client/connection.ts).
 */
import type { FileChunk } from "../../wire/file_chunk.ts";
import type { ChatMessage, FileLimits, ServerMessage } from "../../wire/protocol.ts";
import { DownloadJob } from "./download_job.ts";
import type { TransferContext, TransferLink, TransferRefusal } from "./transfer_link.ts";
import type {
  FileSink,
  FileSource,
  FileTransfer,
  Sha256Factory,
  UploadTarget,
} from "./transfer_types.ts";
import { UploadJob } from "./upload_job.ts";

export type { TransferLink };

/** The first protocol version with files. */
export const filesVersion = 4;

/** Options of {@link FileTransfers}. */
export interface FileTransfersOptions {
  sha256: Sha256Factory;
  /** The server's address as people read it ("192.168.1.20:9000"), for messages. */
  where: string;
}

/** What {@link FileTransfers.list} asks for: one conversation's files, older than `before`. */
export interface FilesQuery {
  channel?: string;
  with?: string;
  before?: number;
  limit?: number;
}

/** A `files` answer: file messages, oldest first; `more` when older ones exist. */
export interface FilesPage {
  items: ChatMessage[];
  more: boolean;
}

interface ListWaiter {
  ref: string;
  resolve: (page: FilesPage) => void;
  reject: (error: Error) => void;
}

type Job = UploadJob | DownloadJob;

/**
 * Every transfer of one session.
 *
 * @example
 * const files = new FileTransfers({ sha256, where: "192.168.1.20:9000" });
 * files.welcome(welcome.files ?? null, 4);
 * files.attach({ send: (m) => connection.send(m), sendData: (p) => connection.sendData(p) });
 * const upload = files.upload(source, { channel: "#ops" });
 */
export class FileTransfers {
  readonly #options: FileTransfersOptions;
  #link: TransferLink | null = null;
  #limits: FileLimits | null = null;
  /** The server's protocol version; null before the first `welcome`. */
  #serverVersion: number | null = null;
  #endReason: string | null = null;
  readonly #jobs = new Set<Job>();
  /** Refs of requests on this connection, to the job that sent them. */
  readonly #refs = new Map<string, Job>();
  /** Streams of this connection, to their job. */
  readonly #streams = new Map<number, Job>();
  #lists: ListWaiter[] = [];
  #refCount = 0;
  readonly #context: TransferContext;

  constructor(options: FileTransfersOptions) {
    this.#options = options;
    const link = () => this.#link;
    const limits = () => this.#limits;
    this.#context = {
      get link() {
        return link();
      },
      get limits() {
        return limits();
      },
      sha256: options.sha256,
      ref: (job) => {
        const ref = `file-${++this.#refCount}`;
        this.#refs.set(ref, job as Job);
        return ref;
      },
      bindStream: (stream, job) => void this.#streams.set(stream, job as Job),
      finished: (job) => this.#forget(job as Job),
      problem: (upload) => this.#problem(upload),
    };
  }

  /** `welcome.files` of the last join: null for a guest or a server without files. */
  get limits(): FileLimits | null {
    return this.#limits;
  }

  /** Transfers not finished yet. */
  get active(): number {
    return this.#jobs.size;
  }

  // ---- told by the session --------------------------------------------------------

  /** A `welcome`: the limits it carries (none: a guest, or an older server). */
  welcome(limits: FileLimits | null, serverVersion: number): void {
    this.#limits = limits;
    this.#serverVersion = serverVersion;
  }

  /** Joined and caught up on `link`: every transfer asks (again) on it. */
  attach(link: TransferLink): void {
    this.#link = link;
    for (const job of [...this.#jobs]) job.connected();
  }

  /** The connection is gone: transfers wait for the next one; list requests fail. */
  detach(): void {
    if (this.#link === null) return;
    this.#link = null;
    for (const job of [...this.#jobs]) job.disconnected();
    this.#refs.clear();
    this.#streams.clear();
    for (const waiter of this.#lists.splice(0)) {
      waiter.reject(new Error("the connection was lost before the server answered; try again"));
    }
  }

  /** The session is over: every transfer fails with `reason`. */
  end(reason: string): void {
    this.#endReason ??= reason;
    this.#link = null;
    for (const job of [...this.#jobs]) job.ended(this.#endReason);
    for (const waiter of this.#lists.splice(0)) waiter.reject(new Error(this.#endReason));
  }

  /** A server message about files; false when it is not one (the session handles it). */
  receive(message: ServerMessage): boolean {
    switch (message.type) {
      case "upload": {
        const job = this.#byRef(message.ref);
        if (job instanceof UploadJob) job.answer(message);
        return true;
      }
      case "stored": {
        const job = this.#streams.get(message.stream);
        if (job instanceof UploadJob) job.stored(message.offset);
        return true;
      }
      case "uploaded": {
        const job = this.#streams.get(message.stream) ?? this.#byRef(message.ref);
        if (job instanceof UploadJob) job.uploaded(message.id);
        return true;
      }
      case "download": {
        const job = this.#byRef(message.ref);
        if (job instanceof DownloadJob) job.answer(message);
        return true;
      }
      case "files": {
        // A server that does not echo `ref` answers in order: the oldest request is this one.
        const index = message.ref === undefined
          ? 0
          : this.#lists.findIndex((waiter) => waiter.ref === String(message.ref));
        const waiter = index >= 0 ? this.#lists.splice(index, 1)[0] : undefined;
        waiter?.resolve({ items: message.items, more: message.more });
        return true;
      }
      default:
        return false;
    }
  }

  /** An `error` whose `ref` is a file request's: false when it is not (the session handles it). */
  receiveError(error: TransferRefusal & { ref?: string | number }): boolean {
    if (error.ref === undefined) return false;
    const ref = String(error.ref);
    const job = this.#refs.get(ref);
    if (job !== undefined) {
      job.refused(error);
      return true;
    }
    const index = this.#lists.findIndex((waiter) => waiter.ref === ref);
    if (index < 0) return false;
    this.#lists.splice(index, 1)[0]!.reject(new Error(error.message));
    return true;
  }

  /** A data payload: to the download of its stream (others are ignored). */
  receiveData(chunk: FileChunk): void {
    const job = this.#streams.get(chunk.stream);
    if (job instanceof DownloadJob) job.data(chunk);
  }

  // ---- asked by whoever shows the session -----------------------------------------

  /** Sends `source` to `target` (a channel, default `#general`, or a person). */
  upload(source: FileSource, target: UploadTarget = {}): FileTransfer {
    const job = new UploadJob(source, target, this.#context);
    this.#jobs.add(job);
    return job;
  }

  /** Fetches file `id` into `sink`, from the bytes it holds. */
  download(id: number, sink: FileSink): FileTransfer {
    const job = new DownloadJob(id, sink, this.#context);
    this.#jobs.add(job);
    return job;
  }

  /** Asks for one conversation's newest files (or those before `before`). */
  list(query: FilesQuery): Promise<FilesPage> {
    const problem = this.#problem(false);
    if (problem !== null) return Promise.reject(new Error(problem));
    const link = this.#link;
    if (link === null) {
      return Promise.reject(new Error("not connected right now; try again in a moment"));
    }
    const ref = `files-${++this.#refCount}`;
    const answer = new Promise<FilesPage>((resolve, reject) =>
      this.#lists.push({ ref, resolve, reject })
    );
    link.send({
      type: "files",
      ...(query.with !== undefined
        ? { with: query.with }
        : query.channel !== undefined
        ? { channel: query.channel }
        : {}),
      ...(query.before === undefined ? {} : { before: query.before }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
      ref,
    }).catch(() => {
      // The connection broke: the drop rejects the waiter.
    });
    return answer;
  }

  // ---- inside -----------------------------------------------------------------------

  #byRef(ref: string | number | undefined): Job | undefined {
    return ref === undefined ? undefined : this.#refs.get(String(ref));
  }

  #forget(job: Job): void {
    this.#jobs.delete(job);
    for (const [ref, owner] of this.#refs) if (owner === job) this.#refs.delete(ref);
    for (const [stream, owner] of this.#streams) if (owner === job) this.#streams.delete(stream);
  }

  #problem(upload: boolean): string | null {
    if (this.#endReason !== null) return this.#endReason;
    const version = this.#serverVersion;
    if (version !== null && version < filesVersion) {
      return `${this.#options.where} runs an older lanchat without file transfer ` +
        `(protocol version ${version}); ask whoever runs it to update`;
    }
    if (upload && version !== null && this.#limits === null) {
      return "only accounts send files, and you joined as a guest (without this device's key)";
    }
    return null;
  }
}
