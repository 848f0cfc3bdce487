import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { OVERLOAD_RETRY_AFTER_S } from './pool-pressure.js';

export interface AdmissionQueueOptions {
  /**
   * Admissions talking to the database at once. Below the pool size, so that a burst of new runs
   * never takes every connection from the runs already streaming (their event-log flushes, lock
   * heartbeat and ends).
   */
  concurrency: number;
  /** Admissions waiting for their turn at most; one more is refused OVERLOADED at once. */
  maxQueued: number;
  /** How long an admission waits for its turn before it is refused OVERLOADED. */
  maxWaitMs: number;
}

export const DEFAULT_ADMISSION_QUEUE_LENGTH = 1_000;
export const DEFAULT_ADMISSION_WAIT_MS = 10_000;

/** At most half the pool admits (at least one connection); the rest serves the running runs. */
export function admissionConcurrency(poolSize: number): number {
  return Math.max(1, Math.ceil(poolSize / 2));
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Run admissions when the pool is busy: a burst of new runs waits briefly, first come first
 * served, instead of failing at once; only past the queue's bounds (its length, or the wait) is a
 * caller told OVERLOADED (retryable, with `retryAfter`).
 */
export class AdmissionQueue {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly options: AdmissionQueueOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`admission queue ${name} must be a positive integer, got ${value}`);
    }
  }

  /** Admissions waiting for their turn (metrics, tests). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `admit` in its turn; throws OVERLOADED when the queue is full or the turn does not come in time. */
  async run<T>(admit: () => Promise<T>): Promise<T> {
    await this.turn();
    try {
      return await admit();
    } finally {
      this.next();
    }
  }

  private turn(): Promise<void> {
    if (this.active < this.options.concurrency && this.waiting.length === 0) {
      this.active += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueued) {
      return Promise.reject(overloaded(`${this.waiting.length} runs are already waiting to start`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(overloaded(`no database connection within ${this.options.maxWaitMs} ms`));
        }, this.options.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  /** The turn passes to the first waiter, if any. */
  private next(): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.start();
    else this.active -= 1;
  }
}

function overloaded(why: string): CopilotRuntimeError {
  return new CopilotRuntimeError('OVERLOADED', `The server is at capacity; try again in ${OVERLOAD_RETRY_AFTER_S} s.`, {
    cause: new Error(`Run admission refused: ${why}`),
    retryAfter: OVERLOAD_RETRY_AFTER_S,
    errorId: newId('err'),
  });
}
