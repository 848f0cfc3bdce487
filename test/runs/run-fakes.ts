import { EventType, type BaseEvent } from '@ag-ui/core';
import { Clock, systemClock } from '../../src/common/clock.js';
import type { RequestContext } from '../../src/common/request-context.js';
import { EventLogStore } from '../../src/ports/run-stores.js';
import type { RunStartRequest } from '../../src/runs/agent-runner.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function connectionLost(): Error {
  return new Error('Connection terminated unexpectedly');
}

/** The event log in a Map: appends idempotent on (thread, sequence), kept in sequence order. */
class MapEventLog extends EventLogStore {
  readonly threads = new Map<string, LoggedEvent[]>();

  async append(events: LoggedEvent[]): Promise<void> {
    for (const event of events) {
      const list = this.threads.get(event.threadId) ?? [];
      if (!list.some((e) => e.sequence === event.sequence)) list.push(structuredClone(event));
      list.sort((a, b) => a.sequence - b.sequence);
      this.threads.set(event.threadId, list);
    }
  }

  async readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]> {
    return (this.threads.get(threadId) ?? []).filter((e) => e.sequence > afterSequence).slice(0, limit);
  }

  async lastSequence(threadId: string): Promise<number> {
    return this.threads.get(threadId)?.at(-1)?.sequence ?? 0;
  }
}

/**
 * An event log that can fail or lag, in front of another one: `failWith` makes appends (and
 * reads) fail while set, `appendDelayMs` delays every append.
 */
export class FlakyEventLog extends EventLogStore {
  appendCalls = 0;
  failedAppends = 0;
  failWith: (() => Error) | null = null;
  appendDelayMs = 0;

  constructor(private readonly inner: EventLogStore) {
    super();
  }

  async append(events: LoggedEvent[]): Promise<void> {
    this.appendCalls += 1;
    if (this.appendDelayMs) await sleep(this.appendDelayMs);
    if (this.failWith) {
      this.failedAppends += 1;
      throw this.failWith();
    }
    await this.inner.append(events);
  }

  async readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]> {
    if (this.failWith) throw this.failWith();
    return this.inner.readAfter(threadId, afterSequence, limit);
  }

  async lastSequence(threadId: string): Promise<number> {
    if (this.failWith) throw this.failWith();
    return this.inner.lastSequence(threadId);
  }
}

/** The system clock, plus a manual offset: moves expiry (locks) forward without waiting. */
export class ManualClock extends Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }

  advance(ms: number): void {
    this.offset += ms;
  }
}

/** Waits for `check` to hold (the event it watches for), checking every few milliseconds. */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5));
}

export function context(signal: AbortSignal = new AbortController().signal, ownerId = 'owner-1'): RequestContext {
  return { requestId: 'req-1', identity: { id: ownerId, anonymous: false }, headers: {}, signal, log: { requestId: 'req-1' } };
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

/** The event log in memory, failing or lagging on demand (see FlakyEventLog). */
export class FakeEventLogStore extends FlakyEventLog {
  private readonly stored: MapEventLog;

  constructor() {
    const stored = new MapEventLog();
    super(stored);
    this.stored = stored;
  }

  get threads(): Map<string, LoggedEvent[]> {
    return this.stored.threads;
  }

  sequences(threadId: string): number[] {
    return (this.threads.get(threadId) ?? []).map((e) => e.sequence);
  }
}
