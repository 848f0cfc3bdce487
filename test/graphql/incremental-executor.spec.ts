/**
 * @graphql-tools/executor's incremental delivery, as patched by
 * patches/@graphql-tools+executor+2.1.0.patch: records are handed to the reader as they complete.
 * Unpatched, every `next()` raced the promises of all pending records and then walked them all,
 * so a stream whose iterator ran K items ahead of its reader cost O(K) per payload and a burst
 * of K items O(K²) (a 1,000-item burst: ~41 ms of CPU against ~5 ms patched). What the reader
 * gets must not change: every item once, in order, deferred data after its parent, nothing from
 * a path an error nulled, and an abort still ends the stream. The lists of these first tests are
 * queues whose iterators hand over one item per `next()` (the executor closes a nulled path's
 * streams with `iterator.return().catch(...)`: their return() answers with a promise).
 *
 * The patch also lets an iterator hand over the items it already holds (ReadyItemsQueue, as the
 * v1 projection streams text and arguments): a list of scalars then gets one record per batch
 * instead of one per item, and everything above must hold item by item all the same.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { execute } from '@graphql-tools/executor';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { ReadyItemsQueue } from '../../src/common/ready-items-queue.js';

const schema = buildSchema(`
  directive @stream(if: Boolean, label: String, initialCount: Int = 0) on FIELD
  directive @defer(if: Boolean, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
  type Message { id: String!, content: [String], parts: [Part!], counts: [Int], codes: [Int!] }
  type Part { text: String! }
  type Query { messages: [Message] }
`);

interface Entry {
  path: ReadonlyArray<string | number>;
  items?: unknown[];
  data?: unknown;
  errors?: unknown[];
}
interface Payload {
  incremental?: Entry[];
  hasNext: boolean;
}

type Incremental = { initialResult: ExecutionResult; subsequentResults: AsyncIterable<Payload> };

function start(document: string, rootValue: unknown, signal?: AbortSignal): Promise<Incremental> {
  return execute({ schema, document: parse(document), rootValue, signal }) as Promise<Incremental>;
}

/** The subsequent payloads, read one `next()` at a time by the test. */
async function subsequentPayloads(document: string, rootValue: unknown, signal?: AbortSignal): Promise<AsyncIterator<Payload>> {
  return (await start(document, rootValue, signal)).subsequentResults[Symbol.asyncIterator]();
}

async function run(document: string, rootValue: unknown, signal?: AbortSignal): Promise<{ initial: ExecutionResult; payloads: Payload[] }> {
  const result = await start(document, rootValue, signal);
  const payloads: Payload[] = [];
  for await (const payload of result.subsequentResults) payloads.push(payload);
  return { initial: result.initialResult, payloads };
}

const entries = (payloads: Payload[]) => payloads.flatMap((payload) => payload.incremental ?? []);
const itemsAt = (payloads: Payload[], prefix: string) =>
  entries(payloads)
    .filter((entry) => entry.items && entry.path.slice(0, -1).join('.') === prefix)
    .map((entry) => ({ index: entry.path[entry.path.length - 1], items: entry.items }));

/** A queue whose iterator does not offer its ready items: the executor reads it item by item. */
class ItemByItem<T> implements AsyncIterableIterator<T> {
  private readonly queue = new ReadyItemsQueue<T>();
  push(item: T): void {
    this.queue.push(item);
  }
  end(): void {
    this.queue.end();
  }
  next(): Promise<IteratorResult<T, undefined>> {
    return this.queue.next();
  }
  return(): Promise<IteratorResult<T, undefined>> {
    return this.queue.return();
  }
  [Symbol.asyncIterator](): this {
    return this;
  }
}

