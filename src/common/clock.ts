/**
 * Time as the runtime's retrying and expiring code sees it: injectable, so that a test can drive
 * it (Jest's fake timers drive the system clock too, since it reads Date.now and setTimeout).
 */
export abstract class Clock {
  /** Milliseconds since the epoch. */
  abstract now(): number;
  /**
   * Resolves after `ms`, or as soon as `signal` aborts (never rejects). The timer is unref'd: a
   * pending retry must not keep a finished process alive.
   */
  abstract sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      timer.unref?.();
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** The clock of the process; a Nest provider of `Clock` uses it unless a test provides another. */
export const systemClock: Clock = new SystemClock();

export const CLOCK_PROVIDER = { provide: Clock, useValue: systemClock };
