// @ts-check
/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's view of PROTOCOL.md sections 2 and 4: message text as
 * base64(utf8(text)), nick rules, and checked shapes of what the server sends.
 *
 * Owns: encoding and decoding of payload fields. Pure: no DOM, no sockets,
 * no imports.
 */

/**
 * A server payload: a JSON object with a string `type` (other fields unchecked).
 * @typedef {{ type: string, [field: string]: unknown }} Payload
 */

/**
 * A chat message (`msg`, and the items of `history` and `results`), checked.
 * @typedef {object} ChatMessage
 * @property {number} id
 * @property {number} ts
 * @property {string} from
 * @property {string | null} to  Addressee of a private message, null for the room.
 * @property {"text" | "action"} kind
 * @property {string} text  The decoded `body`.
 * @property {string | number | null} ref  The sender's own tag, on its own copy only.
 */

const utf8Encoder = new TextEncoder();
// Not fatal: bytes that are not UTF-8 show as U+FFFD instead of hiding the message.
const utf8Decoder = new TextDecoder();

/**
 * BASE64 (RFC 4648, standard alphabet, padded) of `bytes`. Uses the built-in
 * `Uint8Array.prototype.toBase64` where the browser has it, `btoa` elsewhere.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64(bytes) {
  if (typeof bytes.toBase64 === "function") return bytes.toBase64();
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

/**
 * The bytes of a BASE64 string; throws on malformed input.
 * @param {string} base64
 * @returns {Uint8Array}
 */
export function fromBase64(base64) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(base64);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/**
 * `body = base64(utf8(text))`.
 * @param {string} text
 */
export function encodeBody(text) {
  return toBase64(utf8Encoder.encode(text));
}

/**
 * The text of a `body`, or a placeholder when it is not BASE64.
 * @param {string} body
 */
export function decodeBody(body) {
  try {
    return utf8Decoder.decode(fromBase64(body));
  } catch {
    return "[a message this page could not decode]";
  }
}

/** Longest nick, in Unicode code points. */
export const maxNickLength = 32;
const nickPattern = /^[\p{L}\p{Nd}_.-][\p{L}\p{M}\p{Nd}_.-]*$/u;

/**
 * Why `nick` would be refused, for a person; null when it is valid.
 * The server has the last word (`nick_invalid`); this only saves a round trip.
 * @param {string} nick
 * @returns {string | null}
 */
export function nickProblem(nick) {
  const length = [...nick].length;
  if (length < 1) return "Type a nick: at least one character.";
  if (length > maxNickLength) return `A nick has at most ${maxNickLength} characters.`;
  if (!nickPattern.test(nick)) return "A nick may hold only letters, digits, _, - and .";
  return null;
}

/**
 * The form under which nicks are compared: unique without regard to case.
 * @param {string} nick
 */
export function nickKey(nick) {
  return nick.normalize("NFC").toLowerCase();
}

/**
 * Parses one WebSocket message (binary frames hold UTF-8 JSON; text frames
 * are accepted too). Returns null for anything that is not a payload.
 * @param {ArrayBuffer | string} data
 * @returns {Payload | null}
 */
export function parsePayload(data) {
  try {
    const value = JSON.parse(typeof data === "string" ? data : utf8Decoder.decode(data));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    return typeof value.type === "string" ? /** @type {Payload} */ (value) : null;
  } catch {
    return null;
  }
}

/**
 * A `msg` (or a `history`/`results` item) with its fields checked and its body
 * decoded; null when a field is missing or of the wrong type.
 * @param {unknown} value
 * @returns {ChatMessage | null}
 */
export function toChatMessage(value) {
  if (typeof value !== "object" || value === null) return null;
  const item = /** @type {Record<string, unknown>} */ (value);
  const { id, ts, from, to, kind, body, ref } = item;
  if (typeof id !== "number" || typeof ts !== "number") return null;
  if (typeof from !== "string" || typeof body !== "string") return null;
  return {
    id,
    ts,
    from,
    to: typeof to === "string" ? to : null,
    kind: kind === "action" ? "action" : "text",
    text: decodeBody(body),
    ref: typeof ref === "string" || typeof ref === "number" ? ref : null,
  };
}

/**
 * The items of a `history` or `results` payload that are well-formed messages.
 * @param {Payload} payload
 * @returns {ChatMessage[]}
 */
export function chatItems(payload) {
  const items = Array.isArray(payload.items) ? payload.items : [];
  /** @type {ChatMessage[]} */
  const messages = [];
  for (const item of items) {
    const message = toChatMessage(item);
    if (message !== null) messages.push(message);
  }
  return messages;
}
