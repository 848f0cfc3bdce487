import { TypeORMError } from 'typeorm';
import { CopilotRuntimeError } from '../common/errors.js';

/**
 * SQLSTATE classes that no retry can fix: data exceptions (22), integrity violations (23) and
 * syntax or access errors (42). Anything else from the server (lost connections, shutdowns,
 * serialization failures, pool exhaustion) may pass on a later attempt.
 */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23', '42']);

/** A write that can never succeed as asked, e.g. finishing a run that was never stored. */
export class PermanentWriteError extends Error {
  override readonly name = 'PermanentWriteError';
}

/**
 * THE classifier of retryable storage errors (the one RETRYABLE_ERROR that PersistenceModule
 * provides): a database error a later attempt may not hit. Domain errors, permanent SQL errors and
 * programming errors are not retryable; a lost connection, a timeout or a server shutting down is.
 */
export function isRetryableDatabaseError(error: unknown): boolean {
  if (error instanceof CopilotRuntimeError || error instanceof PermanentWriteError) return false;
  // TypeORM's QueryFailedError copies the pg error's fields, `code` (the SQLSTATE) among them.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return !PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
  // Node's socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT...).
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  // TypeORM's own, e.g. a transaction whose connection was killed under it ("Query runner already
  // released").
  if (error instanceof TypeORMError) return true;
  if (!(error instanceof Error)) return false;
  // pg's own client errors carry no code: "Connection terminated unexpectedly", "timeout exceeded
  // when trying to connect"; and a statement that hung past its budget.
  return /timeout/i.test(error.name) || /connection|timeout|terminat/i.test(error.message);
}

/** @deprecated the former name of isRetryableDatabaseError, kept for importers. */
export const isRetryableWriteError = isRetryableDatabaseError;
