import { describe, expect, it } from '@jest/globals';
import { ReadyItemsQueue, TAKE_READY_ITEMS } from '../../src/common/ready-items-queue.js';

describe('ReadyItemsQueue', () => {
  it('streams what is pushed, in order, until it ends', async () => {
    const queue = new ReadyItemsQueue<number>();
    queue.push(1);
    queue.push(2);
    queue.end();
    const seen: number[] = [];
    for await (const value of queue) seen.push(value);
    expect(seen).toEqual([1, 2]);
  });

  it('hands a pushed item straight to a reader that is waiting', async () => {
    const queue = new ReadyItemsQueue<string>();
    const waiting = queue.next();
    queue.push('a');
    queue.push('b');
    await expect(waiting).resolves.toEqual({ done: false, value: 'a' });
    expect(queue[TAKE_READY_ITEMS]()).toEqual(['b']);
  });

  it('takes everything buffered at once, after what next() already read, and keeps none of it', async () => {
    const queue = new ReadyItemsQueue<string>();
    for (const item of ['a', 'b', 'c', 'd']) queue.push(item);
    expect(await queue.next()).toEqual({ done: false, value: 'a' });
    expect(queue[TAKE_READY_ITEMS]()).toEqual(['b', 'c', 'd']);
    expect(queue[TAKE_READY_ITEMS]()).toEqual([]);
    queue.push('e');
    queue.end();
    expect(await queue.next()).toEqual({ done: false, value: 'e' });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('ends a waiting reader when it ends', async () => {
    const queue = new ReadyItemsQueue<string>();
    const waiting = queue.next();
    queue.end();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
  });

  it('answers return() and throw() with promises, drops what was not read and ignores later pushes', async () => {
    const queue = new ReadyItemsQueue<string>();
    queue.push('a');
    const closing = queue.return();
    expect(closing).toBeInstanceOf(Promise);
    await expect(closing).resolves.toEqual({ done: true, value: undefined });
    queue.push('b');
    expect(await queue.next()).toEqual({ done: true, value: undefined });

    const other = new ReadyItemsQueue<string>();
    const waiting = other.next();
    await expect(other.throw()).resolves.toEqual({ done: true, value: undefined });
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
  });
});
