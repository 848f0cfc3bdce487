import { EventType, type BaseEvent } from '@ag-ui/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { PersistenceModule } from '../../src/persistence/persistence.module.js';
import {
  DURABLE_RUN_PORTS,
  type DurableRunPortsFactory,
  RUN_ABANDONED_ERROR,
  type RunPorts,
} from '../../src/ports/run-stores.js';
import type { RunStartRequest } from '../../src/runs/agent-runner.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { createMemoryRunPorts } from '../../src/runs/memory/index.js';
import { RunCore, type RunCoreOptions } from '../../src/runs/run-core.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import { RunExecution } from '../../src/runs/run-execution.js';
import { testDatabaseOptions, type TestDatabase, usesRealPostgres } from '../support/database.js';
import { collect, context, expectContiguous, runRequest, types } from './run-fakes.js';

/*
 * The runner's contract, run against both adapter sets: the in-memory one and the PostgreSQL one
 * (on the test database: TEST_DATABASE_URL, or the embedded PGlite). Same expectations, same
 * messages. Nothing here sleeps: tests wait for the event they need.
 */

jest.setTimeout(60_000);

interface AdapterSet {
  setUp(): Promise<RunPorts>;
  tearDown(): Promise<void>;
  /**
   * Whether signals reach another runner on the storage (stop requests, news of a thread). The
   * embedded PGlite serves one process: its LISTEN connection hears nothing.
   */
  crossInstance: boolean;
}

function inMemory(): AdapterSet {
  return {
    setUp: async () => createMemoryRunPorts({ maxThreads: 1_000, maxRunsPerThread: 50, maxBytes: 64 * 1024 * 1024 }),
    tearDown: async () => undefined,
    crossInstance: true,
  };
}

function onPostgres(): AdapterSet {
  let database: TestDatabase;
  let moduleRef: TestingModule;
  let ports: RunPorts;
  return {
    crossInstance: usesRealPostgres(),
    setUp: async () => {
      database = await testDatabaseOptions();
      moduleRef = await Test.createTestingModule({
        imports: [PersistenceModule.forRoot(database.options, { initialRetryDelayMs: 20, maxRetryDelayMs: 200 })],
      }).compile();
      moduleRef.useLogger(false);
      await moduleRef.init();
      ports = await moduleRef.get<DurableRunPortsFactory>(DURABLE_RUN_PORTS)({ maxOutageMs: 5_000, flushIntervalMs: 5 });
      return ports;
    },
    tearDown: async () => {
      await ports?.signals.close();
      await moduleRef?.close();
      await database?.cleanup();
    },
  };
}

/** Opened from the outside: a run body that waits for it mid-stream. */
class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

/** RUN_STARTED, a message start and `deltas` deltas, then waits for `gate`, then ends the message and the run. */
function gatedRequest(threadId: string, runId: string, gate: Gate, deltas = 3): RunStartRequest {
  return {
    ...runRequest(threadId, runId),
    body: async function* (signal: AbortSignal): AsyncGenerator<BaseEvent> {
      yield { type: EventType.RUN_STARTED, threadId, runId } as BaseEvent;
      yield { type: EventType.TEXT_MESSAGE_START, messageId: `m-${runId}`, role: 'assistant' } as BaseEvent;
      for (let i = 0; i < deltas; i++) {
        yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId: `m-${runId}`, delta: `d${i} ` } as BaseEvent;
      }
      await Promise.race([gate.opened, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
      yield { type: EventType.TEXT_MESSAGE_END, messageId: `m-${runId}` } as BaseEvent;
      yield { type: EventType.RUN_FINISHED, threadId, runId } as BaseEvent;
    },
  };
}

/** Reads `count` events of a stream that goes on. */
async function take(iterator: AsyncIterator<LoggedEvent>, count: number): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  while (out.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

async function drain(iterator: AsyncIterator<LoggedEvent>): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) out.push(next.value);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<CopilotRuntimeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CopilotRuntimeError);
  return error as CopilotRuntimeError;
}

/** Resolves once `spy` has been called `count` times. */
function calls(spy: { mock: { calls: unknown[] } }, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (spy.mock.calls.length >= count ? resolve() : setImmediate(check));
    check();
  });
}

