import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EventType } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import type { CopilotRuntimeError } from '../../src/common/errors.js';
import { isRetryableDatabaseError } from '../../src/persistence/database-errors.js';
import { EventLogFlusher } from '../../src/runs/event-log-flusher.js';
import { EventLogWriter, type EventLogWriterOptions } from '../../src/runs/event-log-writer.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { connectionLost, FakeEventLogStore } from './run-fakes.js';

/*
 * The shared flusher: every run's writer of one instance flushes on ONE tick and their appends
 * go out as ONE statement. Time passes only as the test says (fake timers).
 */

const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

const event = (threadId: string, sequence: number): LoggedEvent => ({
  threadId,
  runId: `run-of-${threadId}`,
  sequence,
  event: { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm', delta: `${sequence}` } as never,
});

const poisoned = () => Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' });

describe('EventLogFlusher (one append per interval for all runs)', () => {
  let store: FakeEventLogStore;
  let flusher: EventLogFlusher;
  const failures = new Map<string, CopilotRuntimeError>();

  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    store = new FakeEventLogStore();
    flusher = new EventLogFlusher(store, {
      flushIntervalMs: 25,
      maxEventsPerStatement: 10_000,
      isRetryable: isRetryableDatabaseError,
    });
    failures.clear();
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  function writers(count: number, options: Partial<EventLogWriterOptions> = {}): Map<string, EventLogWriter> {
    const all = new Map<string, EventLogWriter>();
    for (let i = 0; i < count; i++) {
      const threadId = `t${i}`;
      all.set(
        threadId,
        new EventLogWriter(
          store,
          { flushIntervalMs: 25, initialRetryDelayMs: 50, maxRetryDelayMs: 2_000, maxOutageMs: 1_000, ...options },
          {
            flusher,
            isRetryable: isRetryableDatabaseError,
            onFailure: (error) => failures.set(threadId, error),
          },
        ),
      );
    }
    return all;
  }

  it('appends the pending events of N runs in one statement per interval, whatever N', async () => {
    for (const runs of [1, 10, 200]) {
      store.appendCalls = 0;
      const all = writers(runs);
      // Five intervals, each run streaming a few events in each.
      for (let interval = 0; interval < 5; interval++) {
        for (const [threadId, writer] of all) {
          for (let k = 1; k <= 3; k++) writer.enqueue(event(threadId, interval * 3 + k));
        }
        await elapse(50);
      }
      expect(store.appendCalls).toBe(5);
      for (const [threadId, writer] of all) {
        expect(writer.lastWrittenSequence).toBe(15);
        expect(store.sequences(threadId)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
        await writer.close();
      }
    }
    expect(flusher.statementCount).toBe(15);
  });

  it('keeps each run’s order, reports its own high-water mark (onFlushed) and holds unwritten events for subscribers', async () => {
    const flushed: Array<[string, number]> = [];
    const make = (threadId: string) =>
      new EventLogWriter(store, { flushIntervalMs: 25 }, { flusher, onFlushed: (last) => flushed.push([threadId, last]) });
    const a = make('a');
    const b = make('b');
    for (let i = 1; i <= 4; i++) a.enqueue(event('a', i));
    b.enqueue(event('b', 7));
    expect(a.unwrittenAfter(2).map((e) => e.sequence)).toEqual([3, 4]);
    // The tick (25 ms), then the statement in the next timers phase.
    await elapse(26);
    expect(store.appendCalls).toBe(1);
    expect(flushed).toEqual([
      ['a', 4],
      ['b', 7],
    ]);
    expect(a.unwrittenAfter(0)).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('retries a failed shared append through an outage shorter than maxOutageMs, still together, losing nothing', async () => {
    const all = writers(50);
    for (const [threadId, writer] of all) writer.enqueue(event(threadId, 1));
    store.failWith = connectionLost;
    await elapse(26);
    expect(store.appendCalls).toBe(1);
    // 50 + 100 + 200 ms of backoff (and 1 ms to each statement): every writer retries at the same moments, in one statement.
    await elapse(51 + 101 + 201);
    expect(store.appendCalls).toBe(4);
    store.failWith = null;
    await elapse(401);
    expect(store.appendCalls).toBe(5);
    expect(failures.size).toBe(0);
    for (const [threadId, writer] of all) {
      expect(store.sequences(threadId)).toEqual([1]);
      await writer.close();
    }
  });

  it('ends with PERSISTENCE_UNAVAILABLE for the runs affected only once the outage outlasts maxOutageMs', async () => {
    const all = writers(20);
    for (const [threadId, writer] of all) writer.enqueue(event(threadId, 1));
    store.failWith = connectionLost;
    // The outage starts with the first attempt (t = 25 ms, the tick): its budget ends at t = 1,025 ms,
    // and the attempt then (a statement at 1,026 ms) is the last.
    await elapse(1_025);
    expect(failures.size).toBe(0);
    await elapse(1);
    expect(failures.size).toBe(20);
    for (const failure of failures.values()) {
      expect(failure.code).toBe('PERSISTENCE_UNAVAILABLE');
      expect(failure.message).toContain('the database was unreachable');
    }
    // Far fewer statements than runs × attempts: the retries went out together.
    expect(store.appendCalls).toBeLessThan(12);
    for (const writer of all.values()) expect(writer.unwrittenAfter(0)).toHaveLength(1);
  });

  it('a poisoned batch (an error no retry fixes) fails its own run only: the flush falls back to one append per run', async () => {
    const append = store.append.bind(store);
    jest.spyOn(store, 'append').mockImplementation(async (events) => {
      if (events.some((e) => e.threadId === 't3')) throw poisoned();
      await append(events);
    });
    const all = writers(6);
    for (const [threadId, writer] of all) writer.enqueue(event(threadId, 1));
    await elapse(26);
    expect([...failures.keys()]).toEqual(['t3']);
    expect(failures.get('t3')!.message).toBe("The run's events could not be stored.");
    for (const threadId of ['t0', 't1', 't2', 't4', 't5']) {
      expect(store.sequences(threadId)).toEqual([1]);
      expect(all.get(threadId)!.lastWrittenSequence).toBe(1);
    }
    // The shared attempt, then one per run.
    expect(flusher.statementCount).toBe(1 + 6);
  });

  it('splits a flush larger than maxEventsPerStatement into several statements', async () => {
    flusher = new EventLogFlusher(store, { flushIntervalMs: 25, maxEventsPerStatement: 10 });
    const all = writers(8);
    for (const [threadId, writer] of all) for (let i = 1; i <= 4; i++) writer.enqueue(event(threadId, i));
    await elapse(26);
    // 32 events, at most 10 (two runs' batches of 4) per statement.
    expect(store.appendCalls).toBe(4);
    for (const writer of all.values()) expect(writer.lastWrittenSequence).toBe(4);
  });

  it('closeWith still folds the final flush into the caller’s statement, and abandon stops a writer', async () => {
    const all = writers(2);
    const a = all.get('t0')!;
    const b = all.get('t1')!;
    a.enqueue(event('t0', 1));
    b.enqueue(event('t1', 1));
    const handed: LoggedEvent[][] = [];
    expect(await a.closeWith(async (events) => (handed.push(events), true))).toBe(true);
    expect(handed).toEqual([[event('t0', 1)]]);
    b.abandon();
    await elapse(100);
    expect(store.appendCalls).toBe(0);
  });
});
