import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { batchesOf } from '../../src/common/batched-iterable.js';
import { callerStream } from '../../src/runs/caller-stream.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import { MAX_BATCH_EVENTS, RunExecution } from '../../src/runs/run-execution.js';

const started = () => ({ type: EventType.RUN_STARTED, threadId: 't', runId: 'r' }) as BaseEvent;
const finished = () => ({ type: EventType.RUN_FINISHED, threadId: 't', runId: 'r' }) as BaseEvent;
const textStart = (messageId = 'm1') => ({ type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' }) as BaseEvent;
const delta = (text: string, messageId = 'm1') => ({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: text }) as BaseEvent;
const textEnd = (messageId = 'm1') => ({ type: EventType.TEXT_MESSAGE_END, messageId }) as BaseEvent;

/** A promise and its resolver: the body waits on it as it would on a network read. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function pumped(body: (signal: AbortSignal) => AsyncIterable<BaseEvent>) {
  const batches: LoggedEvent[][] = [];
  let onBatch: (() => void) | null = null;
  const run = new RunExecution({
    threadId: 't',
    runId: 'r',
    body,
    emitBatch: (events) => {
      batches.push(events);
      onBatch?.();
    },
  });
  /** Resolves once `count` batches were emitted (no timer: the emit itself wakes it). */
  const batchCount = (count: number) =>
    new Promise<void>((resolve) => {
      if (batches.length >= count) return resolve();
      onBatch = () => {
        if (batches.length >= count) resolve();
      };
    });
  const typesOf = (batch: LoggedEvent[]) => batch.map((e) => e.event.type);
  return { run, batches, batchCount, typesOf };
}

describe('RunExecution batches', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('emits a lone event as a batch of one, without waiting for the next read, and the rest of a read together', async () => {
    const read = gate();
    const { run, batches, batchCount, typesOf } = pumped(async function* () {
      yield started();
      await read.opened;
      yield textStart();
      yield delta('a');
      yield delta('b');
      yield textEnd();
      yield finished();
    });
    const done = run.execute(1);
    await batchCount(1);
    expect(batches.map(typesOf)).toEqual([['RUN_STARTED']]);
    // The read completes in a later turn of the event loop, as a network read does.
    await nextTurn();
    read.open();
    const result = await done;
    // The first event of the read goes on at once, what followed it in the same turn together, in order.
    expect(batches.map(typesOf)).toEqual([
      ['RUN_STARTED'],
      ['TEXT_MESSAGE_START'],
      ['TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED'],
    ]);
    expect(batches.flat().map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result).toMatchObject({ status: 'succeeded', lastSequence: 6 });
    expect(result.outputMessages).toEqual([{ id: 'm1', role: 'assistant', content: 'ab' }]);
  });

  it('keeps order and numbering across reads, and bounds a batch at MAX_BATCH_EVENTS', async () => {
    const total = MAX_BATCH_EVENTS * 2 + 10;
    const { run, batches } = pumped(async function* () {
      yield started();
      yield textStart();
      for (let index = 0; index < total; index++) yield delta(String(index));
      yield textEnd();
      yield finished();
    });
    const result = await run.execute(100);
    const all = batches.flat();
    expect(all.map((e) => e.sequence)).toEqual(all.map((_, index) => 100 + index));
    expect(all.filter((e) => e.event.type === EventType.TEXT_MESSAGE_CONTENT).map((e) => (e.event as any).delta)).toEqual(
      Array.from({ length: total }, (_, index) => String(index)),
    );
    expect(Math.max(...batches.map((batch) => batch.length))).toBe(MAX_BATCH_EVENTS);
    // The first event alone, then full batches, then the rest of the turn.
    expect(batches[0]!.length).toBe(1);
    expect(batches.length).toBe(1 + Math.ceil((total + 3) / MAX_BATCH_EVENTS) + 0);
    expect(result.lastSequence).toBe(100 + total + 3);
  });

  it('keeps what was read before an abort mid-batch, nothing after it, and does not wait for the body', async () => {
    let run!: RunExecution;
    let returned = false;
    const body = async function* () {
      try {
        yield started();
        yield textStart();
        yield delta('kept');
        run.abort('stop');
        yield delta('after the abort');
        // A body that ignores its signal.
        await new Promise(() => undefined);
      } finally {
        returned = true;
      }
    };
    const pump = pumped(body);
    run = pump.run;
    const result = await run.execute(1);
    expect(pump.batches.map(pump.typesOf)).toEqual([
      ['RUN_STARTED'],
      ['TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT'],
      ['TEXT_MESSAGE_END', 'CUSTOM', 'RUN_FINISHED'],
    ]);
    expect(pump.batches.flat().map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'stop', lastSequence: 6 });
    expect(result.outputMessages).toEqual([{ id: 'm1', role: 'assistant', content: 'kept' }]);
    // The body's return() waits for its pending step; the run did not.
    expect(returned).toBe(false);
  });

  it('ends at a terminal event inside a batch: later events of the batch and of the body are dropped', async () => {
    const { run, batches, typesOf } = pumped(async function* () {
      yield started();
      yield textStart();
      yield delta('x');
      yield textEnd();
      yield finished();
      yield textStart('late');
      yield { type: EventType.RUN_ERROR, message: 'late', code: 'UNKNOWN' } as BaseEvent;
    });
    const result = await run.execute(1);
    expect(batches.map(typesOf)).toEqual([
      ['RUN_STARTED'],
      ['TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED'],
    ]);
    expect(result).toMatchObject({ status: 'succeeded', error: null, lastSequence: 5 });
  });

  it('emits what a failing body yielded before it threw, then its closing events and RUN_ERROR', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { run, batches, typesOf } = pumped(async function* () {
      yield started();
      yield textStart();
      yield delta('half');
      throw new Error('model went away');
    });
    const result = await run.execute(1);
    expect(batches.map(typesOf)).toEqual([
      ['RUN_STARTED'],
      ['TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT'],
      ['TEXT_MESSAGE_END', 'RUN_ERROR'],
    ]);
    expect(result.status).toBe('failed');
  });

  it('stamps events without a timestamp once per batch, in place, and copies a frozen one', async () => {
    const frozen = Object.freeze(delta('frozen')) as BaseEvent;
    const own = { ...delta('own'), timestamp: 42 } as BaseEvent;
    const { run, batches } = pumped(async function* () {
      yield started();
      yield textStart();
      yield frozen;
      yield own;
      yield textEnd();
      yield finished();
    });
    await run.execute(1);
    const batch = batches.flat();
    const stamps = batch.map((e) => e.event.timestamp);
    expect(stamps[3]).toBe(42);
    // One clock read per batch: the rest of the turn shares one stamp.
    expect(new Set([stamps[1], stamps[2], stamps[4], stamps[5]]).size).toBe(1);
    expect(batch[2]!.event).not.toBe(frozen);
    expect(batch[2]!.event).toMatchObject({ delta: 'frozen' });
  });
});

