/**
 * Where `/get N [PATH]` saves a file (issue #16).
 *
 * Owns: the rules of the save path: no PATH, or a folder, keeps the file's
 * own name made safe (lib/wire/file_chunk.ts safeFileName) in the current
 * folder or that one; an existing file is never replaced (`report (1).pdf`,
 * `report (2).pdf`, ...); the bytes go to `PATH.part` first, so the same
 * `/get` after an interruption finds them and resumes; a file whose name is
 * not known yet goes to `lanchat-file-N.part` until the server says it (the
 * `.part` that `lanchat get N` uses there too, so either resumes the other).
 * Reads the disk with Deno.lstatSync only; imports lib/wire/file_chunk.ts,
 * lib/wire/protocol.ts types, lib/client/terminal/path_completion.ts and file_disk.ts (pathExists).
 */
import { safeFileName } from "../../wire/file_chunk.ts";
import type { FileInfo } from "../../wire/protocol.ts";
import { expandHome } from "./path_completion.ts";
import { pathExists } from "./file_disk.ts";

/** Most ` (N)` tried before giving up on a free name. */
export const maxNameTries = 999;

/** Where a download goes: its `.part` now, and the final path once its name is known. */
export interface DownloadPlan {
  /** Bytes go here while they come (resumed from when it holds some). */
  partPath: string;
  /** The final path, from what the server says of the file (the name, when it was not known). */
  finalPath(file: FileInfo): string;
}

/** Options of {@link planDownload}. */
export interface PlanOptions {
  /** Where relative paths start and files go without PATH. */
  cwd: string;
  /** What `~` stands for; null: not expanded. */
  home: string | null;
  /** Whether something is at `path`. Default: Deno.lstatSync finds it. */
  exists?: (path: string) => boolean;
  /** Whether `path` is a folder. Default: Deno.statSync says so. */
  isFolder?: (path: string) => boolean;
}

/** A save path could not be chosen; `message` says why, for people. */
export class DownloadPathError extends Error {
  override name = "DownloadPathError";
}

/**
 * Plans where file `id` goes: `typed` is the PATH of `/get N PATH` as typed
 * (quotes gone), null without one; `file` what is known of it (from a
 * message or /files), null when nothing is.
 *
 * @example
 * planDownload(12, null, { name: "report.pdf", ... }, { cwd: "/home/ana", home: "/home/ana" });
 * // { partPath: "/home/ana/report.pdf.part", finalPath: () => "/home/ana/report.pdf" }
 */
export function planDownload(
  id: number,
  typed: string | null,
  file: FileInfo | null,
  options: PlanOptions,
): DownloadPlan {
  const exists = options.exists ?? pathExists;
  const isFolder = options.isFolder ?? folderExists;
  const cwd = options.cwd.replace(/(?<=.)\/+$/, "");
  let folder = cwd;
  let name: string | null = null;
  if (typed !== null) {
    const path = absolute(expandHome(typed, options.home), cwd);
    if (typed.endsWith("/") || isFolder(path)) {
      if (!isFolder(path)) throw new DownloadPathError(`there is no folder ${path}`);
      folder = path.replace(/(?<=.)\/+$/, "");
    } else {
      const slash = path.lastIndexOf("/");
      folder = slash <= 0 ? "/" : path.slice(0, slash);
      name = path.slice(slash + 1);
    }
  }
  if (name === null && file !== null) name = safeFileName(file.name);
  if (name !== null) {
    const finalPath = freePath(folder, name, exists);
    return { partPath: `${finalPath}.part`, finalPath: () => finalPath };
  }
  // The name comes with the server's answer: the bytes wait under the file's number.
  return {
    partPath: join(folder, `lanchat-file-${id}.part`),
    finalPath: (info) => freePath(folder, safeFileName(info.name), exists),
  };
}

/**
 * `folder/name`, or `folder/name (1).ext`, `(2)`, ... when something is
 * there already: never an existing file.
 */
export function freePath(folder: string, name: string, exists: (path: string) => boolean): string {
  const first = join(folder, name);
  if (!exists(first)) return first;
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const extension = dot > 0 ? name.slice(dot) : "";
  for (let number = 1; number <= maxNameTries; number++) {
    const candidate = join(folder, `${stem} (${number})${extension}`);
    if (!exists(candidate)) return candidate;
  }
  throw new DownloadPathError(
    `${first} and ${maxNameTries} numbered copies of it exist already; give another PATH`,
  );
}

function join(folder: string, name: string): string {
  return folder.endsWith("/") ? `${folder}${name}` : `${folder}/${name}`;
}

function absolute(path: string, cwd: string): string {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return path;
  return join(cwd, path.replace(/^\.\//, ""));
}

function folderExists(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
