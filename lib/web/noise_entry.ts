/**
 * Entry point of the browser bundle lib/web/noise.js (built by
 * `deno task bundle-web`; a test fails when the committed bundle is stale).
 *
 * Owns: which parts of the Noise and room-key code (and the downgrade
 * sentence) the page gets. The page
 * runs exactly the code the server and terminal client run, with the
 * @noble primitives bundled in, because a page on a plain http:// LAN address
 * has no WebCrypto.
 */
export { CipherState, HandshakeState, NoiseError, noiseProtocolName } from "../wire/noise.ts";
export {
  deriveRoomPsk,
  downgradeMessage,
  noisePrologue,
  secureParamsProblem,
} from "../wire/room_key.ts";
