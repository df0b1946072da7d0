/**
 * The file transfers of one connection (PROTOCOL.md section 10): uploads
 * being received and downloads being sent, each a numbered stream.
 *
 * Owns: the checks made before any byte moves (size, space, target, open
 * uploads, streams at once), in-order chunks, `stored` acknowledgements,
 * completion into a file message, and download pacing by the client's `got`
 * (at most a window ahead). The session decides when bytes go out (chat
 * first); the room decides who may see what. Must not import session.ts.
 */
import { ProtocolError } from "../../wire/errors.ts";
import {
  acknowledgeEveryBytes,
  chunkHeaderBytes,
  decodeChunk,
  fileBodyText,
  transferWindowBytes,
  writeChunkHeader,
} from "../../wire/file_chunk.ts";
import { encodeBody, errorMessage } from "../../wire/protocol.ts";
import type {
  CancelRequest,
  FileInfo,
  FilesRequest,
  GetRequest,
  GotMessage,
  Ref,
  ServerMessage,
  UploadRequest,
} from "../../wire/protocol.ts";
import { formatBinary, type PartialUpload } from "../../store/file_store.ts";
import type { Member, Room } from "../room.ts";
import type { Outgoing } from "../outgoing.ts";
import type { FileService, UploadOwner } from "./file_service.ts";

/** What a session offers its transfers. */
export interface TransferPeer {
  /** The connection as the room knows it (its account, channels, nick). */
  readonly member: Member;
  readonly room: Room;
  /** Queues a JSON message; it goes out ahead of any data waiting. */
  send(message: ServerMessage): void;
  /** Queues an answer the client asked for (past the outbox bound, as `history` answers). */
  sendAnswer(message: Outgoing): void;
  /**
   * Queues a data payload behind the JSON messages; resolves true once it is
   * written, false when the connection closed first. `frame`: the payload already
   * inside its TCP frame (4-byte length first), sparing a copy.
   */
  sendData(payload: Uint8Array, frame: Uint8Array): Promise<boolean>;
  /** Takes a request from the budget of small requests; throws `rate_limited` past it. */
  takeRequest(ref: Ref | undefined): void;
  /** Asks the transport for larger reads while an upload streams in (or not). */
  largeReads(on: boolean): void;
  log(line: string): void;
}

interface UploadStream {
  stream: number;
  upload: PartialUpload;
  ref: Ref | undefined;
  target: { channel?: string; to?: string };
  /** The offset last told in `stored`. */
  acknowledged: number;
  /** The write in progress, so that a take-over waits for it. */
  writing: Promise<void>;
  /** The offset at which the disk's room is looked at again. */
  nextSpaceCheck: number;
}

interface DownloadStream {
  stream: number;
  /** Bytes the client has taken (its last `got`, or the `get` offset). */
  taken: number;
  /** Wakes the pump when `got` opens the window or the stream ends. */
  wake: (() => void) | null;
  ended: boolean;
}

/**
 * An upload looks at the disk again this often: others may have filled it
 * since it began, and the chat's history must keep its room.
 */
const spaceCheckEveryBytes = 64 * 1024 * 1024;
/** Chunks of a file read from the disk at once for a download. */
const downloadReadChunks = 8;
/** Chunks a download keeps queued at once (each read from disk before it is needed). */
const downloadReadAhead = 16;
/** Streams numbers per connection are unique for its life; this far apart from none. */
const firstStream = 1;

/** One connection's transfers. */
export class SessionTransfers implements UploadOwner {
  readonly #service: FileService;
  readonly #peer: TransferPeer;
  readonly #uploads = new Map<number, UploadStream>();
  readonly #downloads = new Map<number, DownloadStream>();
  #nextStream = firstStream;
  #closed = false;

  constructor(service: FileService, peer: TransferPeer) {
    this.#service = service;
    this.#peer = peer;
  }

  /** True while `payload` would be taken as a chunk of a stream (it skips flood control). */
  expectsData(): boolean {
    return this.#uploads.size > 0;
  }

