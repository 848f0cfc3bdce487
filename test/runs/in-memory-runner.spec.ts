import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { InMemoryAgentRunner, type InMemoryAgentRunnerOptions } from '../../src/runs/in-memory-runner.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import { collect, expectContiguous, FakeDatabase, runRequest, sleep, types } from './run-fakes.js';

function runner(options: Partial<InMemoryAgentRunnerOptions> = {}, db = new FakeDatabase()) {
  return new InMemoryAgentRunner(
    { bus: new RunEventBus(), writer: db.writer },
    {
      busyThreadPolicy: 'fail',
      queueTimeoutMs: 2_000,
      maxThreads: 1_000,
      maxRunsPerThread: 50,
      maxBytes: 64 * 1024 * 1024,
      shutdownTimeoutMs: 1_000,
      ...options,
    },
  );
}

async function expectRejectCode(promise: Promise<unknown>, code: string): Promise<CopilotRuntimeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CopilotRuntimeError);
  expect((error as CopilotRuntimeError).code).toBe(code);
  return error as CopilotRuntimeError;
}

describe('InMemoryAgentRunner', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('runs, numbers events per thread across runs, and records the run', async () => {
    const db = new FakeDatabase();
    const r = runner({}, db);
    const first = await collect((await r.run(runRequest('t1', 'r1', { deltas: 3 }))).events);
    expectContiguous(first, 1);
    const second = await collect((await r.run(runRequest('t1', 'r2', { deltas: 3 }))).events);
    expectContiguous(second, first.length + 1);
    expect(types(second).at(-1)).toBe('RUN_FINISHED');
    expect(db.finished.map((o) => [o.runId, o.status, o.usage?.totalTokens])).toEqual([
      ['r1', 'succeeded', 7],
      ['r2', 'succeeded', 7],
    ]);
    expect(await r.isRunning('t1')).toBe(false);
  });

  it('refuses a second concurrent run on the thread at once with THREAD_BUSY', async () => {
    const r = runner();
    const session = await r.run(runRequest('t1', 'r1', { hang: true }));
    const error = await expectRejectCode(r.run(runRequest('t1', 'r2')), 'THREAD_BUSY');
    expect(error.message).toBe('Thread t1 already has an active run (r1). Wait for it to finish or stop it.');
    expect(await r.isRunning('t1')).toBe(true);
    await r.stop({ threadId: 't1' });
    await collect(session.events);
  });

  it('hides another owner’s thread (THREAD_NOT_FOUND)', async () => {
    const r = runner();
    await collect((await r.run(runRequest('t1', 'r1'))).events);
    await expectRejectCode(r.run(runRequest('t1', 'r2', { ownerId: 'intruder' })), 'THREAD_NOT_FOUND');
  });

  it('queues a run behind the active one with the queue policy', async () => {
    const r = runner({ busyThreadPolicy: 'queue' });
    const first = await r.run(runRequest('t1', 'r1', { deltas: 20, delayMs: 2 }));
    const firstEvents = collect(first.events);
    const second = await r.run(runRequest('t1', 'r2', { deltas: 2 }));
    expect(types(await firstEvents).at(-1)).toBe('RUN_FINISHED');
    const secondEvents = await collect(second.events);
    expect(secondEvents[0]!.sequence).toBe((await firstEvents).length + 1);
  });

  it('stops the active run for a new one with the supersede policy', async () => {
    const r = runner({ busyThreadPolicy: 'supersede' });
    const first = await r.run(runRequest('t1', 'r1', { hang: true }));
    const firstEvents = collect(first.events);
    const second = await r.run(runRequest('t1', 'r2', { deltas: 1 }));
    const stopped = await firstEvents;
    expect(stopped.at(-2)!.event).toMatchObject({ type: 'CUSTOM', name: 'run_stopped', value: { reason: 'superseded' } });
    expect(types(await collect(second.events)).at(-1)).toBe('RUN_FINISHED');
  });

  it('stops by run id or thread, and says why when there is nothing to stop', async () => {
    const db = new FakeDatabase();
    const r = runner({}, db);
    const session = await r.run(runRequest('t1', 'r1', { hang: true }));
    const events = collect(session.events);
    await sleep(5);
    expect(await r.stop({ runId: 'r1' })).toEqual({ stopped: true, threadId: 't1', runId: 'r1' });
    const all = await events;
    expect(types(all).slice(-3)).toEqual(['TEXT_MESSAGE_END', 'CUSTOM', 'RUN_FINISHED']);
    expect(db.finished.at(-1)?.status).toBe('stopped');
    expect(await r.stop({ runId: 'r1' })).toEqual({
      stopped: false,
      reason: 'not_running',
      message: 'The run r1 already finished.',
    });
    expect(await r.stop({ threadId: 't1' })).toMatchObject({ stopped: false, reason: 'not_running' });
    expect(await r.stop({ runId: 'nope' })).toMatchObject({ stopped: false, reason: 'not_found' });
    expect(await r.stop({ threadId: 'nope' })).toMatchObject({ stopped: false, reason: 'not_found' });
  });

  it('stops the run when the caller goes away with onCallerGone abort', async () => {
    const controller = new AbortController();
    const db = new FakeDatabase();
    const r = runner({}, db);
    const session = await r.run(runRequest('t1', 'r1', { hang: true, signal: controller.signal }));
    const seen: LoggedEvent[] = [];
    const reading = (async () => {
      for await (const event of session.events) seen.push(event);
    })();
    await sleep(5);
    controller.abort();
    await reading;
    await sleep(5);
    expect(await r.isRunning('t1')).toBe(false);
    expect(db.finished.at(-1)).toMatchObject({ runId: 'r1', status: 'stopped' });
  });

  it('keeps the run going when the caller goes away with onCallerGone continue', async () => {
    const controller = new AbortController();
    const db = new FakeDatabase();
    const r = runner({}, db);
    const session = await r.run(
      runRequest('t1', 'r1', { deltas: 30, delayMs: 2, signal: controller.signal, onCallerGone: 'continue' }),
    );
    const iterator = session.events[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    // The caller's stream ends...
    for (let step = await iterator.next(); !step.done; step = await iterator.next());
    expect(await r.isRunning('t1')).toBe(true);
    // ...the run goes on and finishes.
    const replay = await collect(r.connect('t1', 0, new AbortController().signal));
    expect(types(replay).at(-1)).toBe('RUN_FINISHED');
    expectContiguous(replay, 1);
    expect(db.finished.at(-1)).toMatchObject({ runId: 'r1', status: 'succeeded' });
  });

  it('connect replays history then follows the live run without gaps or duplicates', async () => {
    const r = runner();
    await collect((await r.run(runRequest('t1', 'r0', { deltas: 4 }))).events);
    const session = await r.run(runRequest('t1', 'r1', { deltas: 100, delayMs: 1 }));
    const callerEvents = collect(session.events);
    await sleep(30);
    const joined = await collect(r.connect('t1', 0, new AbortController().signal));
    const caller = await callerEvents;
    expectContiguous(joined, 1);
    expect(types(joined).at(-1)).toBe('RUN_FINISHED');
    expect(joined.at(-1)!.runId).toBe('r1');
    expect(joined.slice(-caller.length)).toEqual(caller);
    // Resuming after a sequence replays only what follows it.
    const resumed = await collect(r.connect('t1', 5, new AbortController().signal));
    expectContiguous(resumed, 6);
    // A thread without a run: replay, then complete.
    expect(await collect(r.connect('unknown', 0, new AbortController().signal))).toEqual([]);
  });

  it('bounds threads with LRU eviction that never evicts a running thread', async () => {
    const r = runner({ maxThreads: 3 });
    const running = await r.run(runRequest('busy', 'r-busy', { hang: true }));
    for (let i = 0; i < 6; i++) await collect((await r.run(runRequest(`idle-${i}`, `r-${i}`))).events);
    expect(r.usage.threads).toBeLessThanOrEqual(3);
    expect(r.hasThread('busy')).toBe(true);
    expect(r.hasThread('idle-5')).toBe(true);
    expect(r.hasThread('idle-0')).toBe(false);
    // Touching a thread (connect) makes it recent.
    await collect(r.connect('idle-4', 0, new AbortController().signal));
    await collect((await r.run(runRequest('idle-6', 'r-6'))).events);
    expect(r.hasThread('idle-4')).toBe(true);
    expect(r.hasThread('idle-5')).toBe(false);
    await r.stop({ threadId: 'busy' });
    await collect(running.events);
  });

  it('keeps every thread while all of them run, and evicts once they are idle', async () => {
    const r = runner({ maxThreads: 2 });
    const sessions = await Promise.all([0, 1, 2, 3].map((i) => r.run(runRequest(`t${i}`, `r${i}`, { hang: true }))));
    expect(r.usage.threads).toBe(4);
    for (let i = 0; i < 4; i++) expect(await r.isRunning(`t${i}`)).toBe(true);
    for (let i = 0; i < 4; i++) await r.stop({ threadId: `t${i}` });
    await Promise.all(sessions.map((s) => collect(s.events)));
    expect(r.usage.threads).toBeLessThanOrEqual(2);
  });

  it('keeps the last maxRunsPerThread runs of a thread', async () => {
    const r = runner({ maxRunsPerThread: 2 });
    for (let i = 0; i < 4; i++) await collect((await r.run(runRequest('t1', `r${i}`, { deltas: 1 }))).events);
    const replay = await collect(r.connect('t1', 0, new AbortController().signal));
    expect([...new Set(replay.map((e) => e.runId))]).toEqual(['r2', 'r3']);
    // Sequences keep counting: 5 events per run.
    expect(replay[0]!.sequence).toBe(11);
    expect(await r.stop({ runId: 'r0' })).toMatchObject({ reason: 'not_found' });
  });

  it('bounds bytes, evicting idle threads first and never the running run', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const r = runner({ maxBytes: 20_000 });
    for (let i = 0; i < 10; i++) await collect((await r.run(runRequest(`idle-${i}`, `r-${i}`, { deltas: 20 }))).events);
    expect(r.usage.bytes).toBeLessThanOrEqual(20_000);
    const big = await r.run(runRequest('big', 'r-big', { deltas: 400 }));
    const events = await collect(big.events);
    // The running run's own events are never dropped while it runs: its caller and a connect see them all.
    expectContiguous(events, 1);
    expect(r.hasThread('idle-0')).toBe(false);
    expect(r.usage.bytes).toBeLessThanOrEqual(20_000 + 1);
  });

  it('shutdown aborts runs in flight and records them failed', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const db = new FakeDatabase();
    const r = runner({}, db);
    const session = await r.run(runRequest('t1', 'r1', { hang: true }));
    const events = collect(session.events);
    await r.shutdown();
    expect((await events).at(-1)!.event).toMatchObject({ type: 'RUN_ERROR' });
    expect(db.finished.at(-1)?.status).toBe('failed');
    await expectRejectCode(r.run(runRequest('t2', 'r2')), 'NETWORK_ERROR');
  });
});
