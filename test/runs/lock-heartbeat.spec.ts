import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { HeldLock, ThreadLockStore } from '../../src/ports/run-stores.js';
import { LockHeartbeat } from '../../src/runs/lock-heartbeat.js';

/** The part of a ThreadLockStore the heartbeat uses, answering as the test says. */
function fakeLocks() {
  const calls: HeldLock[][] = [];
  const answers: Array<(held: ReadonlySet<string>) => void> = [];
  const store = {
    renewAll: jest.fn(async (locks: readonly HeldLock[]) => {
      calls.push([...locks]);
      return new Promise<ReadonlySet<string>>((resolve) => answers.push(resolve));
    }),
  };
  return { store: store as unknown as ThreadLockStore, calls, answers };
}

describe('LockHeartbeat (one renewal statement for every lock of the instance)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('renews every held lock in one call per tick, and tells only the run whose lock is gone', async () => {
    const { store, calls, answers } = fakeLocks();
    const heartbeat = new LockHeartbeat(store, 300);
    const lost: string[] = [];
    for (const i of [1, 2, 3]) heartbeat.hold(`t${i}`, `r${i}`, () => lost.push(`r${i}`));
    await jest.advanceTimersByTimeAsync(100);
    expect(calls).toEqual([
      [
        { threadId: 't1', runId: 'r1' },
        { threadId: 't2', runId: 'r2' },
        { threadId: 't3', runId: 'r3' },
      ],
    ]);
    answers[0]!(new Set(['r1', 'r3']));
    await jest.advanceTimersByTimeAsync(0);
    expect(lost).toEqual(['r2']);
    await jest.advanceTimersByTimeAsync(100);
    expect(calls[1]!.map((lock) => lock.runId)).toEqual(['r1', 'r3']);
    heartbeat.stop();
  });

  it('a run that ended while its renewal was in flight is not told its lock is lost', async () => {
    const { store, answers } = fakeLocks();
    const heartbeat = new LockHeartbeat(store, 300);
    const lost: string[] = [];
    const release = heartbeat.hold('t1', 'r1', () => lost.push('r1'));
    await jest.advanceTimersByTimeAsync(100);
    release();
    answers[0]!(new Set());
    await jest.advanceTimersByTimeAsync(0);
    expect(lost).toEqual([]);
    expect(heartbeat.size).toBe(0);
  });

  it('does not pile renewals on a slow one, but does not wait forever for a hanging one', async () => {
    const { store, calls } = fakeLocks();
    const heartbeat = new LockHeartbeat(store, 300);
    heartbeat.hold('t1', 'r1', () => undefined);
    await jest.advanceTimersByTimeAsync(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(2);
    heartbeat.stop();
  });

  it('a failed renewal is logged, and the next tick tries again', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const renewAll = jest.fn(async () => {
      throw new Error('Connection terminated unexpectedly');
    });
    const heartbeat = new LockHeartbeat({ renewAll } as unknown as ThreadLockStore, 300);
    const lost: string[] = [];
    heartbeat.hold('t1', 'r1', () => lost.push('r1'));
    await jest.advanceTimersByTimeAsync(200);
    expect(renewAll).toHaveBeenCalledTimes(2);
    expect(lost).toEqual([]);
    expect(String(warn.mock.calls[0]![0])).toContain('Connection terminated unexpectedly');
    heartbeat.stop();
  });
});
