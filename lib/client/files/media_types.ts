/**
 * A media type for a file from its name, for the `mime` of an `upload`
 * (PROTOCOL.md section 10.1: a hint the sender declares, never trusted to
 * render anything). The page has the browser's `File.type`; the terminal
 * has only the name.
 *
 * Owns: the small table of common extensions. Pure: imports lib/wire/file_chunk.ts only.
 */
import { unknownFileType } from "../../wire/file_chunk.ts";

const byExtension: Readonly<Record<string, string>> = {
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  json: "application/json",
  xml: "application/xml",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  xz: "application/x-xz",
  "7z": "application/x-7z-compressed",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  wav: "audio/wav",
  mp4: "video/mp4",
  webm: "video/webm",
  mkv: "video/x-matroska",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  odt: "application/vnd.oasis.opendocument.text",
};

/**
 * The media type a file named `name` most likely has; `application/octet-stream` when unknown.
 *
 * @example
 * mediaTypeOf("report.PDF"); // "application/pdf"
 */
export function mediaTypeOf(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return unknownFileType;
  return byExtension[name.slice(dot + 1).toLowerCase()] ?? unknownFileType;
}
