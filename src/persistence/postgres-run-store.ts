import { Logger } from '@nestjs/common';
import {
  type AdmissionResult,
  type FinalFlush,
  type RunAdmissionRequest,
  type RunEndRecorded,
  RunStore,
  type ThreadLock,
  withLogFailure,
} from '../ports/run-stores.js';
import type { ConversationStore, RunOutcome, RunStart, RunStatus } from '../ports/conversation-store.js';
import type { ConversationWriter } from './conversation-writer.js';
import type { PostgresRunSignals } from './postgres-run-signals.js';
import type { RunAdmission } from './run-admission.js';

/**
 * Runs in PostgreSQL: admission in one statement (RunAdmission), the run's start through the
 * write-behind ConversationWriter when the admission could not store it, and the run's end.
 */
export class PostgresRunStore extends RunStore {
  private readonly logger = new Logger(PostgresRunStore.name);

  constructor(
    private readonly admission: RunAdmission,
    private readonly writer: ConversationWriter,
    private readonly conversations: ConversationStore,
    /** How long the run's end waits for the writer's earlier writes of its thread. */
    private readonly maxWaitMs: number,
    /** The signals of the same database: the statement recording a run's end announces it. */
    private readonly signals?: PostgresRunSignals,
  ) {
    super();
  }

  admitRun(request: RunAdmissionRequest): Promise<AdmissionResult> {
    return this.admission.admitRun(request);
  }

  recordStart(start: RunStart): void {
    this.writer.runStarted(start);
  }

  /**
   * The fast path: once the writer's earlier writes of the thread (the run's start) have landed,
   * the log's final flush, the run's record, its lock release and the notice of its end in ONE
   * statement. Else (the run row is not there yet, or the statement failed; nothing is lost, the
   * log keeps what it could not hand over) the slow path: the final flush, retrying, then the
   * writer, which retries through an outage on its own; recorded before the core releases the
   * lock, so that a new run never sees this one still 'running'.
   */
  async finishRun(outcome: RunOutcome, log: FinalFlush): Promise<RunEndRecorded> {
    if (!log.failure) {
      await deadline(this.writer.whenThreadIdle(outcome.threadId), this.maxWaitMs);
      let endAnnounced = false;
      const stored = await log.closeWith(async (events) => {
        const lastSequence = events.length > 0 ? events[events.length - 1]!.sequence : log.lastWrittenSequence;
        const endNotice = this.signals?.runEndNotice(outcome.threadId, lastSequence);
        try {
          const recorded = await this.admission.finishAndRelease(outcome, events, endNotice);
          if (recorded && endNotice) {
            endNotice.committed();
            endAnnounced = true;
          }
          return recorded;
        } catch (error) {
          this.logger.warn(`Recording the end of run ${outcome.runId} failed, retrying: ${describe(error)}`);
          return false;
        }
      });
      if (stored) return { lockReleased: true, logFailed: false, endAnnounced };
    } else {
      await log.close();
    }
    const failure = log.failure;
    this.writer.runFinished(withLogFailure({ ...outcome, finishedAt: new Date() }, failure));
    if (!failure) await deadline(this.writer.whenThreadIdle(outcome.threadId), this.maxWaitMs);
    return { lockReleased: false, logFailed: failure !== null };
  }

  reapAbandonedRuns(): Promise<{ locks: ThreadLock[]; failedRuns: number }> {
    return this.admission.reapAbandonedRuns();
  }

  async findRun(runId: string): Promise<{ threadId: string; status: RunStatus } | null> {
    const run = await this.conversations.findRun(runId);
    return run ? { threadId: run.threadId, status: run.status } : null;
  }

  async threadExists(threadId: string): Promise<boolean> {
    return (await this.conversations.findThread(threadId)) !== null;
  }
}

/** Waits for `promise` at most `ms`. Never rejects. */
async function deadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
