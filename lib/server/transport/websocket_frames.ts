/**
 * RFC 6455 framing: bytes <-> WebSocket frames and messages, for the server
 * side of `/ws` (and, unmasked the other way round, for tests' clients).
 *
 * Owns: frame headers, masking, fragmentation, control frames (ping, pong,
 * close) and their rules, the close codes, the size check of every message
 * against a limit before its payload is taken, UTF-8 checks of text, and the
 * opening handshake's Sec-WebSocket-Accept. The decoder keeps only bytes that
 * have arrived: a header announcing 60 MB is refused at once, and a message
 * within the limit is kept in a buffer that grows as its bytes come.
 * Pure: no sockets, no JSON, no other lib/ module.
 */

/** Frame opcodes (RFC 6455 section 5.2). */
export const opcodes = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes this server sends (RFC 6455 section 7.4.1). */
export const closeCodes = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidData: 1007,
  policyViolation: 1008,
  tooBig: 1009,
} as const;

/** Largest payload of a control frame. */
export const maxControlPayloadBytes = 125;

/** What the decoder found in the bytes, in order. */
export type WebSocketEvent =
  /** A whole data message (all its fragments joined); `text` for opcode 1. */
  | { kind: "message"; payload: Uint8Array; text: boolean }
  | { kind: "ping"; payload: Uint8Array }
  | { kind: "pong"; payload: Uint8Array }
  /** The peer's close frame; `code` null when it carried none. Nothing follows it. */
  | { kind: "close"; code: number | null; reason: string }
  /**
   * The bytes break the protocol or the limit; the connection must be closed
   * with `closeCode` (1002 protocol error, 1007 bad UTF-8, 1009 too big).
   * Nothing follows it.
   */
  | { kind: "error"; closeCode: number; message: string };

/** Options of {@link WebSocketDecoder}. */
export interface WebSocketDecoderOptions {
  /** Largest message accepted, all fragments together. Required: there is no safe default. */
  maxMessageBytes: number;
  /**
   * True on a server: every client frame must be masked (RFC 6455 section
   * 5.1). False on a client: no server frame may be. Default true.
   */
  masked?: boolean;
}

const empty = new Uint8Array(0);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();

/**
 * Turns a byte stream, fed in chunks of any size, into WebSocket events.
 *
 * Two states, as lib/frame.ts: collecting a frame header (2 to 14 bytes),
 * then its payload. The declared length, and a fragmented message's running
 * total, are checked against `maxMessageBytes` as soon as the header is
 * complete, before any payload byte is kept. After a `close` or `error`
 * event the decoder ignores further bytes.
 *
 * @example
 * const decoder = new WebSocketDecoder({ maxMessageBytes: 65535 });
 * for (const event of decoder.push(chunk)) if (event.kind === "message") handle(event.payload);
 */
export class WebSocketDecoder {
  /** Largest message accepted from the next frame header on. */
  maxMessageBytes: number;
  readonly #masked: boolean;
  readonly #header = new Uint8Array(14);
  #headerFill = 0;
  /** -1 while collecting a header; else the payload length of the current frame. */
  #frameLength = -1;
  #frameFill = 0;
  #frameOpcode = 0;
  #frameFin = false;
  readonly #mask = new Uint8Array(4);
  #frameMasked = false;
  /** A control frame's payload (at most 125 bytes). */
  readonly #control = new Uint8Array(maxControlPayloadBytes);
  /** The data message being collected: grown (doubling) as bytes arrive, never to a declared size. */
  #message: Uint8Array = empty;
  #messageFill = 0;
  /** Opcode of the message in progress (text or binary), or -1 between messages. */
  #messageOpcode = -1;
  #done = false;

