/**
 * Where lanchat keeps its history file when `--db` is not given.
 *
 * Owns: the per-platform data folder rule. `dbPathFor` is pure (os and
 * environment passed in) so tests cover every platform on any machine;
 * `defaultDbPath` reads the real ones. Imports nothing from lib/.
 */
import { posix, win32 } from "node:path";

/** The environment variables that decide the data folder. */
export interface DataDirEnv {
  HOME?: string;
  XDG_DATA_HOME?: string;
  APPDATA?: string;
  USERPROFILE?: string;
}

/**
 * `lanchat/history.db` inside the platform's data folder:
 * - Linux and other Unixes: `$XDG_DATA_HOME` (when absolute) or `~/.local/share`
 * - macOS: `~/Library/Application Support`
 * - Windows: `%APPDATA%` or `%USERPROFILE%\AppData\Roaming`
 *
 * Throws Error when the environment names no home folder.
 *
 * @example
 * dbPathFor("linux", { HOME: "/home/ana" }); // "/home/ana/.local/share/lanchat/history.db"
 */
export function dbPathFor(os: string, env: DataDirEnv): string {
  const noHome = (variable: string) =>
    new Error(
      `cannot find your data folder: ${variable} is not set. Pass --db PATH to choose a file.`,
    );
  if (os === "windows") {
    const appData = nonEmpty(env.APPDATA);
    if (appData !== undefined) return win32.join(appData, "lanchat", "history.db");
    const profile = nonEmpty(env.USERPROFILE);
    if (profile === undefined) throw noHome("%APPDATA%");
    return win32.join(profile, "AppData", "Roaming", "lanchat", "history.db");
  }
  const home = nonEmpty(env.HOME);
  if (os === "darwin") {
    if (home === undefined) throw noHome("HOME");
    return posix.join(home, "Library", "Application Support", "lanchat", "history.db");
  }
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_DATA_HOME);
  if (xdg !== undefined && posix.isAbsolute(xdg)) return posix.join(xdg, "lanchat", "history.db");
  if (home === undefined) throw noHome("HOME");
  return posix.join(home, ".local", "share", "lanchat", "history.db");
}

/**
 * The default `--db` path on this machine (Deno.build.os and the real
 * environment). Needs `--allow-env` for the variables of DataDirEnv.
 */
export function defaultDbPath(): string {
  const names = ["HOME", "XDG_DATA_HOME", "APPDATA", "USERPROFILE"] as const;
  const env: DataDirEnv = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return dbPathFor(Deno.build.os, env);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
