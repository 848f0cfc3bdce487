import { Logger } from '@nestjs/common';
import { Clock, systemClock } from '../common/clock.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { type RetryableClassifier, RetryPolicy } from '../common/retry-policy.js';
import type { EventLogStore } from '../ports/run-stores.js';
import { eventLogStats } from './event-log-stats.js';
import type { EventLogFlusher } from './event-log-flusher.js';
import type { LoggedEvent } from './logged-event.js';

export interface EventLogWriterOptions {
  /** A batch is written as soon as this many events wait. */
  maxBatchSize: number;
  /** ... or this long after the first of them was queued, whichever comes first. */
  flushIntervalMs: number;
  /** Largest single append, e.g. when catching up after an outage. */
  maxAppendSize: number;
  /** The log failing (or hanging) this long makes the writer give up and report the failure. */
  maxOutageMs: number;
  /** Delay before the first retry of a failed append; doubles on every further failure. */
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
}

export const DEFAULT_EVENT_LOG_WRITER_OPTIONS: EventLogWriterOptions = {
  maxBatchSize: 1_000,
  flushIntervalMs: 25,
  maxAppendSize: 2_000,
  maxOutageMs: 30_000,
  initialRetryDelayMs: 50,
  maxRetryDelayMs: 2_000,
};

export interface EventLogWriterHooks {
  /**
   * After each successful append, with the highest sequence now in the log. Not after closeWith's
   * hand-over: the run's end, announced next, carries the log's last sequence.
   */
  onFlushed?: (lastSequence: number) => void;
  /** Once, when the writer gives up (outage past `maxOutageMs`, or a write no retry can fix). */
  onFailure?: (error: CopilotRuntimeError) => void;
  /** Names the database in the failure message, e.g. a redacted URL. */
  databaseLabel?: string;
  /** Which append errors a retry may fix (the storage's classifier). Default: all. */
  isRetryable?: RetryableClassifier;
  clock?: Clock;
  /**
   * The instance's shared flusher: the writer flushes on its tick and its appends join every other
   * run's in one statement. Without it, the writer has its own timer and appends alone.
   */
  flusher?: EventLogFlusher;
}

/**
 * Write-behind of one run's events into the EventLogStore, in batches: the stream hands events
 * over with `enqueue` (synchronous, never waits for the database) and this writer appends them
 * in order, one append in flight at a time. A failed append is retried with backoff, together
 * with whatever was queued meanwhile; appends are idempotent on (thread, sequence), so a retry
 * after an ambiguous failure duplicates nothing. Events stay in memory until the log has them,
 * which is what lets a connecting subscriber close the gap between the log and the live tail.
 */
export class EventLogWriter {
  private static readonly logger = new Logger('EventLogWriter');
  private readonly options: EventLogWriterOptions;
  /** Queued, in sequence order; the head is the batch being appended (if any). */
  private queue: LoggedEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private closing = false;
  /** closeWith() is taking over: the append in flight finishes, no further one starts. */
  private handingOver = false;
  private abandoned = false;
  private failed: CopilotRuntimeError | null = null;
  private written = 0;
  private appends = 0;
  /** Aborted by abandon(): wakes a retry that is waiting. */
  private readonly abandonment = new AbortController();
  private readonly retry: RetryPolicy;

  constructor(
    private readonly store: EventLogStore,
    options: Partial<EventLogWriterOptions> = {},
    private readonly hooks: EventLogWriterHooks = {},
  ) {
    eventLogStats.opened(this);
    this.options = { ...DEFAULT_EVENT_LOG_WRITER_OPTIONS, ...options };
    this.retry = new RetryPolicy(
      {
        initialDelayMs: this.options.initialRetryDelayMs,
        maxDelayMs: this.options.maxRetryDelayMs,
        maxOutageMs: this.options.maxOutageMs,
      },
      hooks.isRetryable,
      hooks.clock ?? systemClock,
    );
  }

  /** The highest sequence known to be in the log (0 before the first append). */
  get lastWrittenSequence(): number {
    return this.written;
  }

  /** How many appends were issued, retries included. */
  get appendCount(): number {
    return this.appends;
  }

  get failure(): CopilotRuntimeError | null {
    return this.failed;
  }

  /** Events held in memory, not yet confirmed in the log (metrics: event-log-stats.ts). */
  get queuedEventCount(): number {
    return this.queue.length;
  }

  enqueue(event: LoggedEvent): void {
    this.enqueueAll([event]);
  }

  /** A batch of events (in sequence order), scheduled once. */
  enqueueAll(events: readonly LoggedEvent[]): void {
    for (const event of events) this.queue.push(event);
    if (this.loop || this.failed || this.abandoned) return;
    if (this.closing || this.queue.length >= this.options.maxBatchSize) this.startLoop();
    else this.armTimer();
  }

  /** Events not yet confirmed in the log with sequence > `afterSequence`, ascending. */
  unwrittenAfter(afterSequence: number): LoggedEvent[] {
    return this.queue.filter((event) => event.sequence > afterSequence);
  }

  /**
   * The final flush: resolves once everything queued is in the log, or the writer failed or was
   * abandoned (see `failure`). Never rejects. Events enqueued afterwards are flushed too.
   */
  async close(): Promise<void> {
    this.closing = true;
    while (!this.failed && !this.abandoned && (this.queue.length > 0 || this.loop)) {
      if (!this.loop) this.startLoop();
      await this.loop;
    }
    eventLogStats.closed(this);
  }