  constructor(options: WebSocketDecoderOptions) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.#masked = options.masked ?? true;
  }

  /** True once a close frame or an error was found: the connection is over. */
  get done(): boolean {
    return this.#done;
  }

  /** Bytes held for the frame and message in progress (for memory accounting in tests). */
  get heldBytes(): number {
    return this.#headerFill + this.#message.length;
  }

  /** Feeds one chunk; returns what it completed, in order. Events never alias `chunk`. */
  push(chunk: Uint8Array): WebSocketEvent[] {
    const events: WebSocketEvent[] = [];
    let offset = 0;
    // Bounded: every round consumes bytes, or completes a frame of length 0, or ends.
    while (!this.#done && (offset < chunk.length || this.#frameLength === 0)) {
      if (this.#frameLength < 0) {
        offset = this.#takeHeader(chunk, offset, events);
        continue;
      }
      const take = Math.min(this.#frameLength - this.#frameFill, chunk.length - offset);
      if (take > 0) {
        this.#takePayload(chunk.subarray(offset, offset + take));
        offset += take;
      }
      if (this.#frameFill === this.#frameLength) this.#finishFrame(events);
    }
    return events;
  }

  /** Collects header bytes; once whole, checks them. Returns the new offset. */
  #takeHeader(chunk: Uint8Array, offset: number, events: WebSocketEvent[]): number {
    // The header's size is known after its second byte.
    for (;;) {
      const needed = this.#headerSize();
      if (this.#headerFill >= needed) break;
      if (offset >= chunk.length) return offset;
      const take = Math.min(needed - this.#headerFill, chunk.length - offset);
      this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
      this.#headerFill += take;
      offset += take;
    }
    this.#startFrame(events);
    return offset;
  }

  /** Bytes of the current header: 2 until the second byte says more. */
  #headerSize(): number {
    if (this.#headerFill < 2) return 2;
    const second = this.#header[1]!;
    const lengthCode = second & 0x7f;
    const extended = lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0;
    return 2 + extended + ((second & 0x80) !== 0 ? 4 : 0);
  }

  #startFrame(events: WebSocketEvent[]): void {
    const header = this.#header;
    const first = header[0]!;
    const second = header[1]!;
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    const masked = (second & 0x80) !== 0;
    const lengthCode = second & 0x7f;
    let length = lengthCode;
    let at = 2;
    if (lengthCode === 126) {
      length = (header[2]! << 8) | header[3]!;
      at = 4;
    } else if (lengthCode === 127) {
      const view = new DataView(header.buffer, 2, 8);
      const high = view.getUint32(0);
      if (high >= 0x8000_0000) {
        return this.#fail(events, closeCodes.protocolError, "frame length has its top bit set");
      }
      // Exact up to 2^53; anything that large is refused below anyway.
      length = high * 0x1_0000_0000 + view.getUint32(4);
      at = 10;
    }
    if ((first & 0x70) !== 0) {
      return this.#fail(
        events,
        closeCodes.protocolError,
        "reserved bits set, but no extension was agreed",
      );
    }
    if (masked !== this.#masked) {
      return this.#fail(
        events,
        closeCodes.protocolError,
        this.#masked ? "a client frame was not masked" : "a server frame was masked",
      );
    }
    const control = opcode >= 0x8;
    if (control) {
      if (opcode !== opcodes.close && opcode !== opcodes.ping && opcode !== opcodes.pong) {
        return this.#fail(events, closeCodes.protocolError, `unknown opcode ${opcode}`);
      }
      if (!fin) {
        return this.#fail(events, closeCodes.protocolError, "a control frame was fragmented");
      }
      if (length > maxControlPayloadBytes) {
        return this.#fail(
          events,
          closeCodes.protocolError,
          `control frame of ${length} bytes (at most ${maxControlPayloadBytes})`,
        );
      }
    } else if (opcode === opcodes.continuation) {
      if (this.#messageOpcode < 0) {
        return this.#fail(events, closeCodes.protocolError, "continuation frame without a message");
      }
    } else if (opcode === opcodes.text || opcode === opcodes.binary) {
      if (this.#messageOpcode >= 0) {
        return this.#fail(
          events,
          closeCodes.protocolError,
          "a new message started before the last one ended",
        );
      }
      this.#messageOpcode = opcode;
    } else {
      return this.#fail(events, closeCodes.protocolError, `unknown opcode ${opcode}`);
    }
    // The limit, before a single payload byte is kept.
    if (!control && this.#messageFill + length > this.maxMessageBytes) {
      return this.#fail(
        events,
        closeCodes.tooBig,
        `message of ${this.#messageFill + length} bytes or more exceeds the limit of ` +
          `${this.maxMessageBytes} bytes`,
      );
    }
    if (masked) this.#mask.set(header.subarray(at, at + 4));
    this.#frameMasked = masked;
    this.#frameFin = fin;
    this.#frameOpcode = opcode;
    this.#frameLength = length;
    this.#frameFill = 0;
    this.#headerFill = 0;
  }

  /** Unmasks `bytes` into the control buffer or the message buffer. */
  #takePayload(bytes: Uint8Array): void {
    const control = this.#frameOpcode >= 0x8;
    let target: Uint8Array;
    let at: number;
    if (control) {
      target = this.#control;
      at = this.#frameFill;
    } else {
      if (this.#message.length === 0 && this.#frameFin && bytes.length === this.#frameLength) {
        // A whole unfragmented message in one chunk: its exact size, no growing.
        this.#message = new Uint8Array(bytes.length);
      }
      this.#reserve(this.#messageFill + bytes.length);
      target = this.#message;
      at = this.#messageFill;
      this.#messageFill += bytes.length;
    }
    if (this.#frameMasked) {
      const mask = this.#mask;
      const phase = this.#frameFill;
      for (let index = 0; index < bytes.length; index++) {
        target[at + index] = bytes[index]! ^ mask[(phase + index) & 3]!;
      }
    } else {
      target.set(bytes, at);
    }
    this.#frameFill += bytes.length;
  }

  /** Grows the message buffer to hold `bytes` (doubling, at least 1 KiB, never past the limit). */
  #reserve(bytes: number): void {
    if (bytes <= this.#message.length) return;
    const capacity = Math.min(
      Math.max(bytes, this.#message.length * 2, 1024),
      Math.max(bytes, this.maxMessageBytes),
    );
    const grown = new Uint8Array(capacity);
    grown.set(this.#message.subarray(0, this.#messageFill));
    this.#message = grown;
  }

  #finishFrame(events: WebSocketEvent[]): void {
    const opcode = this.#frameOpcode;
    const length = this.#frameLength;
    this.#frameLength = -1;
    this.#frameFill = 0;
    if (opcode === opcodes.ping || opcode === opcodes.pong) {
      events.push({
        kind: opcode === opcodes.ping ? "ping" : "pong",
        payload: this.#control.slice(0, length),
      });
      return;
    }
    if (opcode === opcodes.close) {
      return this.#finishClose(this.#control.subarray(0, length), events);
    }
    if (!this.#frameFin) return;
    const payload = this.#message.length === this.#messageFill
      ? this.#message
      : this.#message.slice(0, this.#messageFill);
    const text = this.#messageOpcode === opcodes.text;
    this.#message = empty;
    this.#messageFill = 0;
    this.#messageOpcode = -1;
    if (text && !isUtf8(payload)) {
      return this.#fail(events, closeCodes.invalidData, "a text message is not valid UTF-8");
    }
    events.push({ kind: "message", payload, text });
  }

  #finishClose(body: Uint8Array, events: WebSocketEvent[]): void {
    if (body.length === 0) {
      this.#done = true;
      events.push({ kind: "close", code: null, reason: "" });
      return;
    }
    if (body.length === 1) {
      return this.#fail(events, closeCodes.protocolError, "close frame of 1 byte");
    }
    const code = (body[0]! << 8) | body[1]!;
    if (!isValidCloseCode(code)) {
      return this.#fail(events, closeCodes.protocolError, `close code ${code} is not allowed`);
    }
    const reasonBytes = body.subarray(2);
    if (!isUtf8(reasonBytes)) {
      return this.#fail(events, closeCodes.invalidData, "the close reason is not valid UTF-8");
    }
    this.#done = true;
    events.push({ kind: "close", code, reason: strictUtf8.decode(reasonBytes) });
  }

  #fail(events: WebSocketEvent[], closeCode: number, message: string): void {
    this.#done = true;
    this.#message = empty;
    events.push({ kind: "error", closeCode, message });
  }
}

