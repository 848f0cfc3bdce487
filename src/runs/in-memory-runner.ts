import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import type { ConversationWriter } from '../persistence/conversation-writer.js';
import type {
  AgentRunner,
  BusyThreadPolicy,
  RunSession,
  RunStartRequest,
  StopOutcome,
} from './agent-runner.js';
import { callerStream } from './caller-stream.js';
import type { LoggedEvent } from './logged-event.js';
import { isTerminal, RunExecution } from './run-execution.js';
import type { RunEventBus } from './run-event-bus.js';
import {
  busyError,
  deadline,
  forbiddenError,
  notFound,
  notifyFinished,
  notRunning,
  validateRequest,
} from './runner-support.js';

export interface InMemoryAgentRunnerOptions {
  busyThreadPolicy: BusyThreadPolicy;
  queueTimeoutMs: number;
  /** Threads kept; idle ones beyond it are evicted, least recently used first. */
  maxThreads: number;
  /** Runs whose events are kept per thread (the oldest go first). */
  maxRunsPerThread: number;
  /** Approximate JSON size of all events kept. */
  maxBytes: number;
  shutdownTimeoutMs: number;
  /** How long `stop` waits for the run to end before answering. Default 5000 ms. */
  stopWaitMs?: number;
}

export interface InMemoryAgentRunnerDeps {
  bus: RunEventBus;
  /** When given, runs are also recorded as threads, runs and messages (the ConversationStore). */
  writer?: Pick<ConversationWriter, 'runStarted' | 'runFinished'> | null;
}

interface MemoryRun {
  runId: string;
  events: LoggedEvent[];
  bytes: number;
}

interface ActiveMemoryRun {
  runId: string;
  execution: RunExecution;
  bodyDone: boolean;
  finalized: Promise<void>;
}

interface MemoryThread {
  threadId: string;
  ownerId: string;
  /** Oldest first. */
  runs: MemoryRun[];
  nextSequence: number;
  bytes: number;
  active: ActiveMemoryRun | null;
}

/** Per event, beyond its JSON: the LoggedEvent wrapper and array slot. */
const EVENT_OVERHEAD_BYTES = 64;

/**
 * The runner for development and tests: the same semantics as the Postgres runner (one run per
 * thread, busy-thread policy, replay then live tail, stop) within one process and without a
 * database. Memory is bounded: threads (LRU), runs per thread and an approximate byte budget.
 * Eviction never touches a thread with a running run: while every thread runs, the bounds are
 * exceeded until runs end. Sequences keep counting across evictions of a thread's old runs;
 * a thread evicted entirely starts again from 1.
 */
export class InMemoryAgentRunner implements AgentRunner {
  private readonly logger = new Logger(InMemoryAgentRunner.name);
  /** In LRU order: the first entry is the least recently used. */
  private readonly threads = new Map<string, MemoryThread>();
  private readonly threadOfRun = new Map<string, string>();
  private totalBytes = 0;
  private closing = false;
  private readonly stopWaitMs: number;

  constructor(
    private readonly deps: InMemoryAgentRunnerDeps,
    private readonly options: InMemoryAgentRunnerOptions,
  ) {
    this.stopWaitMs = options.stopWaitMs ?? 5_000;
  }

  /** Memory held, for tests and metrics. */
  get usage(): { threads: number; bytes: number } {
    return { threads: this.threads.size, bytes: this.totalBytes };
  }

  hasThread(threadId: string): boolean {
    return this.threads.has(threadId);
  }

