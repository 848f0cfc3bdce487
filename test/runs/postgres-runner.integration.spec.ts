import { type BaseEvent, EventType } from '@ag-ui/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { DatabaseOptions, RunsOptions } from '../../src/config/runtime-options.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { PersistenceModule } from '../../src/persistence/persistence.module.js';
import { RunAdmission } from '../../src/persistence/run-admission.js';
import { AGENT_RUNNER, type AdmittedRun } from '../../src/runs/agent-runner.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import type { RunCore } from '../../src/runs/run-core.js';
import { RunSignals } from '../../src/ports/run-signals.js';
import { AgentStateStore, EventLogStore, ThreadLockStore } from '../../src/ports/run-stores.js';
import { RunsModule } from '../../src/runs/runs.module.js';
import { RUNTIME_INSTANCE_ID } from '../../src/runs/runs-options.js';
import {
  terminateConnections,
  testDatabaseOptions,
  type TestDatabase,
  usesRealPostgres,
} from '../support/database.js';
import { collect, connectionLost, expectContiguous, runRequest, scriptedBody, types, until } from './run-fakes.js';

jest.setTimeout(60_000);

interface Instance {
  moduleRef: TestingModule;
  runner: RunCore;
  instanceId: string;
  dataSource: DataSource;
  eventLog: EventLogStore;
  locks: ThreadLockStore;
  conversations: ConversationStore;
  admission: RunAdmission;
  close(): Promise<void>;
}

/** One "process": its own Nest module, pool, LISTEN connection and instance id. */
async function bootInstance(database: DatabaseOptions, runs: RunsOptions = {}): Promise<Instance> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      PersistenceModule.forRoot(database, { initialRetryDelayMs: 20, maxRetryDelayMs: 200 }),
      RunsModule.forRoot({ lockTtlMs: 1_500, flushIntervalMs: 10, ...runs }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  return {
    moduleRef,
    runner: moduleRef.get(AGENT_RUNNER),
    instanceId: moduleRef.get(RUNTIME_INSTANCE_ID),
    dataSource: moduleRef.get(DataSource),
    eventLog: moduleRef.get(EventLogStore),
    locks: moduleRef.get(ThreadLockStore),
    conversations: moduleRef.get(ConversationStore),
    admission: moduleRef.get(RunAdmission),
    close: () => moduleRef.close(),
  };
}


let counter = 0;
const threadId = (name: string) => `${name}-${process.pid}-${++counter}`;

