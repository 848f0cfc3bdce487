/** `limits` of the module options (env: RATE_LIMIT_*, MAX_CONCURRENT_RUNS, REDIS_URL). */
export interface LimitsOptions {
  /** Runs a caller may start per minute (a fixed window from its first run). Unset: no limit. */
  runsPerMinute?: number;
  /** Model tokens (a run's reported total) a caller may use per hour. Unset: no limit. */
  tokensPerHour?: number;
  /** Runs of one caller at the same time. Unset: no limit. */
  concurrentRuns?: number;
  /**
   * Runs of all callers at the same time on this instance (it protects the instance's database
   * pool and memory): past it, OVERLOADED with `retryAfter`. Default 100; 0: no cap.
   */
  maxConcurrentRuns?: number;
  /** Share the counters between instances through Redis. Unset: in memory (one instance). */
  redis?: {
    url: string;
    /** Prefix of every key. Default `crn:limits:`. */
    keyPrefix?: string;
    /** Longest wait for one Redis command. Default 500 ms. */
    commandTimeoutMs?: number;
  };
  /**
   * Redis does not answer: `open` (default) lets runs through, unlimited per caller but still under
   * `maxConcurrentRuns`, and logs the outage; `closed` refuses them with OVERLOADED.
   */
  onStoreFailure?: 'open' | 'closed';
}

export const DEFAULT_MAX_CONCURRENT_RUNS = 100;
