import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { Clock, systemClock } from '../common/clock.js';
import { RetryPolicy } from '../common/retry-policy.js';
import { ConversationStore, type RunOutcome, type RunStart } from '../ports/conversation-store.js';
import { isRetryableDatabaseError, PermanentWriteError } from './database-errors.js';

export interface ConversationWriterOptions {
  /** Delay before the first retry of a failed write; it doubles on every further failure. */
  initialRetryDelayMs: number;
  /** Upper bound of a single retry delay, so that a long outage is still probed regularly. */
  maxRetryDelayMs: number;
  /** A write still failing this long after its first attempt is given up (and logged). */
  giveUpAfterMs: number;
  /** How long shutdown waits for queued writes. */
  shutdownDrainMs: number;
}

export const DEFAULT_CONVERSATION_WRITER_OPTIONS: ConversationWriterOptions = {
  initialRetryDelayMs: 100,
  maxRetryDelayMs: 5_000,
  giveUpAfterMs: 30_000,
  shutdownDrainMs: 10_000,
};

/** Optional provider of a `Partial<ConversationWriterOptions>`. */
export const CONVERSATION_WRITER_OPTIONS = Symbol('CONVERSATION_WRITER_OPTIONS');

interface Write {
  runId: string;
  kind: 'start' | 'finish';
  apply(): Promise<void>;
}

/**
 * Write-behind in front of the ConversationStore, so that streaming a response never waits for
 * the database: `runStarted` and `runFinished` only enqueue. Writes of one thread apply in the
 * order they were enqueued (a run's finish after its start); threads proceed independently. A
 * failed write is retried with exponential backoff, so a database blip loses nothing; one that
 * keeps failing is given up and logged with its run id. Nothing is ever thrown at the caller.
 */
@Injectable()
export class ConversationWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(ConversationWriter.name);
  private readonly options: ConversationWriterOptions;
  private readonly retry: RetryPolicy;
  /** Per thread, the promise of its last queued write. Never rejects. */
  private readonly threadTails = new Map<string, Promise<void>>();
  private readonly pending = new Set<Write>();
  /** Runs whose start was given up: their finish cannot apply either. */
  private readonly lostRuns = new Set<string>();
  /** Set once shutdown stopped waiting: retries stop, so nothing outlives the app. */
  private stopped = false;

  constructor(
    private readonly store: ConversationStore,
    @Optional()
    @Inject(CONVERSATION_WRITER_OPTIONS)
    options?: Partial<ConversationWriterOptions>,
    @Optional() clock: Clock = systemClock,
  ) {
    this.options = { ...DEFAULT_CONVERSATION_WRITER_OPTIONS, ...options };
    this.retry = new RetryPolicy(
      {
        initialDelayMs: this.options.initialRetryDelayMs,
        maxDelayMs: this.options.maxRetryDelayMs,
        maxOutageMs: this.options.giveUpAfterMs,
      },
      // Shutdown stopped waiting: nothing is retried any more, so nothing outlives the app.
      (error) => !this.stopped && isRetryableDatabaseError(error),
      clock ?? systemClock,
    );
  }

  runStarted(run: RunStart): void {
    // Copied: the caller keeps appending to its message list while the write waits.
    const snapshot: RunStart = { ...run, inputMessages: [...run.inputMessages] };
    this.enqueue(run.threadId, {
      runId: run.runId,
      kind: 'start',
      apply: () => this.store.recordRunStarted(snapshot),
    });
  }

  runFinished(outcome: RunOutcome): void {
    const snapshot: RunOutcome = { ...outcome, outputMessages: [...outcome.outputMessages] };
    this.enqueue(outcome.threadId, {
      runId: outcome.runId,
      kind: 'finish',
      apply: async () => {
        if (this.lostRuns.delete(outcome.runId)) {
          throw new PermanentWriteError('its start was not stored');
        }
        await this.store.recordRunFinished(snapshot);
      },
    });
  }

  /** Resolves once every write queued so far has been stored or given up. Never rejects. */
  async whenIdle(): Promise<void> {
    await Promise.all(this.threadTails.values());
  }

  /** Resolves once every write queued so far for this thread has been stored or given up. Never rejects. */
  async whenThreadIdle(threadId: string): Promise<void> {
    await this.threadTails.get(threadId);
  }

  /** Waits for queued writes, at most `timeoutMs`; the rest are given up and logged. */
  async drain(timeoutMs = this.options.shutdownDrainMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.whenIdle(), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.stopped = true;
      const runs = [...this.pending].map((write) => `${write.runId} (${write.kind})`);
      this.logger.error(
        `Gave up ${runs.length} conversation write(s) still pending after ${timeoutMs} ms: ` +
          runs.join(', '),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  private enqueue(threadId: string, write: Write): void {
    this.pending.add(write);
    const previous = this.threadTails.get(threadId) ?? Promise.resolve();
    const tail = previous
      .then(() => this.applyWithRetry(write))
      // Defensive: applyWithRetry handles its errors, but a rejected tail would block the thread.
      .catch((error: unknown) => this.logger.error(`Conversation write failed: ${describe(error)}`))
      .finally(() => {
        this.pending.delete(write);
        if (this.threadTails.get(threadId) === tail) this.threadTails.delete(threadId);
      });
    this.threadTails.set(threadId, tail);
  }

  private async applyWithRetry(write: Write): Promise<void> {
    const startedAt = this.retry.clock.now();
    let attempts = 0;
    try {
      await this.retry.run(
        () => {
          attempts += 1;
          return write.apply();
        },
        {
          onRetry: (error, attempt) => {
            if (attempt === 1) {
              this.logger.warn(`Storing the ${write.kind} of run ${write.runId} failed, retrying: ${describe(error)}`);
            }
          },
        },
      );
      if (attempts > 1) this.logger.log(`Stored ${write.kind} of run ${write.runId} after ${attempts} attempts`);
    } catch (error) {
      if (write.kind === 'start') this.lostRuns.add(write.runId);
      this.logger.error(
        `Lost the ${write.kind} of run ${write.runId} after ${attempts} attempt(s) ` +
          `in ${this.retry.clock.now() - startedAt} ms: ${describe(error)}`,
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
