/**
 * Which files the page shows as pictures: what a file message declares
 * (one of four raster types, small enough to fetch by itself), and what its
 * first bytes really are (PNG, JPEG, GIF or WebP by their magic numbers, with
 * the picture's size when the header says it). A file's declared type is the
 * sender's word (PROTOCOL.md section 10.1) and never enough: SVG, HTML or
 * anything else is never rendered, whatever it says it is.
 *
 * Owns: the four types, the size limit of automatic fetches, the magic
 * numbers and the header sizes. Pure: no DOM. Imports lib/wire/protocol.ts (types) only.
 */
import type { FileInfo } from "../../wire/protocol.ts";

/** Largest file fetched by itself to be shown as a picture. */
export const maxPreviewBytes = 10 * 1024 * 1024;
/** Largest picture decoded (width × height): a small file must not unpack into gigabytes. */
export const maxPreviewPixels = 50_000_000;

/** The raster types the page shows; never SVG (a document that can hold scripts and links). */
const previewTypes: ReadonlySet<string> = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
]);

/** What the bytes of a picture say: its type, and its size when the header holds it. */
export interface SniffedImage {
  type: "image/png" | "image/jpeg" | "image/gif" | "image/webp";
  width: number | null;
  height: number | null;
}

/** True when a file message declares a picture the page may fetch by itself to show. */
export function isPreviewCandidate(file: FileInfo): boolean {
  return previewTypes.has(file.mime.toLowerCase()) && file.size <= maxPreviewBytes;
}

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  return bytes.length >= at + magic.length && magic.every((byte, i) => bytes[at + i] === byte);
}

const pngMagic = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const jpegMagic = [0xff, 0xd8, 0xff];
const gifMagic = [0x47, 0x49, 0x46, 0x38]; // "GIF8"
const riffMagic = [0x52, 0x49, 0x46, 0x46]; // "RIFF"
const webpMagic = [0x57, 0x45, 0x42, 0x50]; // "WEBP" at 8

/**
 * What `head` (a file's first bytes; 64 KB finds a JPEG's size behind its
 * metadata) is: one of the four pictures, or null for anything else.
 *
 * @example
 * sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])); // { type: "image/jpeg", ... }
 */
export function sniffImage(head: Uint8Array): SniffedImage | null {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const size = (at: number, read: (offset: number) => number, plus = 0) =>
    head.length >= at + 4 ? read(at) + plus : null;
  if (startsWith(head, pngMagic)) {
    // IHDR: width and height, big-endian, at 16 and 20.
    return {
      type: "image/png",
      width: size(16, (at) => view.getUint32(at)),
      height: size(20, (at) => view.getUint32(at)),
    };
  }
  if (startsWith(head, gifMagic)) {
    return {
      type: "image/gif",
      width: size(6, (at) => view.getUint16(at, true)),
      height: size(8, (at) => view.getUint16(at, true)),
    };
  }
  if (startsWith(head, riffMagic) && startsWith(head, webpMagic, 8)) {
    return { type: "image/webp", ...webpSize(head, view) };
  }
  if (startsWith(head, jpegMagic)) return { type: "image/jpeg", ...jpegSize(head, view) };
  return null;
}

/** True when a picture of this size may be decoded (unknown sizes are left to the browser). */
export function decodable(image: SniffedImage): boolean {
  return image.width === null || image.height === null ||
    image.width * image.height <= maxPreviewPixels;
}

type Size = { width: number | null; height: number | null };
const unknownSize: Size = { width: null, height: null };

/** The canvas of a VP8X, VP8L or VP8 WebP. */
function webpSize(head: Uint8Array, view: DataView): Size {
  if (head.length < 30) return unknownSize;
  const chunk = String.fromCharCode(...head.subarray(12, 16));
  const uint24 = (at: number) => view.getUint16(at, true) + (view.getUint8(at + 2) << 16);
  if (chunk === "VP8X") return { width: uint24(24) + 1, height: uint24(27) + 1 };
  if (chunk === "VP8L") {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8 ") {
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  return unknownSize;
}

/** The size in a JPEG's first start-of-frame segment, when it lies within `head`. */
function jpegSize(head: Uint8Array, view: DataView): Size {
  let at = 2;
  // Bounded by `head`: each round moves past one segment (at least 2 bytes).
  while (at + 9 <= head.length) {
    if (head[at] !== 0xff) return unknownSize;
    const marker = head[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const startOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
      marker !== 0xc8 && marker !== 0xcc;
    if (startOfFrame) return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    at += 2 + view.getUint16(at + 2);
  }
  return unknownSize;
}
