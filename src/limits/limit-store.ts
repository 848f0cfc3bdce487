/** The three per-caller limits; null: no limit. */
export interface EffectiveLimits {
  runsPerMinute: number | null;
  tokensPerHour: number | null;
  concurrentRuns: number | null;
}

export type LimitName = 'runs_per_minute' | 'tokens_per_hour' | 'concurrent_runs';

export const RUNS_WINDOW_MS = 60_000;
export const TOKENS_WINDOW_MS = 3_600_000;

export type Admission =
  | { admitted: true }
  | {
      admitted: false;
      limit: LimitName;
      max: number;
      /** What the caller has used of it when refused. */
      used: number;
      /** When it may pass again: the window's end, or a guess for a concurrency slot. */
      retryAfterMs: number;
    };

/**
 * The counters behind the limits, per subject (a caller: an identity, or an API key). One
 * contract, two storages: memory (one process) and Redis (shared by every instance pointing at it).
 *
 * - `admit` checks the tokens window, the runs window and the concurrent slots, in that order,
 *   and only when all three pass counts the run and takes a slot (`slotId`), atomically: a refused
 *   run costs nothing.
 * - `charge` adds a finished run's tokens to the subject's tokens window (tokens are known only
 *   at the end, so one run may go past the limit; the next is refused).
 * - `release` frees the slot. Slots are leases: a process that dies without releasing frees its
 *   slots after the lease (renewed while the run lasts).
 *
 * Windows are fixed, and start with their first use: `RateLimit-Reset` is the time left in it.
 * Implementations throw when their storage fails; the policy decides (RATE_LIMIT_REDIS_FAILURE).
 */
export abstract class LimitStore {
  abstract admit(subject: string, limits: EffectiveLimits, slotId: string): Promise<Admission>;
  abstract charge(subject: string, tokens: number): Promise<void>;
  abstract release(subject: string, slotId: string): Promise<void>;
  /** Which storage, for logs. */
  abstract readonly label: string;
}
