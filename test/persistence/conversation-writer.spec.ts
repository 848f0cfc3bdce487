import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Message } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import {
  ConversationStore,
  type RunOutcome,
  type RunRecord,
  type RunStart,
  type ThreadRecord,
} from '../../src/persistence/conversation-store.js';
import { ConversationWriter } from '../../src/persistence/conversation-writer.js';
import { waitFor } from '../support/wait-for.js';
import { runOutcome, runStart, userMessage } from './persistence-fixtures.js';

type Call = { kind: 'start' | 'finish'; runId: string; threadId: string; messages: string[] };

/** Records applied writes; `gate` lets a test hold or fail a write. */
class FakeStore extends ConversationStore {
  readonly applied: Call[] = [];
  attempts = 0;
  gate: (call: Call) => Promise<void> = async () => undefined;

  async recordRunStarted(run: RunStart): Promise<void> {
    const { runId, threadId } = run;
    await this.apply({ kind: 'start', runId, threadId, messages: run.inputMessages.map((m) => m.id) });
  }
  async recordRunFinished(outcome: RunOutcome): Promise<void> {
    const { runId, threadId } = outcome;
    const messages = outcome.outputMessages.map((m) => m.id);
    await this.apply({ kind: 'finish', runId, threadId, messages });
  }
  async findThread(): Promise<ThreadRecord | null> {
    return null;
  }
  async listMessages(): Promise<Message[]> {
    return [];
  }
  async findRun(): Promise<RunRecord | null> {
    return null;
  }
  private async apply(call: Call): Promise<void> {
    this.attempts += 1;
    await this.gate(call);
    this.applied.push(call);
  }
}

function connectionLost(): Error {
  return Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}


