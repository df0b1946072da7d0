/**
 * The payloads of PROTOCOL.md sections 2-4 as typed messages.
 *
 * Owns: JSON <-> message conversion, field validation, BASE64 bodies, nick
 * rules and size limits of the wire contract. Pure: no sockets, no room state.
 * Imports only lib/wire/errors.ts, lib/wire/base64.ts and lib/wire/file_chunk.ts.
 */
import { fromBase64, toBase64 } from "./base64.ts";
import { ProtocolError } from "./errors.ts";
import type { ErrorCode } from "./errors.ts";
import { fileNameProblem, fileTypeProblem, isSha256Hex, unknownFileType } from "./file_chunk.ts";

/**
 * `server.proto`: the oldest protocol version this server still serves. It stays 1 forever, since a
 * client written from version 1 checks it (PROTOCOL.md, "Versions").
 */
export const protocolVersion = 1;
/** `server.version`: the newest protocol version this code speaks (3: channels, section 9). */
export const protocolRevision = 4;
/** Longest channel name after its `#`, in code points. */
export const maxChannelNameLength = 32;
/** Longest channel topic, in code points. */
export const maxTopicLength = 256;
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
  /** Version 2: the device's Ed25519 public key ({@link keyLength} bytes). */
  key?: Uint8Array;
  /** Version 2: the key's signature of {@link helloSignatureBytes}; required with `key`. */
  sig?: Uint8Array;
  /** Version 2: a one-time code from `link_code`: add this device's key to that account. */
  link?: string;
}
export interface SayMessage {
  type: "say";
  /** Canonical BASE64 of `text`. */
  body: string;
  /** The decoded text (checked UTF-8). */
  text: string;
  to?: string;
  /** Version 3: the channel (absent: `#general`). */
  channel?: string;
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
  /** Version 3: only this channel's messages. */
  channel?: string;
  /** Extension of version 1: echoed on the answer (or the refusal) so a client can match it. */
  ref?: Ref;
}
export interface SearchRequest {
  type: "search";
  q: string;
  limit: number;
  /** Version 3: only this channel's messages. */
  channel?: string;
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

/** Version 2: asks for a one-time code that adds another device to the asker's account. */
export interface LinkRequest {
  type: "link";
  ref?: Ref;
}
/** Version 2: asks who holds a nick: guest or account, and the account's devices. */
export interface WhoisRequest {
  type: "whois";
  nick: string;
  ref?: Ref;
}

/** Version 3: channel requests (section 9.3); `topic` only on `topic`. */
export interface ChannelRequest {
  type: "join" | "part" | "topic" | "members";
  channel: string;
  topic?: string;
  ref?: Ref;
}
/** Version 3: read up to `id` in a conversation (`#channel` or `@nick`), section 9.5. */
export interface ReadRequest {
  type: "read";
  conversation: string;
  id: number;
}
/** Version 3: how to be told of a conversation, section 9.5. */
export interface NotifyRequest {
  type: "notify";
  conversation: string;
  level: "all" | "mentions" | "muted";
  ref?: Ref;
}
/** Version 3: the list of channels. */
export interface ChannelsRequest {
  type: "channels";
  ref?: Ref;
}

/** Version 4: send a file to a conversation (section 10.3). */
export interface UploadRequest {
  type: "upload";
  name: string;
  size: number;
  /** 64 lowercase hex digits. */
  sha256: string;
  /** A media type, or application/octet-stream. */
  mime: string;
  channel?: string;
  to?: string;
  ref?: Ref;
}
/** Version 4: fetch a file from `offset` (section 10.4). */
export interface GetRequest {
  type: "get";
  id: number;
  offset: number;
  ref?: Ref;
}
/** Version 4: the client has taken a download's bytes up to `offset`. */
export interface GotMessage {
  type: "got";
  stream: number;
  offset: number;
}
/** Version 4: stop a transfer; `discard` drops an upload's bytes too. */
export interface CancelRequest {
  type: "cancel";
  stream: number;
  discard: boolean;
}
/** Version 4: a conversation's newest files (section 10.5). */
export interface FilesRequest {
  type: "files";
  channel?: string;
  with?: string;
  before?: number;
  limit: number;
  ref?: Ref;
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
  | ProveRequest
  | LinkRequest
  | WhoisRequest
  | ChannelRequest
  | ChannelsRequest
  | ReadRequest
  | NotifyRequest
  | UploadRequest
  | GetRequest
  | GotMessage
  | CancelRequest
  | FilesRequest;

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
  /** Version 3: the channel of a public message, absent for `#general`. */
  channel?: string;
  kind: MessageKind;
  body: string;
  /** Version 4: this message is a file (section 10.1); its `id` is the file's id. */
  file?: FileInfo;
  ref?: Ref;
}
/** Version 4: what a file message says of its file. */
export interface FileInfo {
  name: string;
  size: number;
  /** The media type the sender declared: a hint, never trusted to render anything. */
  mime: string;
  sha256: string;
}
/** Version 4: `welcome.files`, for a member who may send files. */
export interface FileLimits {
  /** Largest file the server takes, in bytes. */
  max: number;
  /** Largest data in one chunk. */
  chunk: number;
  /** Bytes in flight beyond the last acknowledgement. */
  window: number;
}
export interface UserEntry {
  nick: string;
  since: number;
  /** Version 2: true for a user who joined without a device key (a version-1 client). */
  guest?: boolean;
}
/** Version 2: one device of an account, in a `whois` answer. */
export interface DeviceEntry {
  /** The device key's fingerprint (`SHA256:` and 43 BASE64 characters). */
  fingerprint: string;
  /** When the device was added to the account (ms). */
  added: number;
  /** When the device was last online (ms); absent for one never seen since it was added. */
  seen?: number;
  /** True while the device has a connection in the room. */
  online: boolean;
}

/** Every message a server may send. */
export type ServerMessage =
  /** `key` (extension of version 1): BASE64 of the server's Ed25519 public key. */
  | {
    type: "server";
    proto: number;
    name: string;
    secure: SecureParams | null;
    key?: string;
    /** Version 2: {@link protocolRevision}. */
    version?: number;
    /** Version 2: BASE64 of the 32 random bytes a `hello` with a key signs. */
    challenge?: string;
  }
  /** The answer to `prove` (extension of version 1): BASE64 of the signature of {@link serverProofBytes}. */
  | { type: "proof"; sig: string }
  /** `guest` (version 2): true when the member joined without a device key. */
  | {
    type: "welcome";
    nick: string;
    last: number;
    motd?: string;
    guest?: boolean;
    /** Version 4: present when the member may send files. */
    files?: FileLimits;
  }
  /** `more`: this is one part of a list too long for one frame; more parts follow. */
  | { type: "users"; users: UserEntry[]; more?: boolean }
  /** `guest` (version 2): true for a member without a device key. */
  | { type: "joined"; nick: string; ts: number; guest?: boolean }
  | { type: "left"; nick: string; ts: number; reason?: LeaveReason }
  | { type: "renamed"; from: string; to: string; ts: number }
  | ChatMessage
  | { type: "history"; items: ChatMessage[]; more: boolean; ref?: Ref }
  | { type: "results"; q: string; items: ChatMessage[]; ref?: Ref }
  /** `wait` (extension of version 1): with `rate_limited`, ms before the same request would be taken. */
  | { type: "error"; code: ErrorCode; message: string; ref?: Ref; wait?: number }
  /** Version 2: the answer to `link`. `expires`: ms since the epoch. */
  | { type: "link_code"; code: string; expires: number; ref?: Ref }
  /** Version 2: a device was added to the account; sent to every device of the account online. */
  | { type: "linked"; fingerprint: string; ts: number }
  /** Version 2: the answer to `whois`. `since`: when the account was made (absent for a guest). */
  | {
    type: "whois";
    nick: string;
    guest: boolean;
    since?: number;
    devices: DeviceEntry[];
    ref?: Ref;
  }
  /** Version 3: a channel as `join`, `part` and `channels` describe it. */
  | {
    type: "channel";
    name: string;
    topic: string;
    members: number;
    joined: boolean;
    ref?: Ref;
  }
  | { type: "channels"; items: ChannelEntry[]; ref?: Ref }
  | { type: "topic"; channel: string; topic: string; by: string; ts: number; ref?: Ref }
  | { type: "members"; channel: string; users: { nick: string; online: boolean }[]; ref?: Ref }
  /** Version 3: every conversation of the account with its unread counts, after `users`. */
  | { type: "conversations"; items: ConversationEntry[]; more?: boolean }
  | { type: "read"; conversation: string; id: number }
  | { type: "notify"; conversation: string; level: "all" | "mentions" | "muted"; ref?: Ref }
  /** Version 4: the answer to `upload` (section 10.3). */
  | {
    type: "upload";
    upload: string;
    stream: number;
    offset: number;
    chunk: number;
    window: number;
    ref?: Ref;
  }
  | { type: "stored"; stream: number; offset: number }
  | { type: "uploaded"; stream: number; id: number; ref?: Ref }
  /** Version 4: the answer to `get`; data payloads of `stream` follow. */
  | {
    type: "download";
    stream: number;
    id: number;
    file: FileInfo;
    offset: number;
    chunk: number;
    window: number;
    ref?: Ref;
  }
  | { type: "files"; items: ChatMessage[]; more: boolean; ref?: Ref }
  | PingMessage
  | PongMessage;

/** Version 3: one conversation in a `conversations` message (section 9.5). */
export interface ConversationEntry {
  conversation: string;
  kind: "channel" | "direct";
  unread: number;
  mentions: number;
  read: number;
  last: number;
  notify: "all" | "mentions" | "muted";
}

/** Version 3: one channel in a `channels` answer. */
export interface ChannelEntry {
  name: string;
  topic: string;
  members: number;
  joined: boolean;
}

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
/**
 * Nicks nobody may take (version 3): `@channel`, `@here` and `@all` mention everyone in a
 * conversation (lib/wire/mentions.ts), so a person with such a nick could never be mentioned alone.
 */
export const reservedNicks: readonly string[] = ["channel", "here", "all"];
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
  if (reservedNicks.includes(nickKey(nick))) {
    return `'${nick}' is kept for mentions (@${nickKey(nick)} mentions everyone in a conversation)`;
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
      const key = field(object, "key", isString, `BASE64 of ${keyLength} bytes`);
      if (key !== undefined) {
        hello.key = base64Field("key", key, keyLength);
        hello.sig = base64Field(
          "sig",
          required(object, "sig", isString, `BASE64 of ${signatureLength} bytes`),
          signatureLength,
        );
      }
      const link = field(object, "link", isString, "a string");
      if (link !== undefined) {
        if (key === undefined) {
          throw new ProtocolError("bad_message", "a hello with 'link' needs 'key' and 'sig'");
        }
        hello.link = link.slice(0, 64);
      }
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
      const sayChannel = field(object, "channel", isString, "a channel name");
      if (sayChannel !== undefined) say.channel = sayChannel;
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
      const historyChannel = field(object, "channel", isString, "a channel name");
      if (historyChannel !== undefined) request.channel = historyChannel;
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
      const searchChannel = field(object, "channel", isString, "a channel name");
      if (searchChannel !== undefined) request.channel = searchChannel;
      return request;
    }
    case "join":
    case "part":
    case "topic":
    case "members": {
      const request: ChannelRequest = {
        type: object.type,
        channel: required(object, "channel", isString, "a channel name"),
      };
      if (object.type === "topic") {
        const topic = required(object, "topic", isString, "a string");
        if ([...topic].length > maxTopicLength) {
          throw new ProtocolError(
            "too_long",
            `a topic is at most ${maxTopicLength} characters`,
            { ref: field(object, "ref", isToken, "a string (<= 128 chars) or number") },
          );
        }
        request.topic = topic;
      }
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "read":
      return {
        type: "read",
        conversation: required(object, "conversation", isString, "a conversation name"),
        id: required(object, "id", isCount, "a message id"),
      };
    case "notify": {
      const level = required(
        object,
        "level",
        (value: unknown): value is "all" | "mentions" | "muted" =>
          value === "all" || value === "mentions" || value === "muted",
        "'all', 'mentions' or 'muted'",
      );
      const request: NotifyRequest = {
        type: "notify",
        conversation: required(object, "conversation", isString, "a conversation name"),
        level,
      };
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "channels": {
      const request: ChannelsRequest = { type: "channels" };
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
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
      return { type: "prove", nonce: base64Field("nonce", nonce, proofNonceBytes) };
    }
    case "link": {
      const request: LinkRequest = { type: "link" };
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "whois": {
      const request: WhoisRequest = {
        type: "whois",
        nick: required(object, "nick", isString, "a nick"),
      };
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "upload":
      return parseUpload(object);
    case "get": {
      const request: GetRequest = {
        type: "get",
        id: required(object, "id", isCount, "a file id"),
        offset: field(object, "offset", isCount, "a byte offset (integer >= 0)") ?? 0,
      };
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    case "got":
      return {
        type: "got",
        stream: required(object, "stream", isCount, "a stream number"),
        offset: required(object, "offset", isCount, "a byte offset"),
      };
    case "cancel":
      return {
        type: "cancel",
        stream: required(object, "stream", isCount, "a stream number"),
        discard: object.discard === true,
      };
    case "files": {
      const request: FilesRequest = {
        type: "files",
        limit: Math.min(
          field(object, "limit", isCount, "an integer >= 0") ?? defaultFilesLimit,
          maxFilesLimit,
        ),
      };
      const before = field(object, "before", isCount, "a message id");
      if (before !== undefined) request.before = before;
      const withNick = field(object, "with", isString, "a nick");
      if (withNick !== undefined) request.with = withNick;
      const filesChannel = field(object, "channel", isString, "a channel name");
      if (filesChannel !== undefined) request.channel = filesChannel;
      const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
      if (ref !== undefined) request.ref = ref;
      return request;
    }
    default:
      throw new ProtocolError("unknown_type", `unknown message type '${object.type.slice(0, 40)}'`);
  }
}

/** Files listed by `files` without `limit`, and at most (section 10.5). */
export const defaultFilesLimit = 20;
export const maxFilesLimit = 100;

/** An `upload` request (section 10.3), its name, type and hash checked by lib/wire/file_chunk.ts. */
function parseUpload(object: JsonObject): UploadRequest {
  const ref = field(object, "ref", isToken, "a string (<= 128 chars) or number");
  const refuse = (problem: string) => new ProtocolError("bad_message", problem, { ref });
  const name = required(object, "name", isString, "a file name");
  const nameProblem = fileNameProblem(name);
  if (nameProblem !== null) throw refuse(nameProblem);
  const size = required(object, "size", isCount, "a size in bytes");
  if (size === 0) throw refuse("an empty file has nothing to send");
  const sha256 = required(object, "sha256", isString, "64 lowercase hex digits");
  if (!isSha256Hex(sha256)) throw refuse("field 'sha256' must be 64 lowercase hex digits");
  const mime = field(object, "mime", isString, "a media type") ?? unknownFileType;
  const mimeProblem = fileTypeProblem(mime);
  if (mimeProblem !== null) throw refuse(mimeProblem);
  const request: UploadRequest = { type: "upload", name, size, sha256, mime };
  const to = field(object, "to", isString, "a nick");
  if (to !== undefined) request.to = to;
  const channel = field(object, "channel", isString, "a channel name");
  if (channel !== undefined) request.channel = channel;
  if (ref !== undefined) request.ref = ref;
  return request;
}

/** Decodes a BASE64 field that must hold exactly `length` bytes, or throws `bad_message`. */
function base64Field(name: string, value: string, length: number): Uint8Array {
  let bytes: Uint8Array | undefined;
  try {
    bytes = fromBase64(value);
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || bytes.length !== length) {
    throw new ProtocolError("bad_message", `field '${name}' must be BASE64 of ${length} bytes`);
  }
  return bytes;
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

// ---- channels (version 3) ---------------------------------------------------------

const channelPattern = /^#[\p{L}\p{Nd}_-]+$/u;

/**
 * Checks a channel name: `#` and 1 to 32 letters, digits, `-` or `_`.
 * Returns a reason for a person, or null when the name is valid.
 */
export function channelNameProblem(name: string): string | null {
  if (!name.startsWith("#")) return "a channel name starts with #";
  const length = [...name].length - 1;
  if (length < 1) return "a channel name needs at least one character after #";
  if (length > maxChannelNameLength) {
    return `a channel name has at most ${maxChannelNameLength} characters after #`;
  }
  if (!channelPattern.test(name)) return "a channel name may hold only letters, digits, - and _";
  return null;
}

// ---- device keys and accounts (version 2) --------------------------------------

/** Bytes of an Ed25519 public key (`hello.key`). */
export const keyLength = 32;
/** Bytes of an Ed25519 signature (`hello.sig`). */
export const signatureLength = 64;
/** Random bytes in `server.challenge`. */
export const challengeBytes = 32;
const helloLabel = utf8Encoder.encode("lanchat hello\n");

/**
 * What a device signs to join with its key: "lanchat hello\n", the 32 bytes
 * of `server.challenge` (fresh for each connection), then the Noise handshake
 * hash of a secure session (nothing on a plaintext one), so a signature made
 * for one connection is worth nothing on another.
 */
export function helloSignatureBytes(
  challenge: Uint8Array,
  handshakeHash: Uint8Array | null,
): Uint8Array {
  const hash = handshakeHash ?? new Uint8Array(0);
  const bytes = new Uint8Array(helloLabel.length + challenge.length + hash.length);
  bytes.set(helloLabel, 0);
  bytes.set(challenge, helloLabel.length);
  bytes.set(hash, helloLabel.length + challenge.length);
  return bytes;
}

/**
 * The 32 letters and digits of a link code (Crockford's base 32: no I, L, O
 * or U, so nothing reads as another character).
 */
export const linkCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in a link code (40 bits). */
export const linkCodeLength = 8;

/** A link code as people read it: `K7QM-3XPA`. */
export function formatLinkCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * A link code as typed, in its canonical form (8 characters of
 * {@link linkCodeAlphabet}), or null when it cannot be one. Case, spaces and
 * dashes do not matter; O reads as 0, I and L as 1.
 */
export function normalizeLinkCode(typed: string): string | null {
  const code = typed.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (code.length !== linkCodeLength) return null;
  for (const char of code) if (!linkCodeAlphabet.includes(char)) return null;
  return code;
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
