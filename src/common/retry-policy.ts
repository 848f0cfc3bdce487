import { Clock, systemClock } from './clock.js';

/** Whether an error may pass on a later attempt (a lost connection, a timeout, a failover). */
export type RetryableClassifier = (error: unknown) => boolean;

/**
 * DI token of the one RetryableClassifier. Persistence provides it (it alone knows the database's
 * error codes); code that retries receives it, never imports it.
 */
export const RETRYABLE_ERROR = Symbol('RETRYABLE_ERROR');

export interface RetryPolicyOptions {
  /** Delay before the first retry; it doubles on every further failure. */
  initialDelayMs: number;
  /** Upper bound of one delay, so that a long outage is still probed regularly. */
  maxDelayMs: number;
  /** Failures for longer than this (since the first failed attempt) are given up. */
  maxOutageMs: number;
  /** At most this many attempts in all. Default: unbounded (the outage budget decides). */
  maxAttempts?: number;
}

/**
 * One retry policy: exponential backoff within an outage budget (and an optional attempt budget),
 * retrying only what the classifier calls retryable. Every writer and reader that retries uses it,
 * through `run` or, for loops that do more between attempts, through `start`.
 */
export class RetryPolicy {
  constructor(
    readonly options: RetryPolicyOptions,
    readonly isRetryable: RetryableClassifier = () => true,
    readonly clock: Clock = systemClock,
  ) {}

  /** The same policy with some options changed. */
  with(options: Partial<RetryPolicyOptions>): RetryPolicy {
    return new RetryPolicy({ ...this.options, ...options }, this.isRetryable, this.clock);
  }

  /** The same policy with another classifier. */
  classifying(isRetryable: RetryableClassifier): RetryPolicy {
    return new RetryPolicy(this.options, isRetryable, this.clock);
  }

  /** The attempts of one operation: ask `nextDelay` after each failure. */
  start(): RetryAttempts {
    return new RetryAttempts(this);
  }

  /**
   * Runs `operation` until it succeeds; through a retryable failure it waits and tries again,
   * within the budgets. Throws the last error once it gives up, or at once for an error that is not
   * retryable, or once `signal` aborts. Only for what may safely run twice (reads, idempotent writes).
   */
  async run<T>(
    operation: () => Promise<T>,
    hooks: { signal?: AbortSignal; onRetry?: (error: unknown, attempt: number, delayMs: number) => void } = {},
  ): Promise<T> {
    const attempts = this.start();
    for (;;) {
      try {
        return await operation();
      } catch (error) {
        const delay = hooks.signal?.aborted ? null : attempts.nextDelay(error);
        if (delay === null) throw error;
        hooks.onRetry?.(error, attempts.count, delay);
        await this.clock.sleep(delay, hooks.signal);
        if (hooks.signal?.aborted) throw error;
      }
    }
  }
}

/** The failures of one operation so far, and the delay before its next attempt. */
export class RetryAttempts {
  private failures = 0;
  private failingSince: number | null = null;
  private delay: number;

  constructor(private readonly policy: RetryPolicy) {
    this.delay = policy.options.initialDelayMs;
  }

  /** Failed attempts so far. */
  get count(): number {
    return this.failures;
  }

  /** Milliseconds since the first failure (0 before any). */
  get outageMs(): number {
    return this.failingSince === null ? 0 : this.policy.clock.now() - this.failingSince;
  }

  /** Time left of the outage budget. */
  get remainingMs(): number {
    return this.policy.options.maxOutageMs - this.outageMs;
  }

  /**
   * Records a failure at `startedAt` (default: now; an attempt that hung counts from its start)
   * and answers the delay before the next attempt, or null: give up (not retryable, or a budget
   * is spent). The last delay is cut to what is left of the outage budget.
   */
  nextDelay(error: unknown, startedAt: number = this.policy.clock.now()): number | null {
    const { maxOutageMs, maxDelayMs, maxAttempts } = this.policy.options;
    this.failures += 1;
    this.failingSince ??= startedAt;
    if (!this.policy.isRetryable(error)) return null;
    if (maxAttempts !== undefined && this.failures >= maxAttempts) return null;
    const remaining = maxOutageMs - this.outageMs;
    if (remaining <= 0) return null;
    const delay = Math.min(this.delay, remaining);
    this.delay = Math.min(this.delay * 2, maxDelayMs);
    return delay;
  }

  /** A success ends the outage: the next failure starts a new one, from the initial delay. */
  succeeded(): void {
    this.failures = 0;
    this.failingSince = null;
    this.delay = this.policy.options.initialDelayMs;
  }
}

/**
 * The tunings in use. Reads retry briefly and often (a caller waits); background writes probe a
 * long outage less often; a lock release tries a few times (an unreleased lock just expires).
 */
export const READ_RETRY: RetryPolicyOptions = { initialDelayMs: 50, maxDelayMs: 1_000, maxOutageMs: 30_000 };
export const WRITE_RETRY: RetryPolicyOptions = { initialDelayMs: 100, maxDelayMs: 5_000, maxOutageMs: 30_000 };
export const LOG_APPEND_RETRY: RetryPolicyOptions = { initialDelayMs: 50, maxDelayMs: 2_000, maxOutageMs: 30_000 };
export const LOCK_RELEASE_RETRY: RetryPolicyOptions = {
  initialDelayMs: 200,
  maxDelayMs: 2_000,
  maxOutageMs: 30_000,
  maxAttempts: 5,
};
