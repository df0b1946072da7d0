/**
 * Sending one file (PROTOCOL.md section 10.3), across reconnects.
 *
 * Owns: refusing locally what the server would refuse (an empty file, one
 * over `welcome.files.max`, before reading it), hashing the file first
 * (1 MiB reads), the `upload` request (asked again after every reconnect, so
 * the server says how far it got and no byte it has is sent again), the
 * chunks from that offset with at most `window` bytes beyond the last
 * `stored` in flight, each chunk's write awaited (chat overtakes it), waiting
 * and asking again on `rate_limited`/`busy` with a `wait`, `cancel`, and
 * what the person reads when it fails.
 * Runtime-neutral: the bytes come from a {@link FileSource}, the hash from
 * a {@link Sha256Factory}. Imports lib/wire/ and lib/client/files/ only.
 */
import {
  encodeChunk,
  fileNameProblem,
  fileTypeProblem,
  formatFileSize,
  maxChunkBytes,
  safeFileName,
  unknownFileType,
} from "../../wire/file_chunk.ts";
import type { FileLimits } from "../../wire/protocol.ts";
import { ProgressReporter } from "./transfer_progress.ts";
import type { TransferContext, TransferLink, TransferRefusal } from "./transfer_link.ts";
import type { FileSource, FileTransfer, TransferProgress, UploadTarget } from "./transfer_types.ts";

/** The file is read this much at a time to hash it. */
export const hashReadBytes = 1024 * 1024;
/** Chunks of the file read at once while sending. */
const chunksReadAhead = 8;
/** Chunks handed to the connection before the sender waits for the first of them to be written. */
const chunksWaitingToBeWritten = 4;
/** Most times one upload asks again after `rate_limited` or `busy` with a wait. */
const maxRetries = 5;
/** Longest wait taken before asking again; a longer one fails the upload. */
const maxRetryWaitMs = 60_000;

/** Why a file of `size` bytes cannot be sent under `limits`, or null. */
export function fileSizeProblem(
  name: string,
  size: number,
  limits: FileLimits | null,
): string | null {
  if (size === 0) return `"${name}" is empty: there is nothing to send`;
  if (limits !== null && size > limits.max) {
    return `this server takes files up to ${formatFileSize(limits.max)}; "${name}" is ${
      formatFileSize(size)
    }`;
  }
  return null;
}

/** One upload: created by lib/client/files/file_transfers.ts, driven by its session. */
export class UploadJob implements FileTransfer {
  readonly name: string;
  readonly done: Promise<{ id: number; sha256: string }>;
  readonly #source: FileSource;
  readonly #target: UploadTarget;
  readonly #context: TransferContext;
  readonly #reporter: ProgressReporter;
  readonly #result = Promise.withResolvers<{ id: number; sha256: string }>();
  readonly #mime: string;
  #id: number | null = null;
  /** Lowercase hex, once hashed. */
  #sha256: string | null = null;
  /** Bumped at every request and every drop: a send loop of an older one stops. */
  #attempt = 0;
  /** True from a request until its answer (or the drop). */
  #asked = false;
  #stream: number | null = null;
  /** Bytes the server has on disk (`stored`, or the answer's offset). */
  #stored = 0;
  /** Where the next chunk starts. */
  #next = 0;
  #chunk = maxChunkBytes;
  #window = 0;
  #wake: (() => void) | null = null;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #over = false;
  /** Cancelled while a request was unanswered: cancel its stream when the answer comes. */
  #cancelOnAnswer: { discard: boolean } | null = null;

