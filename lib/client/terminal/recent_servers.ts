/**
 * The servers this person joined last, so `lanchat join` can offer them when
 * discovery finds nothing (broadcast blocked, other subnet).
 *
 * Owns: the small JSON file `recent_servers.json` beside the history file in
 * the platform's data folder (lib/cli/data_dir.ts decides where that is), and
 * reading it forgivingly: a missing, unreadable or corrupt file is simply
 * "no recent servers". The same file remembers which servers (host:port) had
 * a room password when this person joined them (`passwordRooms`), so that a
 * later join refuses one of them that suddenly asks for none (issue #12),
 * and the key each server (host:port) proved when this person joined it
 * (`serverKeys`, as SSH's known_hosts: issue #14), so that a later join
 * refuses an address that answers with another key.
 * Imports lib/cli/data_dir.ts only; no sockets.
 */
import { posix, win32 } from "node:path";
import { dbPathFor, defaultDbPath } from "../../cli/data_dir.ts";
import type { DataDirEnv } from "../../cli/data_dir.ts";

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

/** A server this person joined with a room password. */
export interface PasswordRoom {
  /** Host name or IP literal, as given to `join` (compared without case). */
  host: string;
  /** TCP chat port. */
  port: number;
  /** When a secure join last succeeded, ms since the Unix epoch. */
  since: number;
}

/**
 * How many password rooms are remembered. Kept apart from the five recent
 * servers, so that joining other rooms does not make lanchat forget that
 * this one had a password; past this many, the longest unseen is dropped.
 */
export const maxPasswordRooms = 200;

function isPasswordRoom(value: unknown): value is PasswordRoom {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.host === "string" && /^[A-Za-z0-9._:%-]{1,255}$/.test(entry.host) &&
    typeof entry.port === "number" && Number.isInteger(entry.port) && entry.port >= 1 &&
    entry.port <= 65535 && typeof entry.since === "number" && Number.isFinite(entry.since);
}

/** The key a server proved at an address (issue #14). */
export interface ServerKeyMark {
  /** Host name or IP literal, as given to `join` (compared without case). */
  host: string;
  /** TCP chat port. */
  port: number;
  /** The key's fingerprint, `SHA256:` and 43 BASE64 characters. */
  fingerprint: string;
  /** When it was first seen there, ms since the Unix epoch. */
  since: number;
}

/** How many server keys are remembered; past this many, the oldest is dropped. */
export const maxServerKeys = 200;

function isServerKeyMark(value: unknown): value is ServerKeyMark {
  if (!isPasswordRoom(value)) return false;
  const fingerprint = (value as unknown as Record<string, unknown>).fingerprint;
  return typeof fingerprint === "string" && /^SHA256:[A-Za-z0-9+/]{43}$/.test(fingerprint);
}

/** What the file holds, each list already filtered to well-formed entries. */
interface FileContents {
  servers: RecentServer[];
  passwordRooms: PasswordRoom[];
  serverKeys: ServerKeyMark[];
}

/** Reads the file; never throws (missing, unreadable, oversized or corrupt: empty lists). */
async function readContents(path: string): Promise<FileContents> {
  const empty: FileContents = { servers: [], passwordRooms: [], serverKeys: [] };
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > maxFileBytes) return empty;
    text = await Deno.readTextFile(path);
  } catch {
    return empty;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return empty;
  }
  if (typeof data !== "object" || data === null) return empty;
  const fields = data as { servers?: unknown; passwordRooms?: unknown; serverKeys?: unknown };
  const servers = Array.isArray(fields.servers) ? fields.servers : [];
  const rooms = Array.isArray(fields.passwordRooms) ? fields.passwordRooms : [];
  const keys = Array.isArray(fields.serverKeys) ? fields.serverKeys : [];
  return {
    servers: servers.filter(isRecentServer)
      .map((entry) => ({
        host: entry.host,
        port: entry.port,
        ...(entry.name === undefined ? {} : { name: entry.name }),
        lastJoined: entry.lastJoined,
      }))
      .sort((a, b) => b.lastJoined - a.lastJoined)
      .slice(0, maxRecentServers),
    passwordRooms: rooms.filter(isPasswordRoom)
      .map((entry) => ({ host: entry.host, port: entry.port, since: entry.since }))
      .sort((a, b) => b.since - a.since)
      .slice(0, maxPasswordRooms),
    serverKeys: keys.filter(isServerKeyMark)
      .map((entry) => ({
        host: entry.host,
        port: entry.port,
        fingerprint: entry.fingerprint,
        since: entry.since,
      }))
      .slice(0, maxServerKeys),
  };
}

/**
 * Writes a temporary file and renames it, so a crash never leaves half a
 * file. Throws when the file cannot be written.
 */
