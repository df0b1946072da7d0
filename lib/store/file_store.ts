/**
 * The bytes of shared files (PROTOCOL.md section 10) in the server's data
 * folder: whole files by their SHA-256, and uploads in progress.
 *
 * Owns: the folder layout, the rule that a file becomes visible only once all
 * its bytes are on disk and their SHA-256 matched (written, synced, then
 * renamed into place: a kill -9 leaves either the whole file or none), resume
 * offsets, removal of uploads nobody resumed, the disk-space check, and
 * removing bytes no message refers to. Which messages refer to what is the
 * history's (lib/store/history.ts); this module never touches SQLite.
 * Must not import the server, the room or sockets.
 *
 * Layout under the root:
 *   blobs/ab/abcdef…   one file per SHA-256 (the first two hex digits name the folder)
 *   partial/TOKEN.part the bytes of an upload so far
 *   partial/TOKEN.json what the upload is (account, conversation, name, size, hash, type)
 */
import { createHash, type Hash } from "node:crypto";
import { statfs } from "node:fs/promises";
import { StorageError } from "../wire/errors.ts";

/** What an upload is, kept beside its bytes so that it survives a restart. */
export interface UploadMeta {
  /** The uploader's account. */
  account: number;
  /** Where the file goes, as the room names it (e.g. "c3", "d7"): part of the resume key. */
  conversation: string;
  name: string;
  size: number;
  sha256: string;
  mime: string;
  /** When the upload began (ms). */
  created: number;
}

/** Limits of a FileStore. */
export interface FileStoreOptions {
  /** Refuse an upload that would take the file system past this share in use. Default 90. */
  maxDiskPercent?: number;
  /** All files together at most this many bytes; null for no limit. Default null. */
  maxTotalBytes?: number | null;
  /** Uploads not resumed for this long are removed. Default 24 h. */
  partialMaxAgeMs?: number;
  /** Operator log. */
  log?: (line: string) => void;
  /** Clock (ms). Default Date.now. */
  now?: () => number;
}

/** Bytes read per step when a partial upload is hashed again after a restart. */
const rehashStepBytes = 1024 * 1024;
const hourMs = 60 * 60 * 1000;

/** Where an upload's hash stood when its receiver let go of it (so a resume need not hash again). */
interface HashState {
  hash: Hash;
  offset: number;
}

/** Bytes joined into one write of a partial upload at most (fewer, larger writes). */
const writeBatchBytes = 512 * 1024;
/**
 * An upload's bytes are synced to the disk in the background this often. Left to the end, a
 * 1 GiB upload's sync made the disk flush 1 GiB at once, and every SQLite commit of the chat
 * (synchronous, on the event loop) waited behind it: chat stalled for hundreds of milliseconds.
 * Every 16 MiB cost a third of the upload's speed; every 64 MiB costs about 6%.
 */
const backgroundSyncBytes = 64 * 1024 * 1024;

/**
 * An upload being received: its bytes are appended in order. An append is
 * hashed at once and written behind (the caller may take the next chunk
 * meanwhile); chunks waiting together go to the disk in one write.
 */
export class PartialUpload {
  readonly token: string;
  readonly meta: UploadMeta;
  #file: Deno.FsFile;
  #hash: Hash;
  /** Bytes on disk. */
  #offset: number;
  /** Bytes taken: on disk, or waiting in #waiting. */
  #received: number;
  #waiting: { data: Uint8Array; written: PromiseWithResolvers<void> }[] = [];
  #writing = false;
  /** Set by a failed write: later appends fail with it (the bytes past #offset are lost). */
  #failure: unknown = null;
  /** Bytes on disk when the last background sync started; the sync running, if any. */
  #syncedAt: number;
  #syncing: Promise<void> | null = null;
  #closed = false;
  #digested = false;
  readonly #onClose: (upload: PartialUpload, state: HashState | null) => void;

