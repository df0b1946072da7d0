/**
 * The server's side of its reader worker (lib/store/history_reader_worker.ts):
 * history reads of a database file go to a Worker with its own read-only
 * connection, one at a time, in the order they were asked.
 *
 * Owns: the bounded queue of reads, the deadline of every read (waiting and
 * running), starting the worker on first use, and replacing a worker that
 * died or overran its deadline. A read never hangs: it is answered, or
 * refused with HistoryBusyError (queue full, or waited too long), or failed
 * with StorageError (the reader could not open the file, died, or overran).
 * Imports only lib/store/history_errors.ts, lib/wire/errors.ts and the worker's types;
 * must not import the writer, the room or sockets.
 */
import { StorageError } from "../wire/errors.ts";
import { HistoryBusyError } from "./history_errors.ts";
import type {
  ReaderCall,
  ReaderFailure,
  ReaderMessage,
  ReaderReply,
  ReaderResults,
} from "./history_reader_worker.ts";

/** Options of ReaderWorker. */
export interface ReaderWorkerOptions {
  /** The database file (opened read-only by the worker). */
  path: string;
  /** Passed to the worker's HistoryReads. Default there: 50,000. */
  shortSearchScanRows?: number;
  /** `PRAGMA busy_timeout` of the worker's connection, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Most refusable reads (pages, searches) waiting at once; one more is
   * refused with HistoryBusyError. Default 256. Resume reads (`after`) are
   * never refused as busy: a session has at most one in flight, and a
   * refused resume would leave a gap in the client's view.
   */
  maxQueued?: number;
  /**
   * Deadline of a read, in ms: once for waiting in the queue (then
   * HistoryBusyError) and once for running (then StorageError, and the worker
   * is replaced: it is stuck on a disk that does not answer, or looping).
   * Default 10,000.
   */
  timeoutMs?: number;
  /**
   * Deadline of a worker's start (loading its module, opening the file), in
   * ms: kept apart from timeoutMs because a cold start on a loaded machine
   * takes longer than a short read deadline. Default the larger of 10,000
   * and timeoutMs.
   */
  startTimeoutMs?: number;
  /** Called with a line for the operator when a worker is replaced. */
  log?: (line: string) => void;
  /** The worker's module. Default lib/store/history_reader_worker.ts; tests wrap it. */
  workerUrl?: URL;
}

interface Job {
  call: ReaderCall;
  resolve: (value: ReaderResults[ReaderCall["op"]]) => void;
  reject: (error: Error) => void;
  refusable: boolean;
  waitTimer: ReturnType<typeof setTimeout> | undefined;
}

interface Running {
  id: number;
  job: Job;
  startedAt: number;
  timer: ReturnType<typeof setTimeout>;
}

const defaultWorkerUrl = new URL("./history_reader_worker.ts", import.meta.url);
/** After a worker failed to start, requests fail at once for this long instead of restarting it. */
const restartPauseMs = 1000;

/** Reads of one database file answered by a Worker; see the module comment. */
export class ReaderWorker {
  readonly #options: Required<Omit<ReaderWorkerOptions, "shortSearchScanRows" | "log">>;
  readonly #shortSearchScanRows: number | undefined;
  readonly #log: (line: string) => void;
  #queue: Job[] = [];
  #refusableQueued = 0;
  #worker: Worker | undefined;
  #ready = false;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #running: Running | undefined;
  #nextId = 1;
  /** Moving average of how long one read runs, for the wait a busy refusal suggests. */
  #averageMs = 5;
  #startFailure: { error: StorageError; at: number } | undefined;
  #closed = false;
  #closedReply: (() => void) | undefined;
  #restarts = 0;

