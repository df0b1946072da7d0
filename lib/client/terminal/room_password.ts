/**
 * Where `lanchat join` gets the room password, and the keys derived from it.
 *
 * Owns: LANCHAT_PASSWORD, the hidden prompt (interactive only, before the
 * terminal goes raw), and remembering derived keys so that reconnects never
 * ask again. A server restarted with a new salt gets a key derived again from
 * the password kept in this closure (in memory only; never printed or sent).
 * Also says whether this run has a password at all, so that a server asking
 * for none is refused (issue #12: a password must never fall back to
 * plaintext). Imports the session's JoinFailure only; no sockets.
 */
import type { SecureParams } from "../../wire/protocol.ts";
import { deriveRoomPsk } from "../../wire/room_key.ts";
import { JoinFailure } from "../session.ts";

/** The environment variable that carries the room password. */
export const passwordVariable = "LANCHAT_PASSWORD";

/** Options of {@link roomPassword}. */
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

/** The room password of one `lanchat join` run, as {@link roomPassword} hands it out. */
export interface RoomPassword {
  /**
   * A `roomKey` function for ChatSession: LANCHAT_PASSWORD when set, else the
   * prompt, else a JoinFailure that says what to set (exit code 2).
   */
  roomKey: (secure: SecureParams) => Promise<Uint8Array>;
  /** True when LANCHAT_PASSWORD is set (read now). */
  fromEnv(): boolean;
  /**
   * True once this run has a password: LANCHAT_PASSWORD is set, or one was
   * typed at the prompt. Such a run refuses a server that asks for none.
   */
  given(): boolean;
}

/**
 * The room password of one run, read or asked only when a room needs it and
 * then kept in memory for reconnects.
 *
 * @example
 * const password = roomPassword({ ask: askPassword });
 * new ChatSession({ address, roomKey: password.roomKey, onEvent });
 */
export function roomPassword(options: RoomKeyOptions = {}): RoomPassword {
  let password: string | null = null;
  const derived = new Map<string, Uint8Array>();
  const env = options.env ?? passwordFromEnv;
  return {
    fromEnv: () => env() !== undefined,
    given: () => password !== null || env() !== undefined,
    roomKey: async (secure) => {
      const id = `${secure.salt} ${secure.N} ${secure.r} ${secure.p}`;
      const known = derived.get(id);
      if (known !== undefined) return known;
      password ??= env() ?? null;
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
    },
  };
}