  constructor(
    token: string,
    meta: UploadMeta,
    file: Deno.FsFile,
    hash: Hash,
    offset: number,
    onClose: (upload: PartialUpload, state: HashState | null) => void,
  ) {
    this.token = token;
    this.meta = meta;
    this.#file = file;
    this.#hash = hash;
    this.#offset = offset;
    this.#received = offset;
    this.#syncedAt = offset;
    this.#onClose = onClose;
  }

  /** Bytes on disk so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes taken so far (on disk or on their way): where the next chunk starts. */
  get received(): number {
    return this.#received;
  }

  /** True once every byte is on disk. */
  get complete(): boolean {
    return this.#offset === this.meta.size;
  }

  /**
   * Takes `data` (which must start at {@link received} and not pass the
   * size); resolves once it is on disk, rejects when the write failed.
   */
  append(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("PartialUpload.append after close"));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#received + data.length > this.meta.size) {
      return Promise.reject(new RangeError("the bytes pass the file's size"));
    }
    this.#hash.update(data);
    this.#received += data.length;
    const written = Promise.withResolvers<void>();
    this.#waiting.push({ data, written });
    if (!this.#writing) void this.#writeWaiting();
    return written.promise;
  }

  /** The single writer: what waits, joined into writes of up to writeBatchBytes. */
  async #writeWaiting(): Promise<void> {
    this.#writing = true;
    // Bounded by what was appended: each round writes at least one waiting chunk or fails.
    while (this.#waiting.length > 0) {
      let count = 0, bytes = 0;
      while (count < this.#waiting.length && (count === 0 || bytes < writeBatchBytes)) {
        bytes += this.#waiting[count]!.data.length;
        count++;
      }
      const batch = this.#waiting.splice(0, count);
      let joined = batch[0]!.data;
      if (batch.length > 1) {
        joined = new Uint8Array(bytes);
        let at = 0;
        for (const { data } of batch) {
          joined.set(data, at);
          at += data.length;
        }
      }
      try {
        let written = 0;
        // Bounded: each round writes at least one byte or throws.
        while (written < joined.length) written += await this.#file.write(joined.subarray(written));
        this.#offset += joined.length;
        for (const { written } of batch) written.resolve();
        if (this.#offset - this.#syncedAt >= backgroundSyncBytes && this.#syncing === null) {
          this.#syncedAt = this.#offset;
          this.#syncing = this.#file.syncData().catch(() => {}).finally(() => {
            this.#syncing = null;
          });
        }
      } catch (error) {
        this.#failure = error;
        for (const { written } of [...batch, ...this.#waiting.splice(0)]) written.reject(error);
      }
    }
    this.#writing = false;
  }

  /** The SHA-256 of the bytes so far (hex); call once, when complete. */
  digest(): string {
    this.#digested = true;
    return this.#hash.digest("hex");
  }

  /** Flushes the bytes to the disk (before they are renamed into place). */
  async sync(): Promise<void> {
    await this.#syncing;
    await this.#file.syncData();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const file = this.#file;
    const closeFile = () => {
      try {
        file.close();
      } catch {
        // Already closed.
      }
    };
    // A background sync still running keeps the file open until it is done.
    if (this.#syncing === null) closeFile();
    else void this.#syncing.then(closeFile);
    // The hash is kept for a resume only when it covers exactly the bytes on disk.
    const exact = !this.#digested && this.#received === this.#offset && this.#failure === null;
    this.#onClose(this, exact ? { hash: this.#hash, offset: this.#offset } : null);
  }
}

/** The file store of one server. */
export class FileStore {
  readonly root: string;
  readonly #maxDiskPercent: number;
  readonly #maxTotalBytes: number | null;
  readonly #partialMaxAgeMs: number;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  /** Uploads in progress by token (their metadata; the bytes are on disk). */
  readonly #uploads = new Map<string, UploadMeta>();
  /**
   * Every whole file: its size and when it was last stored. Read from the disk once, at open,
   * then kept up to date as files come and go (a sweep walks this, not the folders again).
   */
  readonly #blobs = new Map<string, { size: number; modified: number }>();
  /** Bytes of whole files (kept up to date as files come and go). */
  #storedBytes = 0;
  /** Uploads being received now: the bytes they still need are reserved on the disk. */
  readonly #receiving = new Set<PartialUpload>();
  /**
   * The hash of each upload let go of, where it stood: a resume continues it
   * instead of reading the bytes so far again (a client asking to resume a
   * 2 GiB upload over and over must not make the server hash 2 GiB each time).
   */
  readonly #hashStates = new Map<string, HashState>();