  async run(request: RunStartRequest): Promise<RunSession> {
    validateRequest(request);
    if (this.closing) {
      throw new CopilotRuntimeError('NETWORK_ERROR', 'The server is shutting down; try again in a moment.');
    }
    const { ctx, threadId, runId } = request;
    await this.admit(request);

    const thread = this.touch(threadId, ctx.identity.id);
    const run: MemoryRun = { runId, events: [], bytes: 0 };
    thread.runs.push(run);
    this.threadOfRun.set(runId, threadId);
    this.trimRuns(thread);
    this.evictThreads(thread);

    const startedAt = new Date();
    this.deps.writer?.runStarted({
      runId,
      threadId,
      ownerId: ctx.identity.id,
      agentName: request.agentName,
      model: request.model,
      startedAt,
      inputMessages: request.inputMessages,
    });

    const execution = new RunExecution({
      threadId,
      runId,
      body: request.body,
      usage: request.usage,
      emit: (event) => {
        const size = approximateSize(event);
        run.events.push(event);
        run.bytes += size;
        thread.bytes += size;
        this.totalBytes += size;
        thread.nextSequence = event.sequence + 1;
        this.deps.bus.publish(event);
        if (this.totalBytes > this.options.maxBytes) this.evictBytes(thread);
      },
    });
    const active: ActiveMemoryRun = { runId, execution, bodyDone: false, finalized: Promise.resolve() };
    thread.active = active;

    const stream = callerStream({
      bus: this.deps.bus,
      threadId,
      runId,
      callerSignal: ctx.signal,
      onCallerGone: request.onCallerGone,
      abortRun: () => execution.abort('caller_gone'),
    });
    active.finalized = (async () => {
      const result = await execution.execute(thread.nextSequence);
      active.bodyDone = true;
      this.deps.writer?.runFinished({
        runId,
        threadId,
        status: result.status,
        finishedAt: new Date(),
        error: result.error,
        usage: result.usage,
        outputMessages: result.outputMessages,
      });
      thread.active = null;
      notifyFinished(request.onFinished, result);
      // Idle now: the bounds may apply to it again.
      this.evictThreads(null);
      if (this.totalBytes > this.options.maxBytes) this.evictBytes(null);
    })()
      .catch((error: unknown) => this.logger.error(`Run ${runId} could not be finished: ${String(error)}`))
      .finally(() => stream.end());
    return { threadId, runId, events: stream.events };
  }

  async *connect(threadId: string, afterSequence: number, signal: AbortSignal): AsyncGenerator<LoggedEvent> {
    const thread = this.threads.get(threadId);
    if (thread) this.touch(threadId, thread.ownerId);
    let live: LoggedEvent[] = [];
    let wake: (() => void) | null = null;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    // Subscribed and snapshotted in the same tick: nothing falls between them.
    const unsubscribe = this.deps.bus.subscribe(threadId, (event) => {
      live.push(event);
      poke();
    });
    signal.addEventListener('abort', poke);
    const replay = (thread?.runs ?? []).flatMap((run) => run.events.filter((e) => e.sequence > afterSequence));
    const active = thread?.active ?? null;
    let last = afterSequence;
    try {
      for (const event of replay) {
        if (signal.aborted) return;
        last = event.sequence;
        yield event;
      }
      if (!active) return;
      let ended = replay.some((e) => e.runId === active.runId && isTerminal(e.event));
      void active.finalized.then(poke);
      while (!signal.aborted && !ended) {
        const batch = live;
        live = [];
        for (const event of batch) {
          if (event.sequence <= last) continue;
          last = event.sequence;
          if (event.runId === active.runId && isTerminal(event.event)) ended = true;
          yield event;
        }
        if (ended || live.length > 0) continue;
        if (!thread!.active || thread!.active !== active) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (!signal.aborted) await deadline(active.finalized, this.stopWaitMs);
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', poke);
    }
  }

  async isRunning(threadId: string): Promise<boolean> {
    return Boolean(this.threads.get(threadId)?.active);
  }

  async stop(target: { threadId?: string; runId?: string }): Promise<StopOutcome> {
    const { runId } = target;
    if (!target.threadId && !runId) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', 'Stopping a run needs its threadId or its runId.');
    }
    const threadId = target.threadId ?? this.threadOfRun.get(runId!);
    const thread = threadId ? this.threads.get(threadId) : undefined;
    if (!thread) {
      return runId ? notFound(`Run ${runId} was not found.`) : notFound(`Thread ${threadId} was not found.`);
    }
    if (runId && this.threadOfRun.get(runId) !== thread.threadId) return notFound(`Run ${runId} was not found.`);
    const active = thread.active;
    if (!active || (runId && active.runId !== runId) || active.bodyDone) {
      return runId
        ? notRunning(`The run ${runId} already finished.`)
        : notRunning(`Thread ${thread.threadId} has no active run.`);
    }
    active.execution.abort('stop');
    await deadline(active.finalized, this.stopWaitMs);
    return { stopped: true, threadId: thread.threadId, runId: active.runId };
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    const runs = [...this.threads.values()].flatMap((thread) => (thread.active ? [thread.active] : []));
    for (const run of runs) run.execution.abort('shutdown');
    await deadline(Promise.all(runs.map((run) => run.finalized)), this.options.shutdownTimeoutMs);
  }

