import { Logger } from '@nestjs/common';
import { type Clock, systemClock } from '../common/clock.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { LOCK_RELEASE_RETRY, READ_RETRY, RetryPolicy } from '../common/retry-policy.js';
import type { RunOutcome } from '../ports/conversation-store.js';
import type { AdmissionResult, RunPorts, ThreadLock } from '../ports/run-stores.js';
import type {
  AgentRunner,
  RunSession,
  RunStartRequest,
  StopOutcome,
} from './agent-runner.js';
import { callerStream } from './caller-stream.js';
import { EventLogWriter, type EventLogWriterOptions } from './event-log-writer.js';
import { DEFAULT_MAX_EVENTS_PER_STATEMENT, EventLogFlusher } from './event-log-flusher.js';
import { LockHeartbeat } from './lock-heartbeat.js';
import type { LoggedEvent } from './logged-event.js';
import { RunExecution, type RunResult, type StopReason } from './run-execution.js';
import type { RunEventBus } from './run-event-bus.js';
import type { ResolvedRunsOptions } from './runs-options.js';
import { type FollowSource, followThread, REPLAY_PAGE_SIZE } from './thread-follower.js';
import {
  busyError,
  deadline,
  describe,
  forbiddenError,
  notFound,
  notifyFinished,
  notRunning,
  validateRequest,
} from './runner-support.js';

/** The resolved runs options the core uses (not which runner, nor memory bounds), and its own knobs. */
export interface RunCoreOptions extends Omit<ResolvedRunsOptions, 'runner' | 'memory'> {
  /** This process's runtime instance id: the `holder` of the locks it takes. */
  instanceId: string;
  /** How long `stop` waits for the run to end before answering. Default 5000 ms. */
  stopWaitMs?: number;
  /** Fallback poll of `connect` for missed signals and dead holders. Default min(1000, lockTtlMs / 3). */
  pollIntervalMs?: number;
  /** Period of the reaper of expired locks. Default lockTtlMs; 0 disables it. */
  reapIntervalMs?: number;
  /** Most events in one shared event-log append statement (default 10,000; more are split). */
  maxEventsPerFlush?: number;
  /** Retry tuning of the event log writer (tests). */
  writer?: Partial<EventLogWriterOptions>;
}

export interface RunCoreDeps {
  /** The storage adapters: PostgreSQL (persistence/) or memory (runs/memory/). */
  ports: RunPorts;
  bus: RunEventBus;
  clock?: Clock;
}

interface ActiveRun {
  threadId: string;
  runId: string;
  execution: RunExecution;
  log: EventLogWriter;
  /** The body has ended and its terminal event is out; the run is being recorded. */
  bodyDone: boolean;
  /** Resolves once the run is recorded and its lock released. Never rejects. */
  finalized: Promise<void>;
  onFinished?: RunStartRequest['onFinished'];
}

/**
 * The one runner: admission per the busy-thread policy, the pump (RunExecution), numbering,
 * publishing on the RunEventBus, batched logging (EventLogWriter), the lock's heartbeat, stop,
 * connect (replay, then follow), reaping of expired locks and shutdown, over the run ports.
 * PostgreSQL adapters make it durable and cross-instance (any instance on the database can
 * connect to or stop any run, through RunSignals); memory adapters make it a bounded, one-process
 * runner for development and tests. The contract suite (test/runs/runner.contract.spec.ts) runs
 * against both.
 *
 * The run store is the truth about how a run ended: a run whose process died keeps a log that just
 * stops (no terminal event); the reaper (or the next admission on the thread) marks it failed
 * with RUN_ABANDONED once its lock has expired.
 */
export class RunCore implements AgentRunner {
  private readonly logger = new Logger(RunCore.name);
  private readonly byThread = new Map<string, ActiveRun>();
  private readonly byRun = new Map<string, ActiveRun>();
  private readonly stopWaitMs: number;
  private readonly pollIntervalMs: number;
  /** Runs between admission and their pump: a stop request arriving then is kept for them. */
  private readonly starting = new Map<string, StopReason | null>();
  private reaper: NodeJS.Timeout | null = null;
  /** One renewal statement for all the locks this instance holds (not one per run). */
  private readonly heartbeat: LockHeartbeat;
  /** One event-log append per interval for all the runs of this instance (not one per run). */
  private readonly flusher: EventLogFlusher;
  private unsubscribeStops: (() => void) | null = null;
  private closing = false;
  private readonly ports: RunPorts;
  private readonly bus: RunEventBus;
  private readonly clock: Clock;
  /** Reads (stop, connect, numbering) retry through a storage blip, at most maxOutageMs. */
  private readonly readRetry: RetryPolicy;
  private readonly releaseRetry: RetryPolicy;
  /** What connect reads a thread from: the log, the lock, the bus and this instance's runs. */
  private readonly followSource: FollowSource;

