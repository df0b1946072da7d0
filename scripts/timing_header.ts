/**
 * The timing header the benchmark generators put at the start of every chat
 * message they send, `TTTTTTTT.ttt SS ` (send time in ms since the generator
 * started, then the step number), and reading it back from the message's
 * BASE64 body without decoding the rest.
 *
 * Owns: the header's layout and its decoder. Used by scripts/bench_load.ts
 * and scripts/bench_features_load.ts; imports nothing.
 */

/** BASE64 characters of the header at the start of a body (15 bytes). */
export const timingHeaderCharacters = 20;

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const base64Value = new Int8Array(256).fill(-1);
for (let index = 0; index < 64; index++) base64Value[base64Alphabet.charCodeAt(index)] = index;
const headerScratch = new Uint8Array(15);

/**
 * The send time and step of the header whose 20 BASE64 characters start at
 * `payload[start]`, or null when they are not one.
 */
export function decodeTimingHeader(
  payload: Uint8Array,
  start: number,
): { sentAt: number; step: number } | null {
  if (start < 0 || start + timingHeaderCharacters > payload.length) return null;
  for (let group = 0; group < 5; group++) {
    let bits = 0;
    for (let char = 0; char < 4; char++) {
      const value = base64Value[payload[start + group * 4 + char]!]!;
      if (value < 0) return null;
      bits = (bits << 6) | value;
    }
    headerScratch[group * 3] = (bits >> 16) & 0xff;
    headerScratch[group * 3 + 1] = (bits >> 8) & 0xff;
    headerScratch[group * 3 + 2] = bits & 0xff;
  }
  let sentAt = 0, fraction = 0, scale = 1, inFraction = false;
  for (let index = 0; index < 12; index++) {
    const byte = headerScratch[index]!;
    if (byte === 0x2e) {
      inFraction = true;
      continue;
    }
    const digit = byte - 0x30;
    if (digit < 0 || digit > 9) return null;
    if (inFraction) fraction += digit * (scale /= 10);
    else sentAt = sentAt * 10 + digit;
  }
  const step = (headerScratch[13]! - 0x30) * 10 + (headerScratch[14]! - 0x30);
  return { sentAt: sentAt + fraction, step };
}
