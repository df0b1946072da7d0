/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's files (issue #16, PROTOCOL.md section 10), between the
 * session's transfers and the view: files the person attaches, drops or
 * pastes go to the conversation on screen; the transfers in progress (a
 * list the view draws above the composer, with cancel); downloads saved as
 * the browser saves them; and pictures, fetched by themselves when they are
 * small, checked by their bytes, and shown as thumbnails, full size on a click.
 *
 * Owns: refusing a file over the server's limit before reading it, why files
 * cannot be sent here (a guest, a server without files), queueing transfers
 * so that at most as many run as the server takes at once per connection
 * (user downloads ahead of thumbnails), the pictures' states and their bytes
 * (kept up to a budget, for the full-size view and saving), and the viewer.
 * Never renders a file: the view shows only thumbnails made by
 * file_blobs.ts from bytes image_bytes.ts accepted. Imports
 * @preact/signals, the session's types, lib/client/files/, lib/wire/ and
 * file_blobs.ts, image_bytes.ts.
 */
import { type ReadonlySignal, type Signal, signal } from "@preact/signals";
import type { ChatSession, FileInfo } from "../../client/session.ts";
import type {
  FileTransfer,
  TransferProgress,
  UploadTarget,
} from "../../client/files/transfer_types.ts";
import { fileSizeProblem } from "../../client/files/upload_job.ts";
import { filesVersion } from "../../client/files/file_transfers.ts";
import { safeFileName } from "../../wire/file_chunk.ts";
import { BlobSink, fileSource, makeThumbnail, saveBlob, type Thumbnail } from "./file_blobs.ts";

/** Transfers of each direction at once: what the server takes per connection (section 10.6). */
const transfersAtOnce = 4;
/** Pictures' bytes kept for the full-size view; the oldest go first (fetched again when opened). */
const keptPictureBytes = 64 * 1024 * 1024;

/** One transfer in the list above the composer. */
export interface TransferRow {
  readonly key: number;
  readonly direction: "upload" | "download";
  readonly name: string;
  readonly progress: TransferProgress;
  /** Waiting for a free place: the server takes a few transfers at once per connection. */
  readonly queued: boolean;
  /** Stops it (an upload's bytes are dropped on the server); once failed, takes it off the list. */
  readonly cancel: () => void;
}

/** A picture's message: fetching, a thumbnail, or shown as a file card (not a picture after all). */
export type PictureView =
  | { state: "loading" }
  | { state: "shown"; thumbnail: Thumbnail }
  | { state: "card" };

/** The picture open full size. */
export interface OpenPicture {
  url: string;
  id: number;
  file: FileInfo;
}

/** What the page's files need of the page. */
export interface FilesHost {
  session(): ChatSession | null;
  /** Where a file goes now: the conversation on screen (from search results: the room). */
  uploadTarget(): UploadTarget;
  /** A line in the conversation on screen (an error). */
  notice(text: string): void;
}

/** Places for transfers, in the order asked; those asked with `first` before the others. */
class Slots {
  #free: number;
  readonly #first: Array<() => void> = [];
  readonly #later: Array<() => void> = [];

  constructor(count: number) {
    this.#free = count;
  }

  take(first: boolean): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => (first ? this.#first : this.#later).push(resolve));
  }

  give(): void {
    const next = this.#first.shift() ?? this.#later.shift();
    if (next === undefined) this.#free++;
    else next();
  }
}

function queuedProgress(total: number): TransferProgress {
  return {
    state: "waiting",
    done: 0,
    total,
    bytesPerSecond: 0,
    secondsLeft: null,
    bytesOnWire: 0,
    problem: null,
  };
}

/**
 * The files of one page.
 *
 * @example
 * const files = new PageFiles({ session: () => session, uploadTarget: () => ({}), notice });
 * files.sendFiles([...input.files]);
 */
export class PageFiles {
  /** The transfers the person started, in order; the view draws them above the composer. */
  readonly transfers = signal<readonly TransferRow[]>([]);
  /** The picture shown full size, or null. */
  readonly viewer = signal<OpenPicture | null>(null);
  readonly #host: FilesHost;
  readonly #rows = new Map<number, TransferRow>();
  #counter = 0;
  readonly #uploads = new Slots(transfersAtOnce);
  readonly #downloads = new Slots(transfersAtOnce);
  /** By `id:sha256` (ids start again when a server restarts without its history). */
  readonly #pictures = new Map<string, Signal<PictureView>>();
  /** Pictures' bytes, oldest first. */
  readonly #kept = new Map<string, Blob>();
  #keptBytes = 0;

  constructor(host: FilesHost) {
    this.#host = host;
  }

  /** Why files cannot be sent from this page now, or null when they can. */
  sendProblem(): string | null {
    const session = this.#host.session();
    if (session === null || session.guest === null) return "not connected yet";
    if (session.serverVersion < filesVersion) {
      return "this server runs an older lanchat, without files";
    }
    if (session.guest) return "only accounts send files, and this page joined as a guest";
    if (session.fileLimits === null) return "this server does not take files";
    return null;
  }

