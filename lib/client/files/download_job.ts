/**
 * Fetching one file (PROTOCOL.md section 10.4), across reconnects and runs.
 *
 * Owns: the `get` request from the bytes the sink holds (asked again after
 * every reconnect, once the bytes that came before the drop are written),
 * writing the chunks in order, `got` every quarter window, the SHA-256 of the
 * whole file (a prefix left by an earlier run is read back and hashed first),
 * finishing or abandoning the sink, `cancel`, and what the person reads when
 * it fails.
 * Runtime-neutral: bytes go to a {@link FileSink}, the hash comes from a
 * {@link Sha256Factory}. Imports lib/wire/ and lib/client/files/ only.
 */
import { acknowledgeEvery, type FileChunk } from "../../wire/file_chunk.ts";
import type { FileInfo } from "../../wire/protocol.ts";
import { ProgressReporter } from "./transfer_progress.ts";
import type { TransferContext, TransferRefusal } from "./transfer_link.ts";
import type { FileSink, FileTransfer, Sha256, TransferProgress } from "./transfer_types.ts";
import { hashReadBytes } from "./upload_job.ts";

/** The `download` answer, as the job uses it. */
export interface DownloadAnswer {
  stream: number;
  file: FileInfo;
  offset: number;
  window: number;
}

/** One download: created by lib/client/files/file_transfers.ts, driven by its session. */
export class DownloadJob implements FileTransfer {
  readonly id: number;
  readonly done: Promise<{ id: number; sha256: string }>;
  readonly #sink: FileSink;
  readonly #context: TransferContext;
  readonly #reporter: ProgressReporter;
  readonly #result = Promise.withResolvers<{ id: number; sha256: string }>();
  /** What the server said of the file; null before the first answer. */
  #file: FileInfo | null = null;
  /** Bytes the sink holds (written and hashed). */
  #written: number;
  /** Bytes received so far on this connection's stream (some may still wait to be written). */
  #received: number;
  #hasher: Sha256 | null = null;
  /** Sink work (begin, writes, verifying), one step at a time, in order. */
  #chain: Promise<void> = Promise.resolve();
  /** Bumped at every request and every drop. */
  #attempt = 0;
  #asked = false;
  #stream: number | null = null;
  #acknowledgeEvery = 1;
  #acknowledged = 0;
  #over = false;
  #cancelOnAnswer = false;

  constructor(id: number, sink: FileSink, context: TransferContext) {
    this.id = id;
    this.#sink = sink;
    this.#context = context;
    this.#written = sink.held;
    this.#received = sink.held;
    this.#reporter = new ProgressReporter(0);
    this.#reporter.state("waiting", { done: sink.held });
    this.done = this.#result.promise;
    this.done.catch(() => {}); // Whoever asked may watch `progress` only.
    // After the caller got the job, so that its listeners hear what happens first.
    queueMicrotask(() => {
      const problem = sink.held > 0 && sink.readHeld === undefined
        ? `cannot resume file ${id}: the ${sink.held} bytes held cannot be read back to check ` +
          "the whole file"
        : context.problem(false);
      if (problem !== null) this.#fail(problem, true);
      else if (context.link !== null) this.connected();
    });
  }

  /** The file's name once the server said it, else "file ID". */
  get name(): string {
    return this.#file?.name ?? `file ${this.id}`;
  }

  get progress(): TransferProgress {
    return this.#reporter.progress;
  }

  onProgress(listener: (progress: TransferProgress) => void): void {
    this.#reporter.listen(listener);
  }

