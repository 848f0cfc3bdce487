import { setImmediate as nextMacrotask } from 'node:timers/promises';

/**
 * A model that sends a burst (hundreds of tokens in one network read) would otherwise be pushed
 * through the whole pipeline in one unbroken chain of microtasks, and the first token would reach
 * the socket only after the last one was parsed. Giving the event loop a turn every few
 * milliseconds of continuous work lets earlier tokens be written while later ones are processed.
 * It is a check of the clock per event, and a macrotask hop at most once per budget: no I/O.
 */
export class EventLoopFairness {
  private sliceStart = performance.now();

  constructor(private readonly budgetMs = 4) {}

  async yieldIfBusy(): Promise<void> {
    if (performance.now() - this.sliceStart < this.budgetMs) return;
    await nextMacrotask();
    this.sliceStart = performance.now();
  }
}
