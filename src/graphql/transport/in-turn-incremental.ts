import { inTurnBatches } from '../../common/in-turn-batches.js';
import { MAX_PAYLOADS_PER_PART } from './incremental-execution.js';
import { mergeSubsequentPayloads, type LegacySubsequentPayload } from './legacy-incremental.js';

/**
 * An incremental (@defer/@stream) result as graphql-ws sends it, one `next` message per item:
 * the initial result alone, then every subsequent payload the executor has ready in one turn of
 * the event loop merged into one (as the multipart transport does; urql merges several
 * `incremental` entries of one payload the same way, and several streamed items stay several
 * entries). A lone payload is never held back.
 */
export async function* inTurnIncremental<T>(results: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = results[Symbol.asyncIterator]();
  let delegated = false;
  try {
    const first = await iterator.next();
    if (first.done) {
      delegated = true;
      return;
    }
    yield first.value;
    delegated = true;
    const rest = { [Symbol.asyncIterator]: () => iterator } as AsyncIterable<T & LegacySubsequentPayload>;
    yield* inTurnBatches(rest, mergeSubsequentPayloads, MAX_PAYLOADS_PER_PART) as AsyncGenerator<Awaited<T>>;
  } finally {
    // Stopped at the initial result: the rest is not read (inTurnBatches closes it otherwise).
    if (!delegated) await iterator.return?.();
  }
}