describe('ConversationWriter', () => {
  let store: FakeStore;
  let errors: string[];
  let warnings: string[];
  let unhandled: unknown[];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeEach(() => {
    store = new FakeStore();
    errors = [];
    warnings = [];
    unhandled = [];
    const capture = (lines: string[]) => (message: unknown) => void lines.push(String(message));
    jest.spyOn(Logger.prototype, 'error').mockImplementation(capture(errors));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(capture(warnings));
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(() => {
    jest.useRealTimers();
    process.off('unhandledRejection', onUnhandled);
    jest.restoreAllMocks();
    expect(unhandled).toEqual([]);
  });

  const fastRetries = { initialRetryDelayMs: 5, maxRetryDelayMs: 20, giveUpAfterMs: 150 };

  it('returns at once, before the store has written anything', async () => {
    const hold = deferred();
    store.gate = () => hold.promise;
    const writer = new ConversationWriter(store);

    const result = writer.runStarted(runStart({ runId: 'r1', threadId: 't1' }));
    writer.runFinished(runOutcome({ runId: 'r1', threadId: 't1' }));

    expect(result).toBeUndefined();
    // The write reached the store and is held there: nothing has landed.
    await waitFor(() => store.attempts === 1);
    expect(store.applied).toEqual([]);
    hold.release();
    await writer.whenIdle();
    expect(store.applied.map((c) => c.kind)).toEqual(['start', 'finish']);
  });

  it('applies the writes of one thread in order, even when earlier ones are slower', async () => {
    const slowFirst = deferred();
    store.gate = (call) => (call.kind === 'start' && call.runId === 'r1' ? slowFirst.promise : Promise.resolve());
    const writer = new ConversationWriter(store);
    for (const runId of ['r1', 'r2', 'r3']) {
      writer.runStarted(runStart({ runId, threadId: 't' }));
      writer.runFinished(runOutcome({ runId, threadId: 't' }));
    }
    // While the first write is held, none of the five behind it is even attempted.
    await waitFor(() => store.attempts === 1);
    await Promise.resolve();
    expect(store.attempts).toBe(1);
    slowFirst.release();
    await writer.whenIdle();
    expect(store.applied.map((c) => `${c.kind}:${c.runId}`)).toEqual([
      'start:r1', 'finish:r1', 'start:r2', 'finish:r2', 'start:r3', 'finish:r3',
    ]);
  });

  it('lets other threads proceed while one waits', async () => {
    const holdA = deferred();
    store.gate = (call) => (call.threadId === 'a' ? holdA.promise : Promise.resolve());
    const writer = new ConversationWriter(store);
    writer.runStarted(runStart({ runId: 'ra', threadId: 'a' }));
    writer.runStarted(runStart({ runId: 'rb', threadId: 'b' }));

    let idle = false;
    const whenIdle = writer.whenIdle().then(() => (idle = true));
    await waitFor(() => store.applied.length === 1);
    expect(store.applied.map((c) => c.runId)).toEqual(['rb']);
    expect(idle).toBe(false);
    holdA.release();
    await whenIdle;
    expect(store.applied.map((c) => c.runId)).toEqual(['rb', 'ra']);
  });

  it('snapshots the message lists: later changes by the caller are not written', async () => {
    const hold = deferred();
    store.gate = () => hold.promise;
    const writer = new ConversationWriter(store);
    const inputMessages = [userMessage('m1')];
    writer.runStarted(runStart({ runId: 'r', threadId: 't', inputMessages }));
    inputMessages.push(userMessage('m2'));
    hold.release();
    await writer.whenIdle();
    expect(store.applied[0]?.messages).toEqual(['m1']);
  });

  it('retries a failed write with backoff and keeps the order of the thread', async () => {
    let failures = 3;
    store.gate = async (call) => {
      if (call.kind === 'start' && failures-- > 0) throw connectionLost();
    };
    jest.useFakeTimers();
    const writer = new ConversationWriter(store, fastRetries);
    writer.runStarted(runStart({ runId: 'r1', threadId: 't' }));
    writer.runFinished(runOutcome({ runId: 'r1', threadId: 't' }));

    // Attempts at 0, 5, 15 and 35 ms: 5 + 10 + 20 ms of backoff before the fourth one.
    await jest.advanceTimersByTimeAsync(34);
    expect(store.attempts).toBe(3);
    expect(store.applied).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    await writer.whenIdle();

    expect(store.applied.map((c) => c.kind)).toEqual(['start', 'finish']);
    expect(store.attempts).toBe(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('r1');
    expect(errors).toEqual([]);
  });

  it('gives up after the configured time, logs the run id, and skips the finish of a lost start', async () => {
    store.gate = async (call) => {
      if (call.runId === 'doomed') throw connectionLost();
    };
    jest.useFakeTimers();
    const writer = new ConversationWriter(store, fastRetries);
    let idle = false;
    writer.runStarted(runStart({ runId: 'doomed', threadId: 't' }));
    writer.runFinished(runOutcome({ runId: 'doomed', threadId: 't' }));
    writer.runStarted(runStart({ runId: 'next', threadId: 't' }));
    void writer.whenIdle().then(() => (idle = true));

    // Still retrying at 100 ms; given up within giveUpAfterMs (150 ms), never past it.
    await jest.advanceTimersByTimeAsync(100);
    expect(errors).toEqual([]);
    await jest.advanceTimersByTimeAsync(fastRetries.giveUpAfterMs - 100);
    expect(idle).toBe(true);
    expect(store.applied.map((c) => c.runId)).toEqual(['next']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/start of run doomed/);
    expect(errors[1]).toMatch(/finish of run doomed.*its start was not stored/);
  });

  it('does not retry an error no retry can fix', async () => {
    store.gate = async () => {
      throw Object.assign(new Error('violates check constraint'), { code: '23514' });
    };
    const writer = new ConversationWriter(store, fastRetries);
    writer.runStarted(runStart({ runId: 'bad', threadId: 't' }));
    await writer.whenIdle();
    expect(store.attempts).toBe(1);
    expect(errors[0]).toMatch(/run bad after 1 attempt/);
  });

  it('drains within a bounded time at shutdown and names what it gave up', async () => {
    jest.useFakeTimers();
    store.gate = () => new Promise(() => undefined);
    const writer = new ConversationWriter(store, { shutdownDrainMs: 50 });
    writer.runStarted(runStart({ runId: 'stuck', threadId: 't' }));
    let drained = false;
    const shutdown = writer.onApplicationShutdown().then(() => (drained = true));
    await jest.advanceTimersByTimeAsync(49);
    expect(drained).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await shutdown;
    expect(drained).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/1 conversation write.*stuck \(start\)/);
  });

  it('is idle at once when nothing is queued', async () => {
    const writer = new ConversationWriter(store);
    await writer.whenIdle();
    await writer.drain(10);
    expect(errors).toEqual([]);
  });
});
