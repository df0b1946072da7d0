/**
 * What the client core's file transfers (PROTOCOL.md section 10) offer the
 * terminal, the scripts (`lanchat send`, `lanchat get`) and the page, and
 * what each of them supplies: where bytes come from, where they go, and how
 * SHA-256 is computed on that runtime.
 *
 * Owns: the contracts only. Must not import sockets, Deno, the DOM or the session.
 */
import type { FileInfo } from "../../wire/protocol.ts";

/** Where an upload's bytes come from: a file on disk (Deno), a File or Blob (page). */
export interface FileSource {
  /** The name the file goes by (its last path part). */
  readonly name: string;
  readonly size: number;
  /** A media type, or "application/octet-stream". */
  readonly mime: string;
  /** `length` bytes from `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases what the source holds open; safe to call twice. */
  close?(): void;
}

/** Where a download's bytes go: a file on disk (Deno), parts of a Blob (page). */
export interface FileSink {
  /** Bytes already held from an earlier, interrupted download (resume from there). */
  readonly held: number;
  /** Appends `data`, which starts at `offset` (always `held` so far). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** All bytes are in and their SHA-256 matched: make the result visible. */
  finish(): Promise<void>;
  /** The download failed or was cancelled: keep the held bytes (`keep`) for a resume, or drop them. */
  abandon(keep: boolean): Promise<void>;
  /**
   * Told what the server is about to send, before the first byte is written
   * (the file's name, size and SHA-256): a sink may choose where it goes, or
   * throw an Error to refuse (the download then stops and fails with its
   * message, the held bytes kept). Optional.
   */
  begin?(file: FileInfo): Promise<void>;
  /**
   * `length` bytes of the held ones from `offset`, read back. A download that
   * resumes from `held` > 0 bytes left by an earlier run needs it, to check
   * the SHA-256 of the whole file; without it such a sink cannot resume.
   */
  readHeld?(offset: number, length: number): Promise<Uint8Array>;
}

/** An incremental SHA-256 (node:crypto in Deno, @noble/hashes in the page). */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** Lowercase hex of the digest; the hasher is spent afterwards. */
  hex(): string;
}

/** Makes a fresh {@link Sha256}. */
export type Sha256Factory = () => Sha256;

/** Where a transfer stands, for progress bars. */
export type TransferState =
  | "hashing" // reading the file once to learn its SHA-256 before asking to upload
  | "waiting" // asked the server; or offline, to resume on reconnect
  | "sending"
  | "receiving"
  | "verifying"
  | "done"
  | "failed"
  | "cancelled";

/** One look at a transfer. */
export interface TransferProgress {
  readonly state: TransferState;
  /** Bytes done of `total` (hashed while hashing, else on the other side). */
  readonly done: number;
  readonly total: number;
  /** Smoothed over the last few seconds; 0 before there is a measure. */
  readonly bytesPerSecond: number;
  /** null when unknown. */
  readonly secondsLeft: number | null;
  /** Bytes that had to travel in this transfer (a resume sends less than `total`). */
  readonly bytesOnWire: number;
  /** Why it failed, for people; null otherwise. */
  readonly problem: string | null;
}

/** A transfer in progress. */
export interface FileTransfer {
  /** The file's id (its message id): known at once for a download, at the end of an upload. */
  readonly id: number | null;
  readonly name: string;
  readonly progress: TransferProgress;
  /** Called on every change of progress (at most about 10 times a second while bytes flow). */
  onProgress(listener: (progress: TransferProgress) => void): void;
  /** Stops it; an upload's bytes are dropped on the server when `discard` (default true). */
  cancel(discard?: boolean): void;
  /** Resolves with the file's id and SHA-256 when done; rejects with an Error saying why. */
  readonly done: Promise<{ id: number; sha256: string }>;
}

/** Where an upload goes: a channel (`#ops`, absent: `#general`) or a person (`to`). */
export interface UploadTarget {
  channel?: string;
  to?: string;
}