describe('RunEventBus batches', () => {
  const logged = (sequence: number, runId = 'r'): LoggedEvent => ({ threadId: 't', runId, sequence, event: delta(String(sequence)) });

  it('hands a batch whole to batch listeners and event by event to the others', () => {
    const bus = new RunEventBus();
    const batches: number[][] = [];
    const singles: number[] = [];
    bus.subscribeBatches('t', (events) => batches.push(events.map((e) => e.sequence)));
    bus.subscribe('t', (event) => singles.push(event.sequence));
    bus.publishBatch([logged(1), logged(2), logged(3)]);
    bus.publish(logged(4));
    expect(batches).toEqual([[1, 2, 3], [4]]);
    expect(singles).toEqual([1, 2, 3, 4]);
  });

  it('stops a per-event listener that unsubscribes in the middle of a batch', () => {
    const bus = new RunEventBus();
    const seen: number[] = [];
    const unsubscribe = bus.subscribe('t', (event) => {
      seen.push(event.sequence);
      if (event.sequence === 2) unsubscribe();
    });
    bus.publishBatch([logged(1), logged(2), logged(3)]);
    expect(seen).toEqual([1, 2]);
    expect(bus.subscriberCount('t')).toBe(0);
  });
});

describe('callerStream batches', () => {
  const logged = (sequence: number, runId = 'r'): LoggedEvent => ({ threadId: 't', runId, sequence, event: delta(String(sequence)) });

  it("is one item per published batch (its run's only), or event by event", async () => {
    const bus = new RunEventBus();
    const open = () =>
      callerStream({ bus, threadId: 't', runId: 'r', callerSignal: new AbortController().signal, onCallerGone: 'continue', abortRun: () => undefined });
    const batched = open();
    const flat = open();
    bus.publishBatch([logged(1), logged(2)]);
    bus.publishBatch([logged(1, 'other')]);
    bus.publishBatch([logged(3)]);
    batched.end();
    flat.end();
    const batches: number[][] = [];
    for await (const batch of batchesOf(batched.events)) batches.push(batch.map((e) => e.sequence));
    const singles: number[] = [];
    for await (const event of flat.events) singles.push(event.sequence);
    expect(batches).toEqual([[1, 2], [3]]);
    expect(singles).toEqual([1, 2, 3]);
  });

  it('stops the run when the caller stops reading in the middle of a batch (abort policy)', async () => {
    const bus = new RunEventBus();
    let aborted = 0;
    const stream = callerStream({
      bus,
      threadId: 't',
      runId: 'r',
      callerSignal: new AbortController().signal,
      onCallerGone: 'abort',
      abortRun: () => aborted++,
    });
    bus.publishBatch([logged(1), logged(2), logged(3)]);
    for await (const event of stream.events) if (event.sequence === 2) break;
    expect(aborted).toBe(1);
    expect(bus.subscriberCount('t')).toBe(0);
  });
});
