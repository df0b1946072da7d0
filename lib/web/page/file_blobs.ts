/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The browser's side of file transfer: where an upload's bytes come from (a
 * File the person chose, dropped or pasted, read a slice at a time), where a
 * download's go (Blob parts of about a megabyte, never one giant buffer),
 * saving a Blob as a download, and a picture's thumbnail (decoded by
 * `createImageBitmap`, drawn smaller on a canvas).
 *
 * Owns: those four. A picture sink refuses bytes that are not PNG, JPEG, GIF
 * or WebP (image_bytes.ts) at the first chunk and again at the end, and the
 * Blob it makes carries the type its bytes showed, never the declared one.
 * Imports lib/client/files/ (contracts), lib/wire/file_chunk.ts, image_bytes.ts and the DOM.
 */
import type { FileSink, FileSource } from "../../client/files/transfer_types.ts";
import { unknownFileType } from "../../wire/file_chunk.ts";
import { decodable, type SniffedImage, sniffImage } from "./image_bytes.ts";

/** A download's bytes are gathered this much at a time into one Blob part. */
const partBytes = 1024 * 1024;
/** Bytes read back from a finished picture to check what it is (a JPEG's size may lie behind metadata). */
const headBytes = 64 * 1024;
/** Longest side of a thumbnail in CSS pixels. */
export const thumbnailBox = { width: 320, height: 240 };
/** How long a saved download's address stays good (the browser has taken the Blob by then). */
const revokeAfterMs = 60_000;

/**
 * An upload's bytes from `file`, read a slice at a time. A pasted file
 * without a name gets one; a type the browser does not know is said unknown.
 */
export function fileSource(file: File): FileSource {
  const name = file.name === "" ? "pasted-file" : file.name;
  return {
    name,
    size: file.size,
    mime: file.type === "" ? unknownFileType : file.type,
    read: async (offset, length) =>
      new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()),
  };
}

/**
 * A download kept in memory as Blob parts of about a megabyte (a Blob may
 * live on disk in the browser; one ArrayBuffer of the whole file may not fit).
 * `picture`: refuse anything that is not one of the four pictures.
 */
export class BlobSink implements FileSink {
  readonly held = 0;
  /** The file, once all of it came and its SHA-256 matched. */
  blob: Blob | null = null;
  /** What a picture's bytes showed (with `picture`), once finished. */
  image: SniffedImage | null = null;
  readonly #picture: boolean;
  #parts: Blob[] = [];
  #staging = new Uint8Array(partBytes);
  #filled = 0;

  constructor(options: { picture?: boolean } = {}) {
    this.#picture = options.picture ?? false;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    if (this.#picture && offset === 0 && data.length >= 12 && !pictureOk(data)) {
      return Promise.reject(new Error("not a picture the page shows"));
    }
    let at = 0;
    // Bounded by `data`: each round copies at least one byte (the staging part is emptied when full).
    while (at < data.length) {
      const count = Math.min(data.length - at, partBytes - this.#filled);
      this.#staging.set(data.subarray(at, at + count), this.#filled);
      this.#filled += count;
      at += count;
      if (this.#filled === partBytes) this.#flush();
    }
    return Promise.resolve();
  }

  async finish(): Promise<void> {
    this.#flush();
    const whole = new Blob(this.#parts);
    this.#parts = [];
    if (this.#picture) {
      const image = sniffImage(new Uint8Array(await whole.slice(0, headBytes).arrayBuffer()));
      if (image === null || !decodable(image)) throw new Error("not a picture the page shows");
      this.image = image;
      this.blob = new Blob([whole], { type: image.type });
    } else {
      // Saved, never opened by the page: no type for the browser to act on.
      this.blob = new Blob([whole], { type: "application/octet-stream" });
    }
  }

  abandon(): Promise<void> {
    this.#parts = [];
    this.#filled = 0;
    return Promise.resolve();
  }

  #flush(): void {
    if (this.#filled === 0) return;
    // Blob copies the bytes: the staging part is reused.
    this.#parts.push(new Blob([this.#staging.subarray(0, this.#filled)]));
    this.#filled = 0;
  }
}

function pictureOk(head: Uint8Array): boolean {
  const image = sniffImage(head);
  return image !== null && decodable(image);
}

/** Saves `blob` under `name` as the browser saves a download (an `<a download>` click). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), revokeAfterMs);
}

/** A picture made small: its address (revoke it when done), and its size in CSS pixels. */
export interface Thumbnail {
  url: string;
  width: number;
  height: number;
}

/**
 * A thumbnail of the picture in `blob`, at most {@link thumbnailBox} (drawn at
 * twice that on sharp screens); rejects when the browser cannot decode it.
 */
export async function makeThumbnail(blob: Blob): Promise<Thumbnail> {
  const bitmap = await createImageBitmap(blob);
  try {
    const scale = Math.min(
      1,
      thumbnailBox.width / bitmap.width,
      thumbnailBox.height / bitmap.height,
    );
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const density = Math.min(2, Math.max(1, devicePixelRatio), 1 / scale);
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(width * density);
    canvas.height = Math.round(height * density);
    const context = canvas.getContext("2d");
    if (context === null) throw new Error("no canvas to draw a thumbnail on");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const small = await new Promise<Blob | null>((resolve) =>
      canvas.toBlob(resolve, "image/webp", 0.85)
    );
    if (small === null) throw new Error("could not make a thumbnail");
    return { url: URL.createObjectURL(small), width, height };
  } finally {
    bitmap.close();
  }
}
