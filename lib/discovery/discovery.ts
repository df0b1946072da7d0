/**
 * LAN discovery datagrams (PROTOCOL.md section 6): the `discover` probe and
 * the `here` answer, as bytes and as checked values.
 *
 * Owns: the discovery port default, datagram size limits and the strict
 * validation of both datagrams. Pure: no sockets, no I/O. Imports nothing
 * from lib/ (the responder and the client both build on this module).
 */

/** UDP port servers answer discovery on (PROTOCOL.md section 7). */
export const defaultDiscoveryPort = 9000;

/** Largest probe a responder reads; a real probe is 28 bytes. */
export const maxProbeBytes = 512;

/** Largest answer a client reads; a real answer is about 150 bytes. */
export const maxAnswerBytes = 4096;

/** Longest room name put in (and accepted from) an answer, in UTF-16 units. */
export const maxAnswerNameLength = 200;

/** What a server says about itself in a `here` answer. */
export interface HereInfo {
  /** Room name. */
  name: string;
  /** TCP chat port. */
  port: number;
  /** Web port, or null without the web page. */
  web: number | null;
  /** True when the room has a password (PROTOCOL.md section 5). */
  secure: boolean;
  /** People online now. */
  users: number;
  /**
   * The fingerprint of the server's key (issue #14), `SHA256:` and 43 BASE64
   * characters; absent from an older server. It proves nothing by itself
   * (anyone can copy it): the server proves its key on the connection.
   */
  key?: string;
}

/**
 * A `here` answer as received. `id` is an optional extension of PROTOCOL.md
 * section 6 (unknown fields are ignored by other clients): a random value
 * per server start, so a client can tell that answers coming from two
 * addresses are the same server on two networks.
 */
export interface HereAnswer extends Omit<HereInfo, "key"> {
  id: string | null;
  /** The fingerprint of the server's key, or null (an older server, or not a fingerprint). */
  key: string | null;
}

const fingerprintPattern = /^SHA256:[A-Za-z0-9+/]{43}$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The probe a client sends: `{"type":"discover","proto":1}`. */
export const probeBytes: Uint8Array = encoder.encode(
  JSON.stringify({ type: "discover", proto: 1 }),
);

/** Parses a datagram as JSON object, or null for anything else (never throws). */
function parseObject(datagram: Uint8Array, maxBytes: number): Record<string, unknown> | null {
  if (datagram.length === 0 || datagram.length > maxBytes) return null;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(datagram));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  return value as Record<string, unknown>;
}

/** True when `datagram` is a discovery probe of protocol 1 (unknown fields allowed). */
export function isProbe(datagram: Uint8Array): boolean {
  const probe = parseObject(datagram, maxProbeBytes);
  return probe !== null && probe.type === "discover" && probe.proto === 1;
}

function isPort(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/**
 * The `here` answer of `info`, with `id` added when given. A room name
 * longer than {@link maxAnswerNameLength} is cut, so the answer stays small.
 */
export function encodeHere(info: HereInfo, id?: string): Uint8Array {
  return encoder.encode(JSON.stringify({
    type: "here",
    proto: 1,
    name: info.name.slice(0, maxAnswerNameLength),
    port: info.port,
    web: info.web,
    secure: info.secure,
    users: info.users,
    ...(id === undefined ? {} : { id }),
    ...(info.key === undefined ? {} : { key: info.key }),
  }));
}

/**
 * Reads a `here` answer strictly, or returns null (never throws): `type`
 * "here", `proto` 1, `name` a string of at most {@link maxAnswerNameLength},
 * `port` 1..65535, `web` a port or null, `users` a whole number >= 0, and
 * `secure` a boolean (null reads as false and an object as true, for a
 * server that copies its `server.secure` field). Unknown fields are ignored;
 * `id` is kept when it is a short string, `key` when it is a fingerprint.
 */
export function parseHere(datagram: Uint8Array): HereAnswer | null {
  const here = parseObject(datagram, maxAnswerBytes);
  if (here === null || here.type !== "here" || here.proto !== 1) return null;
  const { name, port, web, secure, users, id, key } = here;
  if (typeof name !== "string" || name.length > maxAnswerNameLength) return null;
  if (!isPort(port)) return null;
  if (web !== null && !isPort(web)) return null;
  if (typeof users !== "number" || !Number.isSafeInteger(users) || users < 0) return null;
  let isSecure: boolean;
  if (typeof secure === "boolean") isSecure = secure;
  else if (secure === null) isSecure = false;
  else if (typeof secure === "object" && !Array.isArray(secure)) isSecure = true;
  else return null;
  return {
    name,
    port,
    web,
    secure: isSecure,
    users,
    id: typeof id === "string" && id.length > 0 && id.length <= 64 ? id : null,
    key: typeof key === "string" && fingerprintPattern.test(key) ? key : null,
  };
}