  constructor(
    deps: RunCoreDeps,
    private readonly options: RunCoreOptions,
  ) {
    this.ports = deps.ports;
    this.bus = deps.bus;
    this.clock = deps.clock ?? systemClock;
    this.stopWaitMs = options.stopWaitMs ?? 5_000;
    this.pollIntervalMs = options.pollIntervalMs ?? Math.min(1_000, options.lockTtlMs / 3);
    this.readRetry = new RetryPolicy(
      { ...READ_RETRY, maxOutageMs: options.maxOutageMs },
      this.ports.isRetryable,
      this.clock,
    );
    this.heartbeat = new LockHeartbeat(this.ports.locks, options.lockTtlMs);
    this.flusher = new EventLogFlusher(this.ports.eventLog, {
      flushIntervalMs: options.flushIntervalMs,
      maxEventsPerStatement: options.maxEventsPerFlush ?? DEFAULT_MAX_EVENTS_PER_STATEMENT,
      isRetryable: this.ports.isRetryable,
    });
    this.releaseRetry = new RetryPolicy(LOCK_RELEASE_RETRY, this.ports.isRetryable, this.clock);
    this.followSource = {
      bus: this.bus,
      signals: this.ports.signals,
      pollIntervalMs: this.pollIntervalMs,
      stopWaitMs: this.stopWaitMs,
      localRun: (threadId) => this.byThread.get(threadId) ?? null,
      localRunById: (runId) => this.byRun.get(runId) ?? null,
      readAfter: (threadId, after, signal) => this.readAfter(threadId, after, signal),
      currentLock: (threadId) => this.currentLock(threadId),
    };
  }

