import type { BaseEvent } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { LoggedEvent } from '../runs/logged-event.js';
import { EventLogStore } from '../ports/run-stores.js';
import { decodeEvents, encodeEvents } from './event-batch-codec.js';
import type { RidingNotices } from './postgres-run-signals.js';
import { queryPrepared } from './prepared-query.js';

interface BatchRow {
  thread_id: string;
  first_sequence: number;
  last_sequence: number;
  run_id: string;
  /** As stored: event-batch-codec.ts. */
  events: unknown[];
}

/**
 * Stores event batches given as ONE jsonb parameter (`$n`: rows of toEventBatches): no per-event
 * parameters to encode and bind. A retried append starts where the failed one started (the writer
 * always appends from the head of its queue), so a batch already stored is replaced only by a
 * longer one: nothing is duplicated, nothing is lost. Also a CTE of the run-end statement.
 */
export function upsertEventBatches(parameter: string): string {
  return `
    INSERT INTO run_event_batches (thread_id, first_sequence, last_sequence, run_id, events)
    SELECT b.thread_id, b.first_sequence, b.last_sequence, b.run_id, b.events
    FROM jsonb_to_recordset(${parameter}::jsonb)
      AS b(thread_id text, first_sequence bigint, last_sequence bigint, run_id text, events jsonb)
    ON CONFLICT (thread_id, first_sequence) DO UPDATE
      SET last_sequence = EXCLUDED.last_sequence, events = EXCLUDED.events, run_id = EXCLUDED.run_id
      WHERE run_event_batches.last_sequence < EXCLUDED.last_sequence`;
}

const APPEND = upsertEventBatches('$1');

/** The append that also sends notices ($3, in order, on channel $2) when it commits. */
const APPEND_AND_NOTIFY = `
  WITH appended AS (${upsertEventBatches('$1')})
  SELECT pg_notify($2, p.payload) FROM unnest($3::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY n`;

/** Where appends find the notices due to ride on them (PostgresRunSignals). */
export interface AppendNotices {
  /** `appending`: each thread's last sequence in the append. */
  takeDueProgress(appending: ReadonlyMap<string, number>): RidingNotices | null;
}

/** The batches holding events after $2, just enough of them for $3 events (a running count). */
const READ_AFTER = `
  SELECT run_id, first_sequence, last_sequence, events FROM (
    SELECT run_id, first_sequence, last_sequence, events,
           sum(last_sequence - greatest(first_sequence, $2 + 1) + 1) OVER (ORDER BY first_sequence) AS upto,
           last_sequence - greatest(first_sequence, $2 + 1) + 1 AS wanted
    FROM run_event_batches
    WHERE thread_id = $1 AND last_sequence > $2
  ) page
  WHERE upto - wanted < $3
  ORDER BY first_sequence`;

/**
 * The event log in `run_event_batches`: one row per appended batch of a run's events, each event
 * keeping its own per-thread sequence number. Events reference their thread: its row must exist first.
 */
@Injectable()
export class PostgresEventLogStore extends EventLogStore {
  private notices: AppendNotices | null = null;

  constructor(private readonly dataSource: DataSource) {
    super();
  }

  /**
   * From now on each append also sends the notices `source` has due, on commit: the thread
   * progress notices of streaming runs cost no statement of their own.
   */
  carryNoticesOf(source: AppendNotices): void {
    this.notices = source;
  }

  async append(events: LoggedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const batches = JSON.stringify(toEventBatches(events));
    const riding = this.notices?.takeDueProgress(lastSequences(events));
    if (!riding) {
      await queryPrepared(this.dataSource, 'crn_append_events', APPEND, [batches]);
      return;
    }
    try {
      await queryPrepared(this.dataSource, 'crn_append_events_notify', APPEND_AND_NOTIFY, [batches, riding.channel, riding.payloads]);
    } catch (error) {
      riding.failed();
      throw error;
    }
  }

  async readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]> {
    const rows: BatchRow[] = await this.dataSource.query(READ_AFTER, [threadId, afterSequence, limit]);
    const events: LoggedEvent[] = [];
    for (const row of rows) {
      const first = Number(row.first_sequence);
      decodeEvents(row.events).forEach((event, index) => {
        const sequence = first + index;
        if (sequence > afterSequence) events.push({ threadId, runId: row.run_id, sequence, event });
      });
    }
    return events.slice(0, limit);
  }

  async lastSequence(threadId: string): Promise<number> {
    const rows: { last: string }[] = await this.dataSource.query(
      `SELECT coalesce(max(last_sequence), 0) AS last FROM run_event_batches WHERE thread_id = $1`,
      [threadId],
    );
    return Number(rows[0]?.last ?? 0);
  }
}

/**
 * Consecutive events of one thread and run, with no gap in their sequence, share a row; its
 * events are encoded as stored (event-batch-codec.ts).
 */
export function toEventBatches(events: LoggedEvent[]): BatchRow[] {
  const rows: Array<Omit<BatchRow, 'events'> & { events: BaseEvent[] }> = [];
  let current: (typeof rows)[number] | null = null;
  for (const logged of events) {
    const continues =
      current !== null &&
      current.thread_id === logged.threadId &&
      current.run_id === logged.runId &&
      current.last_sequence + 1 === logged.sequence;
    if (continues) {
      current!.events.push(logged.event);
      current!.last_sequence = logged.sequence;
    } else {
      current = {
        thread_id: logged.threadId,
        first_sequence: logged.sequence,
        last_sequence: logged.sequence,
        run_id: logged.runId,
        events: [logged.event],
      };
      rows.push(current);
    }
  }
  return rows.map((row) => ({ ...row, events: encodeEvents(row.events) }));
}

/** Each thread's last sequence among `events`. */
function lastSequences(events: LoggedEvent[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const event of events) {
    if ((last.get(event.threadId) ?? -1) < event.sequence) last.set(event.threadId, event.sequence);
  }
  return last;
}
