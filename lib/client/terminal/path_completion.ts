/**
 * Tab completion of paths after `/send ` and `/get N ` (issue #16).
 *
 * Owns: which word of the input line is a path, the files and folders of
 * the folder it names that start with what was typed (hidden ones only when
 * a dot was typed), completing to the only match (a folder gets `/`, a file a
 * closing quote and a space) or to the matches' common prefix, the list shown
 * when there is nothing to add, the bound on how much of a folder is read,
 * and `~` as the home folder. Quoting follows lib/client/commands.ts
 * (scanQuotedWords, quoteWord), so a completed path reads back as typed.
 * Reads folders with Deno's synchronous calls (a Tab press is answered at
 * once); imports lib/client/commands.ts only.
 */
import { parseLine, type QuoteMark, quoteWord, scanQuotedWords } from "../commands.ts";

/** Most entries of one folder read for a completion: a huge folder is not listed whole. */
export const maxFolderEntries = 2000;

/** Most names shown when several match and nothing can be added. */
export const maxChoicesShown = 40;

/** One entry of a folder. */
export interface FolderEntry {
  name: string;
  /** A folder (or a link to one). */
  folder: boolean;
}

/** What a folder read gave: at most the limit's entries, and whether there were more. */
export interface FolderListing {
  entries: FolderEntry[];
  partial: boolean;
}

/** Options of {@link completePath}. */
export interface PathCompletionOptions {
  /** Where relative paths start. Default: Deno.cwd(). */
  cwd?: string;
  /** What `~` stands for. Default: HOME (USERPROFILE on Windows); null: `~` is not expanded. */
  home?: string | null;
  /** Reads at most `limit` entries of `path`. Default: Deno.readDirSync. */
  listFolder?: (path: string, limit: number) => FolderListing;
}

/** What Tab does on a path. */
export interface PathCompletion {
  /** The text that replaces the word before the cursor (from where the editor's word starts); null: nothing to add. */
  replacement: string | null;
  /** Several matches and nothing to add: their names (folders end in `/`), at most {@link maxChoicesShown}. */
  choices: string[];
  /** Matches not in `choices`. */
  more: number;
  /** The folder had more than {@link maxFolderEntries} entries: only those were looked at. */
  partial: boolean;
}

/**
 * Completes the path being typed, when the cursor is in one: `line` is the
 * input up to the cursor, `wordStart` where the editor's word (back to a
 * space) starts in it. Null when the cursor is not in a path of `/send` or
 * `/get N`, or the folder cannot be read.
 *
 * @example
 * completePath("/send ~/Doc", 6, { home: "/home/ana" });
 * // { replacement: "~/Documents/", choices: [], more: 0, partial: false }
 */