  /** The storage these runs are kept in, for error messages. */
  private get storageLabel(): string {
    return this.ports.storageLabel;
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Runs this instance is admitting or running (graceful drain, metrics). */
  get activeRunCount(): number {
    let count = this.byRun.size;
    for (const runId of this.starting.keys()) if (!this.byRun.has(runId)) count++;
    return count;
  }

  /** Starts answering stop requests from other instances and reaping expired locks. */
  start(): void {
    this.unsubscribeStops ??= this.ports.signals.onStopRequest((notice) => {
      const active = this.byRun.get(notice.runId);
      if (active) active.execution.abort(notice.reason);
      else if (this.starting.get(notice.runId) === null) this.starting.set(notice.runId, notice.reason);
    });
    const reapEvery = this.options.reapIntervalMs ?? this.options.lockTtlMs;
    if (reapEvery > 0 && !this.reaper) {
      this.reaper = setInterval(() => void this.reapOnce(), reapEvery);
      this.reaper.unref();
    }
  }

  async run(request: RunStartRequest): Promise<RunSession> {
    validateRequest(request);
    this.assertOpen();
    const { threadId, runId } = request;
    if (this.byRun.has(runId) || this.starting.has(runId)) throw busyError(threadId, runId);
    this.starting.set(runId, null);
    try {
      return await this.admitAndStart(request);
    } finally {
      this.starting.delete(runId);
    }
  }

  private async admitAndStart(request: RunStartRequest): Promise<RunSession> {
    const { ctx, threadId, runId } = request;
    const startedAt = new Date(this.clock.now());
    const admitted = await this.admit(request, startedAt);

    const log: EventLogWriter = new EventLogWriter(
      this.ports.eventLog,
      {
        ...this.options.writer,
        maxBatchSize: this.options.flushBatchSize,
        flushIntervalMs: this.options.flushIntervalMs,
        maxOutageMs: this.options.maxOutageMs,
      },
      {
        databaseLabel: this.storageLabel,
        isRetryable: this.ports.isRetryable,
        clock: this.clock,
        flusher: this.flusher,
        onFlushed: (lastSequence) => this.ports.signals.publishThreadEvents({ threadId, lastSequence }),
        onFailure: (error) => execution.abort('persistence', error),
      },
    );

    let firstSequence: number;
    try {
      const last = admitted.lastSequence ?? (await this.retrying(() => this.ports.eventLog.lastSequence(threadId)));
      firstSequence = last + 1;
    } catch (error) {
      const failure = this.unavailable(error);
      // Recorded (and the thread freed) in the background: the storage has just failed a read for
      // maxOutageMs, the caller should not wait as long again for the answer.
      void this.ports.runs
        .finishRun(
          {
            runId,
            threadId,
            status: 'failed',
            finishedAt: new Date(this.clock.now()),
            error: { code: failure.code, message: failure.message },
            usage: null,
            outputMessages: [],
          },
          log,
        )
        .then((recorded) => (recorded.lockReleased ? undefined : this.release(threadId, runId)));
      throw failure;
    }

    // Stored with the admission where the store can; otherwise queued behind the stream.
    if (!admitted.inputStored) this.ports.runs.recordStart({
      runId,
      threadId,
      ownerId: ctx.identity.id,
      agentName: request.agentName,
      model: request.model,
      startedAt,
      inputMessages: request.inputMessages,
      runInput: request.runInput,
    });

    const execution: RunExecution = new RunExecution({
      threadId,
      runId,
      log: { ...ctx.log, identity: ctx.identity.id, threadId, runId },
      body: (signal) => request.body(signal, { storedState: admitted.agentState }),
      usage: request.usage,
      emitBatch: (events) => {
        // Queued before they are published: a subscriber always finds an event in the log or here.
        log.enqueueAll(events);
        this.bus.publishBatch(events);
      },
    });
    const active: ActiveRun = {
      threadId,
      runId,
      execution,
      log,
      bodyDone: false,
      finalized: Promise.resolve(),
      onFinished: request.onFinished,
    };
    this.byThread.set(threadId, active);
    this.byRun.set(runId, active);

    // Subscribed before the pump starts: the caller misses nothing.
    const stream = callerStream({
      bus: this.bus,
      threadId,
      runId,
      callerSignal: ctx.signal,
      onCallerGone: request.onCallerGone,
      abortRun: () => execution.abort('caller_gone'),
    });
    const early = this.starting.get(runId);
    if (early) execution.abort(early);
    active.finalized = this.drive(active, firstSequence).finally(() => stream.end());
    return { threadId, runId, events: stream.events };
  }

  connect(threadId: string, afterSequence: number, signal: AbortSignal): AsyncIterable<LoggedEvent> {
    return followThread(this.followSource, threadId, afterSequence, signal);
  }

  async isRunning(threadId: string): Promise<boolean> {
    if (this.byThread.has(threadId)) return true;
    try {
      return (await this.ports.locks.current(threadId)) !== null;
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  async stop(target: { threadId?: string; runId?: string }): Promise<StopOutcome> {
    const { threadId, runId } = target;
    if (!threadId && !runId) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', 'Stopping a run needs its threadId or its runId.');
    }
    const local = runId ? this.byRun.get(runId) : this.byThread.get(threadId!);
    if (local && (!threadId || local.threadId === threadId)) {
      if (local.bodyDone) return notRunning(`The run ${local.runId} already finished.`);
      local.execution.abort('stop');
      await deadline(local.finalized, this.stopWaitMs);
      return { stopped: true, threadId: local.threadId, runId: local.runId };
    }

    try {
      let lock: ThreadLock | null;
      if (runId) {
        const run = await this.retrying(() => this.ports.runs.findRun(runId));
        if (!run || (threadId && run.threadId !== threadId)) return notFound(`Run "${runId}" was not found.`);
        lock = await this.retrying(() => this.ports.locks.current(run.threadId));
        if (run.status !== 'running' || !lock || lock.runId !== runId) {
          return notRunning(`The run ${runId} already finished.`);
        }
      } else {
        lock = await this.retrying(() => this.ports.locks.current(threadId!));
        if (!lock) {
          const thread = await this.retrying(() => this.ports.runs.threadExists(threadId!));
          return thread
            ? notRunning(`Thread "${threadId}" has no active run.`)
            : notFound(`Thread "${threadId}" was not found.`);
        }
      }
      await this.ports.signals.requestStop({ runId: lock.runId, reason: 'stop' });
      await this.waitUntilReleased(lock, this.stopWaitMs);
      return { stopped: true, threadId: lock.threadId, runId: lock.runId };
    } catch (error) {
      if (error instanceof CopilotRuntimeError) throw error;
      throw this.unavailable(error);
    }
  }

  /**
   * Aborts the runs in flight (they end failed, "the server shut down"), waits for them to be
   * recorded and their locks released, at most `shutdownTimeoutMs`; what is left then is
   * abandoned (its locks expire, the reaper of another instance fails its runs).
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (this.reaper) clearInterval(this.reaper);
    this.reaper = null;
    this.unsubscribeStops?.();
    this.unsubscribeStops = null;
    const runs = [...this.byRun.values()];
    for (const run of runs) run.execution.abort('shutdown');
    const done = await deadline(
      Promise.all(runs.map((run) => run.finalized)),
      this.options.shutdownTimeoutMs,
    );
    if (!done) {
      this.logger.error(
        `Shutdown left ${runs.length} run(s) unfinished after ${this.options.shutdownTimeoutMs} ms: ` +
          runs.map((run) => run.runId).join(', '),
      );
      for (const run of runs) run.log.abandon();
    }
    this.heartbeat.stop();
  }

  /** One pass of the reaper: expired locks deleted, their runs failed (RUN_ABANDONED). */
  async reapOnce(): Promise<ThreadLock[]> {
    let reaped: ThreadLock[];
    try {
      ({ locks: reaped } = await this.ports.runs.reapAbandonedRuns());
    } catch (error) {
      this.logger.warn(`Reaping expired thread locks failed: ${describe(error)}`);
      return [];
    }
    for (const lock of reaped) {
      this.logger.warn(
        `Reaped the expired lock of thread ${lock.threadId} (run ${lock.runId}, holder ${lock.holder})`,
      );
      // Our own run, if its heartbeat could not keep up: it no longer owns the thread.
      this.byRun.get(lock.runId)?.execution.abort('lock_lost');
      this.ports.signals.publishThreadEvents({ threadId: lock.threadId, lastSequence: 0, ended: true });
    }
    return reaped;
  }

  /** Takes the thread (per the busy-thread policy) or throws. */
  private async admit(request: RunStartRequest, startedAt: Date): Promise<Extract<AdmissionResult, { admitted: true }>> {
    const { ctx, threadId, runId } = request;
    const policy = this.options.busyThreadPolicy;
    const waitUntil = this.clock.now() + this.options.queueTimeoutMs;
    let superseded: string | null = null;
    for (;;) {
      let result: AdmissionResult;
      try {
        result = await this.ports.runs.admitRun({
          threadId,
          runId,
          ownerId: ctx.identity.id,
          holder: this.options.instanceId,
          ttlMs: this.options.lockTtlMs,
          agentName: request.agentName,
          model: request.model,
          startedAt,
          inputMessages: request.inputMessages,
          runInput: request.runInput,
          agentStateOf: request.initialStateOf,
        });
      } catch (error) {
        throw this.unavailable(error);
      }
      if (result.admitted) return result;
      if (result.reason === 'forbidden') throw forbiddenError(threadId);
      if (result.reason === 'duplicate_run') {
        throw new CopilotRuntimeError(
          'BAD_USER_INPUT',
          `runId "${runId}" cannot start a new run (run ids are single-use): omit runId to get a new one.`,
        );
      }
      const current = result.current;
      if (policy === 'fail') throw busyError(threadId, current.runId);
      if (policy === 'supersede' && superseded !== current.runId) {
        superseded = current.runId;
        await this.requestStop(current, 'superseded');
      }
      if (ctx.signal.aborted) {
        throw new CopilotRuntimeError(
          'THREAD_BUSY',
          `Thread ${threadId} already has an active run (${current.runId}); the client went away while waiting.`,
        );
      }
      const remaining = waitUntil - this.clock.now();
      if (remaining <= 0) {
        throw new CopilotRuntimeError(
          'THREAD_BUSY',
          `Thread ${threadId} still had an active run (${current.runId}) after waiting ` +
            `${this.options.queueTimeoutMs} ms. Wait for it to finish or stop it.`,
        );
      }
      await this.waitForThread(threadId, Math.min(remaining, this.pollIntervalMs), ctx.signal);
    }
  }

  private async requestStop(lock: ThreadLock, reason: StopReason): Promise<void> {
    const local = this.byRun.get(lock.runId);
    if (local) {
      local.execution.abort(reason);
      return;
    }
    try {
      await this.ports.signals.requestStop({ runId: lock.runId, reason });
    } catch (error) {
      this.logger.warn(`Could not ask for run ${lock.runId} to stop: ${describe(error)}`);
    }
  }

  /** The run's life after admission: pump, then its end (final flush, final state, lock release). Never rejects. */
  private async drive(active: ActiveRun, firstSequence: number): Promise<void> {
    const { threadId, runId } = active;
    const releaseHeartbeat = this.heartbeat.hold(threadId, runId, () => this.lockLost(active));
    let logFailed = false;
    let released = false;
    let endAnnounced = false;
    let result: RunResult | null = null;
    try {
      result = await active.execution.execute(firstSequence);
      active.bodyDone = true;
      const outcome: RunOutcome = {
        runId,
        threadId,
        status: result.status,
        finishedAt: new Date(this.clock.now()),
        error: result.error,
        usage: result.usage,
        outputMessages: result.outputMessages,
      };
      ({ lockReleased: released, logFailed, endAnnounced = false } = await this.ports.runs.finishRun(outcome, active.log));
    } catch (error) {
      this.logger.error(`Finishing run ${runId} of thread ${threadId} failed: ${describe(error)}`);
    } finally {
      releaseHeartbeat();
      // Storage that could not take the log will hardly take the release: try once, it expires anyway.
      if (!released) await this.release(threadId, runId, logFailed ? 1 : undefined);
      // The thread may already be another run's: its end was announced with its record.
      if (this.byThread.get(threadId) === active) this.byThread.delete(threadId);
      this.byRun.delete(runId);
      if (!endAnnounced) {
        this.ports.signals.publishThreadEvents({ threadId, lastSequence: active.log.lastWrittenSequence, ended: true });
      }
      if (result) notifyFinished(active.onFinished, result);
    }
  }

  /** The heartbeat found the run's lock gone (expired and taken, reaped, or released). */
  private lockLost(active: ActiveRun): void {
    // A renewal answered after the body ended may have raced the run's own end (which releases
    // the lock): not a lost lock, and nothing left to abort.
    if (active.bodyDone) return;
    this.logger.error(`Run ${active.runId} lost the lock of thread ${active.threadId}`);
    active.execution.abort('lock_lost');
  }

  /** Releases the lock; if the storage does not answer, the lock simply expires. */
  private async release(threadId: string, runId: string, maxAttempts?: number): Promise<void> {
    const policy = maxAttempts === undefined ? this.releaseRetry : this.releaseRetry.with({ maxAttempts });
    try {
      await policy.run(() => this.ports.locks.release(threadId, runId));
    } catch (error) {
      this.logger.warn(
        `Could not release the lock of thread ${threadId} (run ${runId}); it expires in ` +
          `${this.options.lockTtlMs} ms: ${describe(error)}`,
      );
    }
  }

  /** Resolves on news of the thread (a run ended), on `signal`, or after `ms`. */
  private waitForThread(threadId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      const unsubscribe = this.ports.signals.onThreadEvents(threadId, (notice) => {
        if (notice.ended) finish();
      });
      signal?.addEventListener('abort', finish, { once: true });
      const local = this.byThread.get(threadId);
      if (local) void local.finalized.then(finish);
    });
  }