  /** `upload`: checks everything, then opens (or resumes) the upload and answers `upload`. */
  async upload(request: UploadRequest): Promise<void> {
    const member = this.#peer.member;
    const ref = request.ref;
    const account = member.account;
    if (account === null) {
      throw new ProtocolError(
        "bad_message",
        "a guest cannot send files: join with a device key (lanchat 0.4, or its web page)",
        { ref },
      );
    }
    this.#peer.takeRequest(ref);
    const limits = this.#service.limits;
    if (request.size > limits.maxFileBytes) {
      throw new ProtocolError(
        "file_too_large",
        `files up to ${formatBinary(limits.maxFileBytes)} on this server; ` +
          `${request.name} is ${formatBinary(request.size)}`,
        { ref },
      );
    }
    if (this.#uploads.size >= limits.uploadsPerConnection) {
      throw new ProtocolError(
        "busy",
        `${limits.uploadsPerConnection} uploads at once per connection; wait for one to finish`,
        { ref },
      );
    }
    const target: { channel?: string; to?: string } = {};
    if (request.to !== undefined) target.to = request.to;
    else if (request.channel !== undefined) target.channel = request.channel;
    const conversation = this.#peer.room.fileTarget(member, { ...target, ref });
    const store = this.#service.store;
    const key = { account, conversation, size: request.size, sha256: request.sha256 };
    const known = store.findUpload(key);
    if (known === null && store.openUploads(account) >= limits.maxOpenUploads) {
      throw new ProtocolError(
        "busy",
        `you have ${limits.maxOpenUploads} uploads not finished; resume or cancel one ` +
          "(unfinished uploads are removed after a day)",
        { ref },
      );
    }
    const space = await store.spaceProblem(request.size);
    if (space !== null) throw new ProtocolError("store_full", space, { ref });
    // Asked again on this connection (after a refused chunk): the old stream goes first.
    for (const entry of [...this.#uploads.values()]) {
      if (entry.upload.token !== known) continue;
      this.#uploads.delete(entry.stream);
      await entry.writing;
      entry.upload.close();
    }
    if (known !== null) await this.#service.claim(known, this);
    if (this.#closed) return;
    let upload: PartialUpload;
    try {
      upload = await store.beginUpload({
        ...key,
        name: request.name,
        mime: request.mime,
        created: Date.now(),
      });
    } catch (error) {
      if (known !== null) this.#service.unclaim(known, this);
      this.#peer.log(`files: cannot start an upload: ${String(error)}`);
      throw new ProtocolError("store_full", "the server could not store the file; try later", {
        ref,
      });
    }
    if (known === null) await this.#service.claim(upload.token, this);
    if (this.#closed) {
      upload.close();
      this.#service.unclaim(upload.token, this);
      return;
    }
    const stream = this.#nextStream++;
    this.#uploads.set(stream, {
      stream,
      upload,
      ref,
      target,
      acknowledged: upload.offset,
      writing: Promise.resolve(),
      nextSpaceCheck: upload.offset + spaceCheckEveryBytes,
    });
    this.#peer.largeReads(true);
    const answer: ServerMessage = {
      type: "upload",
      upload: upload.token,
      stream,
      offset: upload.offset,
      chunk: this.#service.chunkBytes,
      window: transferWindowBytes,
    };
    if (ref !== undefined) answer.ref = ref;
    this.#peer.send(answer);
    if (upload.complete) await this.#finish(this.#uploads.get(stream)!);
  }