export function completePath(
  line: string,
  wordStart: number,
  options: PathCompletionOptions = {},
): PathCompletion | null {
  const token = pathToken(line);
  if (token === null || wordStart < token.start) return null;
  const home = options.home === undefined ? homeFolder() : options.home;
  const quote: QuoteMark | null = line[token.start] === '"' || line[token.start] === "'"
    ? line[token.start] as QuoteMark
    : null;
  const typed = token.value;
  if (typed === "~" && home !== null) {
    return finish(line, token.start, wordStart, quoteWord("~/", quote, false), false);
  }
  const slash = typed.lastIndexOf("/");
  const folderTyped = typed.slice(0, slash + 1);
  const prefix = typed.slice(slash + 1);
  const folderPath = resolveFolder(folderTyped, options.cwd ?? currentFolder(), home);
  if (folderPath === null) return null;
  let listing: FolderListing;
  try {
    listing = (options.listFolder ?? readFolder)(folderPath, maxFolderEntries);
  } catch {
    return null; // Not a folder, or not readable: Tab does nothing.
  }
  const matches = listing.entries
    .filter((entry) =>
      entry.name.startsWith(prefix) && (prefix.startsWith(".") || !entry.name.startsWith("."))
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const only = matches.length === 1 ? matches[0]! : null;
  if (only !== null) {
    const value = folderTyped + only.name + (only.folder ? "/" : "");
    const raw = quoteWord(value, quote, !only.folder) + (only.folder ? "" : " ");
    return finish(line, token.start, wordStart, raw, listing.partial);
  }
  if (matches.length === 0) {
    return { replacement: null, choices: [], more: 0, partial: listing.partial };
  }
  const common = commonPrefix(matches.map((entry) => entry.name));
  if (common.length > prefix.length) {
    const raw = quoteWord(folderTyped + common, quote, false);
    return finish(line, token.start, wordStart, raw, listing.partial);
  }
  const names = matches.map((entry) => entry.name + (entry.folder ? "/" : ""));
  return {
    replacement: null,
    choices: names.slice(0, maxChoicesShown),
    more: Math.max(0, names.length - maxChoicesShown),
    partial: listing.partial,
  };
}

/** The path word the cursor is at the end of, or null when it is not in one. */
function pathToken(line: string): { value: string; start: number } | null {
  const parsed = parseLine(line);
  if (parsed.kind !== "command") return null;
  const name = parsed.name.toLowerCase();
  if (name !== "send" && name !== "get") return null;
  const words = scanQuotedWords(line);
  const last = words.at(-1);
  // The cursor ends the last word, or stands after a space: then it starts a new, empty word.
  const token = last !== undefined && last.end === line.length
    ? { value: last.value, start: last.start, index: words.length - 1 }
    : { value: "", start: line.length, index: words.length };
  if (name === "send") return token.index >= 1 ? token : null;
  // `/get N PATH`: the third word, after a number.
  return token.index === 2 && /^\d+$/.test(words[1]?.value ?? "") ? token : null;
}

/** The replacement for the editor's word, when `raw` (the whole new path word) extends what was typed. */
function finish(
  line: string,
  tokenStart: number,
  wordStart: number,
  raw: string,
  partial: boolean,
): PathCompletion {
  const typedBefore = line.slice(tokenStart, wordStart);
  const typedAll = line.slice(tokenStart);
  // Written differently from how completion would write it (other escapes): leave it be.
  if (!raw.startsWith(typedBefore) || raw === typedAll) {
    return { replacement: null, choices: [], more: 0, partial };
  }
  return { replacement: raw.slice(typedBefore.length), choices: [], more: 0, partial };
}

/** The folder a typed folder part names: relative to `cwd`, `~` the home folder. */
function resolveFolder(typed: string, cwd: string, home: string | null): string | null {
  let folder = typed;
  if (folder.startsWith("~/")) {
    if (home === null) return null;
    folder = `${home.replace(/\/+$/, "")}/${folder.slice(2)}`;
  }
  if (folder === "") return cwd;
  if (folder.startsWith("/") || /^[A-Za-z]:[\\/]/.test(folder)) return folder;
  return `${cwd.replace(/\/+$/, "")}/${folder}`;
}

function commonPrefix(names: string[]): string {
  let common = names[0] ?? "";
  for (const name of names) {
    let length = 0;
    while (length < common.length && length < name.length && common[length] === name[length]) {
      length++;
    }
    common = common.slice(0, length);
  }
  // Never split a surrogate pair.
  return /[\uD800-\uDBFF]$/.test(common) ? common.slice(0, -1) : common;
}

/** At most `limit` entries of `path`, folders (and links to folders) marked. */
function readFolder(path: string, limit: number): FolderListing {
  const entries: FolderEntry[] = [];
  let partial = false;
  for (const entry of Deno.readDirSync(path)) {
    if (entries.length >= limit) {
      partial = true;
      break;
    }
    let folder = entry.isDirectory;
    if (entry.isSymlink) {
      try {
        folder = Deno.statSync(`${path.replace(/\/+$/, "")}/${entry.name}`).isDirectory;
      } catch {
        folder = false; // A broken link completes as a file.
      }
    }
    entries.push({ name: entry.name, folder });
  }
  return { entries, partial };
}

/** The home folder, for `~`; null when unknown (or the environment may not be read). */
export function homeFolder(): string | null {
  try {
    const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
    return home === undefined || home === "" ? null : home;
  } catch {
    return null;
  }
}

function currentFolder(): string {
  try {
    return Deno.cwd();
  } catch {
    return ".";
  }
}

/**
 * `typed` with a leading `~` (alone, or before `/`) made the home folder;
 * otherwise as typed.
 *
 * @example
 * expandHome("~/report.pdf", "/home/ana"); // "/home/ana/report.pdf"
 */
export function expandHome(typed: string, home: string | null = homeFolder()): string {
  if (home === null) return typed;
  if (typed === "~") return home;
  if (typed.startsWith("~/")) return `${home.replace(/\/+$/, "")}/${typed.slice(2)}`;
  return typed;
}