  private async waitUntilReleased(lock: ThreadLock, ms: number): Promise<boolean> {
    const until = this.clock.now() + ms;
    for (;;) {
      const current = await this.retrying(() => this.ports.locks.current(lock.threadId));
      if (!current || current.runId !== lock.runId) return true;
      const remaining = until - this.clock.now();
      if (remaining <= 0) return false;
      await this.waitForThread(lock.threadId, Math.min(remaining, 250));
    }
  }

  private async currentLock(threadId: string): Promise<ThreadLock | null> {
    try {
      return await this.retrying(() => this.ports.locks.current(threadId));
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  private async readAfter(threadId: string, after: number, signal: AbortSignal): Promise<LoggedEvent[]> {
    try {
      return await this.retrying(
        () => this.ports.eventLog.readAfter(threadId, after, REPLAY_PAGE_SIZE),
        signal,
      );
    } catch (error) {
      if (signal.aborted) return [];
      throw this.unavailable(error);
    }
  }

  /** Retries a read through a storage blip, for at most `maxOutageMs`. */
  private retrying<T>(read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.readRetry.run(read, { signal });
  }

  /**
   * A storage failure as the caller sees it: retryable, and naming nothing of the storage (no
   * URL, host, user or driver message on the wire); the details go to the log under the errorId
   * the caller gets.
   */
  private unavailable(error: unknown): CopilotRuntimeError {
    if (error instanceof CopilotRuntimeError) return error;
    const errorId = newId('err');
    this.logger.warn(`[${errorId}] PERSISTENCE_UNAVAILABLE: ${this.storageLabel} did not answer (${describe(error)})`);
    return new CopilotRuntimeError('PERSISTENCE_UNAVAILABLE', 'Runs are unavailable: the database did not answer; try again in a moment.', {
      cause: error,
      errorId,
      retryAfter: 5,
    });
  }

  private assertOpen(): void {
    if (this.closing) {
      throw new CopilotRuntimeError('NETWORK_ERROR', 'The server is shutting down; try again in a moment.');
    }
  }
}
