import { Clock } from '../../src/common/clock.js';

/**
 * A clock whose time passes only when someone sleeps on it: retry waits happen at once, and are
 * recorded, so backoff is tested without waiting and without wall-clock bounds.
 */
export class SteppingClock extends Clock {
  time = 1_000_000;
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}
