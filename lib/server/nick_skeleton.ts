/**
 * When two nicks look alike (issue #14, item 7): the skeletons of Unicode
 * TR39 section 4, so "аlice" with a Cyrillic а, "a1ice" and "alice" are one
 * nick to the eye and to the room.
 *
 * Owns: the skeletons of a nick: NFD, each character replaced by its
 * prototype from Unicode's confusables.txt (the `unhomoglyph` package
 * carries that table), NFD again; of the nick as typed and of its nickKey. Pure; imports lib/wire/protocol.ts and
 * unhomoglyph only.
 */
import unhomoglyph from "unhomoglyph";
import { nickKey } from "../wire/protocol.ts";

function skeleton(text: string): string {
  return unhomoglyph(text.normalize("NFD")).normalize("NFD");
}

/**
 * The skeletons of a nick as typed and of its nickKey (lower case): two nicks
 * look alike when they share one. Both, because confusables.txt works on the
 * letters as written ("Ι", Greek capital iota, looks like "l") and nicks are
 * compared without case ("a1ice" and "ALICE").
 *
 * @example
 * nickSkeletons("\u0430lice"); // ["alice"] (Cyrillic а), as nickSkeletons("alice")
 */
export function nickSkeletons(nick: string): string[] {
  const forms = [skeleton(nick), skeleton(nickKey(nick))];
  // Prototypes may be capitals (digit zero's is "O"): "0ps" and "ops" must meet too.
  return [...new Set([...forms, ...forms.map((form) => form.toLowerCase())])];
}