  /** Stops; the held bytes are dropped when `discard` (default), else kept for a resume. */
  cancel(discard = true): void {
    if (this.#over) return;
    const link = this.#context.link;
    if (this.#stream !== null && link !== null) {
      link.send({ type: "cancel", stream: this.#stream, discard: false }).catch(() => {});
    }
    const waitForAnswer = this.#asked && this.#stream === null && link !== null;
    this.#cancelOnAnswer = waitForAnswer;
    this.#over = true;
    this.#attempt++;
    this.#reporter.state("cancelled");
    this.#result.reject(new Error(`getting "${this.name}" was cancelled`));
    this.#chain = this.#chain.then(() => this.#sink.abandon(!discard)).catch(() => {});
    if (!waitForAnswer) this.#context.finished(this);
  }

  // ---- told by the session's transfers --------------------------------------------

  /** A joined connection is there: ask from the bytes held, once those that came are written. */
  connected(): void {
    if (this.#over) return;
    const problem = this.#context.problem(false);
    if (problem !== null) {
      this.#fail(problem, true);
      return;
    }
    const attempt = ++this.#attempt;
    this.#asked = false;
    this.#stream = null;
    this.#reporter.state("waiting");
    this.#chain = this.#chain.then(() => {
      const link = this.#context.link;
      if (attempt !== this.#attempt || this.#over || link === null) return;
      this.#received = this.#written;
      this.#asked = true;
      link.send({ type: "get", id: this.id, offset: this.#written, ref: this.#context.ref(this) })
        .catch(() => {
          // The connection broke: `disconnected` follows, and the next one asks again.
        });
    });
  }

  /** The connection dropped: what came is still written; the next connection resumes after it. */
  disconnected(): void {
    if (this.#cancelOnAnswer) this.#context.finished(this);
    this.#cancelOnAnswer = false;
    if (this.#over) return;
    this.#attempt++;
    this.#asked = false;
    this.#stream = null;
    this.#reporter.state("waiting");
  }

  /** The session is over: the bytes held stay for a resume. */
  ended(reason: string): void {
    this.#fail(reason, true);
  }

  /** The answer to `get`: chunks of `stream` follow. */
  answer(answer: DownloadAnswer): void {
    const link = this.#context.link;
    if (this.#cancelOnAnswer) {
      link?.send({ type: "cancel", stream: answer.stream, discard: false }).catch(() => {});
      this.#cancelOnAnswer = false;
      this.#context.finished(this);
      return;
    }
    if (this.#over || !this.#asked || link === null) return;
    this.#asked = false;
    this.#stream = answer.stream;
    this.#context.bindStream(answer.stream, this);
    const known = this.#file;
    const file = answer.file;
    if (known !== null && (known.sha256 !== file.sha256 || known.size !== file.size)) {
      this.#fail(`file ${this.id} is not the same file any more; get it again`, false, true);
      return;
    }
    if (answer.offset !== this.#written || file.size < this.#written) {
      this.#fail(
        `the server sent file ${this.id} from byte ${answer.offset}, not from ${this.#written} ` +
          "where this download stands",
        true,
        true,
      );
      return;
    }
    this.#file = file;
    this.#acknowledgeEvery = acknowledgeEvery(answer.window);
    this.#acknowledged = answer.offset;
    this.#reporter.state("receiving", { total: file.size, done: this.#written });
    if (known === null) {
      this.#work(async () => {
        await this.#sink.begin?.(file);
        await this.#hashHeld();
      });
    }
    if (answer.offset >= file.size) this.#work(() => this.#verify());
  }

  /** One chunk of this job's stream, in order. */
  data(chunk: FileChunk): void {
    const file = this.#file;
    if (this.#over || file === null || this.#stream !== chunk.stream) return;
    const length = chunk.data.length;
    if (chunk.offset !== this.#received || chunk.offset + length > file.size) {
      this.#fail(
        `the server sent bytes of file ${this.id} out of order (at ${chunk.offset}, expected ` +
          `${this.#received}); get it again`,
        true,
        true,
      );
      return;
    }
    this.#received += length;
    this.#reporter.bytes({ bytesOnWire: this.#reporter.progress.bytesOnWire + length });
    const { stream } = chunk;
    const attempt = this.#attempt;
    this.#work(async () => {
      this.#hasher!.update(chunk.data);
      try {
        await this.#sink.write(this.#written, chunk.data);
      } catch (error) {
        throw new Error(`cannot write "${this.name}": ${reason(error)}`);
      }
      this.#written += length;
      this.#reporter.bytes({ done: this.#written });
      if (this.#written >= file.size) {
        await this.#verify();
        return;
      }
      const link = this.#context.link;
      if (
        attempt === this.#attempt && link !== null &&
        this.#written - this.#acknowledged >= this.#acknowledgeEvery
      ) {
        this.#acknowledged = this.#written;
        link.send({ type: "got", stream, offset: this.#written }).catch(() => {});
      }
    });
  }

  /** The server refused `get` (`no_such_file`, `rate_limited`, ...). */
  refused(error: TransferRefusal): void {
    if (this.#over) return;
    this.#asked = false;
    const held = this.#written > 0 && error.code === "bad_message"
      ? ` (this download asked from byte ${this.#written}, which the file may not have: ` +
        "start it again from nothing)"
      : "";
    this.#fail(`${error.message}${held}`, true);
  }

  // ---- the work -------------------------------------------------------------------

  /** Runs `step` after the steps before it; a failure fails the download (bytes kept). */
  #work(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#over) return;
      try {
        await step();
      } catch (error) {
        this.#fail(reason(error), true, true);
      }
    });
  }

  /** Starts the hash with the bytes an earlier run left, read back from the sink. */
  async #hashHeld(): Promise<void> {
    const hasher = this.#context.sha256();
    const held = this.#written;
    let offset = 0;
    // Bounded by `held`: each round hashes at least one byte or fails.
    while (offset < held) {
      const bytes = await this.#sink.readHeld!(offset, Math.min(hashReadBytes, held - offset));
      if (bytes.length === 0) throw new Error(`the bytes held of "${this.name}" got shorter`);
      hasher.update(bytes);
      offset += bytes.length;
    }
    this.#hasher = hasher;
  }

  async #verify(): Promise<void> {
    const file = this.#file!;
    this.#reporter.state("verifying", { done: this.#written });
    const sha256 = this.#hasher!.hex();
    if (sha256 !== file.sha256) {
      await this.#sink.abandon(false).catch(() => {});
      this.#fail(
        `"${this.name}" arrived damaged: its SHA-256 is ${sha256}, but the sender's is ` +
          `${file.sha256}. Nothing was kept; get it again.`,
        null,
        true,
      );
      return;
    }
    try {
      await this.#sink.finish();
    } catch (error) {
      this.#fail(`cannot save "${this.name}": ${reason(error)}`, true);
      return;
    }
    this.#over = true;
    this.#attempt++;
    this.#reporter.state("done", { done: file.size });
    this.#result.resolve({ id: this.id, sha256 });
    this.#context.finished(this);
  }

  /**
   * Fails with `problem`. `keep`: abandon the sink keeping its bytes (true)
   * or dropping them (false); null when the sink was dealt with already.
   * `stopStream`: tell the server to send no more.
   */
  #fail(problem: string, keep: boolean | null, stopStream = false): void {
    if (this.#over) return;
    const link = this.#context.link;
    if (stopStream && this.#stream !== null && link !== null) {
      link.send({ type: "cancel", stream: this.#stream, discard: false }).catch(() => {});
    }
    this.#over = true;
    this.#attempt++;
    this.#reporter.state("failed", { problem });
    if (keep !== null) {
      this.#chain = this.#chain.then(() => this.#sink.abandon(keep)).catch(() => {});
    }
    // Rejected once the sink is dealt with, so a caller that exits next loses nothing.
    void this.#chain.then(() => this.#result.reject(new Error(problem)));
    this.#context.finished(this);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