async function readLog(instance: Instance, thread: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for (;;) {
    const page = await instance.eventLog.readAfter(thread, out.at(-1)?.sequence ?? 0, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

const describeWithPostgres = usesRealPostgres() ? describe : describe.skip;

describeWithPostgres('the runner on PostgreSQL, two instances (LISTEN/NOTIFY, outages)', () => {
  let database: TestDatabase;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    a = await bootInstance(database.options);
    b = await bootInstance(database.options);
    // Both LISTEN connections up, so cross-instance signals are not left to the fallback poll.
    await until(() => listening(a) && listening(b));
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.cleanup();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function listening(instance: Instance): boolean {
    return (instance.moduleRef.get(RunSignals) as unknown as { isListening: boolean }).isListening;
  }

  it('runs, logs every event once, records the run consistent with its log, releases the lock', async () => {
    const t = threadId('basic');
    const events = await collect((await a.runner.run(runRequest(t, 'basic-r1', { deltas: 1_000 }))).events);
    expectContiguous(events, 1);
    const logged = await readLog(a, t);
    expect(logged.map((e) => e.sequence)).toEqual(events.map((e) => e.sequence));
    expect(logged.map((e) => e.event.type)).toEqual(types(events));
    const run = await a.conversations.findRun('basic-r1');
    expect(run).toMatchObject({ status: 'succeeded', usage: { totalTokens: 7 }, model: 'test-model' });
    expect(run!.finishedAt).toBeInstanceOf(Date);
    expect(await a.locks.current(t)).toBeNull();
    const messages = await a.conversations.listMessages(t);
    expect(messages.map((m) => m.id)).toEqual(['u-basic-r1', 'm-basic-r1']);
  });

  it("a run is handed its agent's last stored state, read with its admission: one queued behind another gets the state that one left", async () => {
    const queueing = await bootInstance(database.options, { busyThreadPolicy: 'queue' });
    try {
      const states = queueing.moduleRef.get(AgentStateStore);
      const admissions = jest.spyOn(queueing.admission, 'admitRun');
      const t = threadId('state');
      const seen: Array<AdmittedRun['storedState']> = [];
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const first = await queueing.runner.run({
        ...runRequest(t, 'state-r1'),
        initialStateOf: 'planner',
        body: async function* (_signal, admitted) {
          seen.push(admitted.storedState);
          yield { type: EventType.RUN_STARTED, threadId: t, runId: 'state-r1' } as BaseEvent;
          await released;
          await states.record(t, 'planner', { step: 1 }, 'state-r1');
          yield { type: EventType.RUN_FINISHED, threadId: t, runId: 'state-r1' } as BaseEvent;
        },
      });
      const second = queueing.runner.run({
        ...runRequest(t, 'state-r2'),
        initialStateOf: 'planner',
        body: (signal, admitted) => {
          seen.push(admitted.storedState);
          return scriptedBody(t, 'state-r2')(signal);
        },
      });
      // The second run has been refused once (the thread is busy) and waits in the queue.
      await until(() => admissions.mock.calls.length >= 2);
      release();
      await collect(first.events);
      await collect((await second).events);
      expect(seen).toEqual([null, { state: { step: 1 } }]);

      // Not asked: not read.
      const third = await queueing.runner.run({
        ...runRequest(t, 'state-r3'),
        body: (signal, admitted) => {
          seen.push(admitted.storedState);
          return scriptedBody(t, 'state-r3')(signal);
        },
      });
      await collect(third.events);
      expect(seen[2]).toBeUndefined();
    } finally {
      await queueing.close();
    }
  });

  it('two instances racing for one thread: exactly one admitted, the other gets THREAD_BUSY at once', async () => {
    const t = threadId('race');
    const results = await Promise.allSettled([
      a.runner.run(runRequest(t, 'race-a', { hang: true })),
      b.runner.run(runRequest(t, 'race-b', { hang: true })),
    ]);
    const admitted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(admitted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toBeInstanceOf(CopilotRuntimeError);
    expect(refused[0]!.reason).toMatchObject({ code: 'THREAD_BUSY' });
    expect(await a.runner.isRunning(t)).toBe(true);
    expect(await b.runner.isRunning(t)).toBe(true);
    await a.runner.stop({ threadId: t });
    await until(async () => !(await b.runner.isRunning(t)));
  });

  it('stop from the other instance aborts the run (NOTIFY); the stream ends with run_stopped + RUN_FINISHED', async () => {
    const t = threadId('stop');
    const session = await a.runner.run(runRequest(t, 'stop-r1', { hang: true }));
    const events = collect(session.events);
    await until(async () => (await readLog(b, t)).length >= 7);
    expect(await b.runner.stop({ runId: 'stop-r1' })).toEqual({ stopped: true, threadId: t, runId: 'stop-r1' });
    const all = await events;
    expect(types(all).slice(-3)).toEqual(['TEXT_MESSAGE_END', 'CUSTOM', 'RUN_FINISHED']);
    expect(all.at(-2)!.event).toMatchObject({ name: 'run_stopped', value: { runId: 'stop-r1', reason: 'stop' } });
    expect((await b.conversations.findRun('stop-r1'))?.status).toBe('stopped');
    expect((await readLog(b, t)).map((e) => e.sequence)).toEqual(all.map((e) => e.sequence));
    expect(await b.runner.stop({ runId: 'stop-r1' })).toEqual({
      stopped: false,
      reason: 'not_running',
      message: 'The run stop-r1 already finished.',
    });
    expect(await b.runner.stop({ runId: 'no-such-run' })).toMatchObject({ stopped: false, reason: 'not_found' });
  });

  it('connect from the other instance mid-run replays, then follows to the end, contiguous', async () => {
    const t = threadId('connect');
    await collect((await a.runner.run(runRequest(t, 'connect-r0', { deltas: 20 }))).events);
    const session = await a.runner.run(runRequest(t, 'connect-r1', { deltas: 400, delayMs: 1 }));
    const caller = collect(session.events);
    // Mid-run: the first run's 24 events and some of this one's are in the log.
    await until(async () => (await readLog(b, t)).length > 40);
    const remote = await collect(b.runner.connect(t, 0, new AbortController().signal));
    const own = await caller;
    expectContiguous(remote, 1);
    expect(types(remote).at(-1)).toBe('RUN_FINISHED');
    expect(remote.slice(-own.length).map((e) => e.sequence)).toEqual(own.map((e) => e.sequence));
    // And resuming from a sequence replays only what follows it.
    const resumed = await collect(b.runner.connect(t, 10, new AbortController().signal));
    expectContiguous(resumed, 11);
  });

  it('a crashed holder (heartbeats stop, lock never released) never wedges the thread', async () => {
    const t = threadId('crash');
    const crashed = await bootInstance(database.options, { lockTtlMs: 600 });
    try {
      // The "crash": the heartbeat no longer reaches the database, the lock is never released.
      jest.spyOn(crashed.locks, 'renew').mockResolvedValue(true);
      jest
        .spyOn(crashed.locks, 'renewAll')
        .mockImplementation(async (locks) => new Set(locks.map((lock) => lock.runId)));
      jest.spyOn(crashed.locks, 'release').mockResolvedValue(undefined);
      jest.spyOn(crashed.admission, 'reapAbandonedRuns').mockResolvedValue({ locks: [], failedRuns: 0 });
      await crashed.runner.run(runRequest(t, 'crash-r1', { hang: true }));
      const refused = await b.runner.run(runRequest(t, 'crash-r2')).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'THREAD_BUSY' });
      // Once expired: a reaper (B's, on demand here, or any instance's interval) fails the dead run.
      await until(async () => {
        await b.runner.reapOnce();
        return (await b.conversations.findRun('crash-r1'))?.status !== 'running';
      });
      expect(await b.conversations.findRun('crash-r1')).toMatchObject({
        status: 'failed',
        error: { code: 'RUN_ABANDONED' },
      });
      const events = await collect((await b.runner.run(runRequest(t, 'crash-r2'))).events);
      expect(types(events).at(-1)).toBe('RUN_FINISHED');
      expect((await b.conversations.findRun('crash-r2'))?.status).toBe('succeeded');
      // The dead run's log simply ends; the next run continues the sequence.
      expectContiguous(await readLog(b, t), 1);
    } finally {
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      await crashed.close();
    }
  });

  it('a database blip mid-run: the stream goes on, every event reaches the log exactly once', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const t = threadId('blip');
    const session = await a.runner.run(runRequest(t, 'blip-r1', { deltas: 1_500, delayMs: 1 }));
    const seen: LoggedEvent[] = [];
    const reading = (async () => {
      for await (const event of session.events) seen.push(event);
    })();
    let kills = 0;
    // A kill every 150 events streamed.
    for (let i = 1; i <= 5; i++) {
      await until(() => seen.length >= i * 150);
      kills += await terminateConnections(database.options.url!);
    }
    await reading;
    expect(kills).toBeGreaterThan(0);
    expectContiguous(seen, 1);
    expect(types(seen).at(-1)).toBe('RUN_FINISHED');
    const logged = await readLog(a, t);
    expect(logged.map((e) => e.sequence)).toEqual(seen.map((e) => e.sequence));
    await until(async () => (await a.conversations.findRun('blip-r1'))?.status === 'succeeded');
    // The LISTEN connections came back.
    await until(() => listening(a) && listening(b));
  });

  it('the log unwritable past maxOutageMs fails the run with PERSISTENCE_UNAVAILABLE', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const t = threadId('outage');
    const shortFuse = await bootInstance(database.options, { maxOutageMs: 400 });
    try {
      const session = await shortFuse.runner.run(runRequest(t, 'outage-r1', { deltas: 100_000, delayMs: 2 }));
      const events = collect(session.events);
      await until(async () => (await readLog(b, t)).length > 5);
      jest.spyOn(shortFuse.eventLog, 'append').mockRejectedValue(connectionLost());
      const all = await events;
      const last = all.at(-1)!.event as { type: string; code?: string; message?: string };
      expect(last).toMatchObject({ type: 'RUN_ERROR', code: 'PERSISTENCE_UNAVAILABLE' });
      // Nothing of the database (URL, host, user) reaches the wire; the log has it.
      expect(last.message).not.toMatch(/postgres|127\.0\.0\.1|5432/);
      await until(async () => (await b.conversations.findRun('outage-r1'))?.status === 'failed');
      expect((await b.conversations.findRun('outage-r1'))?.error?.code).toBe('PERSISTENCE_UNAVAILABLE');
      expect(await b.runner.isRunning(t)).toBe(false);
    } finally {
      await shortFuse.close();
    }
  });

  it('shutdown ends in-flight runs, records them, and releases their locks', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const t = threadId('shutdown');
    const leaving = await bootInstance(database.options);
    const session = await leaving.runner.run(runRequest(t, 'shutdown-r1', { hang: true }));
    const events = collect(session.events);
    await leaving.close();
    expect((await events).at(-1)!.event).toMatchObject({ type: 'RUN_ERROR' });
    expect(await b.locks.current(t)).toBeNull();
    expect((await b.conversations.findRun('shutdown-r1'))?.status).toBe('failed');
  });
});

