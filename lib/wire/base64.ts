/**
 * BASE64 (RFC 4648, standard alphabet, with padding) for every side: the
 * message bodies of PROTOCOL.md section 2 and the room key's salt.
 *
 * Owns: the one encoder and the one strict decoder. They use the built-in
 * `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` where the runtime
 * has them (Deno, current browsers) and `btoa` / `atob` elsewhere (browsers
 * from before 2025 that still open the page). Pure: imports nothing.
 */

/** BASE64 of `bytes`, padded. */
export function toBase64(bytes: Uint8Array): string {
  if (typeof bytes.toBase64 === "function") return bytes.toBase64();
  let binary = "";
  // Chunks keep String.fromCharCode's argument list short.
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

const canonicalPattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of a BASE64 string. Strict: padding is required and the unused
 * bits of the last character must be zero (`lastChunkHandling: "strict"`), so
 * one byte string has one BASE64 form. Throws SyntaxError otherwise.
 */
export function fromBase64(text: string): Uint8Array {
  if (typeof Uint8Array.fromBase64 === "function") {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  }
  if (!canonicalPattern.test(text)) throw new SyntaxError("not padded BASE64");
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  if (toBase64(bytes) !== text) throw new SyntaxError("BASE64 with stray bits");
  return bytes;
}
