import { EventType, type BaseEvent } from '@ag-ui/core';
import type { RequestContext } from '../../src/common/request-context.js';
import type { RunOutcome, RunRecord, RunStart, ThreadRecord } from '../../src/persistence/conversation-store.js';
import type { AdmissionResult, RunAdmissionRequest } from '../../src/persistence/run-admission.js';
import type { RunStartRequest } from '../../src/runs/agent-runner.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import {
  EventLogStore,
  type LockAttempt,
  type ThreadLock,
  ThreadLockStore,
} from '../../src/ports/run-stores.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function connectionLost(): Error {
  return new Error('Connection terminated unexpectedly');
}

/** The event log in memory; `failWith` makes appends (and reads) fail while set. */
export class FakeEventLogStore extends EventLogStore {
  readonly threads = new Map<string, LoggedEvent[]>();
  appendCalls = 0;
  failedAppends = 0;
  failWith: (() => Error) | null = null;
  /** Delay of every append. */
  appendDelayMs = 0;

  async append(events: LoggedEvent[]): Promise<void> {
    this.appendCalls += 1;
    if (this.appendDelayMs) await sleep(this.appendDelayMs);
    if (this.failWith) {
      this.failedAppends += 1;
      throw this.failWith();
    }
    for (const event of events) {
      const list = this.threads.get(event.threadId) ?? [];
      if (!list.some((e) => e.sequence === event.sequence)) list.push(structuredClone(event));
      list.sort((a, b) => a.sequence - b.sequence);
      this.threads.set(event.threadId, list);
    }
  }

  async readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]> {
    if (this.failWith) throw this.failWith();
    return (this.threads.get(threadId) ?? []).filter((e) => e.sequence > afterSequence).slice(0, limit);
  }

  async lastSequence(threadId: string): Promise<number> {
    if (this.failWith) throw this.failWith();
    return this.threads.get(threadId)?.at(-1)?.sequence ?? 0;
  }

  sequences(threadId: string): number[] {
    return (this.threads.get(threadId) ?? []).map((e) => e.sequence);
  }
}

export class FakeThreadLockStore extends ThreadLockStore {
  readonly locks = new Map<string, ThreadLock>();

  async tryAcquire(threadId: string, runId: string, holder: string, ttlMs: number): Promise<LockAttempt> {
    const current = this.live(threadId);
    if (current && current.runId !== runId) return { acquired: false, current };
    this.locks.set(threadId, { threadId, runId, holder, expiresAt: new Date(Date.now() + ttlMs) });
    return { acquired: true };
  }

  async renew(threadId: string, runId: string, ttlMs: number): Promise<boolean> {
    const lock = this.locks.get(threadId);
    if (!lock || lock.runId !== runId) return false;
    lock.expiresAt = new Date(Date.now() + ttlMs);
    return true;
  }

  async release(threadId: string, runId: string): Promise<void> {
    if (this.locks.get(threadId)?.runId === runId) this.locks.delete(threadId);
  }

  async current(threadId: string): Promise<ThreadLock | null> {
    return this.live(threadId);
  }

  async reapExpired(): Promise<ThreadLock[]> {
    const reaped = [...this.locks.values()].filter((lock) => lock.expiresAt.getTime() <= Date.now());
    for (const lock of reaped) this.locks.delete(lock.threadId);
    return reaped;
  }

  private live(threadId: string): ThreadLock | null {
    const lock = this.locks.get(threadId);
    return lock && lock.expiresAt.getTime() > Date.now() ? lock : null;
  }
}

/**
 * Threads, runs, admission and the conversation writer in memory, shared by several runners the
 * way a database is.
 */
export class FakeDatabase {
  readonly eventLog = new FakeEventLogStore();
  readonly locks = new FakeThreadLockStore();
  readonly threads = new Map<string, ThreadRecord>();
  readonly runs = new Map<string, RunRecord>();
  readonly finished: RunOutcome[] = [];
  readonly started: RunStart[] = [];

  readonly admission = {
    admitRun: async (request: RunAdmissionRequest): Promise<AdmissionResult> => {
      const thread = this.threads.get(request.threadId);
      if (thread && thread.ownerId !== request.ownerId) return { admitted: false, reason: 'forbidden' };
      const lock = await this.locks.tryAcquire(request.threadId, request.runId, request.holder, request.ttlMs);
      if (!lock.acquired) return { admitted: false, reason: 'busy', current: lock.current };
      if (!thread) {
        const now = new Date();
        this.threads.set(request.threadId, { id: request.threadId, ownerId: request.ownerId, createdAt: now, updatedAt: now });
      }
      for (const run of this.runs.values()) {
        if (run.threadId === request.threadId && run.id !== request.runId && run.status === 'running') {
          run.status = 'failed';
          run.error = { code: 'RUN_ABANDONED', message: 'abandoned' };
        }
      }
      this.runs.set(request.runId, {
        id: request.runId,
        threadId: request.threadId,
        status: 'running',
        agentName: request.agentName,
        model: request.model,
        startedAt: request.startedAt,
        finishedAt: null,
        error: null,
        usage: null,
      });
      return { admitted: true };
    },
    reapAbandonedRuns: async (): Promise<{ locks: ThreadLock[]; failedRuns: number }> => {
      const locks = await this.locks.reapExpired();
      let failedRuns = 0;
      for (const lock of locks) {
        const run = this.runs.get(lock.runId);
        if (run?.status === 'running') {
          run.status = 'failed';
          run.error = { code: 'RUN_ABANDONED', message: 'abandoned' };
          failedRuns += 1;
        }
      }
      return { locks, failedRuns };
    },
  };

