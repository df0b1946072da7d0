// @ts-check
/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The page's side of a room with a password (PROTOCOL.md section 5): the
 * room key (scrypt of the password, remembered in memory for reconnects), the
 * Noise initiator handshake over the raw link, and the codec that seals every
 * later payload.
 *
 * Owns: the password and derived keys while the page is open (never stored,
 * never sent). No DOM: the app asks the person. The primitives are
 * lib/wire/noise.ts and lib/wire/room_key.ts, bundled with @noble as noise.js.
 */
import { deriveRoomPsk, HandshakeState, noisePrologue, secureParamsProblem } from "./noise.js";
import { SecureRoomError } from "./connection.js";
import { parsePayload } from "./wire.js";

/** @typedef {import("./connection.js").Handshake} Handshake */
/** @typedef {import("./noise.js").SecureParams} SecureParams */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** What the page shows when the room refused the password. */
export const wrongPasswordText = "Wrong room password. Try again.";

/**
 * @typedef {object} SecureOptions
 * @property {(problem: string | null) => Promise<string>} askPassword
 *   Asks the person; `problem` says why the previous password was refused.
 * @property {(busy: boolean) => void} [onDeriving]  The key is being derived (about a second).
 */

/**
 * A Handshake for ChatConnection that joins rooms with a password.
 * @param {SecureOptions} options
 * @returns {Handshake}
 */
export function secureHandshake(options) {
  /** @type {string | null} */
  let password = null;
  /** @type {Map<string, Uint8Array>} */
  const keys = new Map();
  /** The room refused our key: forget it and ask again now, for the next connection. */
  const refused = async () => {
    keys.clear();
    password = null;
    password = await options.askPassword(wrongPasswordText);
    return new Error(wrongPasswordText);
  };

  return async (secure, link) => {
    const trouble = secureParamsProblem(secure);
    if (trouble !== null) {
      throw new SecureRoomError(
        `This room asks for a password in a way this page does not accept: ${trouble}.`,
      );
    }
    const params = /** @type {SecureParams} */ (/** @type {unknown} */ (secure));
    const id = `${params.salt} ${params.N} ${params.r} ${params.p}`;
    let psk = keys.get(id);
    if (psk === undefined) {
      if (password === null) {
        password = await options.askPassword(null);
      }
      options.onDeriving?.(true);
      try {
        psk = await deriveRoomPsk(password, params);
      } finally {
        options.onDeriving?.(false);
      }
      keys.set(id, psk);
    }
    const handshake = new HandshakeState({ initiator: true, prologue: noisePrologue, psk });
    link.send(/** @type {Uint8Array<ArrayBuffer>} */ (handshake.writeMessage(new Uint8Array(0))));
    let answer = await link.next();
    let bytes = typeof answer === "string" ? utf8Encoder.encode(answer) : new Uint8Array(answer);
    let refusal = bytes[0] === 0x7b ? parsePayload(answer) : null;
    // A plaintext ping sent before our handshake message arrived is not the answer.
    for (let skipped = 0; skipped < 8 && refusal?.type === "ping"; skipped++) {
      answer = await link.next();
      bytes = typeof answer === "string" ? utf8Encoder.encode(answer) : new Uint8Array(answer);
      refusal = bytes[0] === 0x7b ? parsePayload(answer) : null;
    }
    // A plaintext `error` instead of the answer: the server refused (auth_failed) or gave up.
    if (refusal !== null && refusal.type === "error") {
      if (refusal.code === "auth_failed") throw await refused();
      throw new Error(String(refusal.message ?? "the server refused the handshake"));
    }
    try {
      handshake.readMessage(bytes);
    } catch {
      throw await refused();
    }
    const { send, receive } = handshake.split();
    return {
      encode: (payload) => /** @type {Uint8Array<ArrayBuffer>} */ (send.encrypt(
        utf8Encoder.encode(JSON.stringify(payload)),
      )),
      decode: (data) => {
        if (typeof data === "string") return null; // Sealed payloads are binary.
        try {
          return parsePayload(utf8Decoder.decode(receive.decrypt(new Uint8Array(data))));
        } catch {
          return null; // Does not decrypt: the server closes such a session itself.
        }
      },
    };
  };
}
