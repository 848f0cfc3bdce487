import { EventType } from '@ag-ui/core';
import type { RunOutcome, RunStart, RunStatus } from '../../ports/conversation-store.js';
import {
  type AdmissionResult,
  type FinalFlush,
  RUN_ABANDONED_ERROR,
  type RunAdmissionRequest,
  type RunEndRecorded,
  RunStore,
  type ThreadLock,
  withLogFailure,
} from '../../ports/run-stores.js';
import { RUN_STOPPED_EVENT } from '../run-execution.js';
import type { MemoryRun, MemoryRunState, MemoryThread } from './memory-run-state.js';
import type { MemoryThreadLockStore } from './memory-thread-lock-store.js';

/**
 * Where runs are also recorded as threads, runs and messages, when there is one (the
 * ConversationWriter of PersistenceModule, with the in-memory runner beside a database).
 */
export interface RunRecorder {
  runStarted(start: RunStart): void;
  runFinished(outcome: RunOutcome): void;
}

/** Runs and their threads in memory: admission and a run's end in one synchronous step each. */
export class MemoryRunStore extends RunStore {
  constructor(
    private readonly state: MemoryRunState,
    private readonly locks: MemoryThreadLockStore,
    private readonly recorder: RunRecorder | null = null,
  ) {
    super();
  }

  async admitRun(request: RunAdmissionRequest): Promise<AdmissionResult> {
    const existing = this.state.threads.get(request.threadId);
    if (existing && existing.ownerId !== request.ownerId) return { admitted: false, reason: 'forbidden' };
    if (this.state.runs.has(request.runId)) return { admitted: false, reason: 'duplicate_run' };
    const lock = this.locks.acquire(request.threadId, request.runId, request.holder, request.ttlMs);
    if (!lock.acquired) return { admitted: false, reason: 'busy', current: lock.current };
    const thread = this.state.touch(request.threadId, request.ownerId);
    // A run of this thread still 'running' lost its lock (it was taken over once expired): settle it.
    for (const run of thread.runs) if (run.status === 'running') this.settle(thread, run);
    this.state.addRun(thread, request.runId);
    return { admitted: true, lastSequence: thread.lastSequence, inputStored: false };
  }

  recordStart(start: RunStart): void {
    this.recorder?.runStarted(start);
  }

  async finishRun(outcome: RunOutcome, log: FinalFlush): Promise<RunEndRecorded> {
    // The log's last events, the run's end and the lock release in one synchronous step.
    await log.closeWith(async (events) => {
      this.state.append(events);
      return true;
    });
    const final = withLogFailure(outcome, log.failure);
    const entry = this.state.runs.get(outcome.runId);
    if (entry) entry.run.status = final.status;
    this.recorder?.runFinished(final);
    this.locks.releaseNow(outcome.threadId, outcome.runId);
    this.state.runEnded();
    return { lockReleased: true, logFailed: log.failure !== null };
  }

  async reapAbandonedRuns(): Promise<{ locks: ThreadLock[]; failedRuns: number }> {
    const locks = this.locks.reapNow();
    let failedRuns = 0;
    for (const lock of locks) {
      const entry = this.state.runs.get(lock.runId);
      if (entry?.run.status !== 'running') continue;
      this.settle(entry.thread, entry.run);
      failedRuns += 1;
    }
    if (locks.length > 0) this.state.runEnded();
    return { locks, failedRuns };
  }

  async findRun(runId: string): Promise<{ threadId: string; status: RunStatus } | null> {
    const entry = this.state.runs.get(runId);
    return entry ? { threadId: entry.thread.threadId, status: entry.run.status } : null;
  }

  async threadExists(threadId: string): Promise<boolean> {
    return this.state.hasThread(threadId);
  }

  /**
   * Ends a run whose runner died, so that its status agrees with its log (as PostgreSQL's
   * settleAbandonedRuns does): the status its terminal event says, or failed with RUN_ABANDONED
   * and a closing RUN_ERROR in its log, so that replaying the thread never shows a run left open.
   */
  private settle(thread: MemoryThread, run: MemoryRun): void {
    const terminal = [...run.events]
      .reverse()
      .find((e) => e.event.type === EventType.RUN_FINISHED || e.event.type === EventType.RUN_ERROR);
    if (terminal?.event.type === EventType.RUN_FINISHED) {
      const stopped = run.events.some(
        (e) => e.event.type === EventType.CUSTOM && (e.event as { name?: string }).name === RUN_STOPPED_EVENT,
      );
      run.status = stopped ? 'stopped' : 'succeeded';
    } else if (terminal) {
      run.status = 'failed';
    } else {
      run.status = 'failed';
      this.state.append([
        {
          threadId: thread.threadId,
          runId: run.runId,
          sequence: thread.lastSequence + 1,
          event: { type: EventType.RUN_ERROR, ...RUN_ABANDONED_ERROR, timestamp: this.state.clock.now() } as never,
        },
      ]);
    }
    this.recorder?.runFinished({
      runId: run.runId,
      threadId: thread.threadId,
      status: run.status as RunOutcome['status'],
      finishedAt: new Date(this.state.clock.now()),
      error: run.status === 'failed' && !terminal ? { ...RUN_ABANDONED_ERROR } : null,
      usage: null,
      outputMessages: [],
    });
  }
}
