/**
 * Who is online, as a client learns it: the server's whole `users` list,
 * then `joined`, `left` and `renamed` one by one.
 *
 * Owns: one entry per person without regard to case (`nickKey`), the order
 * people are listed in (by name, any case), whether a nick is mine, and the
 * number a nick's colour is picked by (the same in the terminal and the page).
 * Pure bookkeeping: no sockets, no output. Imports lib/wire/protocol.ts only.
 */
import { nickKey, type UserEntry } from "../wire/protocol.ts";

/**
 * The online list.
 *
 * @example
 * const online = new OnlineList();
 * online.replace(event.users);
 * online.joined("bob", Date.now());
 * online.sorted(); // [{ nick: "ana", since }, { nick: "bob", since }]
 */
export class OnlineList {
  #users = new Map<string, UserEntry>();

  /** How many are online. */
  get size(): number {
    return this.#users.size;
  }

  /** The server's whole list replaces what was known. */
  replace(users: readonly UserEntry[]): void {
    this.#users = new Map(users.map((user) => [nickKey(user.nick), { ...user }]));
  }

  /** `guest`: the person has no device key (PROTOCOL.md section 8.6). */
  joined(nick: string, since: number, guest = false): void {
    this.#users.set(nickKey(nick), guest ? { nick, since, guest } : { nick, since });
  }

  left(nick: string): void {
    this.#users.delete(nickKey(nick));
  }

  /** `from` is now `to`; online since the same time. */
  renamed(from: string, to: string, ts: number): void {
    const since = this.#users.get(nickKey(from))?.since ?? ts;
    this.#users.delete(nickKey(from));
    this.#users.set(nickKey(to), { nick: to, since });
  }

  /** True when `nick` (any case) is online. */
  has(nick: string): boolean {
    return this.#users.has(nickKey(nick));
  }

  /** Everyone, by name without regard to case or accents. */
  sorted(): UserEntry[] {
    return [...this.#users.values()].sort((a, b) =>
      a.nick.localeCompare(b.nick, undefined, { sensitivity: "base" })
    );
  }
}

/** True when `a` and `b` are the same nick (nicks are unique without regard to case). */
export function sameNick(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && nickKey(a) === nickKey(b);
}

/**
 * A stable number for `nick` (FNV-1a over the bytes of its `nickKey`), the
 * same in every client and session and without regard to case: each UI picks
 * the nick's colour from its palette with it.
 *
 * @example
 * palette[nickHash("Ana") % palette.length] === palette[nickHash("ana") % palette.length];
 */
export function nickHash(nick: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(nickKey(nick))) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash;
}
