/**
 * Files on this machine's disk for file transfers: where `lanchat send`
 * (and the terminal's /send) reads, where `lanchat get` (and /get) writes,
 * and the SHA-256 of node:crypto.
 *
 * Owns: {@link openFileSource} (Deno.open, seek and read), {@link openPartSink}
 * (bytes go to `PATH.part`, appended; renamed to the file's name only once
 * its SHA-256 matched; an interrupted download resumes from the `.part`),
 * and {@link nodeSha256}. Imports Deno, node:crypto, node:path,
 * lib/wire/file_chunk.ts and lib/client/files/ only.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { FileInfo } from "../../wire/protocol.ts";
import { mediaTypeOf } from "../files/media_types.ts";
import type { FileSink, FileSource, Sha256Factory } from "../files/transfer_types.ts";

/** SHA-256 by node:crypto (native, much faster than pure JavaScript). */
export const nodeSha256: Sha256Factory = () => {
  const hash = createHash("sha256");
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => hash.digest("hex"),
  };
};

/** A file on disk could not be used; `message` says which and why, for people. */
export class DiskFileError extends Error {
  override name = "DiskFileError";
}

/**
 * The file at `path` as an upload's source: its name (the last path part),
 * size, a media type guessed from the name. Throws {@link DiskFileError}
 * when it is missing, not a regular file, or unreadable.
 *
 * @example
 * const source = await openFileSource("./report.pdf");
 * session.sendFile(source, { channel: "#ops" });
 */
export async function openFileSource(path: string): Promise<FileSource> {
  let file: Deno.FsFile;
  let size: number;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new DiskFileError(`${path} is not a file`);
    size = info.size;
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof DiskFileError) throw error;
    throw new DiskFileError(`cannot read ${path}: ${diskProblem(error)}`, { cause: error });
  }
  const name = basename(path);
  let closed = false;
  return {
    name,
    size,
    mime: mediaTypeOf(name),
    read: (offset, length) => readAt(file, offset, length),
    close: () => {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}

/** `length` bytes of `file` from `offset`; fewer only at its end. */
async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let filled = 0;
  // Bounded by `length`: each round reads at least one byte or ends at the end of the file.
  while (filled < length) {
    const count = await file.read(buffer.subarray(filled));
    if (count === null || count === 0) break;
    filled += count;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** Options of {@link openPartSink}. */
export interface PartSinkOptions {
  /** Where the bytes go while they come: a file that may hold the start of this file already. */
  partPath: string;
  /**
   * Where the whole file goes, once the server said what it is (its name,
   * size and SHA-256): called before the first byte is written.
   */
  finalPath: (file: FileInfo) => string;
  /** Replace a file already at the final path. Default false: the download stops before a byte comes. */
  force?: boolean;
}

/** Bytes of a download gathered before one write to its `.part`. */
const partBatchBytes = 1024 * 1024;

/**
 * A download's sink on disk: bytes are appended to `partPath` (whose bytes,
 * left by an interrupted run, are the resume point), and the file is
 * renamed to its final path once its SHA-256 matched.
 *
 * @example
 * const sink = await openPartSink({ partPath: "out.pdf.part", finalPath: () => "out.pdf" });
 * await session.getFile(42, sink).done;
 */
export async function openPartSink(
  options: PartSinkOptions,
): Promise<FileSink & { path: string | null }> {
  const { partPath } = options;
  let file: Deno.FsFile;
  let held: number;
  try {
    file = await Deno.open(partPath, { read: true, append: true, create: true });
    held = (await file.stat()).size;
  } catch (error) {
    throw new DiskFileError(`cannot write ${partPath}: ${diskProblem(error)}`, { cause: error });
  }
  let open = true;
  let finalPath: string | null = null;
  // Chunks are gathered and written a batch at a time (one write for 16 chunks, not 16): `held`
  // counts them at once; `.part` has them once flushed, and a resume starts from what it has.
  let batch = new Uint8Array(partBatchBytes), batched = 0;
  const flush = async () => {
    let written = 0;
    while (written < batched) written += await file.write(batch.subarray(written, batched));
    batched = 0;
  };
  const close = () => {
    if (!open) return;
    open = false;
    file.close();
  };
  const sink = {
    get held() {
      return held;
    },
    get path() {
      return finalPath;
    },
    begin(info: FileInfo): Promise<void> {
      finalPath = options.finalPath(info);
      if (options.force !== true && pathExists(finalPath)) {
        return Promise.reject(
          new DiskFileError(
            `${finalPath} exists already; use --force to replace it, or -o to save elsewhere`,
          ),
        );
      }
      return Promise.resolve();
    },
    async write(offset: number, data: Uint8Array): Promise<void> {
      if (offset !== held) throw new RangeError(`write at ${offset}, but ${held} bytes are held`);
      if (batched + data.length > batch.length) await flush();
      if (data.length > batch.length) batch = new Uint8Array(data.length);
      batch.set(data, batched);
      batched += data.length;
      held += data.length;
    },
    readHeld: async (offset: number, length: number) => {
      await flush();
      return await readAt(file, offset, length);
    },
    async finish(): Promise<void> {
      if (finalPath === null) throw new Error("finish before begin");
      await flush();
      await file.syncData();
      close();
      await Deno.rename(partPath, finalPath);
    },
    async abandon(keep: boolean): Promise<void> {
      if (keep && open) await flush().catch(() => {});
      close();
      // An empty `.part` holds nothing to resume from.
      if (!keep || held === 0) await Deno.remove(partPath).catch(() => {});
    },
  };
  return sink;
}

/** True when something (a file, a folder, a link) is at `path`. */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A file system error in a few words ("no such file", "permission denied"). */
export function diskProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or folder";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error \d+\)$/, "").replace(/, (open|stat|rename) '.*'$/, "");
}