  private constructor(root: string, options: FileStoreOptions) {
    this.root = root;
    this.#maxDiskPercent = options.maxDiskPercent ?? 90;
    this.#maxTotalBytes = options.maxTotalBytes ?? null;
    this.#partialMaxAgeMs = options.partialMaxAgeMs ?? 24 * hourMs;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /**
   * Opens (making if needed) the store at `root`: reads the uploads in
   * progress, removes those too old and any half-written leftovers.
   * Throws StorageError when the folder cannot be made or read.
   */
  static async open(root: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const store = new FileStore(root, options);
    try {
      await Deno.mkdir(`${root}/blobs`, { recursive: true });
      await Deno.mkdir(`${root}/partial`, { recursive: true });
      await store.#load();
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(
        `cannot use the file store ${root} (${error instanceof Error ? error.message : error})`,
        "check that the data folder exists and is writable, or pass --files-dir",
        { cause: error },
      );
    }
    return store;
  }

  /** Bytes of the whole files stored. */
  get storedBytes(): number {
    return this.#storedBytes;
  }

  /** Uploads not finished of `account`. */
  openUploads(account: number): number {
    let count = 0;
    for (const meta of this.#uploads.values()) if (meta.account === account) count++;
    return count;
  }

  /** The upload of `account` to `conversation` of this size and hash, if one is in progress. */
  findUpload(meta: Omit<UploadMeta, "name" | "mime" | "created">): string | null {
    for (const [token, each] of this.#uploads) {
      if (
        each.account === meta.account && each.conversation === meta.conversation &&
        each.size === meta.size && each.sha256 === meta.sha256
      ) return token;
    }
    return null;
  }

  /**
   * Why an upload of `size` more bytes cannot be taken now (the disk past its
   * limit, or all files past theirs), or null when it can.
   */
  async spaceProblem(size: number): Promise<string | null> {
    // What uploads being received still need is as good as used.
    let reserved = 0;
    for (const upload of this.#receiving) reserved += upload.meta.size - upload.offset;
    size += reserved;
    if (this.#maxTotalBytes !== null && this.#storedBytes + size > this.#maxTotalBytes) {
      return `the server's file store is full (${formatBinary(this.#maxTotalBytes)} in all); ` +
        "ask its operator to make room, or send a smaller file";
    }
    let stats;
    try {
      stats = await statfs(this.root);
    } catch {
      return null; // Unknown: the write itself will tell.
    }
    const block = Number(stats.bsize);
    const used = (Number(stats.blocks) - Number(stats.bfree)) * block;
    const available = Number(stats.bavail) * block;
    const usable = used + available;
    if (usable <= 0) return null;
    const after = (used + size) / usable * 100;
    if (after > this.#maxDiskPercent) {
      return `the server's disk would be ${
        Math.min(100, Math.round(after))
      }% full with this file ` +
        `(it takes files while below ${this.#maxDiskPercent}%); ask its operator to make room`;
    }
    return null;
  }

  /** Starts an upload, or continues the one with the same key; returns it opened for appending. */
  async beginUpload(meta: UploadMeta): Promise<PartialUpload> {
    const known = this.findUpload(meta);
    if (known !== null) return await this.#reopen(known);
    const token = randomToken();
    await Deno.writeTextFile(this.#metaPath(token), JSON.stringify(meta));
    const file = await Deno.open(this.#partPath(token), {
      create: true,
      write: true,
      truncate: true,
    });
    this.#uploads.set(token, meta);
    return this.#receive(new PartialUpload(token, meta, file, createHash("sha256"), 0, this.#let));
  }

  /** Counts an upload as being received. */
  #receive(upload: PartialUpload): PartialUpload {
    this.#receiving.add(upload);
    return upload;
  }

  /** A receiver let go of an upload: its reservation ends; its hash is kept for a resume. */
  readonly #let = (upload: PartialUpload, state: HashState | null): void => {
    this.#receiving.delete(upload);
    if (state !== null && this.#uploads.has(upload.token)) {
      this.#hashStates.set(upload.token, state);
    } else this.#hashStates.delete(upload.token);
  };

  /**
   * Makes a complete upload a stored file: checks its SHA-256, syncs it, and
   * renames it into place (once). Returns false when the hash does not match
   * (the bytes are dropped). The caller then records the message.
   */
  async completeUpload(upload: PartialUpload): Promise<boolean> {
    const matches = upload.digest() === upload.meta.sha256;
    if (!matches) {
      upload.close();
      await this.discardUpload(upload.token);
      return false;
    }
    await upload.sync();
    upload.close();
    const blob = this.blobPath(upload.meta.sha256);
    const known = await exists(blob);
    if (known) {
      await removeQuietly(this.#partPath(upload.token));
      // Marked recent, so that a sweep running now leaves it for the message about to refer to it.
      await Deno.utime(blob, new Date(this.#now()), new Date(this.#now()));
    } else {
      await Deno.mkdir(blob.slice(0, blob.lastIndexOf("/")), { recursive: true });
      await Deno.rename(this.#partPath(upload.token), blob);
    }
    this.#keepBlob(upload.meta.sha256, upload.meta.size, this.#now());
    await removeQuietly(this.#metaPath(upload.token));
    this.#uploads.delete(upload.token);
    return true;
  }

  /** Drops an upload in progress and its bytes. */
  async discardUpload(token: string): Promise<void> {
    this.#uploads.delete(token);
    this.#hashStates.delete(token);
    await removeQuietly(this.#partPath(token));
    await removeQuietly(this.#metaPath(token));
  }

  /** Opens a stored file for reading, or null when its bytes are gone. */
  async openBlob(sha256: string): Promise<Deno.FsFile | null> {
    try {
      return await Deno.open(this.blobPath(sha256), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  /** Where the bytes with this SHA-256 live. */
  blobPath(sha256: string): string {
    return `${this.root}/blobs/${sha256.slice(0, 2)}/${sha256}`;
  }

  /**
   * Removes uploads not resumed within the age limit, and whole files no
   * message refers to (`referenced`: the history's answer). Returns what it removed.
   */
  async sweep(
    referenced: (sha256: string) => Promise<boolean>,
    options: { skip?: (token: string) => boolean } = {},
  ): Promise<{ partials: number; files: number }> {
    let partials = 0, files = 0;
    const now = this.#now();
    for (const [token, meta] of [...this.#uploads]) {
      if (options.skip?.(token) === true) continue; // being received right now
      let touched = meta.created;
      try {
        touched = (await Deno.stat(this.#partPath(token))).mtime?.getTime() ?? meta.created;
      } catch {
        // No bytes: the metadata alone goes.
      }
      if (now - touched > this.#partialMaxAgeMs) {
        await this.discardUpload(token);
        partials++;
      }
    }
    for (const [sha256, { modified }] of [...this.#blobs]) {
      // A file stored in the last hour may be waiting for its message to be recorded.
      if (now - modified < hourMs || await referenced(sha256)) continue;
      await removeQuietly(this.blobPath(sha256));
      this.#dropBlob(sha256);
      files++;
    }
    if (partials + files > 0) {
      this.#log(`files: removed ${files} unreferenced files and ${partials} abandoned uploads`);
    }
    return { partials, files };
  }

  async #reopen(token: string): Promise<PartialUpload> {
    const meta = this.#uploads.get(token)!;
    const path = this.#partPath(token);
    const file = await Deno.open(path, { create: true, read: true, write: true });
    try {
      const size = Math.min((await file.stat()).size, meta.size);
      const kept = this.#hashStates.get(token);
      this.#hashStates.delete(token);
      if (kept !== undefined && kept.offset === size) {
        await file.seek(size, Deno.SeekMode.Start);
        return this.#receive(new PartialUpload(token, meta, file, kept.hash, size, this.#let));
      }
      // After a restart (or bytes that do not match the hash kept): the bytes so far, hashed again.
      const hash = createHash("sha256");
      const buffer = new Uint8Array(rehashStepBytes);
      await file.seek(0, Deno.SeekMode.Start);
      let offset = 0;
      // Bounded by the size: each round reads at least one byte or stops.
      while (offset < size) {
        const count = await file.read(buffer.subarray(0, Math.min(buffer.length, size - offset)));
        if (count === null || count === 0) break;
        hash.update(buffer.subarray(0, count));
        offset += count;
      }
      await file.truncate(offset);
      await file.seek(offset, Deno.SeekMode.Start);
      await Deno.utime(path, new Date(this.#now()), new Date(this.#now()));
      return this.#receive(new PartialUpload(token, meta, file, hash, offset, this.#let));
    } catch (error) {
      file.close();
      throw error;
    }
  }

  async #load(): Promise<void> {
    for await (const entry of Deno.readDir(`${this.root}/partial`)) {
      if (!entry.name.endsWith(".json")) continue;
      const token = entry.name.slice(0, -".json".length);
      const meta = await readMeta(`${this.root}/partial/${entry.name}`);
      if (meta === null || !/^[0-9a-f]{32}$/.test(token)) {
        await removeQuietly(`${this.root}/partial/${entry.name}`);
        continue;
      }
      this.#uploads.set(token, meta);
    }
    // Bytes without metadata (a kill between the two writes of beginUpload) go.
    for await (const entry of Deno.readDir(`${this.root}/partial`)) {
      if (entry.name.endsWith(".part") && !this.#uploads.has(entry.name.slice(0, -5))) {
        await removeQuietly(`${this.root}/partial/${entry.name}`);
      }
    }
    for await (const folder of Deno.readDir(`${this.root}/blobs`)) {
      if (!folder.isDirectory) continue;
      for await (const entry of Deno.readDir(`${this.root}/blobs/${folder.name}`)) {
        if (!/^[0-9a-f]{64}$/.test(entry.name)) continue;
        try {
          const stat = await Deno.stat(`${this.root}/blobs/${folder.name}/${entry.name}`);
          this.#keepBlob(entry.name, stat.size, stat.mtime?.getTime() ?? 0);
        } catch {
          // Removed meanwhile.
        }
      }
    }
  }

  /** Records a whole file (again: a second upload of the same bytes marks it recent). */
  #keepBlob(sha256: string, size: number, modified: number): void {
    const known = this.#blobs.get(sha256);
    if (known === undefined) this.#storedBytes += size;
    this.#blobs.set(sha256, { size: known?.size ?? size, modified });
  }

  #dropBlob(sha256: string): void {
    const known = this.#blobs.get(sha256);
    if (known === undefined) return;
    this.#storedBytes -= known.size;
    this.#blobs.delete(sha256);
  }

  #partPath(token: string): string {
    return `${this.root}/partial/${token}.part`;
  }

  #metaPath(token: string): string {
    return `${this.root}/partial/${token}.json`;
  }
}

/** Bytes as an operator reads a limit: "2 GiB", "500 MiB". */
export function formatBinary(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}

function randomToken(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

async function readMeta(path: string): Promise<UploadMeta | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path)) as Partial<UploadMeta>;
    if (
      typeof value.account !== "number" || typeof value.conversation !== "string" ||
      typeof value.name !== "string" || typeof value.size !== "number" ||
      typeof value.sha256 !== "string" || typeof value.mime !== "string" ||
      typeof value.created !== "number"
    ) return null;
    return value as UploadMeta;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // Already gone.
  }
}