/** True for a code a peer may send in a close frame (RFC 6455 section 7.4). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link encodeWebSocketFrame}. */
export interface EncodeFrameOptions {
  /** Last frame of its message. Default true. */
  fin?: boolean;
  /** Mask with these 4 bytes (clients must; servers must not). Default: unmasked. */
  mask?: Uint8Array;
  /** Set reserved bits (tests of bad frames only). Default 0. */
  reservedBits?: number;
}

/**
 * One frame: header, then the payload (masked when a mask is given).
 *
 * @example
 * const bytes = encodeWebSocketFrame(opcodes.binary, payload); // a server's frame
 */
export function encodeWebSocketFrame(
  opcode: number,
  payload: Uint8Array,
  options: EncodeFrameOptions = {},
): Uint8Array {
  const length = payload.length;
  const headerBytes = headerSize(length, options.mask !== undefined);
  const frame = new Uint8Array(headerBytes + length);
  writeHeader(frame, opcode, length, options);
  const mask = options.mask;
  if (mask === undefined) {
    frame.set(payload, headerBytes);
  } else {
    for (let index = 0; index < length; index++) {
      frame[headerBytes + index] = payload[index]! ^ mask[index & 3]!;
    }
  }
  return frame;
}

/**
 * Only the header of a frame announcing `length` payload bytes: lets a test
 * declare a 60 MB message without building it.
 */
