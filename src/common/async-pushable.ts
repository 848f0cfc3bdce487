import { pushable, type Pushable } from 'it-pushable';

/**
 * An object-mode it-pushable whose `return()` and `throw()` answer with promises, as its type
 * (an AsyncGenerator) says they do. it-pushable answers them synchronously, and consumers that
 * call `iterator.return().catch(...)` break on it: the GraphQL executor does when an error nulls
 * the path of a streamed list, and it threw a TypeError instead of closing the nested streams,
 * so the response never ended.
 */
export function asyncPushable<T>(): Pushable<T> {
  const stream = pushable<T>({ objectMode: true });
  const close = stream.return.bind(stream);
  const fail = stream.throw.bind(stream);
  stream.return = async (value) => close(value);
  stream.throw = async (error) => fail(error);
  return stream;
}