  constructor(options: ReaderWorkerOptions) {
    this.#options = {
      path: options.path,
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      maxQueued: Math.max(1, options.maxQueued ?? 256),
      timeoutMs: Math.max(1, options.timeoutMs ?? 10_000),
      startTimeoutMs: Math.max(
        1,
        options.startTimeoutMs ?? Math.max(10_000, options.timeoutMs ?? 0),
      ),
      workerUrl: options.workerUrl ?? defaultWorkerUrl,
    };
    this.#shortSearchScanRows = options.shortSearchScanRows;
    this.#log = options.log ?? (() => {});
  }

  /** Reads waiting or running, and how many times a worker was replaced. */
  stats(): { queued: number; running: boolean; restarts: number } {
    return {
      queued: this.#queue.length,
      running: this.#running !== undefined,
      restarts: this.#restarts,
    };
  }

  /** Starts the worker now instead of at the first read (it takes a few tens of ms). */
  warmUp(): void {
    if (!this.#closed) this.#startWorker();
  }

  /**
   * Answers `call` in the worker, after every read asked before it.
   * `refusable` reads are refused with HistoryBusyError when the queue is full.
   */
  request<Op extends ReaderCall["op"]>(
    call: Extract<ReaderCall, { op: Op }>,
    options: { refusable: boolean },
  ): Promise<ReaderResults[Op]> {
    if (this.#closed) {
      return Promise.reject(
        new StorageError(
          "cannot read the history: it is closed",
          "the server is shutting down; ask again once it is back",
        ),
      );
    }
    if (options.refusable && this.#refusableQueued >= this.#options.maxQueued) {
      return Promise.reject(new HistoryBusyError(this.#drainEstimateMs()));
    }
    const recent = this.#startFailure;
    if (recent !== undefined && performance.now() - recent.at < restartPauseMs) {
      return Promise.reject(recent.error);
    }
    const { promise, resolve, reject } = Promise.withResolvers<ReaderResults[Op]>();
    const job: Job = {
      call,
      resolve: resolve as Job["resolve"],
      reject,
      refusable: options.refusable,
      waitTimer: undefined,
    };
    const waited = () => {
      // While a worker starts, its own deadline covers the queue: a cold start is not "busy".
      if (this.#worker !== undefined && !this.#ready) {
        job.waitTimer = setTimeout(waited, this.#options.timeoutMs);
        return;
      }
      if (!this.#unqueue(job)) return;
      job.reject(new HistoryBusyError(this.#drainEstimateMs()));
    };
    job.waitTimer = setTimeout(waited, this.#options.timeoutMs);
    this.#queue.push(job);
    if (job.refusable) this.#refusableQueued++;
    this.#pump();
    return promise;
  }

  /**
   * Fails what is waiting, asks the worker to close its connection (up to
   * 1 s), then terminates it. Calling it again does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = new StorageError(
      "cannot read the history: it is closed",
      "the server is shutting down; ask again once it is back",
    );
    for (const job of this.#queue.splice(0)) this.#fail(job, closing);
    this.#refusableQueued = 0;
    const running = this.#running;
    if (running !== undefined) {
      clearTimeout(running.timer);
      this.#running = undefined;
      running.job.reject(closing);
    }
    const worker = this.#worker;
    if (worker === undefined) return;
    if (this.#ready) {
      const closed = Promise.withResolvers<void>();
      this.#closedReply = closed.resolve;
      const timer = setTimeout(closed.resolve, 1000);
      this.#post({ kind: "close" });
      await closed.promise;
      clearTimeout(timer);
    }
    this.#stopWorker();
  }

  #pump(): void {
    if (this.#closed || this.#running !== undefined || this.#queue.length === 0) return;
    if (!this.#ready) {
      this.#startWorker();
      return;
    }
    const job = this.#queue.shift()!;
    if (job.refusable) this.#refusableQueued--;
    clearTimeout(job.waitTimer);
    const id = this.#nextId++;
    const timer = setTimeout(() => this.#overran(id), this.#options.timeoutMs);
    this.#running = { id, job, startedAt: performance.now(), timer };
    this.#post({ kind: "call", id, call: job.call });
  }

  #startWorker(): void {
    if (this.#worker !== undefined) return;
    const worker = new Worker(this.#options.workerUrl, {
      type: "module",
      name: "lanchat history reader",
    });
    this.#worker = worker;
    this.#ready = false;
    worker.onmessage = (event: MessageEvent<ReaderReply>) => {
      if (worker === this.#worker) this.#receive(event.data);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // a reader's failure must never end the server
      if (worker === this.#worker) this.#died(event.message || "uncaught error");
    };
    worker.onmessageerror = () => {
      if (worker === this.#worker) this.#died("a message could not be read");
    };
    this.#startTimer = setTimeout(() => {
      this.#startFailed(
        new StorageError(
          `the history reader for ${this.#options.path} did not start within ${this.#options.startTimeoutMs} ms`,
          "the machine may be overloaded or the disk not answering; check it",
        ),
      );
    }, this.#options.startTimeoutMs);
    const open: ReaderMessage = {
      kind: "open",
      path: this.#options.path,
      busyTimeoutMs: this.#options.busyTimeoutMs,
      ...(this.#shortSearchScanRows === undefined
        ? {}
        : { shortSearchScanRows: this.#shortSearchScanRows }),
    };
    worker.postMessage(open);
  }

  #receive(reply: ReaderReply): void {
    switch (reply.kind) {
      case "opened":
        clearTimeout(this.#startTimer);
        this.#startFailure = undefined;
        this.#ready = true;
        this.#pump();
        return;
      case "failed": {
        const error = revive(reply.error);
        this.#startFailed(
          error instanceof StorageError
            ? error
            : new StorageError(error.message, "check the file and its folder, or pass --db PATH"),
        );
        return;
      }
      case "answer":
      case "error": {
        const running = this.#running;
        if (running === undefined || running.id !== reply.id) return; // answered after its deadline
        clearTimeout(running.timer);
        this.#running = undefined;
        const elapsed = performance.now() - running.startedAt;
        this.#averageMs = this.#averageMs * 0.8 + elapsed * 0.2;
        if (reply.kind === "answer") running.job.resolve(reply.value);
        else running.job.reject(revive(reply.error));
        this.#pump();
        return;
      }
      case "closed":
        this.#closedReply?.();
        return;
    }
  }

  /** The running read overran its deadline: fail it and replace the worker. */
  #overran(id: number): void {
    const running = this.#running;
    if (running === undefined || running.id !== id) return;
    this.#running = undefined;
    running.job.reject(
      new StorageError(
        `reading the history in ${this.#options.path} took longer than ${this.#options.timeoutMs} ms; the read was cancelled`,
        "the disk may be slow or failing; check it, and read the file with the history command (--db PATH)",
      ),
    );
    this.#replace(`a read took longer than ${this.#options.timeoutMs} ms`);
  }

  #died(reason: string): void {
    if (!this.#ready) {
      this.#startFailed(
        new StorageError(
          `the history reader for ${this.#options.path} stopped while starting: ${reason}`,
          "check the file and its folder (the history command reads it: --db PATH), then restart the server",
        ),
      );
      return;
    }
    const running = this.#running;
    this.#running = undefined;
    if (running !== undefined) {
      clearTimeout(running.timer);
      running.job.reject(
        new StorageError(
          `the history reader for ${this.#options.path} stopped (${reason}); the read was cancelled`,
          "it is restarted for the next read; if this repeats, read the file with the history command (--db PATH)",
        ),
      );
    }
    this.#replace(`it stopped (${reason})`);
  }

  /** The worker could not open the file: every waiting read fails with why; a later one retries. */
  #startFailed(error: StorageError): void {
    this.#stopWorker();
    this.#startFailure = { error, at: performance.now() };
    for (const job of this.#queue.splice(0)) this.#fail(job, error);
    this.#refusableQueued = 0;
  }

  #replace(why: string): void {
    this.#stopWorker();
    this.#restarts++;
    this.#log(`history reader: replaced, ${why}`);
    this.#pump();
  }

  #stopWorker(): void {
    clearTimeout(this.#startTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = false;
  }

  #post(message: ReaderMessage): void {
    this.#worker?.postMessage(message);
  }

  #unqueue(job: Job): boolean {
    const index = this.#queue.indexOf(job);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    if (job.refusable) this.#refusableQueued--;
    return true;
  }

  #fail(job: Job, error: Error): void {
    clearTimeout(job.waitTimer);
    job.reject(error);
  }

  #drainEstimateMs(): number {
    return (this.#queue.length + 1) * this.#averageMs;
  }
}

function revive(failure: ReaderFailure): Error {
  if (failure.hint !== undefined) return new StorageError(failure.message, failure.hint);
  const error = new Error(failure.message);
  error.name = failure.name;
  return error;
}
