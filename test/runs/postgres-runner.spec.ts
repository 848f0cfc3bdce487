import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { PostgresAgentRunner, type PostgresAgentRunnerOptions } from '../../src/runs/postgres-runner.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import { LocalSignalHub } from '../../src/ports/run-signals.js';
import { collect, connectionLost, expectContiguous, FakeDatabase, runRequest, sleep, types } from './run-fakes.js';

/** Two "processes" on one fake database: own bus, own signals member, different holder ids. */
function cluster(options: Partial<PostgresAgentRunnerOptions> = {}) {
  const db = new FakeDatabase();
  const hub = new LocalSignalHub();
  const runners: PostgresAgentRunner[] = [];
  const make = (instanceId: string, extra: Partial<PostgresAgentRunnerOptions> = {}) => {
    const runner = new PostgresAgentRunner(
      {
        bus: new RunEventBus(),
        signals: hub.join(),
        eventLog: db.eventLog,
        locks: db.locks,
        admission: db.admission,
        conversations: db.conversations,
        writer: db.writer,
      },
      {
        instanceId,
        busyThreadPolicy: 'fail',
        queueTimeoutMs: 2_000,
        lockTtlMs: 600,
        maxOutageMs: 2_000,
        flushBatchSize: 50,
        flushIntervalMs: 10,
        shutdownTimeoutMs: 1_000,
        databaseLabel: 'PostgreSQL at postgres://fake/db',
        pollIntervalMs: 50,
        reapIntervalMs: 0,
        writer: { initialRetryDelayMs: 10, maxRetryDelayMs: 50 },
        ...options,
        ...extra,
      },
    );
    runner.start();
    runners.push(runner);
    return runner;
  };
  return { db, a: make('instance-a'), b: make('instance-b'), make, runners };
}

async function rejection(promise: Promise<unknown>): Promise<CopilotRuntimeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CopilotRuntimeError);
  return error as CopilotRuntimeError;
}

