/**
 * What an upload or download job needs of the session around it: the
 * connection of the moment (or none, while reconnecting), the server's
 * limits, refs and streams that route the server's answers back to the job.
 *
 * Owns: the {@link TransferLink} and {@link TransferContext} contracts
 * between lib/client/files/file_transfers.ts and its jobs. Contracts only:
 * imports types of lib/client/connection.ts, lib/wire/ and transfer_types.ts.
 */
import type { FileRequest } from "../connection.ts";
import type { FileLimits } from "../../wire/protocol.ts";
import type { Sha256Factory } from "./transfer_types.ts";

/** One joined connection, as the transfers use it. */
export interface TransferLink {
  /** Sends a JSON request; rejects when the connection broke (the session then reports the drop). */
  send(message: FileRequest): Promise<void>;
  /** Sends one data payload behind every JSON message; resolves once written. */
  sendData(payload: Uint8Array): Promise<void>;
}

/** The server's `error` as a job receives it (matched by `ref`). */
export interface TransferRefusal {
  code: string;
  message: string;
  /** With `rate_limited` (and maybe `busy`): ms until the server takes the request. */
  wait?: number;
}

/** What a job is given by the transfers of its session. */
export interface TransferContext {
  /** The joined connection, or null while offline (the job waits for `connected`). */
  readonly link: TransferLink | null;
  /** `welcome.files` of the last join: null for a guest or a server without files. */
  readonly limits: FileLimits | null;
  readonly sha256: Sha256Factory;
  /** A fresh `ref` for a request whose answer and errors must come back to `job`. */
  ref(job: object): string;
  /** Chunks, `stored` and `uploaded` of `stream` (on this connection) go to `job` from now. */
  bindStream(stream: number, job: object): void;
  /** The job is over: its refs and stream are forgotten. */
  finished(job: object): void;
  /**
   * Why files cannot be sent (`upload`) or fetched now: the session ended, an
   * older server, a guest sending. Null when they can (or it is not known yet).
   */
  problem(upload: boolean): string | null;
}
