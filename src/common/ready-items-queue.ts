/**
 * The method by which the GraphQL executor takes, in one go, the items a streamed list's iterator
 * already holds (patches/@graphql-tools+executor+2.1.0.patch). An iterator that has it gets the
 * items of one batch completed into one `@stream` record — one `items` entry, one promise — instead
 * of one record, promise chain and async call per item. The executor calls it only for lists of
 * scalars or enums, right after a `next()` that yielded an item.
 */
export const TAKE_READY_ITEMS: unique symbol = Symbol.for('@graphql-tools/executor:takeReadyItems');

/**
 * An async queue of items for a streamed list (the v1 projection's `messages`, `metaEvents`, and
 * each message's text or arguments): `push` and `end` on the producing side, async iteration on
 * the consuming side, and {@link TAKE_READY_ITEMS} for a consumer that can take everything
 * buffered at once. `return()` and `throw()` stop the queue (the consumer is gone) and answer with
 * promises, as an async iterator's must: the executor calls `iterator.return().catch(...)` when an
 * error nulls the path of a streamed list (it-pushable answers synchronously, and that threw).
 */
export class ReadyItemsQueue<T> implements AsyncIterableIterator<T> {
  private buffered: T[] = [];
  /** Index of the first buffered item not yet taken; shifting one by one would be O(n) each. */
  private head = 0;
  private ended = false;
  private waiting: ((result: IteratorResult<T, undefined>) => void) | undefined;

  push(item: T): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting({ done: false, value: item });
      return;
    }
    this.buffered.push(item);
  }

  /** No more items: the consumer gets what is buffered, then the end. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleWaiting();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.head < this.buffered.length) return Promise.resolve({ done: false, value: this.take() });
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.ended = true;
    this.buffered = [];
    this.head = 0;
    this.settleWaiting();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(): Promise<IteratorResult<T, undefined>> {
    return this.return();
  }

  /** Every item buffered now, in order; the queue keeps none of them. */
  [TAKE_READY_ITEMS](): T[] {
    const ready = this.head === 0 ? this.buffered : this.buffered.slice(this.head);
    this.buffered = [];
    this.head = 0;
    return ready;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take(): T {
    const item = this.buffered[this.head]!;
    this.head += 1;
    if (this.head === this.buffered.length) {
      this.buffered = [];
      this.head = 0;
    }
    return item;
  }

  private settleWaiting(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ done: true, value: undefined });
  }
}
