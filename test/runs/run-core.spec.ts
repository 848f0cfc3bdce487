import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { isRetryableDatabaseError } from '../../src/persistence/database-errors.js';
import { LocalSignalHub } from '../../src/ports/run-signals.js';
import type { RunPorts } from '../../src/ports/run-stores.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { createMemoryRunPorts, MemoryEventLogStore, MemoryRunState } from '../../src/runs/memory/index.js';
import { RunCore, type RunCoreOptions } from '../../src/runs/run-core.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import {
  collect,
  connectionLost,
  expectContiguous,
  FlakyEventLog,
  ManualClock,
  runRequest,
  types,
  until,
} from './run-fakes.js';

/*
 * What the contract suite (runner.contract.spec.ts) does not reach: several instances on one
 * storage (a LocalSignalHub between them, as LISTEN/NOTIFY between processes), a log that lags or
 * fails, and a holder that dies. On the in-memory adapters, with a flaky log in front.
 */

const BOUNDS = { maxThreads: 1_000, maxRunsPerThread: 50, maxBytes: 64 * 1024 * 1024 };

/** Instances sharing one storage: own bus, own signals member, own instance id. */
function cluster(options: Partial<RunCoreOptions> = {}) {
  const clock = new ManualClock();
  const state = new MemoryRunState(BOUNDS, clock);
  const eventLog = new FlakyEventLog(new MemoryEventLogStore(state));
  const hub = new LocalSignalHub();
  const storage = createMemoryRunPorts(BOUNDS, { state });
  const runners: RunCore[] = [];
  const portsOf = new Map<RunCore, RunPorts>();
  const make = (instanceId: string, extra: Partial<RunCoreOptions> = {}) => {
    const ports = {
      ...createMemoryRunPorts(BOUNDS, { state, signals: hub.join() }),
      eventLog,
      storageLabel: 'the test database',
      isRetryable: isRetryableDatabaseError,
    };
    const runner = new RunCore(
      { ports, bus: new RunEventBus() },
      {
        instanceId,
        busyThreadPolicy: 'fail',
        queueTimeoutMs: 5_000,
        lockTtlMs: 600,
        maxOutageMs: 2_000,
        flushBatchSize: 50,
        flushIntervalMs: 10,
        shutdownTimeoutMs: 1_000,
        pollIntervalMs: 20,
        reapIntervalMs: 0,
        writer: { initialRetryDelayMs: 10, maxRetryDelayMs: 50 },
        ...options,
        ...extra,
      },
    );
    runner.start();
    runners.push(runner);
    portsOf.set(runner, ports);
    return runner;
  };
  return { clock, state, eventLog, storage, runners, portsOf, make, a: make('instance-a'), b: make('instance-b') };
}