describe('PostgresAgentRunner (fake stores)', () => {
  let shutdowns: (() => Promise<void>)[] = [];
  afterEach(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    await Promise.all(shutdowns.map((s) => s()));
    shutdowns = [];
    jest.restoreAllMocks();
  });
  const track = (c: ReturnType<typeof cluster>) => {
    shutdowns.push(async () => {
      for (const r of c.runners) await r.shutdown();
    });
    return c;
  };

  it('runs, logs every event in order in few appends, records the run, releases the lock', async () => {
    const { db, a } = track(cluster());
    const session = await a.run(runRequest('t1', 'r1', { deltas: 500 }));
    const events = await collect(session.events);
    expectContiguous(events, 1);
    expect(db.eventLog.sequences('t1')).toEqual(events.map((e) => e.sequence));
    expect(db.eventLog.appendCalls).toBeLessThan(100);
    expect(db.runs.get('r1')).toMatchObject({ status: 'succeeded', usage: { totalTokens: 7 } });
    expect(db.finished[0]!.outputMessages[0]).toMatchObject({ id: 'm-r1', role: 'assistant' });
    expect(await db.locks.current('t1')).toBeNull();
    // The next run continues the thread's sequence.
    const next = await collect((await a.run(runRequest('t1', 'r2', { deltas: 1 }))).events);
    expect(next[0]!.sequence).toBe(events.length + 1);
  });

  it('admits exactly one of two instances racing for a thread; the other gets THREAD_BUSY at once', async () => {
    const { a, b } = track(cluster());
    const results = await Promise.allSettled([
      a.run(runRequest('t1', 'ra', { hang: true })),
      b.run(runRequest('t1', 'rb', { hang: true })),
    ]);
    const admitted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(admitted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ code: 'THREAD_BUSY' });
    expect((refused[0]!.reason as Error).message).toMatch(/^Thread t1 already has an active run \(r[ab]\)\. Wait for it to finish or stop it\.$/);
    expect(await a.isRunning('t1')).toBe(true);
    expect(await b.isRunning('t1')).toBe(true);
  });

  it('refuses another owner’s thread as THREAD_NOT_FOUND', async () => {
    const { a } = track(cluster());
    await collect((await a.run(runRequest('t1', 'r1'))).events);
    const error = await rejection(a.run(runRequest('t1', 'r2', { ownerId: 'someone-else' })));
    expect(error.code).toBe('THREAD_NOT_FOUND');
  });

  it('stops a run held by another instance; subscribers see run_stopped then RUN_FINISHED', async () => {
    const { db, a, b } = track(cluster());
    const session = await a.run(runRequest('t1', 'r1', { hang: true }));
    const events = collect(session.events);
    await sleep(20);
    expect(await b.stop({ threadId: 't1' })).toEqual({ stopped: true, threadId: 't1', runId: 'r1' });
    const all = await events;
    expect(types(all).slice(-3)).toEqual(['TEXT_MESSAGE_END', 'CUSTOM', 'RUN_FINISHED']);
    expect(db.runs.get('r1')?.status).toBe('stopped');
    expect(db.eventLog.sequences('t1')).toEqual(all.map((e) => e.sequence));
    expect(await b.stop({ runId: 'r1' })).toEqual({
      stopped: false,
      reason: 'not_running',
      message: 'The run r1 already finished.',
    });
    expect(await b.stop({ runId: 'nope' })).toMatchObject({ stopped: false, reason: 'not_found' });
    expect(await b.stop({ threadId: 't1' })).toMatchObject({ stopped: false, reason: 'not_running' });
    expect(await b.stop({ threadId: 'nope' })).toMatchObject({ stopped: false, reason: 'not_found' });
  });

  it('connects from another instance mid-run: replay, then live until the end, no gaps or duplicates', async () => {
    const { a, b } = track(cluster());
    await collect((await a.run(runRequest('t1', 'r0', { deltas: 3 }))).events);
    const session = await a.run(runRequest('t1', 'r1', { deltas: 200, delayMs: 1 }));
    const caller = collect(session.events);
    await sleep(40);
    const [remote, local] = await Promise.all([
      collect(b.connect('t1', 0, new AbortController().signal)),
      collect(a.connect('t1', 2, new AbortController().signal)),
    ]);
    expectContiguous(remote, 1);
    expectContiguous(local, 3);
    expect(types(remote).at(-1)).toBe('RUN_FINISHED');
    expect(remote.at(-1)!.runId).toBe('r1');
    expect(remote.slice(-(await caller).length)).toEqual(await caller);
  });

  it('connects joining at any moment, local or remote, with a lagging log, all see every event once', async () => {
    const { db, a, b } = track(cluster({ flushBatchSize: 7, flushIntervalMs: 3 }));
    db.eventLog.appendDelayMs = 4;
    const session = await a.run(runRequest('t1', 'r1', { deltas: 300, delayMs: 1 }));
    const caller = collect(session.events);
    const joins: Promise<LoggedEvent[]>[] = [];
    for (let i = 0; i < 12; i++) {
      await sleep(15);
      const runner = i % 2 === 0 ? a : b;
      joins.push(collect(runner.connect('t1', i * 10, new AbortController().signal)));
    }
    const all = await caller;
    for (const [i, joined] of (await Promise.all(joins)).entries()) {
      expectContiguous(joined, i * 10 + 1);
      expect(joined.at(-1)).toEqual(all.at(-1));
    }
  });

  it('connect completes after replay when no run is active', async () => {
    const { a, b } = track(cluster());
    await collect((await a.run(runRequest('t1', 'r0', { deltas: 3 }))).events);
    const replay = await collect(b.connect('t1', 0, new AbortController().signal));
    expectContiguous(replay, 1);
    expect(await collect(b.connect('nothing', 0, new AbortController().signal))).toEqual([]);
  });

  it('lets a new run in once a crashed holder’s lock expires; the reaper fails the old run', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { db, b } = track(cluster());
    // A "crashed" process: took the lock and then never renewed it.
    await db.admission.admitRun({
      threadId: 't1', runId: 'dead', ownerId: 'owner-1', holder: 'crashed', ttlMs: 100,
      agentName: null, model: null, startedAt: new Date(),
    });
    expect((await rejection(b.run(runRequest('t1', 'r1')))).code).toBe('THREAD_BUSY');
    await sleep(150);
    const reaped = await b.reapOnce();
    expect(reaped.map((l) => l.runId)).toEqual(['dead']);
    expect(db.runs.get('dead')).toMatchObject({ status: 'failed', error: { code: 'RUN_ABANDONED' } });
    await collect((await b.run(runRequest('t1', 'r1'))).events);
    expect(db.runs.get('r1')?.status).toBe('succeeded');
  });

  it('a remote connect ends when the holder dies (its lock expires)', async () => {
    const { db, b } = track(cluster());
    await db.admission.admitRun({
      threadId: 't1', runId: 'dead', ownerId: 'owner-1', holder: 'crashed', ttlMs: 150,
      agentName: null, model: null, startedAt: new Date(),
    });
    const started = Date.now();
    expect(await collect(b.connect('t1', 0, new AbortController().signal))).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('keeps streaming through a database blip and writes every event exactly once', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const { db, a } = track(cluster());
    const session = await a.run(runRequest('t1', 'r1', { deltas: 300, delayMs: 1 }));
    const seen: LoggedEvent[] = [];
    const reading = (async () => {
      for await (const e of session.events) seen.push(e);
    })();
    await sleep(50);
    db.eventLog.failWith = connectionLost;
    const during = seen.length;
    await sleep(150);
    expect(seen.length).toBeGreaterThan(during);
    db.eventLog.failWith = null;
    await reading;
    expectContiguous(seen, 1);
    expect(db.eventLog.failedAppends).toBeGreaterThan(0);
    expect(db.eventLog.sequences('t1')).toEqual(seen.map((e) => e.sequence));
    expect(db.runs.get('r1')?.status).toBe('succeeded');
  });

  it('fails the run with PERSISTENCE_UNAVAILABLE when the outage outlasts maxOutageMs', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { db, a } = track(cluster({ maxOutageMs: 200 }));
    const session = await a.run(runRequest('t1', 'r1', { deltas: 100_000, delayMs: 2 }));
    const events = collect(session.events);
    await sleep(30);
    db.eventLog.failWith = connectionLost;
    const all = await events;
    const last = all.at(-1)!.event as { type: string; code?: string; message?: string };
    expect(last.type).toBe('RUN_ERROR');
    expect(last.code).toBe('PERSISTENCE_UNAVAILABLE');
    expect(last.message).toContain('PostgreSQL at postgres://fake/db');
    expect(db.finished.at(-1)).toMatchObject({ status: 'failed', error: { code: 'PERSISTENCE_UNAVAILABLE' } });
  });

  it('queue policy: waits for the active run (even on another instance), then runs', async () => {
    const { a, make } = track(cluster());
    const queued = make('instance-q', { busyThreadPolicy: 'queue' });
    const first = await a.run(runRequest('t1', 'r1', { deltas: 30, delayMs: 2 }));
    const firstEvents = collect(first.events);
    const second = await queued.run(runRequest('t1', 'r2', { deltas: 1 }));
    const done = await firstEvents;
    const secondEvents = await collect(second.events);
    expect(secondEvents[0]!.sequence).toBe(done.length + 1);
    await queued.shutdown();
  });

  it('queue policy gives up with THREAD_BUSY after queueTimeoutMs', async () => {
    const { a, make } = track(cluster());
    const queued = make('instance-q', { busyThreadPolicy: 'queue', queueTimeoutMs: 150 });
    await a.run(runRequest('t1', 'r1', { hang: true }));
    const error = await rejection(queued.run(runRequest('t1', 'r2')));
    expect(error.code).toBe('THREAD_BUSY');
    expect(error.message).toContain('after waiting 150 ms');
  });

  it('supersede policy: stops the run of another instance, then runs', async () => {
    const { db, a, make } = track(cluster());
    const superseding = make('instance-s', { busyThreadPolicy: 'supersede' });
    const first = await a.run(runRequest('t1', 'r1', { hang: true }));
    const firstEvents = collect(first.events);
    await sleep(10);
    const second = await superseding.run(runRequest('t1', 'r2', { deltas: 1 }));
    expect((await firstEvents).at(-2)!.event).toMatchObject({ name: 'run_stopped', value: { reason: 'superseded' } });
    await collect(second.events);
    expect(db.runs.get('r1')?.status).toBe('stopped');
    expect(db.runs.get('r2')?.status).toBe('succeeded');
  });

  it('aborts a run whose lock was taken over (heartbeat finds it lost)', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { db, a } = track(cluster({ lockTtlMs: 300 }));
    const session = await a.run(runRequest('t1', 'r1', { hang: true }));
    const events = collect(session.events);
    db.locks.locks.delete('t1');
    const all = await events;
    expect(all.at(-1)!.event).toMatchObject({ type: 'RUN_ERROR', code: 'UNKNOWN' });
    expect(db.runs.get('r1')?.status).toBe('failed');
  });

  it('ends a caller-abandoned run as stopped with onCallerGone abort', async () => {
    const { db, a } = track(cluster());
    const controller = new AbortController();
    const session = await a.run(runRequest('t1', 'r1', { hang: true, signal: controller.signal }));
    const reading = collect(session.events);
    await sleep(10);
    controller.abort();
    await reading;
    for (let i = 0; i < 50 && (await db.locks.current('t1')); i++) await sleep(10);
    expect(db.runs.get('r1')?.status).toBe('stopped');
    expect(types(await collect(a.connect('t1', 0, new AbortController().signal))).at(-1)).toBe('RUN_FINISHED');
  });
});
