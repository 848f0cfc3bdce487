import { describe, expect, it } from '@jest/globals';
import { asyncPushable } from '../../src/common/async-pushable.js';

describe('asyncPushable', () => {
  it('answers return() with a promise and ends the stream, dropping what was not read', async () => {
    const stream = asyncPushable<string>();
    stream.push('a').push('b');
    expect(await stream.next()).toEqual({ done: false, value: 'a' });
    const closing = stream.return(undefined);
    expect(closing).toBeInstanceOf(Promise);
    await expect(closing).resolves.toEqual({ done: true });
    expect(await stream.next()).toEqual({ done: true });
  });

  it('answers throw() with a promise and ends the stream with the error', async () => {
    const stream = asyncPushable<string>();
    const thrown = stream.throw(new Error('stop'));
    expect(thrown).toBeInstanceOf(Promise);
    await expect(thrown).resolves.toEqual({ done: true });
    await expect(stream.next()).rejects.toThrow('stop');
  });

  it('streams what is pushed, in order, until it ends', async () => {
    const stream = asyncPushable<number>();
    stream.push(1).push(2).end();
    const seen: number[] = [];
    for await (const value of stream) seen.push(value);
    expect(seen).toEqual([1, 2]);
  });
});
