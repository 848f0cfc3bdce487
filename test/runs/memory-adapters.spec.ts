import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { RunOutcome, RunStart } from '../../src/ports/conversation-store.js';
import { createMemoryRunPorts, type MemoryBounds, type MemoryRunPorts } from '../../src/runs/memory/index.js';
import { RunCore } from '../../src/runs/run-core.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import { collect, expectContiguous, runRequest } from './run-fakes.js';

/*
 * The in-memory adapters' own promises: memory stays bounded (threads LRU, runs per thread, an
 * approximate byte budget) and never drops what a running run needs; runs are recorded through a
 * recorder when there is one. The runner's contract is in runner.contract.spec.ts.
 */

const BOUNDS: MemoryBounds = { maxThreads: 1_000, maxRunsPerThread: 50, maxBytes: 64 * 1024 * 1024 };

describe('the in-memory run adapters', () => {
  let runners: RunCore[] = [];

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await Promise.all(runners.map((runner) => runner.shutdown()));
    runners = [];
    jest.restoreAllMocks();
  });

  function runner(bounds: Partial<MemoryBounds> = {}, recorded?: { started: RunStart[]; finished: RunOutcome[] }) {
    const ports: MemoryRunPorts = createMemoryRunPorts(
      { ...BOUNDS, ...bounds },
      {
        recorder: recorded && {
          runStarted: (start) => recorded.started.push(start),
          runFinished: (outcome) => recorded.finished.push(outcome),
        },
      },
    );
    const core = new RunCore(
      { ports, bus: new RunEventBus() },
      {
        instanceId: 'memory',
        busyThreadPolicy: 'fail',
        queueTimeoutMs: 1_000,
        lockTtlMs: 30_000,
        maxOutageMs: 1_000,
        flushBatchSize: 50,
        flushIntervalMs: 5,
        shutdownTimeoutMs: 1_000,
        reapIntervalMs: 0,
      },
    );
    core.start();
    runners.push(core);
    return { core, state: ports.state };
  }

  it('records runs through the recorder: start with the input, end with the output and usage', async () => {
    const recorded = { started: [] as RunStart[], finished: [] as RunOutcome[] };
    const { core } = runner({}, recorded);
    await collect((await core.run(runRequest('t1', 'r1'))).events);
    expect(recorded.started).toEqual([expect.objectContaining({ runId: 'r1', threadId: 't1', ownerId: 'owner-1' })]);
    expect(recorded.started[0]!.inputMessages.map((m) => m.id)).toEqual(['u-r1']);
    expect(recorded.finished).toEqual([
      expect.objectContaining({ runId: 'r1', status: 'succeeded', usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } }),
    ]);
    expect(recorded.finished[0]!.outputMessages[0]).toMatchObject({ id: 'm-r1', role: 'assistant' });
  });

  it('bounds threads with LRU eviction that never evicts a running thread', async () => {
    const { core, state } = runner({ maxThreads: 3 });
    const running = await core.run(runRequest('busy', 'r-busy', { hang: true }));
    for (let i = 0; i < 6; i++) await collect((await core.run(runRequest(`idle-${i}`, `r-${i}`))).events);
    expect(state.usage.threads).toBeLessThanOrEqual(3);
    expect(state.hasThread('busy')).toBe(true);
    expect(state.hasThread('idle-5')).toBe(true);
    expect(state.hasThread('idle-0')).toBe(false);
    // Reading a thread (connect) makes it recent.
    await collect(core.connect('idle-4', 0, new AbortController().signal));
    await collect((await core.run(runRequest('idle-6', 'r-6'))).events);
    expect(state.hasThread('idle-4')).toBe(true);
    expect(state.hasThread('idle-5')).toBe(false);
    await core.stop({ threadId: 'busy' });
    await collect(running.events);
  });

  it('keeps every thread while all of them run, and evicts once they are idle', async () => {
    const { core, state } = runner({ maxThreads: 2 });
    const sessions = await Promise.all([0, 1, 2, 3].map((i) => core.run(runRequest(`t${i}`, `r${i}`, { hang: true }))));
    expect(state.usage.threads).toBe(4);
    for (let i = 0; i < 4; i++) expect(await core.isRunning(`t${i}`)).toBe(true);
    for (let i = 0; i < 4; i++) await core.stop({ threadId: `t${i}` });
    await Promise.all(sessions.map((s) => collect(s.events)));
    expect(state.usage.threads).toBeLessThanOrEqual(2);
  });

  it('keeps the last maxRunsPerThread runs of a thread; sequences keep counting', async () => {
    const { core } = runner({ maxRunsPerThread: 2 });
    for (let i = 0; i < 4; i++) await collect((await core.run(runRequest('t1', `r${i}`, { deltas: 1 }))).events);
    const replay = await collect(core.connect('t1', 0, new AbortController().signal));
    expect([...new Set(replay.map((e) => e.runId))]).toEqual(['r2', 'r3']);
    // 5 events per run.
    expect(replay[0]!.sequence).toBe(11);
    expect(await core.stop({ runId: 'r0' })).toMatchObject({ reason: 'not_found' });
  });

  it('bounds bytes, evicting idle threads first and never the running run', async () => {
    const { core, state } = runner({ maxBytes: 20_000 });
    for (let i = 0; i < 10; i++) await collect((await core.run(runRequest(`idle-${i}`, `r-${i}`, { deltas: 20 }))).events);
    expect(state.usage.bytes).toBeLessThanOrEqual(20_000);
    const big = await core.run(runRequest('big', 'r-big', { deltas: 400 }));
    const events = await collect(big.events);
    // The running run's own events are never dropped while it runs: its caller sees them all.
    expectContiguous(events, 1);
    expect(state.hasThread('idle-0')).toBe(false);
    expect(state.usage.bytes).toBeLessThanOrEqual(20_000 + 1);
  });
});
