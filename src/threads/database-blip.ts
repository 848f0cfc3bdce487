import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';

const logger = new Logger('Threads');
import { READ_RETRY, RetryPolicy, type RetryableClassifier } from '../common/retry-policy.js';

/** How long a read retries through a blip when RUNS_OPTIONS does not say (its `maxOutageMs`). */
export const DEFAULT_MAX_OUTAGE_MS = READ_RETRY.maxOutageMs;

/**
 * The read policy of thread reads, classified by the storage's one classifier (RETRYABLE_ERROR,
 * provided by persistence): this folder never sees a database error type.
 */
export function threadReadPolicy(maxOutageMs: number, isRetryable: RetryableClassifier): RetryPolicy {
  return new RetryPolicy({ ...READ_RETRY, maxOutageMs }, isRetryable);
}

/** A transient database error as the client sees it: PERSISTENCE_UNAVAILABLE, not an UNKNOWN. */
export function asUnavailable(error: unknown, isRetryable: RetryableClassifier): unknown {
  if (!isRetryable(error)) return error;
  // The driver's message may name the host, port, user or database: the log has it, the wire not.
  const errorId = newId('err');
  logger.warn(`[${errorId}] PERSISTENCE_UNAVAILABLE: ${error instanceof Error ? error.message : String(error)}`);
  return new CopilotRuntimeError('PERSISTENCE_UNAVAILABLE', 'The database did not answer; try again in a moment.', {
    cause: error,
    errorId,
    retryAfter: 5,
  });
}

/**
 * A read through a database blip (connections terminated, a failover): retried per the read policy
 * while the error is retryable, for at most its `maxOutageMs`, then PERSISTENCE_UNAVAILABLE. Any
 * other error is thrown at once. Only for reads: a retried change could apply twice.
 */
export async function readThroughBlip<T>(read: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  try {
    return await policy.run(read);
  } catch (error) {
    throw asUnavailable(error, policy.isRetryable);
  }
}
