/**
 * Reading what a server sends: payload bytes -> typed `ServerMessage`.
 *
 * Owns: the client-side validation of server payloads (PROTOCOL.md sections 4 and 8).
 * A client must survive a buggy or hostile server, so every field is checked
 * before use. Pure: no sockets, no output.
 * Imports only lib/wire/protocol.ts, lib/wire/file_chunk.ts and lib/wire/errors.ts.
 */
import { isErrorCode, ProtocolError } from "./errors.ts";
import { parseJsonObject } from "./protocol.ts";
import { fileNameProblem, isSha256Hex, maxChunkBytes, safeFileName } from "./file_chunk.ts";
import type {
  ChannelEntry,
  ChatMessage,
  ConversationEntry,
  DeviceEntry,
  FileInfo,
  FileLimits,
  LeaveReason,
  MessageKind,
  Ref,
  SecureParams,
  ServerMessage,
  UserEntry,
} from "./protocol.ts";

type JsonObject = Record<string, unknown>;

const leaveReasons: readonly string[] = ["quit", "timeout", "error", "slow", "kicked"];

function bad(problem: string): ProtocolError {
  return new ProtocolError("bad_message", problem);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(object: JsonObject, name: string): string {
  const value = object[name];
  if (typeof value !== "string") throw bad(`field '${name}' must be a string`);
  return value;
}

function optionalStr(object: JsonObject, name: string): string | undefined {
  const value = object[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw bad(`field '${name}' must be a string`);
  return value;
}

function int(object: JsonObject, name: string): number {
  const value = object[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw bad(`field '${name}' must be an integer >= 0`);
  }
  return value;
}

function token(object: JsonObject, name: string): Ref | undefined {
  const value = object[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) {
    return value;
  }
  throw bad(`field '${name}' must be a string or a number`);
}

function optionalInt(object: JsonObject, name: string): number | undefined {
  const value = object[name];
  if (value === undefined || value === null) return undefined;
  return int(object, name);
}

function device(entry: unknown): DeviceEntry {
  if (!isObject(entry)) throw bad("every device must be an object");
  const seen = optionalInt(entry, "seen");
  return {
    fingerprint: str(entry, "fingerprint"),
    added: int(entry, "added"),
    ...(seen === undefined ? {} : { seen }),
    online: entry.online === true,
  };
}

function chatMessage(object: JsonObject): ChatMessage {
  const kindValue = object.kind ?? "text";
  if (kindValue !== "text" && kindValue !== "action") {
    throw bad("field 'kind' must be 'text' or 'action'");
  }
  const message: ChatMessage = {
    type: "msg",
    id: int(object, "id"),
    ts: int(object, "ts"),
    from: str(object, "from"),
    kind: kindValue as MessageKind,
    body: str(object, "body"),
  };
  const to = optionalStr(object, "to");
  if (to !== undefined) message.to = to;
  const channel = optionalStr(object, "channel");
  if (channel !== undefined && to === undefined) message.channel = channel;
  if (object.file !== undefined && object.file !== null) message.file = fileInfo(object.file);
  const ref = token(object, "ref");
  if (ref !== undefined) message.ref = ref;
  return message;
}

/**
 * A file's description (section 10.1). A hostile server's name is made safe
 * to show and to save under; a size or hash that breaks the contract is refused.
 */
function fileInfo(value: unknown): FileInfo {
  if (!isObject(value)) throw bad("field 'file' must be an object");
  const name = str(value, "name");
  const sha256 = str(value, "sha256");
  if (!isSha256Hex(sha256)) throw bad("field 'sha256' must be 64 lowercase hex digits");
  return {
    name: fileNameProblem(name) === null ? name : safeFileName(name),
    size: int(value, "size"),
    mime: (optionalStr(value, "mime") ?? "application/octet-stream").slice(0, 100),
    sha256,
  };
}

/** `chunk` and `window` of a transfer, kept to what a client can use (a chunk fits a frame). */
function pacing(object: JsonObject): { chunk: number; window: number } {
  return {
    chunk: Math.min(maxChunkBytes, Math.max(1, int(object, "chunk"))),
    window: Math.max(1, int(object, "window")),
  };
}

function fileLimits(value: unknown): FileLimits | undefined {
  if (!isObject(value)) return undefined;
  return {
    max: int(value, "max"),
    ...pacing(value),
  };
}

function items(object: JsonObject): ChatMessage[] {
  const value = object.items;
  if (!Array.isArray(value)) throw bad("field 'items' must be an array of messages");
  return value.map((item) => {
    if (!isObject(item)) throw bad("every item must be a message object");
    return chatMessage(item);
  });
}

const notifyLevels: readonly string[] = ["all", "mentions", "muted"];

function notifyLevel(object: JsonObject, name: string): "all" | "mentions" | "muted" {
  const value = object[name];
  if (value === "all" || value === "mentions" || value === "muted") return value;
  throw bad(`field '${name}' must be one of ${notifyLevels.join(", ")}`);
}

function channelEntry(entry: unknown): ChannelEntry {
  if (!isObject(entry)) throw bad("every channel must be an object");
  return {
    name: str(entry, "name"),
    topic: optionalStr(entry, "topic") ?? "",
    members: int(entry, "members"),
    joined: entry.joined === true,
  };
}

function conversationEntry(entry: unknown): ConversationEntry {
  if (!isObject(entry)) throw bad("every conversation must be an object");
  const kind = entry.kind === "direct" ? "direct" : "channel";
  return {
    conversation: str(entry, "conversation"),
    kind,
    unread: int(entry, "unread"),
    mentions: int(entry, "mentions"),
    read: int(entry, "read"),
    last: int(entry, "last"),
    notify: entry.notify === undefined ? "all" : notifyLevel(entry, "notify"),
  };
}

function list<T>(object: JsonObject, name: string, read: (entry: unknown) => T): T[] {
  const value = object[name];
  if (!Array.isArray(value)) throw bad(`field '${name}' must be an array`);
  return value.map(read);
}

function secure(object: JsonObject): SecureParams | null {
  const value = object.secure;
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw bad("field 'secure' must be null or an object");
  // Only its presence matters to this version; keep the fields when well formed.
  return {
    noise: typeof value.noise === "string" ? value.noise : "",
    kdf: typeof value.kdf === "string" ? value.kdf : "",
    salt: typeof value.salt === "string" ? value.salt : "",
    N: typeof value.N === "number" ? value.N : 0,
    r: typeof value.r === "number" ? value.r : 0,
    p: typeof value.p === "number" ? value.p : 0,
  };
}

/**
 * Parses one server payload. Returns null for a message type this client does
 * not know (a newer server may send more); throws ProtocolError `bad_json` or
 * `bad_message` for a payload that breaks the contract.
 */
export function parseServerMessage(payload: Uint8Array): ServerMessage | null {
  const object = parseJsonObject(payload);
  switch (object.type) {
    case "server": {
      const key = optionalStr(object, "key");
      // Version 2 (section 8): absent `version` means 1; `challenge` is what a device key signs.
      const version = optionalInt(object, "version");
      const challenge = optionalStr(object, "challenge");
      return {
        type: "server",
        proto: int(object, "proto"),
        name: optionalStr(object, "name") ?? "",
        secure: secure(object),
        ...(key === undefined ? {} : { key }),
        ...(version === undefined ? {} : { version }),
        ...(challenge === undefined ? {} : { challenge }),
      };
    }
    case "proof":
      return { type: "proof", sig: str(object, "sig") };
    case "welcome": {
      const motd = optionalStr(object, "motd");
      return {
        type: "welcome",
        nick: str(object, "nick"),
        last: int(object, "last"),
        ...(motd === undefined ? {} : { motd }),
        ...(object.guest === true ? { guest: true } : {}),
        ...(isObject(object.files) ? { files: fileLimits(object.files)! } : {}),
      };
    }
    case "users": {
      const list = object.users;
      if (!Array.isArray(list)) throw bad("field 'users' must be an array");
      const users: UserEntry[] = list.map((entry) => {
        if (!isObject(entry)) throw bad("every user must be an object");
        const user: UserEntry = { nick: str(entry, "nick"), since: int(entry, "since") };
        if (entry.guest === true) user.guest = true;
        return user;
      });
      return object.more === true ? { type: "users", users, more: true } : { type: "users", users };
    }
    case "joined":
      return {
        type: "joined",
        nick: str(object, "nick"),
        ts: int(object, "ts"),
        ...(object.guest === true ? { guest: true } : {}),
      };
    case "left": {
      const reason = optionalStr(object, "reason");
      return {
        type: "left",
        nick: str(object, "nick"),
        ts: int(object, "ts"),
        ...(reason !== undefined && leaveReasons.includes(reason)
          ? { reason: reason as LeaveReason }
          : {}),
      };
    }
    case "renamed":
      return {
        type: "renamed",
        from: str(object, "from"),
        to: str(object, "to"),
        ts: int(object, "ts"),
      };
    case "msg":
      return chatMessage(object);
    case "history": {
      const ref = token(object, "ref");
      return {
        type: "history",
        items: items(object),
        more: object.more === true,
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "results": {
      const ref = token(object, "ref");
      return {
        type: "results",
        q: optionalStr(object, "q") ?? "",
        items: items(object),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "error": {
      const code = object.code;
      const ref = token(object, "ref");
      const wait = object.wait;
      return {
        type: "error",
        // An unknown code from a newer server is still shown; map it to a generic one.
        code: isErrorCode(code) ? code : "bad_message",
        message: optionalStr(object, "message") ?? String(code),
        ...(ref === undefined ? {} : { ref }),
        ...(typeof wait === "number" && Number.isFinite(wait) && wait >= 0 ? { wait } : {}),
      };
    }
    case "link_code": {
      const ref = token(object, "ref");
      return {
        type: "link_code",
        code: str(object, "code"),
        expires: int(object, "expires"),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "linked":
      return { type: "linked", fingerprint: str(object, "fingerprint"), ts: int(object, "ts") };
    case "whois": {
      const ref = token(object, "ref");
      const since = optionalInt(object, "since");
      const devices = object.devices ?? [];
      if (!Array.isArray(devices)) throw bad("field 'devices' must be an array");
      return {
        type: "whois",
        nick: str(object, "nick"),
        guest: object.guest === true,
        ...(since === undefined ? {} : { since }),
        devices: devices.map(device),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "channel": {
      const ref = token(object, "ref");
      return {
        type: "channel",
        ...channelEntry(object),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "channels": {
      const ref = token(object, "ref");
      return {
        type: "channels",
        items: list(object, "items", channelEntry),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "topic": {
      const ref = token(object, "ref");
      return {
        type: "topic",
        channel: str(object, "channel"),
        topic: optionalStr(object, "topic") ?? "",
        by: str(object, "by"),
        ts: int(object, "ts"),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "members": {
      const ref = token(object, "ref");
      return {
        type: "members",
        channel: str(object, "channel"),
        users: list(object, "users", (entry) => {
          if (!isObject(entry)) throw bad("every member must be an object");
          return { nick: str(entry, "nick"), online: entry.online === true };
        }),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "conversations":
      return {
        type: "conversations",
        items: list(object, "items", conversationEntry),
        ...(object.more === true ? { more: true } : {}),
      };
    case "read":
      return { type: "read", conversation: str(object, "conversation"), id: int(object, "id") };
    case "notify": {
      const ref = token(object, "ref");
      return {
        type: "notify",
        conversation: str(object, "conversation"),
        level: notifyLevel(object, "level"),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "upload": {
      const ref = token(object, "ref");
      return {
        type: "upload",
        upload: str(object, "upload"),
        stream: int(object, "stream"),
        offset: int(object, "offset"),
        ...pacing(object),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "stored":
      return { type: "stored", stream: int(object, "stream"), offset: int(object, "offset") };
    case "uploaded": {
      const ref = token(object, "ref");
      return {
        type: "uploaded",
        stream: int(object, "stream"),
        id: int(object, "id"),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "download": {
      const ref = token(object, "ref");
      return {
        type: "download",
        stream: int(object, "stream"),
        id: int(object, "id"),
        file: fileInfo(object.file),
        offset: int(object, "offset"),
        ...pacing(object),
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "files": {
      const ref = token(object, "ref");
      return {
        type: "files",
        items: items(object),
        more: object.more === true,
        ...(ref === undefined ? {} : { ref }),
      };
    }
    case "ping":
    case "pong":
      return { type: object.type, n: token(object, "n") ?? 0 };
    default:
      return null;
  }
}