let counter = 0;
const unique = (name: string) => `${name}-${process.pid}-${++counter}`;

describe.each([
  ['in-memory', inMemory],
  ['PostgreSQL', onPostgres],
])('the runner contract on the %s adapters', (_name, adapters) => {
  const set = adapters();
  let ports: RunPorts;
  let runners: RunCore[] = [];
  const itAcrossInstances = set.crossInstance ? it : it.skip;

  beforeAll(async () => {
    ports = await set.setUp();
  });

  afterAll(async () => {
    await set.tearDown();
  });

  beforeEach(() => {
    // Runs that fail on purpose log it.
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await Promise.all(runners.map((runner) => runner.shutdown()));
    runners = [];
    jest.restoreAllMocks();
  });

  function runner(options: Partial<RunCoreOptions> = {}): RunCore {
    const core = new RunCore(
      { ports, bus: new RunEventBus() },
      {
        instanceId: 'contract-instance',
        busyThreadPolicy: 'fail',
        queueTimeoutMs: 10_000,
        lockTtlMs: 10_000,
        maxOutageMs: 5_000,
        flushBatchSize: 50,
        flushIntervalMs: 5,
        shutdownTimeoutMs: 5_000,
        pollIntervalMs: 25,
        reapIntervalMs: 0,
        ...options,
      },
    );
    core.start();
    runners.push(core);
    return core;
  }

  async function readLog(threadId: string): Promise<LoggedEvent[]> {
    return ports.eventLog.readAfter(threadId, 0, 10_000);
  }

  describe('a run', () => {
    it('numbers its events per thread across runs, logs them, records the run and frees the thread', async () => {
      const core = runner();
      const t = unique('basic');
      const first = await collect((await core.run(runRequest(t, `${t}-r1`, { deltas: 120 }))).events);
      expectContiguous(first, 1);
      expect(types(first).at(-1)).toBe('RUN_FINISHED');
      const second = await collect((await core.run(runRequest(t, `${t}-r2`))).events);
      expectContiguous(second, first.length + 1);
      expect((await readLog(t)).map((e) => e.sequence)).toEqual([...first, ...second].map((e) => e.sequence));
      expect(await ports.runs.findRun(`${t}-r1`)).toEqual({ threadId: t, status: 'succeeded' });
      expect(await core.isRunning(t)).toBe(false);
      expect(await ports.locks.current(t)).toBeNull();
    });

    it('tells its starter how it ended (onFinished) once it is recorded and the thread is free', async () => {
      const core = runner();
      const t = unique('finished');
      const seen: Array<{ status: string; recorded: unknown; locked: unknown }> = [];
      let heard!: () => void;
      const told = new Promise<void>((resolve) => (heard = resolve));
      const session = await core.run({
        ...runRequest(t, `${t}-r1`),
        onFinished: (result) => {
          void Promise.all([ports.runs.findRun(`${t}-r1`), ports.locks.current(t)]).then(([recorded, locked]) => {
            seen.push({ status: result.status, recorded, locked });
            heard();
          });
        },
      });
      const events = await collect(session.events);
      await told;
      expect(seen).toEqual([{ status: 'succeeded', recorded: { threadId: t, status: 'succeeded' }, locked: null }]);
      expect(types(events).at(-1)).toBe('RUN_FINISHED');
    });

    it('refuses another owner’s thread as if it did not exist, and a run id used before', async () => {
      const core = runner();
      const t = unique('owned');
      await collect((await core.run(runRequest(t, `${t}-r1`))).events);
      const foreign = await rejection(core.run(runRequest(t, `${t}-r2`, { ownerId: 'mallory' })));
      expect(foreign).toMatchObject({ code: 'THREAD_NOT_FOUND', message: `Thread "${t}" was not found.` });
      const reused = await rejection(core.run(runRequest(t, `${t}-r1`)));
      expect(reused).toMatchObject({
        code: 'BAD_USER_INPUT',
        message: `runId "${t}-r1" cannot start a new run (run ids are single-use): omit runId to get a new one.`,
      });
    });

    it('ends a caller-abandoned run as stopped with onCallerGone abort, and runs on with continue', async () => {
      const core = runner();
      const t = unique('caller');
      const gone = new AbortController();
      const session = await core.run(runRequest(t, `${t}-r1`, { hang: true, signal: gone.signal }));
      const iterator = session.events[Symbol.asyncIterator]();
      await take(iterator, 3);
      gone.abort();
      await drain(iterator);
      const replay = await collect(core.connect(t, 0, new AbortController().signal));
      expect(replay.at(-2)!.event).toMatchObject({ name: 'run_stopped', value: { reason: 'caller_gone' } });

      const gate = new Gate();
      const leaving = new AbortController();
      const kept = await core.run({ ...gatedRequest(t, `${t}-r2`, gate), ctx: context(leaving.signal), onCallerGone: 'continue' });
      const keptIterator = kept.events[Symbol.asyncIterator]();
      await take(keptIterator, 2);
      leaving.abort();
      const follower = core.connect(t, replay.at(-1)!.sequence, new AbortController().signal)[Symbol.asyncIterator]();
      await take(follower, 2);
      gate.open();
      const rest = await drain(follower);
      expect(types(rest).at(-1)).toBe('RUN_FINISHED');
      expect(await ports.runs.findRun(`${t}-r2`)).toMatchObject({ status: 'succeeded' });
    });

    it('shutdown ends the runs in flight as failed, records them and frees their threads', async () => {
      const core = runner();
      const t = unique('shutdown');
      const session = await core.run(runRequest(t, `${t}-r1`, { hang: true }));
      const events = collect(session.events);
      await core.shutdown();
      expect((await events).at(-1)!.event).toMatchObject({
        type: 'RUN_ERROR',
        code: 'NETWORK_ERROR',
        message: 'The server shut down during the run. Send the message again.',
      });
      expect(await ports.runs.findRun(`${t}-r1`)).toMatchObject({ status: 'failed' });
      expect(await ports.locks.current(t)).toBeNull();
      const closed = await rejection(core.run(runRequest(t, `${t}-r2`)));
      expect(closed).toMatchObject({ code: 'NETWORK_ERROR', message: 'The server is shutting down; try again in a moment.' });
    });
  });

  describe('busy-thread policies', () => {
    it('fail: a second run is refused at once with THREAD_BUSY', async () => {
      const core = runner({ busyThreadPolicy: 'fail' });
      const t = unique('fail');
      const session = await core.run(runRequest(t, `${t}-r1`, { hang: true }));
      const busy = await rejection(core.run(runRequest(t, `${t}-r2`)));
      expect(busy).toMatchObject({
        code: 'THREAD_BUSY',
        message: `Thread ${t} already has an active run (${t}-r1). Wait for it to finish or stop it.`,
      });
      const again = await rejection(core.run(runRequest(t, `${t}-r1`)));
      expect(again.code).toBe('THREAD_BUSY');
      await core.stop({ threadId: t });
      await collect(session.events);
    });

    it('queue: the second run waits for the first to end, then runs', async () => {
      const core = runner({ busyThreadPolicy: 'queue' });
      const t = unique('queue');
      const gate = new Gate();
      const first = await core.run(gatedRequest(t, `${t}-r1`, gate));
      const admissions = jest.spyOn(ports.runs, 'admitRun');
      const second = core.run(runRequest(t, `${t}-r2`));
      await calls(admissions, 1);
      gate.open();
      const firstEvents = await collect(first.events);
      const secondEvents = await collect((await second).events);
      expect(types(firstEvents).at(-1)).toBe('RUN_FINISHED');
      expectContiguous(secondEvents, firstEvents.at(-1)!.sequence + 1);
      expect(await ports.runs.findRun(`${t}-r2`)).toMatchObject({ status: 'succeeded' });
    });

    it('queue: gives up with THREAD_BUSY after queueTimeoutMs, or when the caller goes away', async () => {
      const core = runner({ busyThreadPolicy: 'queue', queueTimeoutMs: 100 });
      const t = unique('queue-timeout');
      const session = await core.run(runRequest(t, `${t}-r1`, { hang: true }));
      const timedOut = await rejection(core.run(runRequest(t, `${t}-r2`)));
      expect(timedOut).toMatchObject({
        code: 'THREAD_BUSY',
        message: `Thread ${t} still had an active run (${t}-r1) after waiting 100 ms. Wait for it to finish or stop it.`,
      });

      const patient = runner({ busyThreadPolicy: 'queue', queueTimeoutMs: 60_000 });
      const leaving = new AbortController();
      const admissions = jest.spyOn(ports.runs, 'admitRun');
      const waiting = patient.run(runRequest(t, `${t}-r3`, { signal: leaving.signal }));
      await calls(admissions, 1);
      leaving.abort();
      expect(await rejection(waiting)).toMatchObject({
        code: 'THREAD_BUSY',
        message: `Thread ${t} already has an active run (${t}-r1); the client went away while waiting.`,
      });
      await core.stop({ threadId: t });
      await collect(session.events);
    });

    it('supersede: stops the active run once, then runs', async () => {
      const core = runner({ busyThreadPolicy: 'supersede' });
      const t = unique('supersede');
      const first = await core.run(runRequest(t, `${t}-r1`, { hang: true }));
      const firstEvents = collect(first.events);
      // The superseded run's end is held back, so that the new run has to ask again and again.
      const finishRun = ports.runs.finishRun.bind(ports.runs);
      const held = new Gate();
      jest.spyOn(ports.runs, 'finishRun').mockImplementation(async (outcome, log) => {
        if (outcome.runId === `${t}-r1`) await held.opened;
        return finishRun(outcome, log);
      });
      const aborts = jest.spyOn(RunExecution.prototype, 'abort');
      const admissions = jest.spyOn(ports.runs, 'admitRun');
      const second = core.run(runRequest(t, `${t}-r2`));
      await calls(admissions, 3);
      expect(aborts.mock.calls.filter(([reason]) => reason === 'superseded')).toHaveLength(1);
      held.open();
      const secondEvents = await collect((await second).events);
      const stopped = await firstEvents;
      expect(stopped.at(-2)!.event).toMatchObject({
        name: 'run_stopped',
        value: { runId: `${t}-r1`, reason: 'superseded', message: 'Run stopped: a newer run on the thread replaced it.' },
      });
      expect(types(secondEvents).at(-1)).toBe('RUN_FINISHED');
      expect(await ports.runs.findRun(`${t}-r1`)).toMatchObject({ status: 'stopped' });
      expect(aborts.mock.calls.filter(([reason]) => reason === 'superseded')).toHaveLength(1);
    });
  });

  describe('stop', () => {
    it('by thread and by run: the run ends with run_stopped and RUN_FINISHED, and is recorded stopped', async () => {
      const core = runner();
      const t = unique('stop');
      for (const target of [{ threadId: t }, { runId: `${t}-r2` }]) {
        const runId = 'threadId' in target ? `${t}-r1` : `${t}-r2`;
        const session = await core.run(runRequest(t, runId, { hang: true }));
        const iterator = session.events[Symbol.asyncIterator]();
        await take(iterator, 3);
        expect(await core.stop(target)).toEqual({ stopped: true, threadId: t, runId });
        const rest = await drain(iterator);
        expect(types(rest).slice(-3)).toEqual(['TEXT_MESSAGE_END', 'CUSTOM', 'RUN_FINISHED']);
        expect(rest.at(-2)!.event).toMatchObject({
          name: 'run_stopped',
          value: { runId, reason: 'stop', message: 'Run stopped by user.' },
        });
        expect(await ports.runs.findRun(runId)).toMatchObject({ status: 'stopped' });
        expect(await core.isRunning(t)).toBe(false);
      }
    });

    it('says why when there is nothing to stop, in the same words', async () => {
      const core = runner();
      const t = unique('nothing');
      await collect((await core.run(runRequest(t, `${t}-r1`))).events);
      expect(await core.stop({ runId: `${t}-r1` })).toEqual({
        stopped: false,
        reason: 'not_running',
        message: `The run ${t}-r1 already finished.`,
      });
      expect(await core.stop({ threadId: t })).toEqual({
        stopped: false,
        reason: 'not_running',
        message: `Thread "${t}" has no active run.`,
      });
      expect(await core.stop({ runId: `${t}-nope` })).toEqual({
        stopped: false,
        reason: 'not_found',
        message: `Run "${t}-nope" was not found.`,
      });
      expect(await core.stop({ threadId: `${t}-nope` })).toEqual({
        stopped: false,
        reason: 'not_found',
        message: `Thread "${t}-nope" was not found.`,
      });
      expect(await core.stop({ threadId: `${t}-other`, runId: `${t}-r1` })).toMatchObject({ reason: 'not_found' });
      await expect(core.stop({})).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: 'Stopping a run needs its threadId or its runId.',
      });
    });

    itAcrossInstances('stops a run of another runner on the same storage', async () => {
      const holder = runner();
      const other = runner({ instanceId: 'contract-other' });
      const t = unique('remote-stop');
      const session = await holder.run(runRequest(t, `${t}-r1`, { hang: true }));
      const iterator = session.events[Symbol.asyncIterator]();
      await take(iterator, 3);
      expect(await other.stop({ runId: `${t}-r1` })).toEqual({ stopped: true, threadId: t, runId: `${t}-r1` });
      expect(types(await drain(iterator)).at(-1)).toBe('RUN_FINISHED');
      expect(await ports.runs.findRun(`${t}-r1`)).toMatchObject({ status: 'stopped' });
    });
  });

  describe('connect', () => {
    it('replays the log, then follows the live run to its end, every event once and in order', async () => {
      const core = runner();
      const t = unique('follow');
      const before = await collect((await core.run(runRequest(t, `${t}-r0`, { deltas: 30 }))).events);
      const gate = new Gate();
      const session = await core.run(gatedRequest(t, `${t}-r1`, gate, 5));
      const caller = collect(session.events);
      const follower = core.connect(t, 0, new AbortController().signal)[Symbol.asyncIterator]();
      // The whole first run and the live one's first events, then the live tail.
      const replayed = await take(follower, before.length + 7);
      gate.open();
      const tail = await drain(follower);
      const all = [...replayed, ...tail];
      expectContiguous(all, 1);
      expect(types(all).at(-1)).toBe('RUN_FINISHED');
      expect(all.slice(before.length)).toEqual(await caller);
      expect((await readLog(t)).map((e) => e.sequence)).toEqual(all.map((e) => e.sequence));
      // Resuming after a sequence replays only what follows it; with nothing running, it completes.
      expectContiguous(await collect(core.connect(t, 10, new AbortController().signal)), 11);
    });

    it('follows a run of another runner on the same storage, and stops when its signal aborts', async () => {
      const holder = runner();
      const other = runner({ instanceId: 'contract-other' });
      const t = unique('remote-follow');
      const gate = new Gate();
      const session = await holder.run(gatedRequest(t, `${t}-r1`, gate, 5));
      const caller = collect(session.events);
      const follower = other.connect(t, 0, new AbortController().signal)[Symbol.asyncIterator]();
      const first = await take(follower, 7);
      gate.open();
      const all = [...first, ...(await drain(follower))];
      expect(all).toEqual(await caller);

      const leaving = new AbortController();
      const hanging = await holder.run(runRequest(t, `${t}-r2`, { hang: true }));
      const watcher = other.connect(t, all.at(-1)!.sequence, leaving.signal)[Symbol.asyncIterator]();
      await take(watcher, 2);
      leaving.abort();
      await drain(watcher);
      await holder.stop({ threadId: t });
      await collect(hanging.events);
    });
  });

  describe('locks', () => {
    it('a run whose lock is lost is aborted and fails', async () => {
      const core = runner({ lockTtlMs: 300 });
      const t = unique('lock-lost');
      const session = await core.run(runRequest(t, `${t}-r1`, { hang: true }));
      const events = collect(session.events);
      await ports.locks.release(t, `${t}-r1`);
      expect((await events).at(-1)!.event).toMatchObject({
        type: 'RUN_ERROR',
        message: `Run ${t}-r1 lost its thread lock (the heartbeat could not renew it in time) and was aborted.`,
      });
      expect(await ports.runs.findRun(`${t}-r1`)).toMatchObject({ status: 'failed' });
    });

    it('one renewal keeps every lock alive; a lock lost in it aborts only its own run', async () => {
      const core = runner({ lockTtlMs: 300 });
      const renewAll = jest.spyOn(ports.locks, 'renewAll');
      const renew = jest.spyOn(ports.locks, 'renew');
      const t = unique('batch-lock');
      const runIds = [1, 2, 3].map((i) => `${t}-r${i}`);
      const sessions = await Promise.all(runIds.map((runId, i) => core.run(runRequest(`${t}-${i}`, runId, { hang: true }))));
      const ended = sessions.map((session) => collect(session.events));
      // A renewal carries the three locks at once (earlier ones may have come between admissions).
      const carriedAll = () => renewAll.mock.calls.some(([locks]) => locks.length === 3);
      await new Promise<void>((resolve) => {
        const check = () => (carriedAll() ? resolve() : setImmediate(check));
        check();
      });
      for (const [locks] of renewAll.mock.calls) {
        for (const lock of locks) expect(runIds).toContain(lock.runId);
      }
      // No run renewed its own.
      expect(renew).not.toHaveBeenCalled();
      await ports.locks.release(`${t}-1`, runIds[1]!);
      expect((await ended[1]!).at(-1)!.event).toMatchObject({
        type: 'RUN_ERROR',
        message: `Run ${runIds[1]} lost its thread lock (the heartbeat could not renew it in time) and was aborted.`,
      });
      // The others still run, and keep being renewed (without the lost one).
      const before = renewAll.mock.calls.length;
      await calls(renewAll, before + 1);
      expect(renewAll.mock.calls.at(-1)![0].map((lock) => lock.runId).sort()).toEqual([runIds[0], runIds[2]]);
      expect(await core.isRunning(`${t}-0`)).toBe(true);
      expect(await core.isRunning(`${t}-2`)).toBe(true);
      await core.stop({ runId: runIds[0]! });
      await core.stop({ runId: runIds[2]! });
      expect(types(await ended[0]!).at(-1)).toBe('RUN_FINISHED');
      expect(types(await ended[2]!).at(-1)).toBe('RUN_FINISHED');
      expect(await ports.runs.findRun(runIds[1]!)).toMatchObject({ status: 'failed' });
      expect(await ports.runs.findRun(runIds[0]!)).toMatchObject({ status: 'stopped' });
    });

    it('an expired lock is reaped: its run fails with RUN_ABANDONED, its log gets a closing RUN_ERROR', async () => {
      const core = runner();
      const t = unique('reap');
      // A run of an instance that died: its lock expired, nothing will ever renew or release it.
      expect(await ports.runs.admitRun(deadRun(t, `${t}-dead`))).toMatchObject({ admitted: true });
      expect(await core.isRunning(t)).toBe(false);
      const reaped = await core.reapOnce();
      expect(reaped.map((lock) => lock.runId)).toContain(`${t}-dead`);
      expect(await ports.runs.findRun(`${t}-dead`)).toEqual({ threadId: t, status: 'failed' });
      const log = await readLog(t);
      expect(log.at(-1)).toMatchObject({ runId: `${t}-dead`, event: { type: 'RUN_ERROR', ...RUN_ABANDONED_ERROR } });
      const next = await collect((await core.run(runRequest(t, `${t}-r2`))).events);
      expectContiguous(next, log.at(-1)!.sequence + 1);
      expect(await core.reapOnce()).toEqual([]);
    });

    it('an expired lock is taken over by the next run, which settles the dead one', async () => {
      const core = runner();
      const t = unique('takeover');
      expect(await ports.runs.admitRun(deadRun(t, `${t}-dead`))).toMatchObject({ admitted: true });
      const events = await collect((await core.run(runRequest(t, `${t}-r2`))).events);
      expect(types(events).at(-1)).toBe('RUN_FINISHED');
      expect(await ports.runs.findRun(`${t}-dead`)).toMatchObject({ status: 'failed' });
      expect(await ports.runs.findRun(`${t}-r2`)).toMatchObject({ status: 'succeeded' });
    });
  });
});

/** The admission of a run whose lock has already expired (its instance died right after). */
function deadRun(threadId: string, runId: string) {
  return {
    threadId,
    runId,
    ownerId: 'owner-1',
    holder: 'dead-instance',
    ttlMs: -1_000,
    agentName: null,
    model: null,
    startedAt: new Date(),
  };
}
