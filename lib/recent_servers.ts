/**
 * The servers this person joined last, so `lanchat join` can offer them when
 * discovery finds nothing (broadcast blocked, other subnet).
 *
 * Owns: the small JSON file `recent_servers.json` beside the history file in
 * the platform's data folder (lib/data_dir.ts decides where that is), and
 * reading it forgivingly: a missing, unreadable or corrupt file is simply
 * "no recent servers". Imports lib/data_dir.ts only; no sockets.
 */
import { posix, win32 } from "node:path";
import { dbPathFor, defaultDbPath } from "./data_dir.ts";
import type { DataDirEnv } from "./data_dir.ts";

/** A server joined before. */
export interface RecentServer {
  /** Host name or IP literal, without brackets. */
  host: string;
  /** TCP chat port. */
  port: number;
  /** Room name when it was known (from discovery). */
  name?: string;
  /** When it was last joined, ms since the Unix epoch. */
  lastJoined: number;
}

/** How many servers are remembered. */
export const maxRecentServers = 5;

/** A file larger than this is not ours: read as empty. */
const maxFileBytes = 64 * 1024;

const fileName = "recent_servers.json";

/**
 * `lanchat/recent_servers.json` in the platform's data folder (the folder of
 * dbPathFor). Pure. Throws like dbPathFor when no home folder is set.
 *
 * @example
 * recentServersPathFor("linux", { HOME: "/home/ana" });
 * // "/home/ana/.local/share/lanchat/recent_servers.json"
 */
export function recentServersPathFor(os: string, env: DataDirEnv): string {
  const path = os === "windows" ? win32 : posix;
  return path.join(path.dirname(dbPathFor(os, env)), fileName);
}

/** The recent-servers file on this machine (needs --allow-env). */
export function defaultRecentServersPath(): string {
  const path = Deno.build.os === "windows" ? win32 : posix;
  return path.join(path.dirname(defaultDbPath()), fileName);
}

function isRecentServer(value: unknown): value is RecentServer {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  // Host names and IP literals only (an IPv6 zone is `%eth0`): nothing to print inertly.
  return typeof entry.host === "string" && /^[A-Za-z0-9._:%-]{1,255}$/.test(entry.host) &&
    typeof entry.port === "number" && Number.isInteger(entry.port) && entry.port >= 1 &&
    entry.port <= 65535 &&
    (entry.name === undefined || (typeof entry.name === "string" && entry.name.length <= 200)) &&
    typeof entry.lastJoined === "number" && Number.isFinite(entry.lastJoined);
}

/**
 * The remembered servers, most recent first. Never throws: a missing,
 * unreadable, oversized or corrupt file gives [], and entries that are not
 * well-formed are skipped.
 */
export async function loadRecentServers(path: string): Promise<RecentServer[]> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > maxFileBytes) return [];
    text = await Deno.readTextFile(path);
  } catch {
    return [];
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const list = typeof data === "object" && data !== null && "servers" in data
    ? (data as { servers: unknown }).servers
    : null;
  if (!Array.isArray(list)) return [];
  return list.filter(isRecentServer)
    .map((entry) => ({
      host: entry.host,
      port: entry.port,
      ...(entry.name === undefined ? {} : { name: entry.name }),
      lastJoined: entry.lastJoined,
    }))
    .sort((a, b) => b.lastJoined - a.lastJoined)
    .slice(0, maxRecentServers);
}

/** Options of {@link rememberServer}. */
export interface RememberOptions {
  /** The file. Default: {@link defaultRecentServersPath}. */
  path?: string;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Puts `server` first in the recent list (once: an earlier entry of the same
 * host and port is replaced) and keeps the newest {@link maxRecentServers}.
 * Writes a temporary file and renames it, so a crash never leaves half a
 * file. Resolves false instead of throwing when the file cannot be written:
 * remembering is a convenience and must never spoil a join.
 *
 * @example
 * await rememberServer({ host: "192.168.1.20", port: 9000, name: "office" });
 */
export async function rememberServer(
  server: { host: string; port: number; name?: string },
  options: RememberOptions = {},
): Promise<boolean> {
  try {
    const path = options.path ?? defaultRecentServersPath();
    const now = (options.now ?? Date.now)();
    const earlier = await loadRecentServers(path);
    const same = (old: RecentServer) => old.host === server.host && old.port === server.port;
    // Joined by address this time: keep the room name discovery told us before.
    const name = server.name ?? earlier.find(same)?.name;
    const entry: RecentServer = {
      host: server.host,
      port: server.port,
      ...(name === undefined ? {} : { name: name.slice(0, 200) }),
      lastJoined: now,
    };
    if (!isRecentServer(entry)) return false;
    const servers = [
      entry,
      ...earlier.filter((old) => !same(old)),
    ].slice(0, maxRecentServers);
    const folder = (Deno.build.os === "windows" ? win32 : posix).dirname(path);
    await Deno.mkdir(folder, { recursive: true });
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(temporary, JSON.stringify({ servers }, null, 2) + "\n");
      await Deno.rename(temporary, path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw error;
    }
    return true;
  } catch {
    return false;
  }
}
