/**
 * Error classes that carry a wire error code of PROTOCOL.md section 4.
 *
 * Owns: the list of protocol error codes and the errors that carry them.
 * Must not import anything else from lib/ (every module may import this one).
 * Programming mistakes throw built-in errors instead.
 */

/** Every error code a lanchat server may send (PROTOCOL.md section 4). */
export const errorCodes = [
  "bad_frame",
  "frame_too_large",
  "bad_json",
  "bad_message",
  "unknown_type",
  "not_joined",
  "nick_invalid",
  "nick_taken",
  "no_such_user",
  "too_long",
  "rate_limited",
  "auth_failed",
  "server_full",
  "shutting_down",
  // Not in PROTOCOL.md v1, which is silent on a store that cannot write
  // (disk full): the `say` was refused and nothing was delivered.
  "storage_failed",
  // Version 2 (device keys and accounts, PROTOCOL.md section 8).
  "nick_owned",
  "key_required",
  "bad_signature",
  "link_invalid",
  "device_removed",
  // Version 3 (channels, PROTOCOL.md section 9).
  "not_member",
  "channel_invalid",
  // Version 4 (files, PROTOCOL.md section 10).
  "file_too_large",
  "file_corrupt",
  "no_such_file",
  "store_full",
  "busy",
] as const;

/** One protocol error code. */
export type ErrorCode = typeof errorCodes[number];

/** A refusal that the peer is told about with an `error` message of this `code`. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  readonly code: ErrorCode;
  /** The `ref` of the refused `say`, echoed in the `error` so the sender can match it. */
  readonly ref: string | number | undefined;
  /** With `rate_limited`: ms before the same request would be taken (the `error`'s `wait`). */
  readonly waitMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: ErrorOptions & { ref?: string | number | undefined; waitMs?: number },
  ) {
    super(message, options);
    this.code = code;
    this.ref = options?.ref;
    this.waitMs = options?.waitMs;
  }
}

/**
 * A byte stream that cannot be split into frames. The connection cannot go on
 * after it: the receiver reports the code (when it can) and closes.
 */
export class FrameError extends ProtocolError {
  override name = "FrameError";
}

/**
 * A peer of a room with a password failed the Noise handshake or sent a
 * payload that does not decrypt (code `auth_failed`). The connection is told
 * so in plaintext, once, and closed.
 */
export class AuthFailedError extends ProtocolError {
  override name = "AuthFailedError";
}

/** True when `value` is one of the protocol's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (errorCodes as readonly string[]).includes(value);
}

/**
 * The message store could not keep or read messages (disk full, read-only,
 * corrupt, newer schema). `hint` says what the operator should do.
 */
export class StorageError extends Error {
  override name = "StorageError";
  readonly hint: string;

  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(message, options);
    this.hint = hint;
  }
}

/** A port could not be bound at start; `role` says which of the server's ports. */
export class ListenError extends Error {
  override name = "ListenError";
  readonly role: "chat" | "web";
  readonly port: number;

  constructor(role: "chat" | "web", port: number, cause: unknown) {
    super(
      `cannot listen on the ${role} port ${port}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      {
        cause,
      },
    );
    this.role = role;
    this.port = port;
  }
}
