/**
 * Which messages this client has already seen, across reconnects.
 *
 * Owns: the last message id seen (what `hello.after` resumes from), the
 * replay windows (the history asked for on joining, the messages missed while
 * disconnected) in which every id is shown exactly once, and the anchor: the
 * newest message seen, kept to recognise a server that restarted without its
 * history. Pure bookkeeping: no sockets, no output, no timers.
 * Imports only lib/wire/protocol.ts types.
 */
import type { ChatMessage } from "../wire/protocol.ts";

/** Where a shown message comes from. */
export type MessageSource = "live" | "history" | "missed";

/** Ids being replayed: (low, high], each shown once. */
export interface ReplayWindow {
  low: number;
  high: number;
  source: "history" | "missed";
  seen: Set<number>;
  /** How many messages of this window were new. */
  shown: number;
  /** My own replayed messages: evidence that a `say` written before a break did arrive. */
  ownReplays: ChatMessage[];
  /** True for the first join's history until its `history_end` is reported. */
  announceEnd: boolean;
}

/** Enough of a message to recognise it on a server again. */
export interface Anchor {
  id: number;
  ts: number;
  from: string;
  body: string;
}

/**
 * The client's record of message ids. Live messages count as new when their
 * id is above every id seen; inside an open replay window, each id counts once.
 *
 * @example
 * const ids = new MessageIds();
 * ids.firstJoin(41, false);
 * ids.classify(42); // "live"
 * ids.classify(42); // null: a repeat
 */
export class MessageIds {
  #newest = 0;
  #window: ReplayWindow | null = null;
  #anchor: Anchor | null = null;

  /** The id a reconnect resumes after (`hello.after`): every message up to it was seen. */
  get lastSeenId(): number {
    // While missed messages are still arriving, only those up to `low` are surely seen.
    // (The first join's history is old news: it never holds a reconnect back.)
    return this.#window?.source === "missed" ? this.#window.low : this.#newest;
  }

  /** The open replay window, if any. */
  get replayWindow(): ReplayWindow | null {
    return this.#window;
  }

  /** The newest message seen, or null. */
  get anchor(): Anchor | null {
    return this.#anchor;
  }

  /** First `welcome`: messages up to `last` are history, shown only when asked for. */
  firstJoin(last: number, showHistory: boolean): void {
    this.#newest = last;
    this.#window = showHistory ? newWindow(0, last, "history", true) : null;
  }

  /**
   * A `welcome` after reconnecting, with `last` its newest id. Opens the
   * window of missed messages (`lastSeenId`, last]; returns "restarted" when
   * the server's ids are below mine (it lost its history), in which case
   * everything up to `last` is new.
   */
  resume(last: number): "same" | "restarted" {
    const resumeFrom = this.lastSeenId;
    // A replay cut short by another disconnect: what it already showed stays shown.
    const alreadySeen = this.#window?.source === "missed" ? this.#window.seen : new Set<number>();
    if (last >= resumeFrom) {
      this.#newest = Math.max(this.#newest, last);
      this.#window = newWindow(resumeFrom, last, "missed", false, alreadySeen);
      return "same";
    }
    this.#newest = last;
    this.#window = newWindow(0, last, "missed", false);
    this.#anchor = null;
    return "restarted";
  }

  /** The server turned out to be a restarted one: everything up to `last` is new to me. */
  restarted(last: number): void {
    const replay = this.#window ?? newWindow(0, last, "missed", false);
    replay.low = 0;
    replay.high = Math.max(replay.high, last);
    this.#window = replay;
    this.#anchor = null;
  }

  /** Decides whether message `id` is new; returns where it comes from, or null for a repeat. */
  classify(id: number): MessageSource | null {
    const replay = this.#window;
    if (replay !== null && id > replay.low && id <= replay.high) {
      if (replay.seen.has(id)) return null;
      replay.seen.add(id);
      replay.shown++;
      return replay.source;
    }
    if (id > this.#newest) {
      this.#newest = id;
      return "live";
    }
    return null;
  }

  /** Keeps `message` as the anchor when it is the newest seen. */
  remember(message: ChatMessage): void {
    if (this.#anchor !== null && message.id <= this.#anchor.id) return;
    this.#anchor = { id: message.id, ts: message.ts, from: message.from, body: message.body };
  }

  /** Closes the replay window (everything it covers has arrived) and returns it. */
  closeWindow(): ReplayWindow | null {
    const replay = this.#window;
    this.#window = null;
    return replay;
  }
}

function newWindow(
  low: number,
  high: number,
  source: "history" | "missed",
  announceEnd: boolean,
  seen = new Set<number>(),
): ReplayWindow {
  return { low, high, source, seen, shown: 0, ownReplays: [], announceEnd };
}
