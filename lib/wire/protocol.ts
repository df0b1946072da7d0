/**
 * The payloads of PROTOCOL.md sections 2-4 as typed messages.
 *
 * Owns: JSON <-> message conversion, field validation, BASE64 bodies, nick
 * rules and size limits of the wire contract. Pure: no sockets, no room state.
 * Imports only lib/wire/errors.ts and lib/wire/base64.ts.
 */
import { fromBase64, toBase64 } from "./base64.ts";
import { ProtocolError } from "./errors.ts";
import type { ErrorCode } from "./errors.ts";

/** Protocol version spoken by this code (`server.proto`). */
export const protocolVersion = 1;
/** Longest message text accepted, in UTF-8 bytes (its BASE64 still fits one frame). */
export const maxTextBytes = 46 * 1024;
/** Largest `limit` a `history` request may ask for. */
export const maxHistoryLimit = 200;
/** `limit` used when a `history` or `search` request gives none. */
export const defaultHistoryLimit = 50;
/** Longest nick, in Unicode code points. */
export const maxNickLength = 32;
/** Longest `search.q`, in UTF-16 units: a search is for a word or a phrase, not a document. */
export const maxSearchLength = 256;
/** Longest `ref` string echoed back to a sender. */
export const maxRefLength = 128;

/** How a message is shown: plain text, or an action (`/me waves`). */
export type MessageKind = "text" | "action";
/** Why someone left the room. */
export type LeaveReason = "quit" | "timeout" | "error" | "slow" | "kicked";
/** A sender's own tag for a `say`, echoed on its own copy only. */
export type Ref = string | number;
/** Value carried by `ping`/`pong`. */
export type PingToken = string | number;

// ---- client -> server -------------------------------------------------------

export interface HelloMessage {
  type: "hello";
  nick: string;
  client?: string;
  after?: number;
}
export interface SayMessage {
  type: "say";
  /** Canonical BASE64 of `text`. */
  body: string;
  /** The decoded text (checked UTF-8). */
  text: string;
  to?: string;
  kind: MessageKind;
  ref?: Ref;
}
export interface NickMessage {
  type: "nick";
  nick: string;
}
export interface UsersRequest {
  type: "users";
}
export interface HistoryRequest {
  type: "history";
  before?: number;
  limit: number;
  with?: string;
  /** Extension of version 1: echoed on the answer (or the refusal) so a client can match it. */
  ref?: Ref;
}
export interface SearchRequest {
  type: "search";
  q: string;
  limit: number;
  /** Extension of version 1: echoed on the answer (or the refusal) so a client can match it. */
  ref?: Ref;
}
export interface PingMessage {
  type: "ping";
  n: PingToken;
}
export interface PongMessage {
  type: "pong";
  n: PingToken;
}
export interface ByeMessage {
  type: "bye";
}
/**
 * Extension of version 1 (issue #14): asks the server to prove its key
 * (`server.key`) with a signature over `nonce` (BASE64 of
 * {@link proofNonceBytes} random bytes); allowed before `hello`.
 */
export interface ProveRequest {
  type: "prove";
  /** The nonce's bytes (decoded and checked here). */
  nonce: Uint8Array;
}

/** Every message a client may send. */
export type ClientMessage =
  | HelloMessage
  | SayMessage
  | NickMessage
  | UsersRequest
  | HistoryRequest
  | SearchRequest
  | PingMessage
  | PongMessage
  | ByeMessage
  | ProveRequest;

// ---- server -> client -------------------------------------------------------

/** `server.secure`: the Noise parameters of section 5, or null. */
export interface SecureParams {
  noise: string;
  kdf: string;
  salt: string;
  N: number;
  r: number;
  p: number;
}
/** A chat message as delivered (`msg`) and as listed in `history`/`results`. */
export interface ChatMessage {
  type: "msg";
  id: number;
  ts: number;
  from: string;
  to?: string;
  kind: MessageKind;
  body: string;
  ref?: Ref;
}
export interface UserEntry {
  nick: string;
  since: number;
}

/** Every message a server may send. */
export type ServerMessage =
  /** `key` (extension of version 1): BASE64 of the server's Ed25519 public key. */
  | { type: "server"; proto: number; name: string; secure: SecureParams | null; key?: string }
  /** The answer to `prove` (extension of version 1): BASE64 of the signature of {@link serverProofBytes}. */
  | { type: "proof"; sig: string }
  | { type: "welcome"; nick: string; last: number; motd?: string }
  /** `more`: this is one part of a list too long for one frame; more parts follow. */
  | { type: "users"; users: UserEntry[]; more?: boolean }
  | { type: "joined"; nick: string; ts: number }
  | { type: "left"; nick: string; ts: number; reason?: LeaveReason }
  | { type: "renamed"; from: string; to: string; ts: number }
  | ChatMessage
  | { type: "history"; items: ChatMessage[]; more: boolean; ref?: Ref }
  | { type: "results"; q: string; items: ChatMessage[]; ref?: Ref }
  /** `wait` (extension of version 1): with `rate_limited`, ms before the same request would be taken. */
  | { type: "error"; code: ErrorCode; message: string; ref?: Ref; wait?: number }
  | PingMessage
  | PongMessage;

