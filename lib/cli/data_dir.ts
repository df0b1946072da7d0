/**
 * Where lanchat keeps its files (the history when `--db` is not given, the
 * recent servers): the platform's data folder.
 *
 * Owns: the per-platform data folder rule. `dataDirFor` and `dbPathFor` are
 * pure (os and environment passed in) so tests cover every platform on any
 * machine; `defaultDbPath` reads the real ones. scripts/test.ts uses the rule
 * to check that the tests left the person's own folder alone (issue #13).
 * Imports nothing from lib/.
 */
import { posix, win32 } from "node:path";

/** The environment variables that decide the data folder. */
export interface DataDirEnv {
  HOME?: string;
  XDG_DATA_HOME?: string;
  APPDATA?: string;
  USERPROFILE?: string;
}

/** The variables of {@link DataDirEnv}, in the order they are read. */
export const dataDirVariables = ["HOME", "XDG_DATA_HOME", "APPDATA", "USERPROFILE"] as const;

/**
 * The `lanchat` folder inside the platform's data folder, where the history
 * and the recent-servers file live:
 * - Linux and other Unixes: `$XDG_DATA_HOME` (when absolute) or `~/.local/share`
 * - macOS: `~/Library/Application Support`
 * - Windows: `%APPDATA%` or `%USERPROFILE%\AppData\Roaming`
 *
 * Throws Error when the environment names no home folder.
 *
 * @example
 * dataDirFor("linux", { HOME: "/home/ana" }); // "/home/ana/.local/share/lanchat"
 */
export function dataDirFor(os: string, env: DataDirEnv): string {
  const noHome = (variable: string) =>
    new Error(
      `cannot find your data folder: ${variable} is not set. Pass --db PATH to choose a file.`,
    );
  if (os === "windows") {
    const appData = nonEmpty(env.APPDATA);
    if (appData !== undefined) return win32.join(appData, "lanchat");
    const profile = nonEmpty(env.USERPROFILE);
    if (profile === undefined) throw noHome("%APPDATA%");
    return win32.join(profile, "AppData", "Roaming", "lanchat");
  }
  const home = nonEmpty(env.HOME);
  if (os === "darwin") {
    if (home === undefined) throw noHome("HOME");
    return posix.join(home, "Library", "Application Support", "lanchat");
  }
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = nonEmpty(env.XDG_DATA_HOME);
  if (xdg !== undefined && posix.isAbsolute(xdg)) return posix.join(xdg, "lanchat");
  if (home === undefined) throw noHome("HOME");
  return posix.join(home, ".local", "share", "lanchat");
}

/**
 * `history.db` in {@link dataDirFor}'s folder. Throws like it.
 *
 * @example
 * dbPathFor("linux", { HOME: "/home/ana" }); // "/home/ana/.local/share/lanchat/history.db"
 */
export function dbPathFor(os: string, env: DataDirEnv): string {
  return (os === "windows" ? win32 : posix).join(dataDirFor(os, env), "history.db");
}

/** The variables of {@link DataDirEnv} as this process sees them (needs `--allow-env`). */
export function currentDataDirEnv(): DataDirEnv {
  const env: DataDirEnv = {};
  for (const name of dataDirVariables) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * The default `--db` path on this machine (Deno.build.os and the real
 * environment). Needs `--allow-env` for the variables of DataDirEnv.
 */
export function defaultDbPath(): string {
  return dbPathFor(Deno.build.os, currentDataDirEnv());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
