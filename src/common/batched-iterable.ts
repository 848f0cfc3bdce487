/**
 * An async iterable that can also be read a batch at a time. The run's caller stream hands over
 * what one network read produced as one array; a consumer that knows how (the projections)
 * takes whole batches with `batchesOf`, any other one (custom middleware, tests) iterates event
 * by event as before. The public seams stay `AsyncIterable<T>`.
 */
const BATCHES = Symbol.for('copilot-runtime.batches');

export interface BatchedIterable<T> extends AsyncIterable<T> {
  [BATCHES](): AsyncIterator<T[]>;
}

function isBatched<T>(source: AsyncIterable<T>): source is BatchedIterable<T> {
  return typeof (source as Partial<BatchedIterable<T>>)[BATCHES] === 'function';
}

/** `batches` (never empty arrays) as an iterable of their items that also gives the batches back. */
export function batchedIterable<T>(batches: AsyncIterable<T[]>): BatchedIterable<T> {
  return {
    [BATCHES]: () => batches[Symbol.asyncIterator](),
    [Symbol.asyncIterator]: () => flatten(batches)[Symbol.asyncIterator](),
  };
}

/** The batches of a batched iterable; any other iterable's items, each as a batch of one. */
export function batchesOf<T>(source: AsyncIterable<T>): AsyncIterable<T[]> {
  if (isBatched(source)) return { [Symbol.asyncIterator]: () => source[BATCHES]() };
  return singles(source);
}

/**
 * Maps every batch of `source` (`map` may drop or add items; an empty result is skipped), keeping
 * the result batched.
 */
export function mapBatches<T, U>(source: AsyncIterable<T>, map: (batch: T[]) => U[]): BatchedIterable<U> {
  return batchedIterable(mapped(batchesOf(source), map));
}

async function* mapped<T, U>(batches: AsyncIterable<T[]>, map: (batch: T[]) => U[]): AsyncGenerator<U[]> {
  for await (const batch of batches) {
    const out = map(batch);
    if (out.length > 0) yield out;
  }
}

async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

async function* singles<T>(source: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const item of source) yield [item];
}
