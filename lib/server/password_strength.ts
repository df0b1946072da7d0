/**
 * How guessable a room password is, judged when `lanchat serve` starts.
 *
 * Owns: the minimum length (8 characters, below which serve refuses unless
 * `--weak-password-ok`) and the warning below a sensible strength. A room
 * password can be attacked offline from one recorded handshake, where
 * scrypt's cost is all that slows the guesses (SECURITY.md): length matters
 * most. Pure; imports nothing.
 */

/** Shortest room password accepted without `--weak-password-ok`, in characters. */
export const minPasswordLength = 8;
/** Below this many characters a password gets a warning unless it mixes kinds of characters. */
const comfortableLength = 14;

/** Passwords people pick first; a room password that is one of them is refused. */
const common = new Set([
  "password",
  "password1",
  "12345678",
  "123456789",
  "1234567890",
  "qwertyuiop",
  "qwerty123",
  "iloveyou",
  "letmein1",
  "welcome1",
  "changeme",
  "lanchat1",
  "lanchat123",
]);

/**
 * Null for a password that is fine; otherwise what is wrong with it, and
 * whether serve should refuse it (`refuse`) or only warn.
 */
export function passwordProblem(password: string): { text: string; refuse: boolean } | null {
  const length = [...password].length;
  if (length < minPasswordLength) {
    return {
      text: `the room password has ${length} character${length === 1 ? "" : "s"}; ` +
        `at least ${minPasswordLength} are needed`,
      refuse: true,
    };
  }
  if (common.has(password.toLowerCase())) {
    return { text: "the room password is one of the first that anyone tries", refuse: true };
  }
  const kinds = [/\p{Ll}/u, /\p{Lu}/u, /\p{N}/u, /[^\p{L}\p{N}]/u]
    .filter((kind) => kind.test(password)).length;
  const distinct = new Set(password).size;
  // A letter of a script without case (Chinese, Japanese...) is one of thousands: worth two.
  const weight = length + [...password].filter((char) => /\p{Lo}/u.test(char)).length;
  if ((weight < comfortableLength && kinds < 3) || distinct < 5) {
    return {
      text: `the room password is short or simple (${length} characters, ${distinct} different)`,
      refuse: false,
    };
  }
  return null;
}
