/**
 * Re-yields `source`, inserting `beat()` whenever nothing arrived for `intervalMs`, so proxies and
 * load balancers never close a stream that is only waiting for a slow model or tool.
 * One timer per stream, re-armed per item: no I/O and no allocation beyond a race per item.
 */
export async function* withHeartbeat<T>(
  source: AsyncIterable<T>,
  intervalMs: number,
  beat: () => T,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let wake: (() => void) | undefined;
  const timer = setTimeout(() => wake?.(), intervalMs);
  timer.unref();
  let next = iterator.next();
  try {
    for (;;) {
      timer.refresh();
      const tick = new Promise<'tick'>((resolve) => (wake = () => resolve('tick')));
      const outcome = await Promise.race([next, tick]);
      if (outcome === 'tick') {
        yield beat();
        continue;
      }
      if (outcome.done) return;
      next = iterator.next();
      yield outcome.value;
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}
