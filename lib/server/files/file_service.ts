/**
 * The server's side of file transfer that is shared by all connections: the
 * store, the limits, and which connection is receiving which upload.
 *
 * Owns: the file limits of `lanchat serve` (their defaults and the words of
 * their refusals), the `welcome.files` a member is told, the rule that one
 * upload is received by one connection at a time (a resume from a new
 * connection takes it over from a dead one), and the sweep of abandoned
 * uploads and unreferenced bytes. Per-connection streams are
 * lib/server/files/session_transfers.ts. Must not import session.ts or server.ts.
 */
import { chunkHeaderBytes, maxChunkBytes, transferWindowBytes } from "../../wire/file_chunk.ts";
import type { FileLimits } from "../../wire/protocol.ts";
import type { FileStore } from "../../store/file_store.ts";
import type { History } from "../../store/history.ts";

/** Limits of file transfer; every field documents its default and flag. */
export interface FileServiceLimits {
  /** Largest file, in bytes (`--max-file-size`). Default 2 GiB. */
  maxFileBytes: number;
  /** Uploads not finished per account (`--max-open-uploads`). Default 4. */
  maxOpenUploads: number;
  /** Uploads at once on one connection. Default 4. */
  uploadsPerConnection: number;
  /** Downloads at once on one connection. Default 4. */
  downloadsPerConnection: number;
}

/** The defaults of FileServiceLimits. */
export const defaultFileServiceLimits: FileServiceLimits = {
  maxFileBytes: 2 * 1024 * 1024 * 1024,
  maxOpenUploads: 4,
  uploadsPerConnection: 4,
  downloadsPerConnection: 4,
};

/** Something that receives an upload and can be asked to let go of it. */
export interface UploadOwner {
  /** Stops receiving the upload; resolves once its last write has finished. */
  release(token: string): Promise<void>;
}

/** How long a resume waits for the connection that had its upload to let go by itself. */
const takeOverGraceMs = 1000;
/** How often abandoned uploads and unreferenced bytes are swept. */
const sweepEveryMs = 60 * 60 * 1000;

/** File transfer's server-wide state. */
export class FileService {
  readonly store: FileStore;
  readonly history: History;
  readonly limits: FileServiceLimits;
  /** Largest data in one chunk, given the largest frame a client may send. */
  readonly chunkBytes: number;
  readonly #owners = new Map<string, UploadOwner>();
  /** A resume waiting for the previous receiver of its upload to let go, by token. */
  readonly #unclaimWaiters = new Map<string, () => void>();
  readonly #log: (line: string) => void;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    store: FileStore,
    history: History,
    options: {
      limits?: Partial<FileServiceLimits>;
      /** The largest payload a joined client may send (`--max-frame-bytes`). Default 65,535. */
      maxFrameBytes?: number;
      log?: (line: string) => void;
    } = {},
  ) {
    this.store = store;
    this.history = history;
    this.limits = { ...defaultFileServiceLimits, ...options.limits };
    // The frame limit is on plaintext (section 1): room for the header and a Noise tag.
    this.chunkBytes = Math.max(
      1,
      Math.min(maxChunkBytes, (options.maxFrameBytes ?? 65_535) - chunkHeaderBytes - 16),
    );
    this.#log = options.log ?? (() => {});
  }

  /** What a member with an account is told in `welcome.files`. */
  get wireLimits(): FileLimits {
    return { max: this.limits.maxFileBytes, chunk: this.chunkBytes, window: transferWindowBytes };
  }

  /**
   * Makes `owner` the receiver of upload `token`; a previous receiver (a
   * connection that dropped, or another device resuming) lets go first.
   */
  async claim(token: string, owner: UploadOwner): Promise<void> {
    const previous = this.#owners.get(token);
    if (previous !== undefined && previous !== owner) {
      // A client that lost its connection resumes at once, while the server may still be taking
      // the chunks that reached the old connection's socket: give it a moment to finish them, so
      // that the resume starts after them instead of having them sent again.
      const released = Promise.withResolvers<void>();
      this.#unclaimWaiters.set(token, released.resolve);
      const timer = setTimeout(released.resolve, takeOverGraceMs);
      await released.promise;
      clearTimeout(timer);
      this.#unclaimWaiters.delete(token);
      const still = this.#owners.get(token);
      if (still !== undefined && still !== owner) await still.release(token);
    }
    this.#owners.set(token, owner);
  }

  /** `owner` no longer receives `token` (finished, cancelled, or its connection ended). */
  unclaim(token: string, owner: UploadOwner): void {
    if (this.#owners.get(token) !== owner) return;
    this.#owners.delete(token);
    this.#unclaimWaiters.get(token)?.();
  }

  /** True while some connection receives `token`. */
  claimed(token: string): boolean {
    return this.#owners.has(token);
  }

  /** Sweeps now and then every hour (abandoned uploads, bytes no message refers to). */
  startSweeping(): Promise<unknown> {
    this.#sweeper ??= setInterval(() => void this.sweep(), sweepEveryMs);
    return this.sweep();
  }

  /** One sweep (also after retention removed old messages); never throws. */
  sweep(): Promise<unknown> {
    this.#sweeping = this.#sweeping.then(async () => {
      try {
        await this.store.sweep((sha256) => this.history.fileReferenced(sha256), {
          skip: (token) => this.claimed(token),
        });
      } catch (error) {
        this.#log(`files: sweep failed: ${error instanceof Error ? error.message : error}`);
      }
    });
    return this.#sweeping;
  }

  /** Stops the sweeps; waits for one running. */
  async close(): Promise<void> {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    await this.#sweeping;
  }
}
