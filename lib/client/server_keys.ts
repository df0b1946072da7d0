/**
 * The rule every client applies to a server's key (issue #14), as SSH does
 * with known_hosts: an address keeps the key it proved the first time this
 * person joined it; another key there, or none, is refused before anything
 * is sent, with words that say what may be going on and what to do.
 *
 * Owns: that rule and its sentence. Where keys are remembered is the
 * client's (a file for the terminal, the browser's storage for the page).
 * Pure: imports nothing.
 */

/** Where a client remembers the key of the server it talks to. */
export interface ServerKeyStore {
  /** The fingerprint remembered for this server, or null. */
  known(): Promise<string | null> | string | null;
  /** Remembers the fingerprint of a key seen here for the first time. */
  remember(fingerprint: string): Promise<unknown> | unknown;
}

/**
 * A `checkServerKey` for ChatSession: null (go on) for the remembered key or
 * a first one (then remembered), else the refusal. `where` names the server;
 * `advice` says how to accept a key that really changed.
 *
 * @example
 * checkServerKey: serverKeyCheck("192.168.1.20:9000", store, "join again with --forget-server-key.")
 */
export function serverKeyCheck(
  where: string,
  store: ServerKeyStore,
  advice: string,
): (fingerprint: string | null) => Promise<string | null> {
  return async (fingerprint) => {
    const known = await store.known();
    if (known === null) {
      if (fingerprint !== null) await store.remember(fingerprint);
      return null;
    }
    if (fingerprint === known) return null;
    return serverKeyChanged(where, known, fingerprint, advice);
  };
}

/** The refusal: `now` is the key shown now (null: none). */
export function serverKeyChanged(
  where: string,
  known: string,
  now: string | null,
  advice: string,
): string {
  const what = now === null
    ? `answered without a server key`
    : `answered with another server key (${now})`;
  return `${where} ${what} than when you joined it before (${known}). It may be another ` +
    `machine pretending to be the room, or the room was set up again; nothing was sent to it. ` +
    `Ask whoever runs the room which key its banner shows ("server key: ..."); if it is the new ` +
    `one, ${advice}`;
}
