/**
 * Where `lanchat join` gets the room password, and the keys derived from it.
 *
 * Owns: LANCHAT_PASSWORD, the hidden prompt (interactive only, before the
 * terminal goes raw), and remembering derived keys so that reconnects never
 * ask again. A server restarted with a new salt gets a key derived again from
 * the password kept in this closure (in memory only; never printed or sent).
 * Must not import the session or sockets.
 */
import type { SecureParams } from "../protocol.ts";
import { deriveRoomPsk } from "../room_key.ts";
import { JoinFailure } from "./session.ts";

/** The environment variable that carries the room password. */
export const passwordVariable = "LANCHAT_PASSWORD";

/** Options of {@link roomKeyProvider}. */
export interface RoomKeyOptions {
  /** Asks the person (hidden). Resolves null when they give up. Default: none (piped). */
  ask?: () => Promise<string | null>;
  /** Reads LANCHAT_PASSWORD. Default: Deno.env (nothing without --allow-env). */
  env?: () => string | undefined;
}

/** LANCHAT_PASSWORD, or undefined when unset, empty or not readable. */
export function passwordFromEnv(): string | undefined {
  try {
    const value = Deno.env.get(passwordVariable);
    return value === undefined || value === "" ? undefined : value;
  } catch {
    return undefined; // No --allow-env.
  }
}

/**
 * A `roomKey` function for ChatSession: LANCHAT_PASSWORD when set, else the
 * prompt, else a JoinFailure that says what to set (exit code 2).
 */
export function roomKeyProvider(
  options: RoomKeyOptions = {},
): (secure: SecureParams) => Promise<Uint8Array> {
  let password: string | null = null;
  const derived = new Map<string, Uint8Array>();
  return async (secure) => {
    const id = `${secure.salt} ${secure.N} ${secure.r} ${secure.p}`;
    const known = derived.get(id);
    if (known !== undefined) return known;
    password ??= (options.env ?? passwordFromEnv)() ?? null;
    if (password === null) {
      if (options.ask === undefined) {
        throw new JoinFailure(
          `this room needs a password: set ${passwordVariable} (input is piped, so it cannot be asked)`,
          2,
        );
      }
      password = await options.ask();
      if (password === null) throw new JoinFailure("no room password given; not joining", 130);
    }
    const psk = await deriveRoomPsk(password, secure);
    derived.set(id, psk);
    return psk;
  };
}