function strings(count: number, name: string): ItemByItem<string> {
  const source = new ItemByItem<string>();
  for (let index = 0; index < count; index++) source.push(`${name}${index}`);
  source.end();
  return source;
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('incremental delivery (patched executor)', () => {
  it('delivers every streamed item once and in order, from a burst that was all ready at once', async () => {
    const messages = new ItemByItem<object>();
    messages.push({ id: 'm1', content: strings(500, 'a') });
    messages.end();
    const { payloads } = await run('{ messages @stream { id content @stream } }', { messages });

    const items = itemsAt(payloads, 'messages.0.content');
    expect(items.map((entry) => entry.index)).toEqual(Array.from({ length: 500 }, (_, index) => index));
    expect(items.flatMap((entry) => entry.items)).toEqual(Array.from({ length: 500 }, (_, index) => `a${index}`));
    expect(payloads[payloads.length - 1].hasNext).toBe(false);
    expect(payloads.slice(0, -1).every((payload) => payload.hasNext)).toBe(true);
  });

  it('keeps the order in which records were created across interleaved streams and deferred fragments', async () => {
    const first = new ItemByItem<string>();
    const second = new ItemByItem<string>();
    const messages = new ItemByItem<object>();
    messages.push({ id: 'm1', content: first });
    messages.push({ id: 'm2', content: second });
    messages.end();
    const document = '{ messages @stream { id ... @defer { content @stream } } }';
    const running = run(document, { messages });
    for (let round = 0; round < 20; round++) {
      first.push(`x${round}`);
      second.push(`y${round}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    first.end();
    second.end();
    const { payloads } = await running;

    expect(itemsAt(payloads, 'messages.0.content').flatMap((entry) => entry.items)).toEqual(Array.from({ length: 20 }, (_, n) => `x${n}`));
    expect(itemsAt(payloads, 'messages.1.content').flatMap((entry) => entry.items)).toEqual(Array.from({ length: 20 }, (_, n) => `y${n}`));
    // A deferred fragment's data comes before the items streamed inside it, and each message
    // arrives before the fragment deferred on it.
    const order = entries(payloads).map((entry) => `${entry.items ? 'items' : 'data'}:${entry.path.join('.')}`);
    for (const index of [0, 1]) {
      expect(order.indexOf(`items:messages.${index}`)).toBeLessThan(order.indexOf(`data:messages.${index}`));
      expect(order.indexOf(`data:messages.${index}`)).toBeLessThan(order.indexOf(`items:messages.${index}.content.0`));
    }
  });

  it('drops what was streamed under a path an error nulled, and reports the error once', async () => {
    const parts = new ItemByItem<object>();
    parts.push({ text: 'ok' });
    parts.push({ text: null }); // Part.text is non-null: this item errors, and the list is nullable
    parts.push({ text: 'after' });
    parts.end();
    const messages = new ItemByItem<object>();
    messages.push({ id: 'm1', parts });
    messages.end();
    const { payloads } = await run('{ messages @stream { id parts @stream { text } } }', { messages });

    const partEntries = entries(payloads).filter((entry) => entry.path.join('.').startsWith('messages.0.parts'));
    const errors = partEntries.flatMap((entry) => entry.errors ?? []);
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toMatch(/Cannot return null for non-nullable field Part\.text/);
    // The error nulls the list (Part! items): the entry that carries it has no items, and
    // nothing streamed after it under that list is delivered.
    expect(partEntries.find((entry) => entry.errors)).toMatchObject({ items: null, path: ['messages', 0, 'parts', 1] });
    expect(JSON.stringify(partEntries)).not.toContain('after');
    expect(payloads[payloads.length - 1].hasNext).toBe(false);
  });

  it('ends the stream when the request is aborted', async () => {
    const content = new ItemByItem<string>();
    const messages = new ItemByItem<object>();
    messages.push({ id: 'm1', content });
    messages.end();
    const controller = new AbortController();
    const iterator = await subsequentPayloads('{ messages @stream { id content @stream } }', { messages }, controller.signal);
    content.push('one');
    const seen: Entry[] = [];
    while (!seen.some((entry) => entry.items?.includes('one'))) seen.push(...((await iterator.next()).value?.incremental ?? []));
    const waiting = iterator.next();
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
  });

  it('hands over a burst in linear work: the promises raced stay proportional to the items', async () => {
    const count = 2_000;
    const race = jest.spyOn(Promise, 'race');
    const messages = new ItemByItem<object>();
    messages.push({ id: 'm1', content: strings(count, 't') });
    messages.end();
    const { payloads } = await run('{ messages @stream { id content @stream } }', { messages });

    expect(itemsAt(payloads, 'messages.0.content')).toHaveLength(count);
    const raced = race.mock.calls.reduce((sum, [promises]) => sum + [...(promises as Iterable<unknown>)].length, 0);
    // Unpatched, each of the ~2,000 next() calls raced every record still pending: millions.
    expect(raced).toBeLessThan(4 * count);
  });
});

function queueOf<T>(...items: T[]): ReadyItemsQueue<T> {
  const queue = new ReadyItemsQueue<T>();
  for (const item of items) queue.push(item);
  return queue;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('ready items (patched executor, iterators that offer them)', () => {
  it('completes a burst that was all ready at once into one entry, every item at its index', async () => {
    const content = queueOf(...Array.from({ length: 500 }, (_, index) => `a${index}`));
    content.end();
    const { payloads } = await run('{ messages @stream { id content @stream } }', { messages: [{ id: 'm1', content }] });

    const items = itemsAt(payloads, 'messages.0.content');
    expect(items.flatMap((entry) => entry.items)).toEqual(Array.from({ length: 500 }, (_, index) => `a${index}`));
    // The first item is read on its own (next()), the other 499 join it.
    expect(items).toHaveLength(1);
    expect(items[0].index).toBe(0);
  });

  it('sends what one batch pushed together and never holds the first item back for a later one', async () => {
    const content = new ReadyItemsQueue<string>();
    const iterator = await subsequentPayloads('{ messages @stream { id content @stream } }', { messages: [{ id: 'm1', content }] });
    const contentEntries = async (): Promise<Entry[]> => {
      for (;;) {
        const found = ((await iterator.next()).value?.incremental ?? []).filter((entry: Entry) => entry.path.includes('content'));
        if (found.length > 0) return found;
      }
    };

    await turn();
    content.push('lone');
    expect(await contentEntries()).toEqual([{ items: ['lone'], path: ['messages', 0, 'content', 0] }]);
    content.push('b');
    content.push('c');
    content.push('d');
    expect(await contentEntries()).toEqual([{ items: ['b', 'c', 'd'], path: ['messages', 0, 'content', 1] }]);
    await turn();
    content.push('e');
    expect(await contentEntries()).toEqual([{ items: ['e'], path: ['messages', 0, 'content', 4] }]);
    content.end();
    let last = await iterator.next();
    while (!last.done && last.value.hasNext) last = await iterator.next();
  });

  it('keeps lists of objects at one record per item', async () => {
    const messages = queueOf<object>({ id: 'm1', content: [] }, { id: 'm2', content: [] }, { id: 'm3', content: [] });
    messages.end();
    const { payloads } = await run('{ messages @stream { id } }', { messages });

    expect(itemsAt(payloads, 'messages')).toEqual([
      { index: 0, items: [{ id: 'm1' }] },
      { index: 1, items: [{ id: 'm2' }] },
      { index: 2, items: [{ id: 'm3' }] },
    ]);
  });

  it('nulls a nullable item that fails to complete, with its error at its own path, and keeps the rest', async () => {
    const counts = queueOf<unknown>(1, 2, 'three', 4);
    counts.end();
    const { payloads } = await run('{ messages @stream { id counts @stream } }', { messages: [{ id: 'm1', counts }] });

    const items = itemsAt(payloads, 'messages.0.counts');
    expect(items.flatMap((entry) => entry.items)).toEqual([1, 2, null, 4]);
    const errors = entries(payloads).flatMap((entry) => entry.errors ?? []) as Array<{ message: string; path: unknown }>;
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/Int cannot represent non-integer value/);
    expect(errors[0].path).toEqual(['messages', 0, 'counts', 2]);
  });

  it('ends the stream at a non-null item that fails, delivering nothing after it', async () => {
    const codes = queueOf<unknown>(1, null, 3);
    const { payloads } = await run('{ messages @stream { id codes @stream } }', { messages: [{ id: 'm1', codes }] });

    const codeEntries = entries(payloads).filter((entry) => entry.path.join('.').startsWith('messages.0.codes'));
    const errors = codeEntries.flatMap((entry) => entry.errors ?? []);
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toMatch(/Cannot return null for non-nullable field Message\.codes/);
    expect(JSON.stringify(codeEntries)).not.toContain('3');
    expect(payloads[payloads.length - 1].hasNext).toBe(false);
    // The stream was closed: the queue no longer takes items.
    codes.push(4);
    expect(await codes.next()).toEqual({ done: true, value: undefined });
  });

  it('still ends the stream when the request is aborted', async () => {
    const content = new ReadyItemsQueue<string>();
    const controller = new AbortController();
    const iterator = await subsequentPayloads('{ messages @stream { id content @stream } }', { messages: [{ id: 'm1', content }] }, controller.signal);
    content.push('one');
    content.push('two');
    const seen: Entry[] = [];
    while (!seen.some((entry) => entry.items?.includes('two'))) seen.push(...((await iterator.next()).value?.incremental ?? []));
    const waiting = iterator.next();
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
  });
});