  /**
   * One data payload. Returns false when it belongs to no stream of this
   * connection (the session counts it against flood control); chunks of a
   * cancelled stream are dropped quietly.
   */
  async chunk(payload: Uint8Array): Promise<boolean> {
    const chunk = decodeChunk(payload);
    if (chunk === null) throw new ProtocolError("bad_message", "a data payload needs 14+ bytes");
    const entry = this.#uploads.get(chunk.stream);
    if (entry === undefined) return chunk.stream < this.#nextStream;
    const upload = entry.upload;
    if (chunk.offset !== upload.received || chunk.offset + chunk.data.length > upload.meta.size) {
      this.#endUpload(entry);
      throw new ProtocolError(
        "bad_message",
        `stream ${chunk.stream}: a chunk at ${chunk.offset} where the upload stands at ` +
          `${upload.received} of ${upload.meta.size}; ask with 'upload' again to resume`,
        { ref: entry.ref },
      );
    }
    // Written behind: the next chunk is read while this one goes to the disk.
    const writing = upload.append(chunk.data);
    entry.writing = writing.catch(() => {});
    const stored = writing.then(
      () => this.#afterWrite(entry),
      (error) => {
        this.#endUpload(entry);
        this.#peer.log(`files: cannot write an upload: ${String(error)}`);
        this.#tell(
          new ProtocolError(
            "store_full",
            "the server could not store more of the file (its disk may be full); try later",
            { ref: entry.ref },
          ),
          entry.ref,
        );
      },
    );
    // A client past its window (or the last chunk, whose answer comes before the next payload):
    // its bytes wait here, so that nobody makes the server hold more than a window of them.
    if (
      upload.received === upload.meta.size ||
      upload.received - upload.offset > transferWindowBytes
    ) await stored;
    return true;
  }

  /** After a write: the disk's room now and then, `stored` every quarter window, the end. */
  async #afterWrite(entry: UploadStream): Promise<void> {
    const upload = entry.upload;
    if (!this.#uploads.has(entry.stream)) return; // cancelled or taken over meanwhile
    try {
      if (upload.offset >= entry.nextSpaceCheck && !upload.complete) {
        entry.nextSpaceCheck = upload.offset + spaceCheckEveryBytes;
        const problem = await this.#service.store.spaceProblem(0);
        if (problem !== null) {
          this.#endUpload(entry);
          throw new ProtocolError("store_full", `${problem}; the upload can be resumed later`, {
            ref: entry.ref,
          });
        }
      }
      if (upload.complete) {
        await this.#finish(entry);
      } else if (upload.offset - entry.acknowledged >= acknowledgeEveryBytes) {
        entry.acknowledged = upload.offset;
        this.#peer.send({ type: "stored", stream: entry.stream, offset: upload.offset });
      }
    } catch (error) {
      this.#tell(error, entry.ref);
    }
  }

  /** Tells the client why a transfer stopped (a refusal), or logs a bug. */
  #tell(error: unknown, ref: Ref | undefined): void {
    if (error instanceof ProtocolError) {
      this.#peer.send(errorMessage(error.code, error.message, error.ref ?? ref));
    } else {
      this.#peer.log(`files: internal error: ${String(error)}`);
      this.#peer.send(errorMessage("bad_message", "the server could not handle that file", ref));
    }
  }

  /** `get`: a file the asker may see, from `offset`, paced by `got`. */
  async get(request: GetRequest): Promise<void> {
    const ref = request.ref;
    this.#peer.takeRequest(ref);
    const limits = this.#service.limits;
    if (this.#downloads.size >= limits.downloadsPerConnection) {
      throw new ProtocolError(
        "busy",
        `${limits.downloadsPerConnection} downloads at once per connection; wait for one to finish`,
        { ref },
      );
    }
    const room = this.#peer.room;
    const message = await this.#service.history.fileMessage(
      room.viewer(this.#peer.member),
      request.id,
    );
    const noSuchFile = () =>
      new ProtocolError(
        "no_such_file",
        `there is no file ${request.id} that you can see (it may have been removed)`,
        { ref },
      );
    if (message === null || message.file === undefined) throw noSuchFile();
    const file = message.file;
    if (request.offset >= file.size) {
      throw new ProtocolError(
        "bad_message",
        `offset ${request.offset} is past the end of the file (${file.size} bytes)`,
        { ref },
      );
    }
    const blob = await this.#service.store.openBlob(file.sha256);
    if (blob === null) throw noSuchFile();
    if (this.#closed) {
      blob.close();
      return;
    }
    const stream = this.#nextStream++;
    const download: DownloadStream = { stream, taken: request.offset, wake: null, ended: false };
    this.#downloads.set(stream, download);
    const answer: ServerMessage = {
      type: "download",
      stream,
      id: message.id,
      file,
      offset: request.offset,
      chunk: this.#service.chunkBytes,
      window: transferWindowBytes,
    };
    if (ref !== undefined) answer.ref = ref;
    this.#peer.send(answer);
    void this.#pump(download, blob, file, request.offset);
  }

  /** `got`: the client took bytes up to `offset`; the window moves on. */
  got(message: GotMessage): void {
    const download = this.#downloads.get(message.stream);
    if (download === undefined || message.offset <= download.taken) return;
    download.taken = message.offset;
    this.#wake(download);
  }

  /** `cancel`: stops a stream; `discard` drops an upload's bytes. */
  async cancel(request: CancelRequest): Promise<void> {
    const download = this.#downloads.get(request.stream);
    if (download !== undefined) {
      this.#endDownload(download);
      return;
    }
    const entry = this.#uploads.get(request.stream);
    if (entry === undefined) return;
    this.#endUpload(entry);
    if (request.discard) {
      await entry.writing;
      await this.#service.store.discardUpload(entry.upload.token);
    }
  }

  /** `files`: a conversation's newest files. */
  async files(request: FilesRequest): Promise<void> {
    this.#peer.takeRequest(request.ref);
    this.#peer.sendAnswer(await this.#peer.room.filesPage(this.#peer.member, request));
  }

  /** Another connection resumes `token`: this one lets go of it (UploadOwner). */
  async release(token: string): Promise<void> {
    for (const entry of this.#uploads.values()) {
      if (entry.upload.token !== token) continue;
      this.#uploads.delete(entry.stream);
      await entry.writing;
      entry.upload.close();
      this.#peer.send(
        errorMessage("busy", "this upload was resumed from another connection", entry.ref),
      );
    }
    if (this.#uploads.size === 0) this.#peer.largeReads(false);
  }

  /** The connection ended: downloads stop, uploads stay on disk to be resumed. */
  close(): void {
    this.#closed = true;
    for (const download of [...this.#downloads.values()]) this.#endDownload(download);
    for (const entry of [...this.#uploads.values()]) this.#endUpload(entry);
  }

  async #finish(entry: UploadStream): Promise<void> {
    const { upload, ref } = entry;
    this.#uploads.delete(entry.stream);
    if (this.#uploads.size === 0) this.#peer.largeReads(false);
    const service = this.#service;
    let matched: boolean;
    try {
      matched = await service.store.completeUpload(upload);
    } catch (error) {
      service.unclaim(upload.token, this);
      this.#peer.log(`files: cannot store a finished upload: ${String(error)}`);
      throw new ProtocolError(
        "store_full",
        "the server could not store the file (its disk may be full); send it again later",
        { ref },
      );
    } finally {
      upload.close();
    }
    service.unclaim(upload.token, this);
    if (!matched) {
      throw new ProtocolError(
        "file_corrupt",
        `${upload.meta.name} arrived, but its SHA-256 is not the one announced; it was dropped: ` +
          "send it again",
        { ref },
      );
    }
    const meta = upload.meta;
    const file: FileInfo = {
      name: meta.name,
      size: meta.size,
      mime: meta.mime,
      sha256: meta.sha256,
    };
    const text = fileBodyText(meta.name, meta.size);
    const id = await this.#peer.room.say(this.#peer.member, {
      type: "say",
      body: encodeBody(text),
      text,
      kind: "text",
      ...entry.target,
      ...(ref === undefined ? {} : { ref }),
    }, file);
    this.#peer.send({
      type: "uploaded",
      stream: entry.stream,
      id,
      ...(ref === undefined ? {} : { ref }),
    });
  }

  /** Sends a download's chunks: read ahead a few, never more than a window beyond `got`. */
  async #pump(
    download: DownloadStream,
    blob: Deno.FsFile,
    file: FileInfo,
    from: number,
  ): Promise<void> {
    const chunkBytes = this.#service.chunkBytes;
    let offset = from;
    const ahead = new Uint8Array(chunkBytes * downloadReadChunks);
    let aheadAt = from, aheadLength = 0;
    const inFlight: Promise<boolean>[] = [];
    try {
      await blob.seek(from, Deno.SeekMode.Start);
      // Bounded by the file's size: each round sends at least one byte or ends.
      while (offset < file.size && !download.ended) {
        const length = Math.min(chunkBytes, file.size - offset);
        if (offset + length - download.taken > transferWindowBytes) {
          await new Promise<void>((resolve) => download.wake = resolve);
          continue;
        }
        // The file is read several chunks at a time (fewer reads), then cut into payloads.
        if (offset + length > aheadAt + aheadLength) {
          aheadAt = offset;
          aheadLength = Math.min(ahead.length, file.size - offset);
          let filled = 0;
          while (filled < aheadLength) {
            const count = await blob.read(ahead.subarray(filled, aheadLength));
            if (count === null || count === 0) throw new Error("the file is shorter than recorded");
            filled += count;
          }
          if (download.ended) break;
        }
        // Built in its frame: one buffer and one copy per chunk on its way to the socket.
        const frame = new Uint8Array(4 + chunkHeaderBytes + length);
        new DataView(frame.buffer).setUint32(0, chunkHeaderBytes + length);
        const payload = frame.subarray(4);
        payload.set(ahead.subarray(offset - aheadAt, offset - aheadAt + length), chunkHeaderBytes);
        writeChunkHeader(payload, download.stream, offset);
        offset += length;
        inFlight.push(this.#peer.sendData(payload, frame));
        if (inFlight.length >= downloadReadAhead) {
          if (!await inFlight.shift()!) break;
        }
      }
      await Promise.all(inFlight);
    } catch (error) {
      if (!download.ended) {
        this.#peer.log(`files: a download stopped: ${String(error)}`);
        this.#peer.send(
          errorMessage("no_such_file", "the server could not read the file; try again later"),
        );
      }
    } finally {
      blob.close();
      this.#endDownload(download);
    }
  }

  #wake(download: DownloadStream): void {
    const wake = download.wake;
    download.wake = null;
    wake?.();
  }

  #endDownload(download: DownloadStream): void {
    download.ended = true;
    this.#downloads.delete(download.stream);
    this.#wake(download);
  }

  #endUpload(entry: UploadStream): void {
    if (!this.#uploads.delete(entry.stream)) return;
    const { upload } = entry;
    // Let go once the last write is done: a resume reopens the file after it, never beside it.
    void entry.writing.then(() => {
      upload.close();
      this.#service.unclaim(upload.token, this);
    });
    if (this.#uploads.size === 0) this.#peer.largeReads(false);
  }
}
