/**
 * Waits for an event a test cannot await directly (a write landing, a connection closing, a
 * request arriving) by polling `check` until it returns without throwing (a boolean `false`
 * counts as not yet). There is no deadline that a slow but correct machine could trip: the poll
 * gives up only after `giveUpAfterMs` (default 20 s, under Jest's 30 s test timeout), and then
 * with the check's last error rather than a bare Jest timeout, so that no poll outlives its test.
 *
 *   await waitFor(() => store.applied.length === 1);
 *   const run = await waitFor(async () => (await findRun(id)) ?? fail('not stored yet'));
 *
 * Real timers only: under Jest's fake timers, advance the clock instead.
 */
export interface WaitForOptions {
  /** What is awaited, for the error message when `check` returns false. */
  what?: string;
  giveUpAfterMs?: number;
  pollMs?: number;
}

export async function waitFor<T>(check: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Exclude<T, false>> {
  const { what = 'the condition', giveUpAfterMs = 20_000, pollMs = 10 } = options;
  const giveUpAt = Date.now() + giveUpAfterMs;
  for (;;) {
    let lastError: unknown;
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
      lastError = new Error(`waitFor: still waiting for ${what}`);
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= giveUpAt) throw lastError;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