  private async admit(request: RunStartRequest): Promise<void> {
    const { ctx, threadId, runId } = request;
    const waitUntil = Date.now() + this.options.queueTimeoutMs;
    for (;;) {
      const thread = this.threads.get(threadId);
      if (thread && thread.ownerId !== ctx.identity.id) throw forbiddenError(threadId);
      const active = thread?.active;
      if (!active) return;
      if (this.options.busyThreadPolicy === 'fail' || active.runId === runId) {
        throw busyError(threadId, active.runId);
      }
      if (this.options.busyThreadPolicy === 'supersede') active.execution.abort('superseded');
      const remaining = waitUntil - Date.now();
      if (remaining <= 0 || ctx.signal.aborted) {
        throw new CopilotRuntimeError(
          'THREAD_BUSY',
          `Thread ${threadId} still had an active run (${active.runId}) after waiting. Wait for it to finish or stop it.`,
        );
      }
      const onAbort = new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await deadline(Promise.race([active.finalized, onAbort]), remaining);
    }
  }

  /** The thread, created if new, moved to the most recently used end. */
  private touch(threadId: string, ownerId: string): MemoryThread {
    let thread = this.threads.get(threadId);
    if (thread) {
      this.threads.delete(threadId);
    } else {
      thread = { threadId, ownerId, runs: [], nextSequence: 1, bytes: 0, active: null };
    }
    this.threads.set(threadId, thread);
    return thread;
  }

  /** Keeps the last maxRunsPerThread runs' events of the thread. */
  private trimRuns(thread: MemoryThread): void {
    while (thread.runs.length > this.options.maxRunsPerThread) {
      const oldest = thread.runs[0]!;
      if (thread.active?.runId === oldest.runId) return;
      this.dropRun(thread, 0);
    }
  }

  private dropRun(thread: MemoryThread, index: number): void {
    const [run] = thread.runs.splice(index, 1);
    if (!run) return;
    thread.bytes -= run.bytes;
    this.totalBytes -= run.bytes;
    this.threadOfRun.delete(run.runId);
  }

  /** Evicts idle threads, least recently used first, until within maxThreads. */
  private evictThreads(keep: MemoryThread | null): void {
    if (this.threads.size <= this.options.maxThreads) return;
    for (const thread of [...this.threads.values()]) {
      if (this.threads.size <= this.options.maxThreads) return;
      if (thread === keep || thread.active) continue;
      this.evictThread(thread);
    }
  }

  /** Over the byte budget: idle threads go first (LRU), then old runs of busy threads. */
  private evictBytes(keep: MemoryThread | null): void {
    for (const thread of [...this.threads.values()]) {
      if (this.totalBytes <= this.options.maxBytes) return;
      if (thread === keep || thread.active) continue;
      this.evictThread(thread);
    }
    for (const thread of [...this.threads.values()]) {
      for (let i = 0; i < thread.runs.length && this.totalBytes > this.options.maxBytes; ) {
        if (thread.active?.runId === thread.runs[i]!.runId) i++;
        else this.dropRun(thread, i);
      }
      if (this.totalBytes <= this.options.maxBytes) return;
    }
  }

  private evictThread(thread: MemoryThread): void {
    while (thread.runs.length > 0) this.dropRun(thread, 0);
    this.threads.delete(thread.threadId);
  }
}

function approximateSize(event: LoggedEvent): number {
  try {
    return JSON.stringify(event.event).length + EVENT_OVERHEAD_BYTES;
  } catch {
    return EVENT_OVERHEAD_BYTES;
  }
}