  /**
   * The final flush folded into the caller's own write, so that the run's last events and its
   * final state are stored in one statement: waits for the append in flight, then hands what is
   * still queued to `write`. If `write` reports false or throws, this falls back to close() (which
   * retries). Resolves true when `write` stored the events. Never rejects.
   */
  async closeWith(write: (events: LoggedEvent[]) => Promise<boolean>): Promise<boolean> {
    this.handingOver = true;
    this.clearTimer();
    if (!this.failed && !this.abandoned) {
      // Not waiting for the append in flight: its events are handed over too. Both writes are
      // idempotent upserts of the batch starting at the queue's head, and the longer one wins,
      // whichever commits last.
      const events = [...this.queue];
      let stored = false;
      try {
        stored = await write(events);
      } catch {
        stored = false;
      }
      if (stored) {
        // Not announced as progress: the run's end notice follows (or went with that statement).
        if (events.length > 0) this.confirm(events[events.length - 1]!.sequence, { announce: false });
        this.handingOver = false;
        // Anything enqueued meanwhile goes the ordinary way.
        if (this.queue.length > 0) await this.close();
        this.closing = true;
        eventLogStats.closed(this);
        return true;
      }
    }
    this.handingOver = false;
    await this.close();
    return false;
  }

  /** The log holds every event up to `sequence`: forget them, report the new high-water mark. */
  private confirm(sequence: number, { announce = true } = {}): void {
    if (sequence <= this.written) return;
    let confirmed = 0;
    while (confirmed < this.queue.length && this.queue[confirmed]!.sequence <= sequence) confirmed++;
    this.queue.splice(0, confirmed);
    this.written = sequence;
    if (announce) this.hooks.onFlushed?.(this.written);
  }

  /** Stops writing and retrying (shutdown past its deadline); unwritten events are dropped. */
  abandon(): void {
    this.abandoned = true;
    this.clearTimer();
    this.abandonment.abort();
    eventLogStats.closed(this);
  }

  private readonly startFromTimer = (): void => {
    this.timer = null;
    this.startLoop();
  };

  private startLoop(): void {
    this.clearTimer();
    if (this.loop || this.failed || this.abandoned || this.handingOver || this.queue.length === 0) return;
    this.loop = this.drain().finally(() => {
      this.loop = null;
      if (this.failed || this.abandoned || this.handingOver || this.queue.length === 0) return;
      if (this.closing || this.queue.length >= this.options.maxBatchSize) this.startLoop();
      else this.armTimer();
    });
  }

  private async drain(): Promise<void> {
    const clock = this.retry.clock;
    const attempts = this.retry.start();
    while (this.queue.length > 0 && !this.failed && !this.abandoned) {
      const batch = this.queue.slice(0, this.options.maxAppendSize);
      const attemptStart = clock.now();
      const started = performance.now();
      try {
        this.appends += 1;
        // A hanging append (dead TCP connection) counts against the outage budget like a failing one.
        const appended = this.hooks.flusher ? this.hooks.flusher.append(batch) : this.store.append(batch);
        await withTimeout(appended, attempts.count === 0 ? this.options.maxOutageMs : attempts.remainingMs);
        eventLogStats.appended((performance.now() - started) / 1000, batch.length);
      } catch (error) {
        if (this.abandoned) return;
        const delay = attempts.nextDelay(error, attemptStart);
        if (delay === null) {
          this.fail(error, attempts.outageMs);
          return;
        }
        if (attempts.count === 1) {
          EventLogWriter.logger.warn(
            `Appending ${batch.length} event(s) of thread ${batch[0]!.threadId} failed, retrying: ${describe(error)}`,
          );
        }
        await clock.sleep(delay, this.abandonment.signal);
        continue;
      }
      if (attempts.count > 0) {
        EventLogWriter.logger.log(
          `Event log of thread ${batch[0]!.threadId} written again after ${attempts.outageMs} ms`,
        );
        attempts.succeeded();
      }
      // Drop what the log now has (the batch, unless a closeWith already stored it and more).
      this.confirm(batch[batch.length - 1]!.sequence);
      // Not closing and too few waiting: let the timer gather a batch.
      if (this.handingOver || (!this.closing && this.queue.length < this.options.maxBatchSize)) return;
    }
  }

  private fail(cause: unknown, elapsedMs: number): void {
    const database = this.hooks.databaseLabel ?? 'the database';
    const permanent = !this.retry.isRetryable(cause);
    // The wire message names nothing of the database (URL, host, user, driver message): the log does.
    this.failed = new CopilotRuntimeError(
      'PERSISTENCE_UNAVAILABLE',
      permanent
        ? "The run's events could not be stored."
        : `The run's events could not be stored: the database was unreachable for ${Math.round(elapsedMs / 1000)} s.`,
      { cause },
    );
    this.clearTimer();
    eventLogStats.closed(this);
    EventLogWriter.logger.error(`${this.failed.message} (${database}: ${describe(cause)})`);
    this.hooks.onFailure?.(this.failed);
  }

  /** The next flush, flushIntervalMs from now: the instance's shared tick, or the writer's own timer. */
  private armTimer(): void {
    if (this.hooks.flusher) this.hooks.flusher.schedule(this.startFromTimer);
    else this.timer ??= setTimeout(this.startFromTimer, this.options.flushIntervalMs);
  }

  private clearTimer(): void {
    this.hooks.flusher?.cancel(this.startFromTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

class AppendTimeout extends Error {
  override readonly name = 'AppendTimeout';
}

/** A hanging append (dead TCP connection) counts against the outage budget like a failing one. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppendTimeout(`no answer within ${Math.round(ms)} ms`)), Math.max(1, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
