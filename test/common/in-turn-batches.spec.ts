import { describe, expect, it } from '@jest/globals';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pushable } from 'it-pushable';
import { inTurnBatches } from '../../src/common/in-turn-batches.js';
import { mergeSubsequentPayloads } from '../../src/graphql/transport/legacy-incremental.js';

const join = (items: string[]) => items.join('+');
const ANY = { maxWeight: Number.POSITIVE_INFINITY };

/** A source whose items are released by the test, one gate at a time. */
function gatedSource() {
  const gates: Array<() => void> = [];
  let closed = false;
  async function* source(): AsyncGenerator<string> {
    try {
      for (let batch = 0; ; batch++) {
        // Three items ready at once (no I/O between them), then a wait for the test's gate.
        yield `${batch}a`;
        yield `${batch}b`;
        yield `${batch}c`;
        await new Promise<void>((resolve) => gates.push(resolve));
      }
    } finally {
      closed = true;
    }
  }
  return { source: source(), open: () => gates.shift()?.(), isClosed: () => closed, waiting: () => gates.length };
}

describe('inTurnBatches', () => {
  it('sends what is ready in one turn together, and does not wait for more', async () => {
    const gated = gatedSource();
    const batches = inTurnBatches(gated.source, join, ANY);
    // The first batch arrives while the source waits for a gate nobody has opened yet.
    await expect(batches.next()).resolves.toEqual({ done: false, value: '0a+0b+0c' });
    expect(gated.waiting()).toBe(1);
    gated.open();
    await expect(batches.next()).resolves.toEqual({ done: false, value: '1a+1b+1c' });
    await batches.return(undefined);
    // The source was waiting at its gate: it is closed as soon as it wakes.
    gated.open();
    while (!gated.isClosed()) await nextTurn();
    expect(gated.isClosed()).toBe(true);
  });

  it('never holds a lone item back', async () => {
    let release!: () => void;
    async function* source(): AsyncGenerator<string> {
      yield 'first';
      await new Promise<void>((resolve) => (release = resolve));
      yield 'second';
    }
    const batches = inTurnBatches(source(), join, ANY);
    await expect(batches.next()).resolves.toEqual({ done: false, value: 'first' });
    release();
    await expect(batches.next()).resolves.toEqual({ done: false, value: 'second' });
    await expect(batches.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('keeps items split by I/O in separate batches and loses none across the turn boundary', async () => {
    async function* source(): AsyncGenerator<number> {
      for (let index = 0; index < 6; index++) {
        if (index === 3) await nextTurn();
        yield index;
      }
    }
    const seen: number[][] = [];
    for await (const batch of inTurnBatches(
      (async function* () {
        for await (const item of source()) yield [item];
      })(),
      (items) => items.flat(),
      ANY,
    )) {
      seen.push(batch);
    }
    expect(seen.flat()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[0]).toEqual([0, 1, 2]);
  });

  it('stops a source that is waiting for its next item without hanging', async () => {
    const gated = gatedSource();
    const batches = inTurnBatches(gated.source, join, ANY);
    await batches.next();
    await batches.return(undefined);
    expect(gated.waiting()).toBe(1);
  });

  it('stops a source whose return() answers synchronously (it-pushable) while a next() is pending', async () => {
    const source = pushable<string>({ objectMode: true });
    source.push('a');
    const batches = inTurnBatches(source, join, ANY);
    // The batch closes at the end of the turn, with a next() of the source still pending.
    expect(await batches.next()).toEqual({ done: false, value: 'a' });
    await expect(batches.return(undefined)).resolves.toEqual({ done: true, value: undefined });
    expect(await source.next()).toEqual({ done: true });
  });

  it('ends with the last batch when the source ends within the turn', async () => {
    async function* source(): AsyncGenerator<string> {
      yield 'a';
      yield 'b';
    }
    const all: string[] = [];
    for await (const batch of inTurnBatches(source(), join, ANY)) all.push(batch);
    expect(all).toEqual(['a+b']);
  });
});

describe('inTurnBatches limit', () => {
  it('closes a batch at the limit and takes nothing more from the source until asked', async () => {
    let taken = 0;
    async function* source(): AsyncGenerator<string> {
      for (let index = 0; index < 10; index++) {
        taken++;
        yield 'abcd';
      }
    }
    const batches = inTurnBatches(source(), join, { maxWeight: 10, weigh: (item) => item.length });
    await expect(batches.next()).resolves.toEqual({ done: false, value: 'abcd+abcd+abcd' });
    expect(taken).toBe(3);
    const rest: string[] = [];
    for await (const batch of batches) rest.push(batch);
    expect(rest).toEqual(['abcd+abcd+abcd', 'abcd+abcd+abcd', 'abcd']);
  });
});

describe('mergeSubsequentPayloads', () => {
  it('keeps every entry in order, folds items that continue a streamed list, takes the last hasNext, drops heartbeats', () => {
    const merged = mergeSubsequentPayloads([
      { incremental: [{ items: ['Hel'], path: ['a', 'content', 0] }], hasNext: true },
      { hasNext: true },
      { incremental: [{ items: ['lo'], path: ['a', 'content', 1] }], hasNext: true },
      { incremental: [{ data: { status: 'ok' }, path: ['a'] }], hasNext: false },
    ]);
    expect(JSON.stringify(merged)).toBe(
      '{"incremental":[{"items":["Hel","lo"],"path":["a","content",0]},{"data":{"status":"ok"},"path":["a"]}],"hasNext":false}',
    );
  });

  it('folds only consecutive items of one list: another list, a gap, a label or errors start a new entry', () => {
    const errors = [{ message: 'boom' }];
    const entries = [
      { items: ['a'], path: ['r', 'messages', 0, 'content', 0] },
      { items: ['b', 'c'], path: ['r', 'messages', 0, 'content', 1] },
      { items: ['x'], path: ['r', 'messages', 1, 'content', 0] },
      { items: ['d'], path: ['r', 'messages', 0, 'content', 3] },
      { items: ['e'], path: ['r', 'messages', 0, 'content', 5] },
      { items: ['f'], path: ['r', 'messages', 0, 'content', 6], label: 'l' },
      { items: [null], path: ['r', 'messages', 0, 'content', 7], errors },
      { items: ['g'], path: ['r', 'messages', 0, 'content', 8] },
      { items: ['h'], path: ['r', 'messages', 0, 'content', 9] },
    ];
    const originals = JSON.stringify(entries);
    // One payload alone is folded too (the patched executor hands over every completed record at once).
    const merged = mergeSubsequentPayloads([{ incremental: entries, hasNext: true }]);
    expect(merged.incremental).toEqual([
      { items: ['a', 'b', 'c'], path: ['r', 'messages', 0, 'content', 0] },
      { items: ['x'], path: ['r', 'messages', 1, 'content', 0] },
      { items: ['d'], path: ['r', 'messages', 0, 'content', 3] },
      { items: ['e'], path: ['r', 'messages', 0, 'content', 5] },
      { items: ['f'], path: ['r', 'messages', 0, 'content', 6], label: 'l' },
      { items: [null], path: ['r', 'messages', 0, 'content', 7], errors },
      { items: ['g', 'h'], path: ['r', 'messages', 0, 'content', 8] },
    ]);
    // The producer's entries are copied, not grown.
    expect(JSON.stringify(entries)).toBe(originals);
  });

  it('turns heartbeats alone into one heartbeat', () => {
    expect(mergeSubsequentPayloads([{ hasNext: true }, { hasNext: true }])).toEqual({ hasNext: true });
  });
});
