import type { DataSource } from 'typeorm';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';

/** How long a caller refused for want of a connection is asked to wait before retrying. */
export const OVERLOAD_RETRY_AFTER_S = 2;

interface PgPoolView {
  totalCount: number;
  waitingCount: number;
  options?: { max?: number };
}

/**
 * An overload rather than an outage: pg-pool gave up waiting for a connection
 * (`connectionTimeoutMillis`, the admission's bounded wait) while every connection of the pool
 * was in use. Answered as OVERLOADED (retryable, `retryAfter`), not PERSISTENCE_UNAVAILABLE: the
 * database is there, this instance is busy.
 */
export function overloadOf(dataSource: DataSource, error: unknown): CopilotRuntimeError | null {
  if (!(error instanceof Error) || !/timeout exceeded when trying to connect/i.test(error.message)) return null;
  const pool = (dataSource.driver as unknown as { master?: PgPoolView }).master;
  if (!pool || pool.totalCount < (pool.options?.max ?? Number.POSITIVE_INFINITY)) return null;
  return new CopilotRuntimeError(
    'OVERLOADED',
    `The server is at capacity; try again in ${OVERLOAD_RETRY_AFTER_S} s.`,
    { cause: error, retryAfter: OVERLOAD_RETRY_AFTER_S, errorId: newId('err') },
  );
}
