import type { BaseEvent } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { LoggedEvent } from '../runs/logged-event.js';
import { EventLogStore } from '../runs/run-stores.js';
import { chunkForInsert, valuesPlaceholders } from './multi-row-insert.js';

const EVENT_COLUMNS = 'thread_id, sequence, run_id, type, payload';
const EVENT_CASTS = ['', '::bigint', '', '', '::jsonb'];

interface EventRow {
  thread_id: string;
  /** bigint, as text. */
  sequence: string;
  run_id: string;
  payload: BaseEvent;
}

/**
 * The event log in `run_events`. Appends are idempotent on (thread, sequence), so a retried batch
 * neither fails nor duplicates. Events reference their thread: its row must exist first.
 */
@Injectable()
export class PostgresEventLogStore extends EventLogStore {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async append(events: LoggedEvent[]): Promise<void> {
    for (const chunk of chunkForInsert(events, EVENT_CASTS.length)) {
      const parameters = chunk.flatMap((logged) => [
        logged.threadId,
        logged.sequence,
        logged.runId,
        logged.event.type,
        JSON.stringify(logged.event),
      ]);
      await this.dataSource.query(
        `INSERT INTO run_events (${EVENT_COLUMNS})
         VALUES ${valuesPlaceholders(chunk.length, EVENT_CASTS)}
         ON CONFLICT (thread_id, sequence) DO NOTHING`,
        parameters,
      );
    }
  }

  async readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT thread_id, sequence, run_id, payload FROM run_events
       WHERE thread_id = $1 AND sequence > $2
       ORDER BY sequence
       LIMIT $3`,
      [threadId, afterSequence, limit],
    );
    return rows.map((row) => ({
      threadId: row.thread_id,
      runId: row.run_id,
      sequence: Number(row.sequence),
      event: row.payload,
    }));
  }

  async lastSequence(threadId: string): Promise<number> {
    const rows: { last: string }[] = await this.dataSource.query(
      `SELECT coalesce(max(sequence), 0) AS last FROM run_events WHERE thread_id = $1`,
      [threadId],
    );
    return Number(rows[0]?.last ?? 0);
  }
}
