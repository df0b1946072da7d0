/**
 * One-time codes that add a device to an account (PROTOCOL.md section 8.5).
 *
 * Owns: making codes (40 random bits, 10 minutes, single use, at most 3
 * unused per account), redeeming them, and slowing down an address that
 * guesses: after 5 wrong codes within 10 minutes each further try waits
 * twice as long as the one before, up to 10 minutes. Codes live in memory
 * only: a restart forgets them. An IPv6 address counts as its /64 (one
 * machine may hold a whole /64), an IPv4 address as itself (a colleague on
 * the same /24 must not be locked out by another's guesses).
 * Imports lib/wire/ and lib/server/limits/ip_networks.ts only.
 */
import { ProtocolError } from "../wire/errors.ts";
import { linkCodeAlphabet, linkCodeLength, normalizeLinkCode } from "../wire/protocol.ts";
import { attemptKey } from "./limits/ip_networks.ts";

/** The limits of link codes. Every field documents its default. */
export interface LinkCodeLimits {
  /** How long a code is good for. Default 600,000 ms (10 minutes). */
  ttlMs: number;
  /** Unused codes an account may hold; a new one replaces the oldest. Default 3. */
  perAccount: number;
  /** Wrong codes an address may try within `ttlMs` before it is slowed down. Default 5. */
  freeWrongTries: number;
  /** The longest wait of a guessing address. Default 600,000 ms. */
  maxWaitMs: number;
}

/** The defaults of LinkCodeLimits. */
export const defaultLinkCodeLimits: LinkCodeLimits = {
  ttlMs: 600_000,
  perAccount: 3,
  freeWrongTries: 5,
  maxWaitMs: 600_000,
};

interface IssuedCode {
  accountId: number;
  expires: number;
}

interface Guesses {
  /** Times of recent wrong codes (ms), oldest first. */
  wrong: number[];
  /** No further try is taken before this time (ms). */
  blockedUntil: number;
}

/** Most addresses whose wrong codes are remembered; the oldest are forgotten first. */
const maxGuessers = 10_000;

/** The codes of one server. Time is wall-clock ms (`expires` goes on the wire). */
export class LinkCodes {
  readonly limits: LinkCodeLimits;
  readonly #codes = new Map<string, IssuedCode>();
  /** The unused codes of each account, oldest first. */
  readonly #byAccount = new Map<number, string[]>();
  /** When expired codes were last swept out (at most once a second: a sweep visits every code). */
  #sweptAt = -Infinity;
  readonly #guesses = new Map<string, Guesses>();
  readonly #random: (bytes: Uint8Array) => void;

  constructor(
    limits: Partial<LinkCodeLimits> = {},
    random: (bytes: Uint8Array) => void = (bytes) => crypto.getRandomValues(bytes),
  ) {
    this.limits = { ...defaultLinkCodeLimits, ...limits };
    this.#random = random;
  }

  /** A new code for `accountId`, good until `expires`. */
  issue(accountId: number, now: number): { code: string; expires: number } {
    this.#forgetExpired(now);
    const mine = (this.#byAccount.get(accountId) ?? []).filter((code) => this.#codes.has(code));
    while (mine.length >= this.limits.perAccount) this.#codes.delete(mine.shift()!);
    let code = this.#draw();
    while (this.#codes.has(code)) code = this.#draw(); // 40 bits: a second draw is rare
    const expires = now + this.limits.ttlMs;
    this.#codes.set(code, { accountId, expires });
    mine.push(code);
    this.#byAccount.set(accountId, mine);
    return { code, expires };
  }

  /**
   * The account `typed` adds a device to, and the code is used up. Throws
   * ProtocolError `link_invalid` for a wrong, used or expired code, and
   * `rate_limited` (with the wait) while `address` is slowed down.
   */
  redeem(typed: string, address: string, now: number): number {
    const guesser = attemptKey(address);
    const guesses = this.#guesses.get(guesser);
    if (guesses !== undefined && guesses.blockedUntil > now) {
      const waitMs = guesses.blockedUntil - now;
      throw new ProtocolError(
        "rate_limited",
        `too many wrong codes from your address; try again in ${Math.ceil(waitMs / 1000)} s`,
        { waitMs },
      );
    }
    this.#forgetExpired(now);
    const code = normalizeLinkCode(typed);
    const issued = code === null ? undefined : this.#codes.get(code);
    if (code === null || issued === undefined || issued.expires <= now) {
      this.#wrongGuess(guesser, now);
      throw new ProtocolError(
        "link_invalid",
        "that code is wrong, used already or expired (codes last 10 minutes and work once); " +
          "get a new one on a device that is in: /link in the terminal, 'Add a device' on the page",
      );
    }
    this.#forget(code, issued.accountId);
    return issued.accountId;
  }

  /** Forgets every code of `accountId` (its nick was released). */
  revoke(accountId: number): void {
    for (const code of this.#byAccount.get(accountId) ?? []) this.#codes.delete(code);
    this.#byAccount.delete(accountId);
  }

  #forget(code: string, accountId: number): void {
    this.#codes.delete(code);
    const left = (this.#byAccount.get(accountId) ?? []).filter((other) => other !== code);
    if (left.length === 0) this.#byAccount.delete(accountId);
    else this.#byAccount.set(accountId, left);
  }

  #wrongGuess(guesser: string, now: number): void {
    const guesses = this.#guesses.get(guesser) ?? { wrong: [], blockedUntil: 0 };
    this.#guesses.delete(guesser); // re-inserted last: the map is oldest first
    guesses.wrong = guesses.wrong.filter((time) => now - time < this.limits.ttlMs);
    guesses.wrong.push(now);
    const over = guesses.wrong.length - this.limits.freeWrongTries;
    if (over > 0) {
      guesses.blockedUntil = now + Math.min(this.limits.maxWaitMs, 1000 * 2 ** (over - 1));
    }
    this.#guesses.set(guesser, guesses);
    while (this.#guesses.size > maxGuessers) {
      const oldest = this.#guesses.keys().next().value;
      if (oldest === undefined) break;
      this.#guesses.delete(oldest);
    }
  }

  #forgetExpired(now: number): void {
    if (now - this.#sweptAt < 1000) return;
    this.#sweptAt = now;
    for (const [code, issued] of this.#codes) {
      if (issued.expires <= now) this.#forget(code, issued.accountId);
    }
  }

  #draw(): string {
    const bytes = new Uint8Array(linkCodeLength);
    this.#random(bytes);
    // 256 is a multiple of 32: each byte gives one unbiased character.
    return [...bytes].map((byte) => linkCodeAlphabet[byte % 32]).join("");
  }
}
