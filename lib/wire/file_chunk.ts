/**
 * File transfer on the wire (PROTOCOL.md section 10): data payloads, the
 * flow-control constants and the rules on a file's name, type and hash.
 *
 * Owns: the 13-byte header of a data payload (0x00, stream, offset), the
 * largest chunk, the window, and the one check of a file's name, media type
 * and SHA-256 that the server, the terminal and the page share.
 * Pure code: no sockets, no files, no JSON. Imports only lib/frame.ts.
 */
import { maxPayloadBytes } from "../frame.ts";

/** First byte of a data payload; a JSON payload never starts with it. */
export const dataPayloadTag = 0x00;
/** Bytes in front of a chunk's data: the tag, a 4-byte stream, an 8-byte offset. */
export const chunkHeaderBytes = 13;
/** The 16-byte tag of a Noise transport message (section 5). */
const noiseTagBytes = 16;
/** Largest data in one chunk: a full frame less the header and a Noise tag (65,506). */
export const maxChunkBytes = maxPayloadBytes - chunkHeaderBytes - noiseTagBytes;
/** Bytes of a transfer in flight beyond what the other side acknowledged. */
export const transferWindowBytes = 4 * 1024 * 1024;
/**
 * A receiver acknowledges about this often: a quarter window. (Every sixteenth made a 1 GiB
 * download 60% slower: each `got` woke the sender for a few chunks at a time.)
 */
export const acknowledgeEveryBytes = acknowledgeEvery(transferWindowBytes);

/** How often a receiver acknowledges, for a transfer of this window (a quarter of it). */
export function acknowledgeEvery(windowBytes: number): number {
  return Math.max(1, Math.floor(windowBytes / 4));
}
/** Longest file name, in UTF-16 code units. */
export const maxFileNameLength = 255;
/** Longest media type. */
export const maxFileTypeLength = 100;
/** What `type` says when the sender did not know. */
export const unknownFileType = "application/octet-stream";

/** One data payload, decoded. `data` is a view into the payload, not a copy. */
export interface FileChunk {
  stream: number;
  offset: number;
  data: Uint8Array;
}

/** True when `payload` is a data payload rather than JSON. */
export function isDataPayload(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === dataPayloadTag;
}

/** Builds a data payload: header, then a copy of `data` (1 .. maxChunkBytes bytes). */
export function encodeChunk(stream: number, offset: number, data: Uint8Array): Uint8Array {
  if (data.length < 1 || data.length > maxChunkBytes) {
    throw new RangeError(`a chunk carries 1..${maxChunkBytes} bytes, got ${data.length}`);
  }
  const payload = new Uint8Array(chunkHeaderBytes + data.length);
  writeChunkHeader(payload, stream, offset);
  payload.set(data, chunkHeaderBytes);
  return payload;
}

/**
 * Writes the header into the first 13 bytes of `payload` (whose data a sender
 * read into place after them, saving a copy).
 */
export function writeChunkHeader(payload: Uint8Array, stream: number, offset: number): void {
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffff_ffff) {
    throw new RangeError(`stream must be a 32-bit unsigned integer, got ${stream}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a safe integer >= 0, got ${offset}`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, chunkHeaderBytes);
  view.setUint8(0, dataPayloadTag);
  view.setUint32(1, stream);
  view.setUint32(5, Math.floor(offset / 0x1_0000_0000));
  view.setUint32(9, offset % 0x1_0000_0000);
}

/** Reads a data payload; null when it is not one, too short, or its offset is not a safe integer. */
export function decodeChunk(payload: Uint8Array): FileChunk | null {
  if (payload.length <= chunkHeaderBytes || payload[0] !== dataPayloadTag) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, chunkHeaderBytes);
  const high = view.getUint32(5);
  if (high > 0x1f_ffff) return null; // 2^53 and above
  return {
    stream: view.getUint32(1),
    offset: high * 0x1_0000_0000 + view.getUint32(9),
    data: payload.subarray(chunkHeaderBytes),
  };
}

/** Control and text-direction characters: they would let a file's name show as another. */
const lyingCharacters = /[\p{Cc}\u202A-\u202E\u2066-\u2069\u200E\u200F]/u;

/** Why `name` cannot be a file's name, or null when it can. */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0) return "a file name cannot be empty";
  if (name.length > maxFileNameLength) {
    return `a file name is at most ${maxFileNameLength} characters`;
  }
  if (name === "." || name === "..") return "a file name cannot be '.' or '..'";
  // Separators would make a name a path; control and bidi characters would let a name lie.
  if (/[/\\]/.test(name) || lyingCharacters.test(name)) {
    return "a file name cannot hold '/', '\\', control or text-direction characters";
  }
  return null;
}

/** Why `type` cannot be a media type, or null when it can (type/subtype, printable ASCII). */
export function fileTypeProblem(type: string): string | null {
  if (type.length > maxFileTypeLength) {
    return `a media type is at most ${maxFileTypeLength} characters`;
  }
  if (!/^[\w.+-]+\/[\w.+-]+$/.test(type)) return "a media type looks like 'image/png'";
  return null;
}

/** True for 64 lowercase hex digits. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/**
 * A name that is safe to save under, from whatever a sender called the file:
 * the last path part, without control or direction characters, never empty,
 * never hidden (a leading dot), at most 255 characters.
 */
export function safeFileName(name: string): string {
  const last = name.split(/[/\\]/).pop() ?? "";
  const cleaned = last.replace(new RegExp(lyingCharacters.source, "gu"), "")
    .replace(/^\.+/, "").trim().slice(0, maxFileNameLength);
  return cleaned.length > 0 ? cleaned : "file";
}

/** A size as people read it: "812 B", "3.4 KB", "2.1 MB", "1.0 GB" (1000-based, as file managers say). */
export function formatFileSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The `body` line of a file message for clients that do not know `file`: "📎 NAME (SIZE)". */
export function fileBodyText(name: string, size: number): string {
  return `📎 ${name} (${formatFileSize(size)})`;
}