  /**
   * Sends `files` to the conversation on screen, each as it is; one over the
   * server's limit (or empty) is refused at once, before it is read.
   */
  sendFiles(files: readonly File[]): void {
    if (files.length === 0) return;
    const problem = this.sendProblem();
    const session = this.#host.session();
    if (problem !== null || session === null) {
      this.#host.notice(`Cannot send files: ${problem ?? "not connected yet"}.`);
      return;
    }
    const target = this.#host.uploadTarget();
    for (const file of files) {
      const source = fileSource(file);
      const refused = fileSizeProblem(source.name, source.size, session.fileLimits);
      if (refused !== null) {
        this.#host.notice(`Not sent: ${refused}.`);
        continue;
      }
      void this.#transfer(
        "upload",
        source.name,
        source.size,
        (session) => session.sendFile(source, target),
        true,
      );
    }
  }

  /** Fetches file `id` and saves it as a download (a picture already here is saved at once). */
  download(id: number, file: FileInfo): void {
    const name = safeFileName(file.name);
    const kept = this.#kept.get(pictureKey(id, file));
    if (kept !== undefined) {
      saveBlob(kept, name);
      return;
    }
    const sink = new BlobSink();
    void this.#transfer("download", file.name, file.size, (s) => s.getFile(id, sink), true)
      .then((done) => {
        if (done && sink.blob !== null) saveBlob(sink.blob, name);
      });
  }

  /**
   * The picture of file message `id`: fetched by itself the first time it is
   * asked for (image_bytes.ts says which files may be), then a thumbnail, or
   * a card when its bytes are not a picture the page shows.
   */
  picture(id: number, file: FileInfo): ReadonlySignal<PictureView> {
    const key = pictureKey(id, file);
    let view = this.#pictures.get(key);
    if (view === undefined) {
      const created = signal<PictureView>({ state: "loading" });
      this.#pictures.set(key, created);
      view = created;
      void this.#fetchPicture(id, file).then(async (blob) => {
        if (blob === null) {
          created.value = { state: "card" };
          return;
        }
        try {
          created.value = { state: "shown", thumbnail: await makeThumbnail(blob) };
        } catch {
          created.value = { state: "card" };
        }
      });
    }
    return view;
  }

  /** Shows picture `id` full size (fetched again if its bytes were let go). */
  async openPicture(id: number, file: FileInfo): Promise<void> {
    const blob = this.#kept.get(pictureKey(id, file)) ?? await this.#fetchPicture(id, file);
    if (blob === null) return;
    this.closeViewer();
    this.viewer.value = { url: URL.createObjectURL(blob), id, file };
  }

  closeViewer(): void {
    const open = this.viewer.value;
    if (open === null) return;
    URL.revokeObjectURL(open.url);
    this.viewer.value = null;
  }

  // ---- inside -----------------------------------------------------------------------

  /** Fetches a picture's bytes (not listed); null when they are not a picture or it failed. */
  async #fetchPicture(id: number, file: FileInfo): Promise<Blob | null> {
    const sink = new BlobSink({ picture: true });
    const done = await this.#transfer(
      "download",
      file.name,
      file.size,
      (session) => session.getFile(id, sink),
      false,
    );
    const blob = sink.blob;
    if (!done || blob === null) return null;
    this.#keep(pictureKey(id, file), blob);
    return blob;
  }

  #keep(key: string, blob: Blob): void {
    if (this.#kept.has(key)) return;
    this.#kept.set(key, blob);
    this.#keptBytes += blob.size;
    // Bounded by the map: each round lets one go; the newest stays.
    for (const [oldKey, old] of this.#kept) {
      if (this.#keptBytes <= keptPictureBytes || oldKey === key) break;
      this.#kept.delete(oldKey);
      this.#keptBytes -= old.size;
    }
  }

  /**
   * Runs one transfer when a place is free; `listed`: shown in the list
   * (and served before unlisted ones). Resolves true when it is done; a
   * failed one stays listed with why until dismissed.
   */
  async #transfer(
    direction: "upload" | "download",
    name: string,
    size: number,
    start: (session: ChatSession) => FileTransfer,
    listed: boolean,
  ): Promise<boolean> {
    const key = ++this.#counter;
    let transfer: FileTransfer | null = null;
    let cancelled = false;
    const cancel = () => {
      cancelled = true;
      transfer?.cancel();
      this.#rows.delete(key);
      this.#show();
    };
    if (listed) {
      this.#rows.set(key, {
        key,
        direction,
        name,
        progress: queuedProgress(size),
        queued: true,
        cancel,
      });
      this.#show();
    }
    const slots = direction === "upload" ? this.#uploads : this.#downloads;
    await slots.take(listed);
    try {
      const session = this.#host.session();
      if (cancelled || session === null) return false;
      const started = start(session);
      transfer = started;
      const update = (progress: TransferProgress) => {
        const row = this.#rows.get(key);
        if (row === undefined) return;
        this.#rows.set(key, { ...row, progress, queued: false });
        this.#show();
      };
      started.onProgress(update);
      update(started.progress);
      await started.done;
      this.#rows.delete(key);
      this.#show();
      return true;
    } catch {
      return false; // Its row says why (or it was cancelled, and its row is gone).
    } finally {
      slots.give();
    }
  }

  #show(): void {
    this.transfers.value = [...this.#rows.values()];
  }
}

function pictureKey(id: number, file: FileInfo): string {
  return `${id}:${file.sha256}`;
}
