import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EventType } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { isRetryableDatabaseError } from '../../src/persistence/database-errors.js';
import { EventLogWriter } from '../../src/runs/event-log-writer.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { connectionLost, FakeEventLogStore } from './run-fakes.js';

/** Time passes only as the test says: flush intervals, retry delays and slow appends included. */
const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

const event = (sequence: number, threadId = 't1'): LoggedEvent => ({
  threadId,
  runId: 'r1',
  sequence,
  event: { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm', delta: `${sequence}` } as never,
});

describe('EventLogWriter', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('writes 1,000 streamed events in far fewer appends, in order, and the final flush gets the rest', async () => {
    const store = new FakeEventLogStore();
    const flushed: number[] = [];
    const writer = new EventLogWriter(store, { maxBatchSize: 200, flushIntervalMs: 25 }, {
      onFlushed: (last) => flushed.push(last),
    });
    for (let i = 1; i <= 1000; i++) {
      writer.enqueue(event(i));
      // A token stream: bursts with short pauses.
      if (i % 37 === 0) await elapse(1);
    }
    await writer.close();
    expect(store.sequences('t1')).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(store.appendCalls).toBeLessThan(60);
    expect(writer.lastWrittenSequence).toBe(1000);
    expect(flushed.at(-1)).toBe(1000);
    expect([...flushed].sort((a, b) => a - b)).toEqual(flushed);
  });

  it('takes a batch of events with one enqueueAll: one append, in order, once the interval has passed', async () => {
    const store = new FakeEventLogStore();
    const writer = new EventLogWriter(store, { maxBatchSize: 200, flushIntervalMs: 25 });
    writer.enqueueAll([event(1), event(2), event(3)]);
    expect(writer.unwrittenAfter(0).map((e) => e.sequence)).toEqual([1, 2, 3]);
    await elapse(25);
    expect(store.appendCalls).toBe(1);
    expect(store.sequences('t1')).toEqual([1, 2, 3]);
    await writer.close();
  });

  describe('closeWith (the final flush folded into the run-end statement)', () => {
    it('does not wait for the append in flight: hands over everything unconfirmed, and the late append changes nothing', async () => {
      const store = new FakeEventLogStore();
      store.appendDelayMs = 30;
      const flushed: number[] = [];
      const writer = new EventLogWriter(store, { maxBatchSize: 5, flushIntervalMs: 25 }, { onFlushed: (last) => flushed.push(last) });
      for (let i = 1; i <= 7; i++) writer.enqueue(event(i));
      // 1..5 are being appended (30 ms); 6 and 7 wait.
      const handed: number[][] = [];
      let landedBeforeHandover: number[] = [];
      const stored = await writer.closeWith(async (events) => {
        landedBeforeHandover = store.sequences('t1');
        handed.push(events.map((e) => e.sequence));
        return true;
      });
      expect(landedBeforeHandover).toEqual([]);
      expect(stored).toBe(true);
      expect(handed).toEqual([[1, 2, 3, 4, 5, 6, 7]]);
      expect(writer.lastWrittenSequence).toBe(7);
      expect(writer.unwrittenAfter(0)).toEqual([]);
      // The append that was in flight lands afterwards: the high-water mark never goes back.
      await elapse(50);
      expect(store.sequences('t1')).toEqual([1, 2, 3, 4, 5]);
      expect(writer.lastWrittenSequence).toBe(7);
      // Neither the hand-over nor the late append is reported as progress: the run's end notice,
      // which follows, carries the log's last sequence.
      expect(flushed).toEqual([]);
      expect(store.appendCalls).toBe(1);
    });

    it('falls back to the ordinary, retrying flush when the caller could not store them', async () => {
      const store = new FakeEventLogStore();
      const writer = new EventLogWriter(store, { maxBatchSize: 200, flushIntervalMs: 25 });
      for (let i = 1; i <= 3; i++) writer.enqueue(event(i));
      const stored = await writer.closeWith(async () => {
        throw new Error('connection lost');
      });
      expect(stored).toBe(false);
      expect(store.sequences('t1')).toEqual([1, 2, 3]);
      expect(writer.lastWrittenSequence).toBe(3);
    });
  });

  it('waits for the interval before writing a small batch, and never per event', async () => {
    const store = new FakeEventLogStore();
    const writer = new EventLogWriter(store, { maxBatchSize: 200, flushIntervalMs: 30 });
    for (let i = 1; i <= 10; i++) writer.enqueue(event(i));
    await elapse(5);
    expect(store.appendCalls).toBe(0);
    expect(writer.unwrittenAfter(4).map((e) => e.sequence)).toEqual([5, 6, 7, 8, 9, 10]);
    await elapse(60);
    expect(store.appendCalls).toBe(1);
    expect(writer.unwrittenAfter(0)).toEqual([]);
  });

  it('enqueue never waits for the database', () => {
    const store = new FakeEventLogStore();
    store.appendDelayMs = 1_000;
    const writer = new EventLogWriter(store, { maxBatchSize: 10 });
    // Synchronous: 5,000 events handed over while the first append has not even answered.
    for (let i = 1; i <= 5_000; i++) writer.enqueue(event(i));
    expect(store.appendCalls).toBe(1);
    expect(writer.unwrittenAfter(0)).toHaveLength(5_000);
    writer.abandon();
  });

  it('retries through an outage shorter than maxOutageMs and loses or duplicates nothing', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const store = new FakeEventLogStore();
    const failures: unknown[] = [];
    const writer = new EventLogWriter(
      store,
      { maxBatchSize: 20, flushIntervalMs: 5, initialRetryDelayMs: 5, maxRetryDelayMs: 20, maxOutageMs: 5_000 },
      { onFailure: (error) => failures.push(error) },
    );
    for (let i = 1; i <= 100; i++) writer.enqueue(event(i));
    await elapse(10);
    store.failWith = connectionLost;
    for (let i = 101; i <= 300; i++) {
      writer.enqueue(event(i));
      if (i % 20 === 0) await elapse(2);
    }
    await elapse(100);
    store.failWith = null;
    const closing = writer.close();
    await elapse(100);
    await closing;
    expect(store.failedAppends).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    expect(store.sequences('t1')).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('reports PERSISTENCE_UNAVAILABLE once the outage outlasts maxOutageMs: the database is named in the log, never on the wire', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const store = new FakeEventLogStore();
    store.failWith = connectionLost;
    const failures: CopilotRuntimeError[] = [];
    const writer = new EventLogWriter(
      store,
      { flushIntervalMs: 5, initialRetryDelayMs: 5, maxRetryDelayMs: 20, maxOutageMs: 150 },
      { onFailure: (error) => failures.push(error), databaseLabel: 'PostgreSQL at postgres://db:5432/app' },
    );
    writer.enqueue(event(1));
    const closing = writer.close();
    await elapse(149);
    expect(failures).toEqual([]);
    await elapse(1);
    await closing;
    expect(failures).toHaveLength(1);
    expect(failures[0]!.code).toBe('PERSISTENCE_UNAVAILABLE');
    expect(failures[0]!.message).not.toContain('postgres://');
    expect(failures[0]!.message).toContain('the database was unreachable');
    expect(logged.mock.calls.flat().join(' ')).toContain('PostgreSQL at postgres://db:5432/app');
    expect(writer.failure).toBe(failures[0]);
    // Still in memory, for subscribers.
    expect(writer.unwrittenAfter(0).map((e) => e.sequence)).toEqual([1]);
  });

  it('gives up at once on an error no retry can fix', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const store = new FakeEventLogStore();
    store.failWith = () => Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' });
    const writer = new EventLogWriter(store, { flushIntervalMs: 1, maxOutageMs: 60_000 }, { isRetryable: isRetryableDatabaseError });
    writer.enqueue(event(1));
    await writer.close();
    expect(store.appendCalls).toBe(1);
    expect(writer.failure?.code).toBe('PERSISTENCE_UNAVAILABLE');
  });

  it('counts a hanging append against the outage budget', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const store = new FakeEventLogStore();
    store.append = () => new Promise<void>(() => undefined);
    const writer = new EventLogWriter(store, { flushIntervalMs: 1, maxOutageMs: 100 });
    writer.enqueue(event(1));
    const closing = writer.close();
    await elapse(100);
    await closing;
    expect(writer.failure?.code).toBe('PERSISTENCE_UNAVAILABLE');
  });
});
