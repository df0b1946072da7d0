/**
 * How the benchmark generators pace one step: every sender sends at `rate`
 * messages per second with a random spread, and the step then waits for the
 * deliveries still on their way.
 *
 * Owns: the send schedule of a step (first sends spread over one interval,
 * then 0.5-1.5 intervals apart, never bunching up after a late turn), the
 * progress callback every 2 s, and the wait for deliveries woken by each
 * arrival. Used by scripts/bench_load.ts and scripts/bench_features_load.ts;
 * imports nothing.
 */

/** A client of a generator, as the pacer sees it. */
export interface PacedSender {
  /** When (in the generator's `now()` ms) its next message is due. */
  nextSendAt: number;
}

/**
 * Sends for every ready sender whose message is due, every 2 ms, until
 * `stepEnd`. `send` sends one message (and counts it); `progress` runs every
 * 2 s. Bounded by `stepEnd`.
 */
export async function paceStep<Sender extends PacedSender>(options: {
  senders: readonly Sender[];
  ratePerSender: number;
  now: () => number;
  stepEnd: number;
  ready: (sender: Sender) => boolean;
  send: (sender: Sender) => void;
  progress: () => void;
}): Promise<void> {
  const interval = options.ratePerSender > 0 ? 1000 / options.ratePerSender : Infinity;
  const stepStart = options.now();
  for (const sender of options.senders) sender.nextSendAt = stepStart + Math.random() * interval;
  let lastProgress = stepStart;
  while (options.now() < options.stepEnd) {
    const at = options.now();
    for (const sender of options.senders) {
      if (!options.ready(sender) || sender.nextSendAt > at) continue;
      options.send(sender);
      sender.nextSendAt += interval * (0.5 + Math.random());
      if (sender.nextSendAt < at) sender.nextSendAt = at + interval * Math.random();
    }
    if (at - lastProgress > 2000) {
      lastProgress = at;
      options.progress();
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits for deliveries: each arrival wakes the waiter, which also checks every 50 ms. */
export class DeliveryWaits {
  #waiter: (() => void) | null = null;

  /** A delivery arrived. */
  arrived(): void {
    this.#waiter?.();
  }

  /** Resolves once `done()` holds or `deadlineMs` (performance.now()) has passed. */
  async until(done: () => boolean, deadlineMs: number): Promise<void> {
    // Bounded by the deadline.
    while (!done() && performance.now() < deadlineMs) {
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    this.#waiter = null;
  }
}
