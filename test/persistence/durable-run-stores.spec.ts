import type { BaseEvent, Message } from '@ag-ui/core';
import { EventType } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { PostgresAgentStateStore } from '../../src/persistence/postgres-agent-state-store.js';
import { PostgresEventLogStore } from '../../src/persistence/postgres-event-log-store.js';
import { acquireThreadLock, PostgresThreadLockStore } from '../../src/persistence/postgres-thread-lock-store.js';
import { RUN_ABANDONED_ERROR, RunAdmission } from '../../src/persistence/run-admission.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { AgentStateStore, EventLogStore, ThreadLockStore } from '../../src/ports/run-stores.js';
import { testDatabaseOptions, type TestDatabase, usesRealPostgres } from '../support/database.js';
import { waitFor } from '../support/wait-for.js';
import {
  bootPersistence,
  type BootedPersistence,
  expireLock,
  seedThread,
  uniqueId,
} from './persistence-fixtures.js';

// With PGlite, the first boot runs initdb: seconds, more on a busy machine.
jest.setTimeout(60_000);

const TTL_MS = 30_000;

describe('durable run stores', () => {
  let database: TestDatabase;
  let booted: BootedPersistence;
  let events: EventLogStore;
  let locks: ThreadLockStore;
  let states: AgentStateStore;
  let admission: RunAdmission;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    booted = await bootPersistence(database.options);
    events = booted.moduleRef.get(EventLogStore);
    locks = booted.moduleRef.get(ThreadLockStore);
    states = booted.moduleRef.get(AgentStateStore);
    admission = booted.moduleRef.get(RunAdmission);
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
  });

  async function newThread(ownerId = 'owner-1'): Promise<string> {
    const threadId = uniqueId('thread');
    await seedThread(booted.store, { threadId, ownerId });
    return threadId;
  }

  function admit(
    threadId: string,
    runId: string,
    overrides: { ownerId?: string; holder?: string; inputMessages?: Message[]; agentStateOf?: string } = {},
  ) {
    return admission.admitRun({
      inputMessages: overrides.inputMessages,
      agentStateOf: overrides.agentStateOf,
      threadId,
      runId,
      ownerId: overrides.ownerId ?? 'owner-1',
      holder: overrides.holder ?? 'instance-a',
      ttlMs: TTL_MS,
      agentName: 'researcher',
      model: 'gpt-test',
      startedAt: new Date(),
    });
  }

  it('are the providers the module exports', () => {
    expect(events).toBeInstanceOf(PostgresEventLogStore);
    expect(locks).toBeInstanceOf(PostgresThreadLockStore);
    expect(states).toBeInstanceOf(PostgresAgentStateStore);
    expect(admission).toBeInstanceOf(RunAdmission);
  });

  describe('EventLogStore', () => {
    function logged(threadId: string, runId: string, sequence: number): LoggedEvent {
      const event = {
        type: EventType.TEXT_MESSAGE_CONTENT,
        messageId: 'm1',
        delta: `part ${sequence}`,
        // An array in the payload: it must be stored as JSON, not as a PostgreSQL array.
        rawEvent: { chunks: [sequence, 'x'] },
      } as BaseEvent;
      return { threadId, runId, sequence, event };
    }

    it('appends, skips what it already has, and reads back in order with paging', async () => {
      const threadId = await newThread();
      const batch = Array.from({ length: 25 }, (_, i) => logged(threadId, 'run-1', i + 1));
      await events.append(batch.slice(0, 10));
      // Overlapping retry: 1..15, of which 1..10 are present.
      await events.append(batch.slice(0, 15));
      await events.append(batch.slice(15));
      await events.append([]);

      expect(await events.lastSequence(threadId)).toBe(25);
      const first = await events.readAfter(threadId, 0, 10);
      expect(first).toEqual(batch.slice(0, 10));
      const second = await events.readAfter(threadId, 10, 10);
      expect(second.map((e) => e.sequence)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      expect(await events.readAfter(threadId, 20, 10)).toEqual(batch.slice(20));
      expect(await events.readAfter(threadId, 25, 10)).toEqual([]);
      // Paging across batch boundaries and from inside a batch.
      expect((await events.readAfter(threadId, 3, 9)).map((e) => e.sequence)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect((await events.readAfter(threadId, 14, 2)).map((e) => e.sequence)).toEqual([15, 16]);
      // One row per append, the retry having replaced the shorter batch it extends.
      const rows = await booted.dataSource.query(
        `SELECT first_sequence::int AS first, last_sequence::int AS last FROM run_event_batches
         WHERE thread_id = $1 ORDER BY first_sequence`,
        [threadId],
      );
      expect(rows).toEqual([
        { first: 1, last: 15 },
        { first: 16, last: 25 },
      ]);
      const [row] = await booted.dataSource.query(
        `SELECT events -> 0 ->> 'type' AS type, jsonb_typeof(events -> 0 -> 'rawEvent' -> 'chunks') AS chunks
         FROM run_event_batches WHERE thread_id = $1 AND first_sequence = 1`,
        [threadId],
      );
      expect(row).toEqual({ type: EventType.TEXT_MESSAGE_CONTENT, chunks: 'array' });
    });

    it('stores runs of deltas compactly and reads them back, event by event, from any sequence', async () => {
      const threadId = await newThread();
      const delta = (sequence: number): LoggedEvent => ({
        threadId,
        runId: 'run-c',
        sequence,
        event: { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: `tok${sequence} `, timestamp: 1_000 + sequence } as BaseEvent,
      });
      const batch = [
        { threadId, runId: 'run-c', sequence: 1, event: { type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' } as BaseEvent },
        ...Array.from({ length: 20 }, (_, i) => delta(i + 2)),
        { threadId, runId: 'run-c', sequence: 22, event: { type: EventType.TEXT_MESSAGE_END, messageId: 'm1' } as BaseEvent },
      ];
      await events.append(batch.slice(0, 12));
      await events.append(batch.slice(12));
      expect(await events.readAfter(threadId, 0, 100)).toEqual(batch);
      for (const after of [1, 5, 11, 12, 15]) {
        expect(await events.readAfter(threadId, after, 4)).toEqual(batch.slice(after, after + 4));
      }
      const rows = await booted.dataSource.query(
        `SELECT first_sequence::int AS first, last_sequence::int AS last, jsonb_array_length(events) AS stored
         FROM run_event_batches WHERE thread_id = $1 ORDER BY first_sequence`,
        [threadId],
      );
      expect(rows).toEqual([
        { first: 1, last: 12, stored: 2 },
        { first: 13, last: 22, stored: 2 },
      ]);
    });

    it('keeps threads apart and answers 0 for a thread without events', async () => {
      const a = await newThread();
      const b = await newThread();
      await events.append([logged(a, 'run-a', 1), logged(b, 'run-b', 1), logged(b, 'run-b', 2)]);
      expect(await events.lastSequence(a)).toBe(1);
      expect(await events.lastSequence(b)).toBe(2);
      expect(await events.lastSequence('no-such-thread')).toBe(0);
      expect((await events.readAfter(a, 0, 100)).map((e) => e.runId)).toEqual(['run-a']);
    });

    it('appends a batch larger than one statement can bind', async () => {
      const threadId = await newThread();
      const batch = Array.from({ length: 14_000 }, (_, i) => logged(threadId, 'run-big', i + 1));
      await events.append(batch);
      expect(await events.lastSequence(threadId)).toBe(14_000);
      const page = await events.readAfter(threadId, 13_990, 100);
      expect(page.map((e) => e.sequence)).toEqual(
        Array.from({ length: 10 }, (_, i) => 13_991 + i),
      );
    });
  });

  describe('ThreadLockStore', () => {
    it('lets exactly one of many concurrent acquirers win, then refuses with the current lock', async () => {
      const threadId = await newThread();
      const attempts = await Promise.all(
        Array.from({ length: 10 }, (_, i) => locks.tryAcquire(threadId, `run-${i}`, 'instance-a', TTL_MS)),
      );
      const winners = attempts.flatMap((attempt, i) => (attempt.acquired ? [`run-${i}`] : []));
      expect(winners).toHaveLength(1);
      for (const attempt of attempts) {
        if (!attempt.acquired) expect(attempt.current.runId).toBe(winners[0]);
      }
      const current = await locks.current(threadId);
      expect(current).toMatchObject({ threadId, runId: winners[0], holder: 'instance-a' });
      expect(current!.expiresAt.getTime()).toBeGreaterThan(Date.now() + TTL_MS / 2);
    });

    it('re-acquiring by the same run renews instead of refusing', async () => {
      const threadId = await newThread();
      expect(await locks.tryAcquire(threadId, 'run-1', 'instance-a', TTL_MS)).toEqual({ acquired: true });
      expect(await locks.tryAcquire(threadId, 'run-1', 'instance-a', TTL_MS)).toEqual({ acquired: true });
    });

    it('an expired lock can be taken; the previous run can then no longer renew or release it', async () => {
      const threadId = await newThread();
      expect((await locks.tryAcquire(threadId, 'run-1', 'instance-a', TTL_MS)).acquired).toBe(true);
      expect(await locks.renew(threadId, 'run-1', TTL_MS)).toBe(true);
      await expireLock(booted.dataSource, threadId);
      expect(await locks.current(threadId)).toBeNull();

      expect(await locks.tryAcquire(threadId, 'run-2', 'instance-b', TTL_MS)).toEqual({ acquired: true });
      expect(await locks.renew(threadId, 'run-1', TTL_MS)).toBe(false);
      await locks.release(threadId, 'run-1');
      expect(await locks.current(threadId)).toMatchObject({ runId: 'run-2', holder: 'instance-b' });

      await locks.release(threadId, 'run-2');
      expect(await locks.current(threadId)).toBeNull();
      expect(await locks.renew(threadId, 'run-2', TTL_MS)).toBe(false);
    });

    it('expires by the ttl, on the database clock', async () => {
      const threadId = await newThread();
      expect((await locks.tryAcquire(threadId, 'run-1', 'instance-a', 200)).acquired).toBe(true);
      expect(await locks.tryAcquire(threadId, 'run-2', 'instance-b', 200)).toMatchObject({
        acquired: false,
        current: { runId: 'run-1', holder: 'instance-a' },
      });
      // Nobody releases it: it lapses by itself once the ttl has passed on the database's clock.
      await waitFor(async () => (await locks.current(threadId)) === null, { what: 'the lock to expire' });
      expect((await locks.tryAcquire(threadId, 'run-2', 'instance-b', 200)).acquired).toBe(true);
    });

    it('reaps expired locks only, and markAbandonedRuns fails their runs still running', async () => {
      const [live, dead, finished] = [await newThread(), await newThread(), await newThread()];
      expect(await admit(live, uniqueId('run'))).toMatchObject({ admitted: true });
      const deadRun = uniqueId('run');
      expect(await admit(dead, deadRun)).toMatchObject({ admitted: true });
      const finishedRun = uniqueId('run');
      expect(await admit(finished, finishedRun)).toMatchObject({ admitted: true });
      await booted.store.recordRunFinished({
        runId: finishedRun,
        threadId: finished,
        status: 'succeeded',
        finishedAt: new Date(),
        error: null,
        usage: null,
        outputMessages: [],
      });
      await expireLock(booted.dataSource, dead);
      await expireLock(booted.dataSource, finished);

      const reaped = await locks.reapExpired();
      const mine = reaped.filter((lock) => [live, dead, finished].includes(lock.threadId));
      expect(mine.map((lock) => lock.runId).sort()).toEqual([deadRun, finishedRun].sort());
      expect(await locks.current(live)).not.toBeNull();

      expect(await admission.markAbandonedRuns(mine)).toBe(1);
      expect(await booted.store.findRun(deadRun)).toMatchObject({
        status: 'failed',
        error: RUN_ABANDONED_ERROR,
      });
      expect((await booted.store.findRun(deadRun))!.finishedAt).toBeInstanceOf(Date);
      expect(await booted.store.findRun(finishedRun)).toMatchObject({ status: 'succeeded', error: null });
      expect(await admission.markAbandonedRuns([])).toBe(0);
    });

    it("settles an abandoned run from its event log, so the run row and the log agree", async () => {
      const logged = (threadId: string, runId: string, sequence: number, event: Record<string, unknown>): LoggedEvent => ({
        threadId,
        runId,
        sequence,
        event: { timestamp: Date.now(), ...event } as BaseEvent,
      });
      // Died after its final flush, before updating its row: the log says it finished.
      const [flushed, stopped, midway] = [await newThread(), await newThread(), await newThread()];
      const [flushedRun, stoppedRun, midwayRun] = [uniqueId('run'), uniqueId('run'), uniqueId('run')];
      for (const [threadId, runId] of [[flushed, flushedRun], [stopped, stoppedRun], [midway, midwayRun]]) {
        expect(await admit(threadId, runId)).toMatchObject({ admitted: true });
      }
      // (The seeded thread's own first run, left 'running' without a lock, was settled at admission:
      // its log may already hold a closing event, so sequences start after it.)
      const [f, t, m] = [await events.lastSequence(flushed), await events.lastSequence(stopped), await events.lastSequence(midway)];
      await events.append([
        logged(flushed, flushedRun, f + 1, { type: EventType.RUN_STARTED, threadId: flushed, runId: flushedRun }),
        logged(flushed, flushedRun, f + 2, { type: EventType.RUN_FINISHED, threadId: flushed, runId: flushedRun }),
        logged(stopped, stoppedRun, t + 1, { type: EventType.RUN_STARTED, threadId: stopped, runId: stoppedRun }),
        logged(stopped, stoppedRun, t + 2, { type: EventType.CUSTOM, name: 'run_stopped', value: { runId: stoppedRun } }),
        logged(stopped, stoppedRun, t + 3, { type: EventType.RUN_FINISHED, threadId: stopped, runId: stoppedRun }),
        logged(midway, midwayRun, m + 1, { type: EventType.RUN_STARTED, threadId: midway, runId: midwayRun }),
        logged(midway, midwayRun, m + 2, { type: EventType.TEXT_MESSAGE_START, messageId: 'm', role: 'assistant' }),
      ]);
      for (const threadId of [flushed, stopped, midway]) await expireLock(booted.dataSource, threadId);

      await admission.reapAbandonedRuns();

      expect(await booted.store.findRun(flushedRun)).toMatchObject({ status: 'succeeded', error: null });
      expect(await booted.store.findRun(stoppedRun)).toMatchObject({ status: 'stopped', error: null });
      expect(await booted.store.findRun(midwayRun)).toMatchObject({ status: 'failed', error: RUN_ABANDONED_ERROR });
      // The log of the run that died mid-way is closed too: a replay never shows it left open.
      const midwayLog = (await events.readAfter(midway, m, 10)).filter((e) => e.runId === midwayRun);
      expect(midwayLog.map((e) => [e.sequence, e.event.type])).toEqual([
        [m + 1, EventType.RUN_STARTED],
        [m + 2, EventType.TEXT_MESSAGE_START],
        [m + 3, EventType.RUN_ERROR],
      ]);
      expect(midwayLog[2]).toMatchObject({ event: { code: 'RUN_ABANDONED' } });
      expect(await events.readAfter(flushed, f, 10)).toHaveLength(2);
    });

    it('reapAbandonedRuns does both in one step', async () => {
      const threadId = await newThread();
      const runId = uniqueId('run');
      expect(await admit(threadId, runId)).toMatchObject({ admitted: true });
      await expireLock(booted.dataSource, threadId);
      const { locks: reaped, failedRuns } = await admission.reapAbandonedRuns();
      expect(reaped.map((lock) => lock.runId)).toContain(runId);
      expect(failedRuns).toBeGreaterThanOrEqual(1);
      expect(await booted.store.findRun(runId)).toMatchObject({ status: 'failed' });
    });

    (usesRealPostgres() ? it : it.skip)(
      'holds across processes: two apps on one database, ten acquirers each, one winner',
      async () => {
        const other = await bootPersistence(database.options);
        try {
          const otherLocks = other.moduleRef.get(ThreadLockStore);
          for (let round = 0; round < 5; round++) {
            const threadId = await newThread();
            const attempts = await Promise.all(
              Array.from({ length: 20 }, (_, i) =>
                (i % 2 === 0 ? locks : otherLocks).tryAcquire(threadId, `run-${i}`, `instance-${i % 2}`, TTL_MS),
              ),
            );
            expect(attempts.filter((attempt) => attempt.acquired)).toHaveLength(1);
          }
        } finally {
          await other.close();
        }
      },
    );
  });

  describe('RunAdmission', () => {
    it('creates the thread and the running run with the lock', async () => {
      const threadId = uniqueId('thread');
      const runId = uniqueId('run');
      expect(await admit(threadId, runId, { ownerId: 'alice' })).toMatchObject({ admitted: true });
      expect(await booted.store.findThread(threadId)).toMatchObject({ ownerId: 'alice' });
      expect(await booted.store.findRun(runId)).toMatchObject({
        status: 'running',
        agentName: 'researcher',
        model: 'gpt-test',
      });
      expect(await locks.current(threadId)).toMatchObject({ runId, holder: 'instance-a' });
    });

    it("reports the thread's last event-log sequence, read under the new lock", async () => {
      const threadId = uniqueId('thread');
      const first = uniqueId('run');
      expect(await admit(threadId, first)).toMatchObject({ admitted: true, lastSequence: 0 });
      await events.append(
        [1, 2, 3].map((sequence) => ({ threadId, runId: first, sequence, event: { type: EventType.RUN_STARTED } as BaseEvent })),
      );
      await locks.release(threadId, first);
      await booted.dataSource.query(`UPDATE runs SET status = 'succeeded' WHERE id = $1`, [first]);
      expect(await admit(threadId, uniqueId('run'))).toMatchObject({ admitted: true, lastSequence: 3 });
    });

    it("reads the agent's last stored state when asked, in one statement or step by step", async () => {
      const threadId = uniqueId('thread');
      const first = uniqueId('run');
      expect(await admit(threadId, first, { agentStateOf: 'planner' })).toMatchObject({ admitted: true, agentState: null });
      await states.record(threadId, 'planner', { step: 1 }, first);
      await states.record(threadId, 'planner', { step: 2 }, first);
      await states.record(threadId, 'other', { step: 9 }, first);
      await locks.release(threadId, first);
      await booted.dataSource.query(`UPDATE runs SET status = 'succeeded' WHERE id = $1`, [first]);
      const second = uniqueId('run');
      expect(await admit(threadId, second, { agentStateOf: 'planner' })).toEqual({
        admitted: true,
        lastSequence: 0,
        inputStored: false,
        agentState: { state: { step: 2 } },
      });
      expect(await admit(uniqueId('thread'), uniqueId('run'))).not.toHaveProperty('agentState');
      // A run left 'running' without its lock (its instance died): the one-statement admission
      // declines, the step-by-step one settles it and reads the state too.
      await booted.dataSource.query(`DELETE FROM thread_locks WHERE thread_id = $1`, [threadId]);
      await states.record(threadId, 'planner', { step: 3 }, second);
      expect(await admit(threadId, uniqueId('run'), { agentStateOf: 'planner' })).toEqual({ admitted: true, agentState: { state: { step: 3 } } });
      expect(await booted.store.findRun(second)).toMatchObject({ status: 'failed' });
    });

    // Two connections at once: the embedded database has one.
    (usesRealPostgres() ? it : it.skip)(
      "a run's end and a step-by-step admission on its thread lock its rows in one order: the admission is refused, no deadlock",
      async () => {
        const threadId = uniqueId('thread');
        const runId = uniqueId('run');
        expect(await admit(threadId, runId)).toMatchObject({ admitted: true });
        const queryRunner = booted.dataSource.createQueryRunner();
        await queryRunner.connect();
        await queryRunner.startTransaction();
        try {
          // The admission's first step holds the thread's row (UPSERT_OWNED_THREAD) ...
          await queryRunner.query(`UPDATE threads SET updated_at = updated_at WHERE id = $1`, [threadId]);
          const ended = admission.finishAndRelease({
            runId,
            threadId,
            status: 'succeeded',
            finishedAt: new Date(),
            error: null,
            usage: null,
            outputMessages: [],
          });
          // ... so the run's end waits for it ...
          await waitFor(
            async () =>
              (
                await booted.dataSource.query(
                  `SELECT count(*)::int AS n FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%WITH finished AS%'`,
                )
              )[0].n === 1,
            { what: "the run's end waiting for the thread's row" },
          );
          // ... without holding the thread's lock row, which the admission's next step takes.
          const attempt = await acquireThreadLock(queryRunner.manager, threadId, uniqueId('run'), 'instance-b', TTL_MS);
          expect(attempt.acquired).toBe(false);
          await queryRunner.rollbackTransaction();
          expect(await ended).toBe(true);
        } finally {
          await queryRunner.release();
        }
        expect(await locks.current(threadId)).toBeNull();
      },
    );

    it("stores the request's messages with the admission, in order, skipping those the thread has", async () => {
      const threadId = uniqueId('thread');
      const first = uniqueId('run');
      const hi: Message = { id: 'm1', role: 'user', content: 'hi' };
      const answer: Message = { id: 'm2', role: 'assistant', content: 'hello' };
      const again: Message = { id: 'm3', role: 'user', content: 'and again' };
      expect(await admit(threadId, first, { inputMessages: [hi] })).toMatchObject({ admitted: true, inputStored: true });
      await locks.release(threadId, first);
      await booted.dataSource.query(`UPDATE runs SET status = 'succeeded' WHERE id = $1`, [first]);
      // The client resends the history: m1 is not stored twice.
      expect(await admit(threadId, uniqueId('run'), { inputMessages: [hi, answer, again] })).toMatchObject({ inputStored: true });
      expect(await booted.store.listMessages(threadId)).toEqual([hi, answer, again]);
    });

    it('refuses another owner and changes nothing', async () => {
      const threadId = uniqueId('thread');
      expect(await admit(threadId, uniqueId('run'), { ownerId: 'alice' })).toMatchObject({ admitted: true });
      const before = await booted.store.findThread(threadId);
      const lockBefore = await locks.current(threadId);
      const runId = uniqueId('run');
      expect(await admit(threadId, runId, { ownerId: 'mallory', holder: 'instance-m' })).toEqual({
        admitted: false,
        reason: 'forbidden',
      });
      expect(await booted.store.findThread(threadId)).toEqual(before);
      expect(await locks.current(threadId)).toEqual(lockBefore);
      expect(await booted.store.findRun(runId)).toBeNull();
    });

    it('refuses a run id that was used before, and changes nothing', async () => {
      const [first, second] = [uniqueId('thread'), uniqueId('thread')];
      const runId = uniqueId('run');
      expect(await admit(first, runId)).toMatchObject({ admitted: true });
      await locks.release(first, runId);
      const runBefore = await booted.store.findRun(runId);
      expect(await admit(second, runId)).toEqual({ admitted: false, reason: 'duplicate_run' });
      expect(await admit(first, runId)).toEqual({ admitted: false, reason: 'duplicate_run' });
      expect(await booted.store.findRun(runId)).toEqual(runBefore);
      expect(await booted.store.findThread(second)).toBeNull();
      expect(await locks.current(first)).toBeNull();
    });

    it('reports busy with the current lock, and stores no run', async () => {
      const threadId = uniqueId('thread');
      const first = uniqueId('run');
      expect(await admit(threadId, first)).toMatchObject({ admitted: true });
      const second = uniqueId('run');
      expect(await admit(threadId, second, { holder: 'instance-b' })).toEqual({
        admitted: false,
        reason: 'busy',
        current: expect.objectContaining({ threadId, runId: first, holder: 'instance-a' }),
      });
      expect(await booted.store.findRun(second)).toBeNull();
    });

    it('admits one of many concurrent runs on a new thread', async () => {
      const threadId = uniqueId('thread');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => admit(threadId, `${threadId}-run-${i}`)),
      );
      expect(results.filter((result) => result.admitted)).toHaveLength(1);
      expect(results.filter((result) => !result.admitted && result.reason === 'busy')).toHaveLength(9);
      const [{ n }] = await booted.dataSource.query(
        `SELECT count(*)::int AS n FROM runs WHERE thread_id = $1`,
        [threadId],
      );
      expect(n).toBe(1);
    });

    it('taking over an expired lock fails the run that held it', async () => {
      const threadId = uniqueId('thread');
      const dead = uniqueId('run');
      expect(await admit(threadId, dead)).toMatchObject({ admitted: true });
      await expireLock(booted.dataSource, threadId);
      const next = uniqueId('run');
      expect(await admit(threadId, next, { holder: 'instance-b' })).toMatchObject({ admitted: true });
      expect(await booted.store.findRun(dead)).toMatchObject({ status: 'failed', error: RUN_ABANDONED_ERROR });
      expect(await booted.store.findRun(next)).toMatchObject({ status: 'running' });
    });

    it('is compatible with recordRunStarted of the same run afterwards', async () => {
      const threadId = uniqueId('thread');
      const runId = uniqueId('run');
      expect(await admit(threadId, runId)).toMatchObject({ admitted: true });
      await seedThread(booted.store, {
        threadId,
        runId,
        messages: [{ id: 'm1', role: 'user', content: 'hi' }],
      });
      expect(await booted.store.listMessages(threadId)).toHaveLength(1);
      expect(await booted.store.findRun(runId)).toMatchObject({ agentName: 'researcher', status: 'running' });
    });
  });

  describe('AgentStateStore', () => {
    it('numbers versions from 1 per (thread, agent) and returns the latest', async () => {
      const threadId = await newThread();
      expect(await states.latest(threadId, 'planner')).toBeNull();
      const v1 = await states.record(threadId, 'planner', { steps: ['a'] }, 'run-1');
      expect(v1).toMatchObject({ threadId, agentName: 'planner', version: 1, runId: 'run-1', state: { steps: ['a'] } });
      expect(v1.createdAt).toBeInstanceOf(Date);
      expect((await states.record(threadId, 'planner', [1, 2], null)).version).toBe(2);
      expect((await states.record(threadId, 'other', 'x', null)).version).toBe(1);
      expect(await states.latest(threadId, 'planner')).toMatchObject({ version: 2, state: [1, 2], runId: null });
      expect((await states.record(threadId, 'planner', undefined, null)).state).toBeNull();
    });

    it('gives concurrent records distinct consecutive versions', async () => {
      const threadId = await newThread();
      const recorded = await Promise.all(
        Array.from({ length: 10 }, (_, i) => states.record(threadId, 'planner', { i }, null)),
      );
      expect(recorded.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect((await states.latest(threadId, 'planner'))!.version).toBe(10);
    });
  });
});