// ---- text and BASE64 ----------------------------------------------------------

const utf8Encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** `body = base64(utf8(text))`. */
export function encodeBody(text: string): string {
  return toBase64(utf8Encoder.encode(text));
}

/**
 * Decodes a `body`; throws ProtocolError `bad_message` for bad BASE64 or text
 * that is not UTF-8. Returns the text and the canonical BASE64 of its bytes.
 */
export function decodeBody(body: string): { text: string; bytes: Uint8Array; canonical: string } {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(body);
  } catch {
    throw new ProtocolError("bad_message", "body is not valid BASE64 (RFC 4648, with padding)");
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ProtocolError("bad_message", "body does not decode to UTF-8 text");
  }
  return { text, bytes, canonical: toBase64(bytes) };
}

// ---- nicks ----------------------------------------------------------------------

const nickPattern = /^[\p{L}\p{Nd}_.-][\p{L}\p{M}\p{Nd}_.-]*$/u;
/** Combining marks in a row a nick may hold: scripts need a few, stacked "Zalgo" text more. */
export const maxNickMarkRun = 4;
const longMarkRun = new RegExp(`\\p{M}{${maxNickMarkRun + 1}}`, "u");

/**
 * Checks a nick: 1 to 32 code points of letters, digits, `_`, `-`, `.`
 * (combining marks allowed after the first, for scripts that need them, at
 * most {@link maxNickMarkRun} in a row; never format characters such as bidi
 * controls or zero-width joiners).
 * Returns a reason for a person, or null when the nick is valid.
 */
export function nickProblem(nick: string): string | null {
  const length = [...nick].length;
  if (length < 1) return "a nick needs at least one character";
  if (length > maxNickLength) return `a nick has at most ${maxNickLength} characters`;
  if (!nickPattern.test(nick)) return "a nick may hold only letters, digits, _, - and .";
  if (longMarkRun.test(nick)) {
    return `a nick may hold at most ${maxNickMarkRun} combining marks in a row`;
  }
  return null;
}

/** The form under which nicks are compared: unique without regard to case. */
export function nickKey(nick: string): string {
  return nick.normalize("NFC").toLowerCase();
}

// ---- decoding client messages ---------------------------------------------------

type JsonObject = Record<string, unknown>;

/** Parses a payload into a JSON object with a string `type`, or throws bad_json/bad_message. */
export function parseJsonObject(payload: Uint8Array): JsonObject & { type: string } {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(payload));
  } catch {
    throw new ProtocolError("bad_json", "payload is not UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("bad_message", "payload must be a JSON object");
  }
  const object = value as JsonObject;
  if (typeof object.type !== "string") {
    throw new ProtocolError("bad_message", "payload needs a string field 'type'");
  }
  return object as JsonObject & { type: string };
}

function field<T>(
  object: JsonObject,
  name: string,
  check: (value: unknown) => value is T,
  expected: string,
): T | undefined {
  const value = object[name];
  if (value === undefined || value === null) return undefined;
  if (!check(value)) {
    throw new ProtocolError("bad_message", `field '${name}' must be ${expected}`);
  }
  return value;
}

function required<T>(
  object: JsonObject,
  name: string,
  check: (value: unknown) => value is T,
  expected: string,
): T {
  const value = field(object, name, check, expected);
  if (value === undefined) throw new ProtocolError("bad_message", `field '${name}' is required`);
  return value;
}

const isString = (value: unknown): value is string => typeof value === "string";
const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isToken = (value: unknown): value is string | number =>
  (typeof value === "string" && value.length <= maxRefLength) ||
  (typeof value === "number" && Number.isFinite(value));
const isKind = (value: unknown): value is MessageKind => value === "text" || value === "action";

/**
 * Parses one client payload. Throws ProtocolError with `bad_json`,
 * `bad_message`, `unknown_type` or `too_long`; unknown fields are ignored.
 * `limit` is the longest text accepted, in UTF-8 bytes (default and most:
 * maxTextBytes).
 */
