/**
 * Sends read marks to the server without sending one per message.
 *
 * Owns: coalescing the {@link ReadMark}s of lib/client/unread.ts per
 * conversation: the first mark goes at once (so my other devices clear their
 * count within a moment), later ones within `intervalMs` wait and only the
 * newest of them goes at the end of it. A busy channel on screen then costs
 * the server at most one read mark per conversation per interval.
 * Uses timers; imports lib/client/unread.ts types only.
 */
import type { ReadMark } from "./unread.ts";

/** Options of {@link ReadSender}. */
export interface ReadSenderOptions {
  /** Shortest time between two marks of one conversation. Default 500 ms. */
  intervalMs?: number;
}

/**
 * Coalesces read marks per conversation.
 *
 * @example
 * const reads = new ReadSender((mark) => session.markRead(mark.conversation, mark.id));
 * const unread = new UnreadTracker({ onRead: (mark) => reads.mark(mark) });
 * // when done: reads.close() (sends what waits, stops the timers)
 */
export class ReadSender {
  readonly #send: (mark: ReadMark) => void;
  readonly #intervalMs: number;
  /** Per conversation: the newest mark waiting (null: none), and the timer of its interval. */
  readonly #windows = new Map<
    string,
    { waiting: ReadMark | null; timer: ReturnType<typeof setTimeout> }
  >();

  constructor(send: (mark: ReadMark) => void, options: ReadSenderOptions = {}) {
    this.#send = send;
    this.#intervalMs = options.intervalMs ?? 500;
  }

  /** Read `mark.conversation` up to `mark.id`: sent now, or with the newest at the end of the interval. */
  mark(mark: ReadMark): void {
    const open = this.#windows.get(mark.conversation);
    if (open !== undefined) {
      if (open.waiting === null || open.waiting.id < mark.id) open.waiting = mark;
      return;
    }
    this.#send(mark);
    this.#open(mark.conversation);
  }

  /** Sends every mark that waits, and stops the timers. Safe to call twice. */
  close(): void {
    for (const [conversation, open] of this.#windows) {
      clearTimeout(open.timer);
      this.#windows.delete(conversation);
      if (open.waiting !== null) this.#send(open.waiting);
    }
  }

  #open(conversation: string): void {
    const timer = setTimeout(() => {
      const waiting = this.#windows.get(conversation)?.waiting ?? null;
      this.#windows.delete(conversation);
      if (waiting === null) return;
      this.#send(waiting);
      this.#open(conversation);
    }, this.#intervalMs);
    this.#windows.set(conversation, { waiting: null, timer });
  }
}