  readonly conversations = {
    findRun: async (runId: string) => this.runs.get(runId) ?? null,
    findThread: async (threadId: string) => this.threads.get(threadId) ?? null,
  };

  readonly writer = {
    runStarted: (run: RunStart) => {
      this.started.push(run);
    },
    runFinished: (outcome: RunOutcome) => {
      this.finished.push(outcome);
      const run = this.runs.get(outcome.runId);
      if (run) {
        run.status = outcome.status;
        run.error = outcome.error;
        run.usage = outcome.usage;
        run.finishedAt = outcome.finishedAt;
      }
    },
    whenIdle: async () => undefined,
    whenThreadIdle: async () => undefined,
  };
}

export function context(signal: AbortSignal = new AbortController().signal, ownerId = 'owner-1'): RequestContext {
  return { requestId: 'req-1', identity: { id: ownerId, anonymous: false }, headers: {}, signal };
}

export interface ScriptOptions {
  /** Text deltas to stream. Default 5. */
  deltas?: number;
  /** Delay before each delta. Default 0 (a macrotask yield every 50 deltas). */
  delayMs?: number;
  /** Ignore the abort signal (a body that does not honour it). */
  ignoreSignal?: boolean;
  /** Stay open after the last delta (until aborted). */
  hang?: boolean;
  /** Throw after the deltas instead of finishing. */
  throwAtEnd?: Error;
}

/** A run body streaming one assistant message, the way the runtime service does. */
export function scriptedBody(threadId: string, runId: string, options: ScriptOptions = {}) {
  const deltas = options.deltas ?? 5;
  return async function* body(signal: AbortSignal): AsyncGenerator<BaseEvent> {
    const check = () => {
      if (!options.ignoreSignal && signal.aborted) throw new Error('aborted');
    };
    yield { type: EventType.RUN_STARTED, threadId, runId } as BaseEvent;
    yield { type: EventType.TEXT_MESSAGE_START, messageId: `m-${runId}`, role: 'assistant' } as BaseEvent;
    for (let i = 0; i < deltas; i++) {
      if (options.delayMs) await sleep(options.delayMs);
      else if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      check();
      yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId: `m-${runId}`, delta: `d${i} ` } as BaseEvent;
    }
    if (options.hang) {
      await new Promise<void>((resolve) => {
        if (!options.ignoreSignal) signal.addEventListener('abort', () => resolve(), { once: true });
      });
      check();
    }
    if (options.throwAtEnd) throw options.throwAtEnd;
    yield { type: EventType.TEXT_MESSAGE_END, messageId: `m-${runId}` } as BaseEvent;
    yield { type: EventType.RUN_FINISHED, threadId, runId } as BaseEvent;
  };
}

export function runRequest(
  threadId: string,
  runId: string,
  options: ScriptOptions & { signal?: AbortSignal; onCallerGone?: 'abort' | 'continue'; ownerId?: string } = {},
): RunStartRequest {
  return {
    ctx: context(options.signal, options.ownerId),
    threadId,
    runId,
    agentName: null,
    model: 'test-model',
    inputMessages: [{ id: `u-${runId}`, role: 'user', content: 'hi' }],
    body: scriptedBody(threadId, runId, options),
    onCallerGone: options.onCallerGone ?? 'abort',
    usage: () => ({ inputTokens: 3, outputTokens: 4, totalTokens: 7 }),
  };
}

export async function collect(events: AsyncIterable<LoggedEvent>): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** Sequences are contiguous (no gaps, no duplicates) from `first`. */
export function expectContiguous(events: LoggedEvent[], first: number): void {
  const sequences = events.map((e) => e.sequence);
  const expected = Array.from({ length: sequences.length }, (_, i) => first + i);
  if (JSON.stringify(sequences) !== JSON.stringify(expected)) {
    throw new Error(`sequences not contiguous from ${first}: ${sequences.join(',')}`);
  }
}

export function types(events: LoggedEvent[]): string[] {
  return events.map((e) => e.event.type);
}
