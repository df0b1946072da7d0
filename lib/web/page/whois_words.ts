/**
 * What the page says about a person from a `whois` answer (PROTOCOL.md 8.8):
 * guest or account and since when, and each device by its short
 * fingerprint, when it was added and whether it is online or when it was
 * last seen, as the person card (view/person_card.tsx) says them. (`/whois`
 * prints the client core's lines, as the terminal does.)
 *
 * Owns: the card's words and the dates' form (the reader's locale and time
 * zone). Pure: no DOM, no state. Imports the client core only.
 */
import type { WhoisAnswer } from "../../client/session.ts";
import { shortFingerprintLength } from "../../client/event_words.ts";

/** One device of an account, as `whois` lists it. */
export type WhoisDevice = WhoisAnswer["devices"][number];

const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dayAndTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A fingerprint's short form, for lists and cards: "SHA256:If4x36FUomFi". */
export function shortFingerprintOf(fingerprint: string): string {
  return fingerprint.slice(0, shortFingerprintLength);
}

/** "Account since 5 Dec 2025", or what a guest is. */
export function accountText(answer: WhoisAnswer): string {
  if (answer.guest || answer.since === undefined) {
    return "Guest: joined without a device key, so no account; the next guest may use this nick";
  }
  return `Account since ${day.format(new Date(answer.since))}`;
}

/** "added 5 Dec 2025": when the device joined the account. */
export function deviceAddedText(device: WhoisDevice): string {
  return `added ${day.format(new Date(device.added))}`;
}

/** "online now", "last seen 5 Dec 2025, 14:02" or "not seen since it was added". */
export function deviceSeenText(device: WhoisDevice): string {
  if (device.online) return "online now";
  if (device.seen === undefined) return "not seen since it was added";
  return `last seen ${dayAndTime.format(new Date(device.seen))}`;
}
