import { QueryFailedError } from 'typeorm';
import { CopilotRuntimeError } from '../common/errors.js';
import { isRetryableWriteError, retryRead } from '../persistence/database-errors.js';

/** How long a read retries through a blip when RUNS_OPTIONS does not say (its `maxOutageMs`). */
export const DEFAULT_MAX_OUTAGE_MS = 30_000;

/**
 * A database error that a later attempt may not hit: a lost or terminated connection, a timeout,
 * a server shutting down. Domain errors and programming errors are not.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (error instanceof CopilotRuntimeError) return false;
  const code = (error as { code?: unknown } | null)?.code;
  const fromDatabase =
    error instanceof QueryFailedError ||
    (typeof code === 'string' && (/^[0-9A-Z]{5}$/.test(code) || /^E[A-Z]+$/.test(code))) ||
    (error instanceof Error && /connection|timeout/i.test(error.message));
  return fromDatabase && isRetryableWriteError(error);
}

/** A transient database error as the client sees it: PERSISTENCE_UNAVAILABLE, not an UNKNOWN. */
export function asUnavailable(error: unknown): unknown {
  if (!isTransientDatabaseError(error)) return error;
  return new CopilotRuntimeError(
    'PERSISTENCE_UNAVAILABLE',
    `The database did not answer (${error instanceof Error ? error.message : String(error)}); try again in a moment.`,
    { cause: error },
  );
}

/**
 * A read through a database blip (connections terminated, a failover): retried with backoff while
 * the error is transient, for at most `maxOutageMs`, then PERSISTENCE_UNAVAILABLE. Any other error
 * is thrown at once. Only for reads: a retried change could apply twice.
 */
export async function readThroughBlip<T>(read: () => Promise<T>, maxOutageMs: number): Promise<T> {
  try {
    return await retryRead(read, { maxOutageMs, retryable: isTransientDatabaseError });
  } catch (error) {
    throw asUnavailable(error);
  }
}
