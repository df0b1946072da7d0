/**
 * A payload on its way out, encoded once and shared by every recipient.
 *
 * Owns: the "encode once, send many" cache of a payload's TCP frame and of
 * its WebSocket frame. Imports only lib/frame.ts, lib/wire/protocol.ts and
 * lib/server/transport/websocket_frames.ts.
 */
import { encodeFrame } from "../frame.ts";
import { encodeWebSocketFrame, opcodes } from "./transport/websocket_frames.ts";
import { encodePayload } from "../wire/protocol.ts";
import type { ServerMessage } from "../wire/protocol.ts";

/**
 * One server message as bytes. The room builds it once per broadcast; TCP
 * members write the same `frame` bytes, WebSocket members the same
 * `webSocketFrame` bytes.
 */
export class Outgoing {
  readonly payload: Uint8Array;
  /** Message id when this carries a chat message (for resume de-duplication). */
  readonly messageId: number;
  #frame: Uint8Array | null = null;
  #webSocketFrame: Uint8Array | null = null;

  constructor(payload: Uint8Array, messageId = 0) {
    this.payload = payload;
    this.messageId = messageId;
  }

  /**
   * A payload built inside its TCP frame (`frame`: the 4-byte length, then the payload), as a
   * file chunk is: no copy is made for TCP. The length header is checked.
   */
  static framed(frame: Uint8Array): Outgoing {
    const length = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0);
    if (length !== frame.length - 4) throw new RangeError("the frame's length header is wrong");
    const message = new Outgoing(frame.subarray(4));
    message.#frame = frame;
    return message;
  }

  /** Encodes `message` as JSON once. */
  static of(message: ServerMessage): Outgoing {
    return new Outgoing(encodePayload(message), message.type === "msg" ? message.id : 0);
  }

  /** The length-prefixed frame, built on first use and then shared. */
  get frame(): Uint8Array {
    return this.#frame ??= encodeFrame(this.payload);
  }

  /** The same payload as one unmasked binary WebSocket frame, built on first use and then shared. */
  get webSocketFrame(): Uint8Array {
    return this.#webSocketFrame ??= encodeWebSocketFrame(opcodes.binary, this.payload);
  }
}