export function parseClientMessage(payload: Uint8Array, limit = maxTextBytes): ClientMessage {
  const object = parseJsonObject(payload);
  switch (object.type) {
    case "hello": {
      const hello: HelloMessage = {
        type: "hello",
        nick: required(object, "nick", isString, "a string"),
      };
      const client = field(object, "client", isString, "a string");
      if (client !== undefined) hello.client = client.slice(0, 64);
      const after = field(object, "after", isCount, "a message id (integer >= 0)");
      if (after !== undefined) hello.after = after;
      return hello;
    }
    case "say": {
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      const rawBody = required(object, "body", isString, "a BASE64 string");
      // 4 BASE64 characters carry 3 bytes: reject long bodies before decoding them.
      if (Math.floor(rawBody.length / 4) * 3 > limit + 3) throw tooLong(ref, limit);
      const { text, bytes, canonical } = decodeBody(rawBody);
      if (bytes.length > limit) throw tooLong(ref, limit);
      if (text.length === 0) {
        throw new ProtocolError("bad_message", "an empty message says nothing");
      }
      const say: SayMessage = {
        type: "say",
        body: canonical,
        text,
        kind: field(object, "kind", isKind, "'text' or 'action'") ?? "text",
      };
      const to = field(object, "to", isString, "a nick");
      if (to !== undefined) say.to = to;
      if (ref !== undefined) say.ref = ref;
      return say;
    }
    case "nick":
      return { type: "nick", nick: required(object, "nick", isString, "a string") };
    case "users":
      return { type: "users" };
    case "history": {
      const request: HistoryRequest = {
        type: "history",
        limit: Math.min(
          field(object, "limit", isCount, "an integer >= 0") ?? defaultHistoryLimit,
          maxHistoryLimit,
        ),
      };
      const before = field(object, "before", isCount, "a message id");
      if (before !== undefined) request.before = before;
      const withNick = field(object, "with", isString, "a nick");
      if (withNick !== undefined) request.with = withNick;
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "search": {
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      const q = required(object, "q", isString, "a string");
      if (q.length > maxSearchLength) {
        throw new ProtocolError(
          "too_long",
          `a search is at most ${maxSearchLength} characters; search for a shorter part`,
          { ref },
        );
      }
      const request: SearchRequest = {
        type: "search",
        q,
        limit: Math.min(
          field(object, "limit", isCount, "an integer >= 0") ?? defaultHistoryLimit,
          maxHistoryLimit,
        ),
      };
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "ping":
    case "pong":
      return { type: object.type, n: field(object, "n", isToken, "a string or number") ?? 0 };
    case "bye":
      return { type: "bye" };
    case "prove": {
      const nonce = required(object, "nonce", isString, "BASE64 of 32 bytes");
      let bytes: Uint8Array;
      try {
        bytes = fromBase64(nonce);
      } catch {
        throw new ProtocolError("bad_message", "field 'nonce' must be BASE64 of 32 bytes");
      }
      if (bytes.length !== proofNonceBytes) {
        throw new ProtocolError("bad_message", "field 'nonce' must be BASE64 of 32 bytes");
      }
      return { type: "prove", nonce: bytes };
    }
    default:
      throw new ProtocolError("unknown_type", `unknown message type '${object.type.slice(0, 40)}'`);
  }
}

function tooLong(ref: Ref | undefined, limit: number): ProtocolError {
  return new ProtocolError(
    "too_long",
    `message text is longer than ${limit} bytes; split it into several messages`,
    { ref },
  );
}

// ---- the server's proof of its key (issue #14) ---------------------------------

/** Random bytes in a `prove` nonce. */
export const proofNonceBytes = 32;
const proofLabel = utf8Encoder.encode("lanchat server proof\n");

/**
 * What a server signs to prove its key: "lanchat server proof\n", the
 * client's nonce bytes, then the Noise handshake hash of a secure session
 * (nothing on a plaintext one), so a proof made for one connection proves
 * nothing on another.
 */
export function serverProofBytes(nonce: Uint8Array, handshakeHash: Uint8Array | null): Uint8Array {
  const hash = handshakeHash ?? new Uint8Array(0);
  const bytes = new Uint8Array(proofLabel.length + nonce.length + hash.length);
  bytes.set(proofLabel, 0);
  bytes.set(nonce, proofLabel.length);
  bytes.set(hash, proofLabel.length + nonce.length);
  return bytes;
}

// ---- encoding ---------------------------------------------------------------

/** Encodes a message as its JSON payload bytes. */
export function encodePayload(message: ServerMessage | Record<string, unknown>): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(message));
}

/**
 * An `error` message for a refusal; `waitMs` (with `rate_limited`) tells the
 * client how long to wait before the same request would be taken.
 */
export function errorMessage(
  code: ErrorCode,
  message: string,
  ref?: Ref,
  waitMs?: number,
): ServerMessage {
  const error: ServerMessage = { type: "error", code, message };
  if (ref !== undefined) error.ref = ref;
  if (waitMs !== undefined) error.wait = Math.max(1, Math.ceil(waitMs));
  return error;
}