  constructor(source: FileSource, target: UploadTarget, context: TransferContext) {
    this.#source = source;
    this.#target = target;
    this.#context = context;
    this.name = fileNameProblem(source.name) === null ? source.name : safeFileName(source.name);
    this.#mime = fileTypeProblem(source.mime) === null ? source.mime : unknownFileType;
    this.#reporter = new ProgressReporter(source.size);
    this.done = this.#result.promise;
    this.done.catch(() => {}); // Whoever asked may watch `progress` only.
    // After the caller got the job, so that its listeners hear every state.
    queueMicrotask(() => void this.#hash());
  }

  get id(): number | null {
    return this.#id;
  }

  get progress(): TransferProgress {
    return this.#reporter.progress;
  }

  onProgress(listener: (progress: TransferProgress) => void): void {
    this.#reporter.listen(listener);
  }

  cancel(discard = true): void {
    if (this.#over) return;
    const link = this.#context.link;
    if (this.#stream !== null && link !== null) {
      link.send({ type: "cancel", stream: this.#stream, discard }).catch(() => {});
    }
    const waitForAnswer = this.#asked && this.#stream === null && link !== null;
    if (waitForAnswer) this.#cancelOnAnswer = { discard };
    this.#end();
    this.#reporter.state("cancelled");
    this.#result.reject(new Error(`sending "${this.name}" was cancelled`));
    if (!waitForAnswer) this.#context.finished(this);
  }

  // ---- told by the session's transfers --------------------------------------------

  /** A joined connection is there: ask (again), unless still hashing or waiting to retry. */
  connected(): void {
    if (this.#over || this.#sha256 === null || this.#retryTimer !== null) return;
    this.#ask();
  }

  /** The connection dropped: wait for the next one. */
  disconnected(): void {
    if (this.#cancelOnAnswer !== null) this.#context.finished(this);
    this.#cancelOnAnswer = null;
    if (this.#over) return;
    this.#attempt++;
    this.#asked = false;
    this.#stream = null;
    this.#wakeSender();
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    if (this.#sha256 !== null) this.#reporter.state("waiting");
  }

  /** The session is over. */
  ended(reason: string): void {
    this.#fail(reason);
  }

  /** The answer to `upload`: send from the server's offset. */
  answer(answer: { stream: number; offset: number; chunk: number; window: number }): void {
    const link = this.#context.link;
    if (this.#cancelOnAnswer !== null) {
      link?.send({ type: "cancel", stream: answer.stream, ...this.#cancelOnAnswer })
        .catch(() => {});
      this.#cancelOnAnswer = null;
      this.#context.finished(this);
      return;
    }
    if (this.#over || !this.#asked || link === null) return;
    this.#asked = false;
    this.#stream = answer.stream;
    this.#context.bindStream(answer.stream, this);
    this.#stored = Math.min(answer.offset, this.#source.size);
    this.#next = this.#stored;
    this.#chunk = Math.max(1, Math.min(maxChunkBytes, answer.chunk));
    this.#window = Math.max(1, answer.window);
    this.#reporter.state("sending", { done: this.#stored });
    void this.#sendChunks(link, this.#attempt, answer.stream);
  }

  /** `stored`: the server has `offset` bytes on disk. */
  stored(offset: number): void {
    if (this.#over || offset <= this.#stored) return;
    this.#stored = Math.min(offset, this.#source.size);
    this.#reporter.bytes({ done: this.#stored });
    this.#wakeSender();
  }

  /** `uploaded`: the file is a message now, with this id. */
  uploaded(id: number): void {
    if (this.#over || this.#sha256 === null) return;
    this.#id = id;
    this.#end();
    this.#reporter.state("done", { done: this.#source.size });
    this.#result.resolve({ id, sha256: this.#sha256 });
    this.#context.finished(this);
  }

  /** The server refused the request (or the finished file: `file_corrupt`). */
  refused(error: TransferRefusal): void {
    if (this.#over) return;
    this.#asked = false;
    const wait = error.wait;
    if (
      (error.code === "rate_limited" || error.code === "busy") && wait !== undefined &&
      wait <= maxRetryWaitMs && this.#retries < maxRetries
    ) {
      this.#retries++;
      this.#reporter.state("waiting");
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.#ask();
      }, wait);
      return;
    }
    if (error.code === "file_corrupt") {
      this.#fail(
        `the server found "${this.name}" damaged when it was all in (its SHA-256 did not match) ` +
          `and dropped it; was the file changed while it was sent? Send it again. ` +
          `(${error.message})`,
      );
      return;
    }
    this.#fail(error.message);
  }

  // ---- the work -------------------------------------------------------------------

  async #hash(): Promise<void> {
    const size = this.#source.size;
    const problem = fileSizeProblem(this.name, size, this.#context.limits) ??
      this.#context.problem(true);
    if (problem !== null) {
      this.#fail(problem);
      return;
    }
    this.#reporter.state("hashing");
    const hasher = this.#context.sha256();
    let offset = 0;
    // Bounded by the size: each round reads at least one byte or ends.
    while (offset < size) {
      let bytes: Uint8Array;
      try {
        bytes = await this.#source.read(offset, Math.min(hashReadBytes, size - offset));
      } catch (error) {
        this.#fail(`cannot read "${this.name}": ${reason(error)}`);
        return;
      }
      if (this.#over) return;
      if (bytes.length === 0) {
        this.#fail(`"${this.name}" got shorter while it was read; send it again`);
        return;
      }
      hasher.update(bytes);
      offset += bytes.length;
      this.#reporter.bytes({ done: offset });
    }
    this.#sha256 = hasher.hex();
    this.#reporter.state("waiting", { done: 0 });
    if (this.#context.link !== null) this.#ask();
  }

  /** Sends `upload` on the connection of the moment; its answer comes to {@link answer}. */
  #ask(): void {
    const link = this.#context.link;
    if (this.#over || this.#sha256 === null || link === null) return;
    const problem = this.#context.problem(true) ??
      fileSizeProblem(this.name, this.#source.size, this.#context.limits);
    if (problem !== null) {
      this.#fail(problem);
      return;
    }
    this.#attempt++;
    this.#asked = true;
    this.#stream = null;
    const where = this.#target.to !== undefined
      ? { to: this.#target.to }
      : this.#target.channel !== undefined
      ? { channel: this.#target.channel }
      : {};
    link.send({
      type: "upload",
      name: this.name,
      size: this.#source.size,
      sha256: this.#sha256,
      mime: this.#mime,
      ...where,
      ref: this.#context.ref(this),
    }).catch(() => {
      // The connection broke: `disconnected` follows, and the next one asks again.
    });
    this.#reporter.state("waiting");
  }

  /**
   * Chunks from `#next` to the end, at most `window` bytes beyond what the
   * server has stored; each write is awaited, so chat overtakes the file.
   */
  async #sendChunks(link: TransferLink, attempt: number, stream: number): Promise<void> {
    const size = this.#source.size;
    const current = () => attempt === this.#attempt && !this.#over;
    // The file is read a few chunks ahead, and a few chunks wait to be written, so that reading,
    // sealing and writing overlap; chat still overtakes whatever waits (connection.ts).
    let ahead: Uint8Array = new Uint8Array(0), aheadAt = this.#next;
    const writing: Promise<void>[] = [];
    // Bounded by the size: each round sends a chunk, or waits for `stored` or the drop.
    while (current() && this.#next < size) {
      const length = Math.min(this.#chunk, this.#window, size - this.#next);
      if (this.#next + length - this.#stored > this.#window) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const offset = this.#next;
      if (offset < aheadAt || offset + length > aheadAt + ahead.length) {
        // Whole chunks, so that no byte is read twice.
        const wanted = Math.min(length * chunksReadAhead, size - offset);
        try {
          ahead = await this.#source.read(offset, wanted);
        } catch (error) {
          this.#fail(`cannot read "${this.name}": ${reason(error)}`, true);
          return;
        }
        aheadAt = offset;
        if (!current()) return;
        if (ahead.length !== wanted) {
          this.#fail(
            `"${this.name}" changed while it was sent (it got shorter); send it again`,
            true,
          );
          return;
        }
      }
      const data = ahead.subarray(offset - aheadAt, offset - aheadAt + length);
      // Counted once written: a chunk still waiting when the connection drops never travelled.
      const sent = link.sendData(encodeChunk(stream, offset, data)).then(() => {
        this.#reporter.bytes({ bytesOnWire: this.#reporter.progress.bytesOnWire + length });
      });
      sent.catch(() => {}); // a broken connection is told by `disconnected`, once
      writing.push(sent);
      this.#next = offset + length;
      if (writing.length >= chunksWaitingToBeWritten) {
        try {
          await writing.shift();
        } catch {
          return; // The connection broke: `disconnected` follows.
        }
        if (!current()) return;
      }
    }
    // Every byte is handed over; the progress goes on with the server's `stored` until `uploaded`
    // (bytes written to the socket are not yet on the server's disk).
    await Promise.all(writing).catch(() => {});
  }

  #wakeSender(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Stops everything of this job (timers, the send loop, the source). */
  #end(): void {
    this.#over = true;
    this.#attempt++;
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    this.#wakeSender();
    try {
      this.#source.close?.();
    } catch {
      // Closed already.
    }
  }

  /** Fails with `problem`; `stopStream` tells the server to stop waiting for chunks (kept for a resume). */
  #fail(problem: string, stopStream = false): void {
    if (this.#over) return;
    const link = this.#context.link;
    if (stopStream && this.#stream !== null && link !== null) {
      link.send({ type: "cancel", stream: this.#stream, discard: false }).catch(() => {});
    }
    this.#end();
    this.#reporter.state("failed", { problem });
    this.#result.reject(new Error(problem));
    this.#context.finished(this);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