export function encodeWebSocketHeader(
  opcode: number,
  length: number,
  options: EncodeFrameOptions = {},
): Uint8Array {
  const header = new Uint8Array(headerSize(length, options.mask !== undefined));
  writeHeader(header, opcode, length, options);
  return header;
}

function headerSize(length: number, masked: boolean): number {
  const extended = length < 126 ? 0 : length < 0x1_0000 ? 2 : 8;
  return 2 + extended + (masked ? 4 : 0);
}

function writeHeader(
  target: Uint8Array,
  opcode: number,
  length: number,
  options: EncodeFrameOptions,
): void {
  target[0] = ((options.fin ?? true) ? 0x80 : 0) | (((options.reservedBits ?? 0) & 0x7) << 4) |
    (opcode & 0x0f);
  const maskBit = options.mask === undefined ? 0 : 0x80;
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  let at = 2;
  if (length < 126) {
    target[1] = maskBit | length;
  } else if (length < 0x1_0000) {
    target[1] = maskBit | 126;
    view.setUint16(2, length);
    at = 4;
  } else {
    target[1] = maskBit | 127;
    view.setUint32(2, Math.floor(length / 0x1_0000_0000));
    view.setUint32(6, length >>> 0);
    at = 10;
  }
  if (options.mask !== undefined) target.set(options.mask.subarray(0, 4), at);
}

/** The payload of a close frame: the code, big-endian, then the reason in UTF-8 (cut to fit). */
export function closePayload(code: number, reason = ""): Uint8Array {
  let reasonBytes = utf8.encode(reason);
  if (reasonBytes.length > maxControlPayloadBytes - 2) {
    // Cut on a character boundary so the reason stays valid UTF-8.
    let end = maxControlPayloadBytes - 2;
    while (end > 0 && (reasonBytes[end]! & 0xc0) === 0x80) end--;
    reasonBytes = reasonBytes.subarray(0, end);
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

/** The GUID of RFC 6455 section 1.3, appended to the client's key. */
const handshakeGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** True for a Sec-WebSocket-Key: base64 of 16 bytes. */
export function isWebSocketKey(key: string): boolean {
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return false;
  try {
    return Uint8Array.fromBase64(key).length === 16;
  } catch {
    return false;
  }
}

/**
 * The Sec-WebSocket-Accept answering `key`: base64(SHA-1(key + GUID)).
 *
 * @example
 * await webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 */
export async function webSocketAccept(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", utf8.encode(key + handshakeGuid));
  return new Uint8Array(digest).toBase64();
}