describe('RunsModule on the configured database (PGlite without TEST_DATABASE_URL)', () => {
  let database: TestDatabase;
  let instance: Instance;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    instance = await bootInstance(database.options);
  });

  afterAll(async () => {
    await instance?.close();
    await database?.cleanup();
  });

  it('runs, connects, stops and refuses a busy thread', async () => {
    const t = threadId('single');
    const first = await collect((await instance.runner.run(runRequest(t, 'single-r1', { deltas: 50 }))).events);
    expectContiguous(first, 1);
    const session = await instance.runner.run(runRequest(t, 'single-r2', { hang: true }));
    const events = collect(session.events);
    await expect(instance.runner.run(runRequest(t, 'single-r3'))).rejects.toMatchObject({ code: 'THREAD_BUSY' });
    const following = instance.runner.connect(t, 0, new AbortController().signal)[Symbol.asyncIterator]();
    // Following the live run: the first run's events and the second one's first.
    const replayed: LoggedEvent[] = [];
    while (replayed.length < first.length + 3) replayed.push((await following.next()).value as LoggedEvent);
    expect(await instance.runner.stop({ threadId: t })).toMatchObject({ stopped: true, runId: 'single-r2' });
    const all = await events;
    const connected = [...replayed];
    for (let next = await following.next(); !next.done; next = await following.next()) connected.push(next.value);
    expectContiguous(connected, 1);
    expect(connected.at(-1)).toEqual(all.at(-1));
    expect((await instance.conversations.findRun('single-r2'))?.status).toBe('stopped');
  });
});
