/**
 * Received text made safe to print on a terminal.
 *
 * Owns: the one rule for showing text that came from another person or a
 * server (nicks, messages, room names) on a terminal: control characters,
 * bidi overrides and line separators become visible symbols, so a hostile
 * peer cannot move the cursor, recolour the screen or fake lines. Used by the
 * terminal client, discovery and doctor. Pure: imports nothing.
 */

/**
 * Makes text safe to print: every C0 control (newline and tab included), DEL
 * and C1 control, and the Unicode characters that reorder or break lines
 * (bidi overrides and isolates, line/paragraph separators) become visible
 * stand-ins. C0 and DEL use the Control Pictures block (ESC -> `␛`,
 * newline -> `␤`); the others are written `<U+XXXX>`.
 *
 * @example
 * inert("\x1b[2Jhi\n"); // "␛[2Jhi␤"
 */
export function inert(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (
    character,
  ) => {
    const code = character.charCodeAt(0);
    if (code === 0x0a) return "\u2424"; // ␤ SYMBOL FOR NEWLINE
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return "\u2421"; // ␡
    return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
  });
}