async function writeContents(path: string, contents: FileContents): Promise<void> {
  const folder = (Deno.build.os === "windows" ? win32 : posix).dirname(path);
  await Deno.mkdir(folder, { recursive: true });
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  const data = {
    servers: contents.servers,
    ...(contents.passwordRooms.length === 0 ? {} : { passwordRooms: contents.passwordRooms }),
    ...(contents.serverKeys.length === 0 ? {} : { serverKeys: contents.serverKeys }),
  };
  try {
    await Deno.writeTextFile(temporary, JSON.stringify(data, null, 2) + "\n");
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * The remembered servers, most recent first. Never throws: a missing,
 * unreadable, oversized or corrupt file gives [], and entries that are not
 * well-formed are skipped.
 */
export async function loadRecentServers(path: string): Promise<RecentServer[]> {
  return (await readContents(path)).servers;
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
    const earlier = await readContents(path);
    const same = (old: RecentServer) => old.host === server.host && old.port === server.port;
    // Joined by address this time: keep the room name discovery told us before.
    const name = server.name ?? earlier.servers.find(same)?.name;
    const entry: RecentServer = {
      host: server.host,
      port: server.port,
      ...(name === undefined ? {} : { name: name.slice(0, 200) }),
      lastJoined: now,
    };
    if (!isRecentServer(entry)) return false;
    const servers = [
      entry,
      ...earlier.servers.filter((old) => !same(old)),
    ].slice(0, maxRecentServers);
    await writeContents(path, { ...earlier, servers });
    return true;
  } catch {
    return false;
  }
}

/** The same server for the password and key marks: same port, host without regard to case. */
function sameServer(a: { host: string; port: number }, b: { host: string; port: number }) {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase();
}

/**
 * True when this person joined `server` (the host and port given to `join`)
 * with a room password before. Never throws: an unreadable file gives false.
 */
export async function hadRoomPassword(
  server: { host: string; port: number },
  options: { path?: string } = {},
): Promise<boolean> {
  let path: string;
  try {
    path = options.path ?? defaultRecentServersPath();
  } catch {
    return false;
  }
  const { passwordRooms } = await readContents(path);
  return passwordRooms.some((room) => sameServer(room, server));
}

/**
 * Remembers that `server` had a room password (after a secure join), keeping
 * the newest {@link maxPasswordRooms}. Resolves false instead of throwing
 * when the file cannot be written.
 */
export async function rememberRoomPassword(
  server: { host: string; port: number },
  options: RememberOptions = {},
): Promise<boolean> {
  try {
    const path = options.path ?? defaultRecentServersPath();
    const entry: PasswordRoom = {
      host: server.host,
      port: server.port,
      since: (options.now ?? Date.now)(),
    };
    if (!isPasswordRoom(entry)) return false;
    const earlier = await readContents(path);
    const passwordRooms = [
      entry,
      ...earlier.passwordRooms.filter((old) => !sameServer(old, server)),
    ].slice(0, maxPasswordRooms);
    await writeContents(path, { ...earlier, passwordRooms });
    return true;
  } catch {
    return false;
  }
}

/**
 * Forgets that `server` had a room password (`join --forget-password`: its
 * operator removed it). Resolves true when a mark was removed; false when
 * there was none. Throws when the file holds a mark but cannot be rewritten,
 * so that the person is not told it was forgotten when it was not.
 */
export function forgetRoomPassword(
  server: { host: string; port: number },
  options: { path?: string } = {},
): Promise<boolean> {
  return forgetMark("passwordRooms", server, options);
}

/**
 * The fingerprint of the key `server` proved when this person joined it
 * before, or null. Never throws: an unreadable file gives null.
 */
export async function knownServerKey(
  server: { host: string; port: number },
  options: { path?: string } = {},
): Promise<string | null> {
  let path: string;
  try {
    path = options.path ?? defaultRecentServersPath();
  } catch {
    return null;
  }
  const { serverKeys } = await readContents(path);
  return serverKeys.find((mark) => sameServer(mark, server))?.fingerprint ?? null;
}

/**
 * Remembers the key `server` proved, the first time it is seen there (an
 * address keeps the key it had: a changed one is refused, not learnt; see
 * {@link forgetServerKey}). Resolves false instead of throwing when the file
 * cannot be written.
 */
export async function rememberServerKey(
  server: { host: string; port: number },
  fingerprint: string,
  options: RememberOptions = {},
): Promise<boolean> {
  try {
    const path = options.path ?? defaultRecentServersPath();
    const entry: ServerKeyMark = {
      host: server.host,
      port: server.port,
      fingerprint,
      since: (options.now ?? Date.now)(),
    };
    if (!isServerKeyMark(entry)) return false;
    const earlier = await readContents(path);
    if (earlier.serverKeys.some((old) => sameServer(old, server))) return true;
    const serverKeys = [entry, ...earlier.serverKeys].slice(0, maxServerKeys);
    await writeContents(path, { ...earlier, serverKeys });
    return true;
  } catch {
    return false;
  }
}

/**
 * Forgets the key remembered for `server` (`join --forget-server-key`: its
 * operator says it changed). Resolves true when one was removed. Throws when
 * the file holds one but cannot be rewritten.
 */
export function forgetServerKey(
  server: { host: string; port: number },
  options: { path?: string } = {},
): Promise<boolean> {
  return forgetMark("serverKeys", server, options);
}

/** Removes `server`'s entry from one list of marks; true when there was one. Throws like the forgetters. */
async function forgetMark(
  list: "passwordRooms" | "serverKeys",
  server: { host: string; port: number },
  options: { path?: string },
): Promise<boolean> {
  const path = options.path ?? defaultRecentServersPath();
  const earlier = await readContents(path);
  const kept = earlier[list].filter((old) => !sameServer(old, server));
  if (kept.length === earlier[list].length) return false;
  await writeContents(path, { ...earlier, [list]: kept });
  return true;
}
