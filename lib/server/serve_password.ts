/**
 * Where `lanchat serve` gets the room password: `--password-file FILE`,
 * `--password` (asked at the terminal, hidden), or LANCHAT_PASSWORD. Never a
 * value on the command line, where every user of the machine could read it
 * in the process list.
 *
 * Owns: choosing the source, reading it, and the messages when that fails.
 * Returns the password to the caller, which derives the key at once and
 * drops it; nothing here prints or logs it.
 */
import { password as promptPassword } from "@inquirer/prompts";

/** The environment variable that carries the room password. */
export const passwordVariable = "LANCHAT_PASSWORD";

/** The password flags of `lanchat serve`. */
export interface PasswordFlags {
  /** `--password`: ask at the terminal. */
  password?: boolean;
  /** `--password-file FILE`: the first line of FILE. */
  passwordFile?: string;
}

/** The password could not be had; `message` says what to do. */
export class PasswordSourceError extends Error {
  override name = "PasswordSourceError";
}

/** Options of {@link readServePassword}, for tests. */
export interface PasswordSourceOptions {
  env?: () => string | undefined;
  ask?: () => Promise<string>;
  isTerminal?: () => boolean;
}

function envPassword(): string | undefined {
  try {
    return Deno.env.get(passwordVariable);
  } catch {
    return undefined;
  }
}

/**
 * The room password, or null for a room without one. Throws
 * PasswordSourceError with a sentence for a person.
 */
export async function readServePassword(
  flags: PasswordFlags,
  options: PasswordSourceOptions = {},
): Promise<string | null> {
  if (flags.password === true && flags.passwordFile !== undefined) {
    throw new PasswordSourceError("give either --password or --password-file, not both");
  }
  let password: string | null;
  if (flags.passwordFile !== undefined) {
    password = await readPasswordFile(flags.passwordFile);
  } else if (flags.password === true) {
    const isTerminal = options.isTerminal ?? (() => Deno.stdin.isTerminal());
    if (!isTerminal()) {
      throw new PasswordSourceError(
        `--password asks at the terminal, and input is not one; use ${passwordVariable} or --password-file FILE`,
      );
    }
    password = await (options.ask ?? askServePassword)();
  } else {
    const value = (options.env ?? envPassword)();
    password = value === undefined || value === "" ? null : value;
  }
  if (password !== null && password.length === 0) {
    throw new PasswordSourceError("the room password is empty; choose one of at least 1 character");
  }
  return password;
}

async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "it does not exist"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : "it cannot be read";
    throw new PasswordSourceError(`cannot read the password file ${path}: ${why}`);
  }
  // The first line; a trailing newline (echo "pw" > file) is not part of the password.
  return text.split(/\r?\n/, 1)[0] ?? "";
}

async function askServePassword(): Promise<string> {
  try {
    return await askTwice();
  } catch (error) {
    if (error instanceof Error && error.name === "ExitPromptError") {
      throw new PasswordSourceError("no room password given; not starting");
    }
    throw error;
  }
}

async function askTwice(): Promise<string> {
  const first = await promptPassword({
    message: "Room password (people joining will need it):",
    validate: (value: string) => value.length > 0 || "choose a password of at least 1 character",
  });
  const again = await promptPassword({ message: "The same password again:" });
  if (again !== first) throw new PasswordSourceError("the two passwords differ; start again");
  return first;
}
