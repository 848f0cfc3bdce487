import { setImmediate as nextTurn } from 'node:timers/promises';

const TURN_OVER = Symbol('turn over');

export interface BatchLimit<T> {
  /** A batch closes once the weights of its items add up to this much. */
  maxWeight: number;
  /** Default: every item weighs 1 (the limit is a count). */
  weigh?: (item: T) => number;
}

/**
 * Re-yields `source` in batches: everything the source has ready before the event loop's next
 * turn leaves together, merged by `merge` (called for every batch, a batch of one included: a
 * single item may itself have parts to merge). A burst of tokens parsed from one network read
 * becomes one write instead of one per token, with no timer and no wait: the first item of a
 * batch is taken as soon as it exists, and a batch closes as soon as the source would have to
 * wait for I/O (or yields the event loop itself), or when it reaches `limit` (so that a writer's
 * back-pressure still bounds what is taken from the source). A lone item is never held back.
 */
export async function* inTurnBatches<T>(source: AsyncIterable<T>, merge: (items: T[]) => T, limit: BatchLimit<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const weigh = limit.weigh ?? (() => 1);
  // A next() the last batch stopped waiting for: it opens the following batch (asking again
  // would lose its item).
  let pending: Promise<IteratorResult<T>> | undefined;
  let finished = false;
  try {
    for (;;) {
      const first = await (pending ?? iterator.next());
      pending = undefined;
      if (first.done) {
        finished = true;
        return;
      }
      const batch = [first.value];
      let weight = weigh(first.value);
      // One promise per batch marks the end of this turn; each further item races it.
      const turnOver = nextTurn(TURN_OVER);
      while (weight < limit.maxWeight) {
        pending = iterator.next();
        const next = await Promise.race([pending, turnOver]);
        if (next === TURN_OVER) break;
        pending = undefined;
        if (next.done) {
          finished = true;
          break;
        }
        batch.push(next.value);
        weight += weigh(next.value);
      }
      yield merge(batch);
      if (finished) return;
    }
  } finally {
    if (!finished) {
      // With a next() still pending, an async generator would queue return() behind it: the
      // source is told to stop without waiting for an item that may never come.
      // (Promise.resolve: some iterators, it-pushable's for one, answer return() synchronously.)
      const closing = iterator.return?.();
      if (pending) Promise.resolve(closing).catch(() => undefined);
      else await closing;
    }
  }
}
