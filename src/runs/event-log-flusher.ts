import { Logger } from '@nestjs/common';
import type { RetryableClassifier } from '../common/retry-policy.js';
import type { EventLogStore } from '../ports/run-stores.js';
import type { LoggedEvent } from './logged-event.js';

export interface EventLogFlusherOptions {
  /** Every this many ms, the writers with events waiting append them, together. */
  flushIntervalMs: number;
  /**
   * Most events in one shared append statement; more are split into several. The events travel
   * as ONE jsonb parameter (postgres-event-log-store.ts), so the bind-parameter limit of
   * multi-row-insert.ts does not apply: this bounds the statement's size only.
   */
  maxEventsPerStatement: number;
  /** Which append errors a retry may fix: the others make the shared append fall back to one per run. */
  isRetryable?: RetryableClassifier;
}

export const DEFAULT_MAX_EVENTS_PER_STATEMENT = 10_000;

interface PendingAppend {
  events: LoggedEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The event-log flushes of every run of one instance, as few statements as there are intervals:
 * each run keeps its own EventLogWriter (order, retries, outage budget, closeWith, unwrittenAfter),
 * but its writer waits for this flusher's ONE timer instead of its own (`schedule`), and its
 * appends (`append`) are gathered until the next timers phase of the event loop and sent as ONE append of
 * every run's batch. So the database sees one INSERT per interval, not one per run.
 *
 * A shared append that fails for a reason a retry may fix fails every batch in it (each writer
 * retries on its own backoff; writers that failed together retry together, in one statement
 * again). One that fails for good (a poisoned row) is tried again run by run, so that only the
 * run whose events cannot be stored fails.
 */
export class EventLogFlusher {
  private readonly logger = new Logger(EventLogFlusher.name);
  private readonly scheduled = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private pending: PendingAppend[] = [];
  private gathering: NodeJS.Timeout | null = null;
  private statements = 0;

  constructor(
    private readonly store: EventLogStore,
    private readonly options: EventLogFlusherOptions,
  ) {}

  /** Shared append statements issued so far (fallbacks run by run included): metrics and tests. */
  get statementCount(): number {
    return this.statements;
  }

  /** Calls `flush` at the next tick of the shared interval (once, however often it is scheduled). */
  schedule(flush: () => void): void {
    this.scheduled.add(flush);
    if (!this.timer) this.timer = setTimeout(() => this.tick(), this.options.flushIntervalMs);
  }

  /** Takes back a `schedule` not yet due. */
  cancel(flush: () => void): void {
    this.scheduled.delete(flush);
    if (this.scheduled.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /**
   * Appends one run's batch together with the others asked for in the same event-loop turn.
   * Resolves once the log has it; rejects with the append's error.
   */
  append(events: LoggedEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      // The next timers phase: every append asked for in this turn of the event loop (a tick's
      // writers, retries due together) goes in the same statement.
      this.gathering ??= setTimeout(() => this.flushPending(), 0);
    });
  }

  private tick(): void {
    this.timer = null;
    const due = [...this.scheduled];
    this.scheduled.clear();
    // Each starts its writer's append synchronously: they all land in one `append` gathering.
    for (const flush of due) flush();
  }

  private flushPending(): void {
    this.gathering = null;
    const batches = this.pending;
    this.pending = [];
    for (const group of groupBySize(batches, this.options.maxEventsPerStatement)) void this.appendGroup(group);
  }

  private async appendGroup(group: PendingAppend[]): Promise<void> {
    try {
      this.statements += 1;
      await this.store.append(inLockOrder(group));
      for (const batch of group) batch.resolve();
      return;
    } catch (error) {
      const retryable = this.options.isRetryable?.(error) ?? true;
      if (retryable || group.length === 1) {
        for (const batch of group) batch.reject(error);
        return;
      }
      this.logger.warn(
        `A shared append of ${group.length} runs' events failed for good; appending them run by run: ` +
          (error instanceof Error ? error.message : String(error)),
      );
    }
    // A poisoned batch fails its own run only.
    await Promise.all(
      group.map(async (batch) => {
        try {
          this.statements += 1;
          await this.store.append(batch.events);
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        }
      }),
    );
  }
}

/** Consecutive groups of whole batches, each at most `maxEvents` events (or one batch). */
function groupBySize(batches: PendingAppend[], maxEvents: number): PendingAppend[][] {
  const groups: PendingAppend[][] = [];
  let current: PendingAppend[] = [];
  let size = 0;
  for (const batch of batches) {
    if (current.length > 0 && size + batch.events.length > maxEvents) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(batch);
    size += batch.events.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Every batch's events, ordered by (thread, sequence): concurrent statements then take their row
 * locks in one order and cannot deadlock each other.
 */
function inLockOrder(group: PendingAppend[]): LoggedEvent[] {
  const sorted = [...group].sort((a, b) => compare(a.events[0]!, b.events[0]!));
  return sorted.flatMap((batch) => batch.events);
}

function compare(a: LoggedEvent, b: LoggedEvent): number {
  if (a.threadId !== b.threadId) return a.threadId < b.threadId ? -1 : 1;
  return a.sequence - b.sequence;
}
