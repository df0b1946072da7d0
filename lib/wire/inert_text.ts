/**
 * Received text made safe to show (nicks, messages, room names, notices
 * from a server): the one table of characters that can move a cursor, reorder
 * a line or break it, and what each client shows in their place.
 *
 * Owns: that table and its two uses. {@link inert} is for a terminal: every
 * control character (newline and tab included) and every reordering or
 * line-breaking character becomes a visible stand-in, so a hostile peer
 * cannot move the cursor, recolour the screen or fake lines. {@link
 * visibleBidi} is for the page, where the browser draws controls harmlessly
 * and line breaks are wanted: only the bidi overrides, embeddings, isolates
 * and marks become visible, so a line cannot appear reversed or put words in
 * another speaker's mouth. Used by the terminal client, discovery, doctor
 * and the page. Pure: imports nothing.
 */

/**
 * Characters that reorder text: Arabic letter mark, LRM/RLM, the embeddings
 * and overrides U+202A-U+202E, the isolates U+2066-U+2069.
 */
const bidiControls = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";
/** Line and paragraph separators. */
const lineSeparators = "\\u2028\\u2029";
/** C0 controls, DEL and C1 controls. */
const controls = "\\u0000-\\u001f\\u007f-\\u009f";

const terminalUnsafe = new RegExp(`[${controls}${bidiControls}${lineSeparators}]`, "g");
const bidiOnly = new RegExp(`[${bidiControls}]`, "g");

/** `<U+202E>`: how a character that must not act is shown. */
function codeName(character: string): string {
  return `<U+${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}>`;
}

/**
 * Makes text safe to print on a terminal: every C0 control (newline and tab
 * included), DEL and C1 control, and the Unicode characters that reorder or
 * break lines (bidi overrides and isolates, line/paragraph separators)
 * become visible stand-ins. C0 and DEL use the Control Pictures block
 * (ESC -> `␛`, newline -> `␤`); the others are written `<U+XXXX>`.
 *
 * @example
 * inert("\x1b[2Jhi\n"); // "␛[2Jhi␤"
 */
export function inert(text: string): string {
  return text.replace(terminalUnsafe, (character) => {
    const code = character.charCodeAt(0);
    if (code === 0x0a) return "\u2424"; // ␤ SYMBOL FOR NEWLINE
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return "\u2421"; // ␡
    return codeName(character);
  });
}

/**
 * The page's rule: bidi controls become `<U+XXXX>`, everything else stays
 * (line breaks, emoji joiners). The page puts text in the DOM as text, so
 * nothing else can act.
 *
 * @example
 * visibleBidi("ok \u202egnp.exe"); // "ok <U+202E>gnp.exe"
 */
export function visibleBidi(text: string): string {
  return text.replace(bidiOnly, codeName);
}