describe('RunCore across instances and through storage trouble', () => {
  let clusters: ReturnType<typeof cluster>[] = [];
  const track = (c: ReturnType<typeof cluster>) => {
    clusters.push(c);
    return c;
  };

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    for (const c of clusters) for (const runner of c.runners) await runner.shutdown();
    clusters = [];
    jest.restoreAllMocks();
  });

  it('logs a long stream in few appends, in order', async () => {
    const { eventLog, a } = track(cluster());
    const events = await collect((await a.run(runRequest('t1', 'r1', { deltas: 500 }))).events);
    expectContiguous(events, 1);
    expect((await eventLog.readAfter('t1', 0, 10_000)).map((e) => e.sequence)).toEqual(events.map((e) => e.sequence));
    expect(eventLog.appendCalls).toBeLessThan(100);
  });

  it('admits exactly one of two instances racing for a thread; the other gets THREAD_BUSY at once', async () => {
    const { a, b } = track(cluster());
    const results = await Promise.allSettled([
      a.run(runRequest('t1', 'ra', { hang: true })),
      b.run(runRequest('t1', 'rb', { hang: true })),
    ]);
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0]!.reason as Error).message).toMatch(
      /^Thread t1 already has an active run \(r[ab]\)\. Wait for it to finish or stop it\.$/,
    );
    expect(await a.isRunning('t1')).toBe(true);
    expect(await b.isRunning('t1')).toBe(true);
  });

  it('connects joining at any moment, local or remote, with a lagging log: all see every event once', async () => {
    const { eventLog, a, b } = track(cluster({ flushBatchSize: 7, flushIntervalMs: 3 }));
    eventLog.appendDelayMs = 4;
    const session = await a.run(runRequest('t1', 'r1', { deltas: 300, delayMs: 1 }));
    const seen: LoggedEvent[] = [];
    const joins: Promise<LoggedEvent[]>[] = [];
    for await (const event of session.events) {
      seen.push(event);
      // A join every 25 events, alternating between the holder and another instance.
      if (seen.length % 25 === 0 && joins.length < 12) {
        const i = joins.length;
        joins.push(collect((i % 2 === 0 ? a : b).connect('t1', i * 10, new AbortController().signal)));
      }
    }
    for (const [i, joined] of (await Promise.all(joins)).entries()) {
      expectContiguous(joined, i * 10 + 1);
      expect(joined.at(-1)).toEqual(seen.at(-1));
    }
  });

  it('a remote connect ends when the holder dies (its lock expires)', async () => {
    const { clock, storage, b } = track(cluster());
    await storage.runs.admitRun({
      threadId: 't1', runId: 'dead', ownerId: 'owner-1', holder: 'crashed', ttlMs: 600,
      agentName: null, model: null, startedAt: new Date(),
    });
    const following = collect(b.connect('t1', 0, new AbortController().signal));
    let done = false;
    void following.then(() => (done = true));
    await until(async () => (await b.isRunning('t1')) && !done);
    clock.advance(1_000);
    expect(await following).toEqual([]);
  });

  it('keeps streaming through a storage blip and writes every event exactly once', async () => {
    const { eventLog, storage, a } = track(cluster());
    const session = await a.run(runRequest('t1', 'r1', { deltas: 300, delayMs: 1 }));
    const seen: LoggedEvent[] = [];
    let failedAt = 0;
    for await (const event of session.events) {
      seen.push(event);
      if (seen.length === 50) {
        eventLog.failWith = connectionLost;
        failedAt = eventLog.failedAppends;
      }
      // The log failed at least twice meanwhile, and the stream went on: the outage ends.
      if (eventLog.failWith && eventLog.failedAppends >= failedAt + 2 && seen.length > 100) eventLog.failWith = null;
    }
    expectContiguous(seen, 1);
    expect(eventLog.failedAppends).toBeGreaterThan(0);
    expect((await eventLog.readAfter('t1', 0, 10_000)).map((e) => e.sequence)).toEqual(seen.map((e) => e.sequence));
    expect(await storage.runs.findRun('r1')).toMatchObject({ status: 'succeeded' });
  });

  it('fails the run with PERSISTENCE_UNAVAILABLE, naming nothing of the storage on the wire, when the outage outlasts maxOutageMs', async () => {
    const { eventLog, storage, a } = track(cluster({ maxOutageMs: 200 }));
    const session = await a.run(runRequest('t1', 'r1', { deltas: 100_000, delayMs: 2 }));
    const all: LoggedEvent[] = [];
    for await (const event of session.events) {
      all.push(event);
      if (all.length === 10) eventLog.failWith = connectionLost;
    }
    const last = all.at(-1)!.event as { type: string; code?: string; message?: string };
    expect(last).toMatchObject({ type: 'RUN_ERROR', code: 'PERSISTENCE_UNAVAILABLE' });
    expect(last.message).toMatch(/^The run's events could not be stored: the database was unreachable for \d+ s\.$/);
    expect(last.message).not.toContain('the test database');
    expect(await storage.runs.findRun('r1')).toMatchObject({ status: 'failed' });
    expect(await a.isRunning('t1')).toBe(false);
  });

  it('a heartbeat answered after the run ended (it raced the release) is not a lost lock', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { a, portsOf } = track(cluster({ lockTtlMs: 300 }));
    let answer!: (held: ReadonlySet<string>) => void;
    const renewals = jest
      .spyOn(portsOf.get(a)!.locks, 'renewAll')
      .mockImplementation(() => new Promise((resolve) => (answer = resolve)));
    const session = await a.run(runRequest('t1', 'r1', { hang: true }));
    const events = session.events[Symbol.asyncIterator]();
    await until(() => renewals.mock.calls.length > 0);
    await a.stop({ threadId: 't1' });
    for (let next = await events.next(); !next.done; next = await events.next());
    answer(new Set());
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.mock.calls.map(([message]) => String(message))).not.toContainEqual(expect.stringContaining('lost the lock'));
  });

  it('queue policy: waits for the run of another instance, then runs', async () => {
    const { a, make } = track(cluster());
    const queued = make('instance-q', { busyThreadPolicy: 'queue' });
    const first = await a.run(runRequest('t1', 'r1', { deltas: 30, delayMs: 2 }));
    const firstEvents = collect(first.events);
    const second = await queued.run(runRequest('t1', 'r2', { deltas: 1 }));
    const done = await firstEvents;
    expect((await collect(second.events))[0]!.sequence).toBe(done.length + 1);
  });

  it('supersede policy: stops the run of another instance (a stop request), then runs', async () => {
    const { storage, a, make } = track(cluster());
    const superseding = make('instance-s', { busyThreadPolicy: 'supersede' });
    const first = await a.run(runRequest('t1', 'r1', { hang: true }));
    const firstEvents = collect(first.events);
    const second = await superseding.run(runRequest('t1', 'r2', { deltas: 1 }));
    expect((await firstEvents).at(-2)!.event).toMatchObject({ name: 'run_stopped', value: { reason: 'superseded' } });
    expect(types(await collect(second.events)).at(-1)).toBe('RUN_FINISHED');
    expect(await storage.runs.findRun('r1')).toMatchObject({ status: 'stopped' });
    expect(await storage.runs.findRun('r2')).toMatchObject({ status: 'succeeded' });
  });
});
