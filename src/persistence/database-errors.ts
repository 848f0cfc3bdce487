/**
 * SQLSTATE classes that no retry can fix: data exceptions (22), integrity violations (23) and
 * syntax or access errors (42). Anything else (lost connections, timeouts, shutdowns, pool
 * exhaustion) may pass on a later attempt.
 */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23', '42']);

/** A write that can never succeed as asked, e.g. finishing a run that was never stored. */
export class PermanentWriteError extends Error {
  override readonly name = 'PermanentWriteError';
}

export function isRetryableWriteError(error: unknown): boolean {
  if (error instanceof PermanentWriteError) return false;
  // TypeORM's QueryFailedError copies the pg error's fields, `code` (the SQLSTATE) among them.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return !PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
  return true;
}

/**
 * Retries a read through a database blip: backoff from 50 ms, doubling up to 1 s, while
 * `retryable(error)` holds and for at most `maxOutageMs`; then, or for any other error, or once
 * `signal` aborts, the last error is thrown. Only for reads: a retried change could apply twice.
 */
export async function retryRead<T>(
  read: () => Promise<T>,
  options: { maxOutageMs: number; retryable?: (error: unknown) => boolean; signal?: AbortSignal },
): Promise<T> {
  const retryable = options.retryable ?? isRetryableWriteError;
  const since = Date.now();
  let delay = 50;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (options.signal?.aborted || !retryable(error) || Date.now() - since + delay > options.maxOutageMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      delay = Math.min(delay * 2, 1_000);
    }
  }
}
