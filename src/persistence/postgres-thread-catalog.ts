import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { RunRecord, RunStatus } from '../ports/conversation-store.js';
import { RunEntity, toRunRecord } from './entities/run.entity.js';
import {
  InvalidThreadCursorError,
  type ThreadChange,
  ThreadCatalog,
  type ThreadListQuery,
  type ThreadPage,
  type ThreadSummary,
} from '../ports/thread-catalog.js';

const MAX_PAGE_SIZE = 100;
/** Room for " (fork)" within the 200 characters a title may have. */
const FORK_TITLE_BASE_LENGTH = 193;

/*
 * The summary of each thread: its latest run (status, agent) from a lateral lookup and its message
 * count from a correlated count, both served by the (thread_id, ...) indexes. `updated_us` is
 * updated_at in epoch microseconds, exact (extract returns numeric), for the page cursor: a JS
 * Date would drop the microseconds that now() stores.
 */
const SUMMARY_SELECT = `
  SELECT t.id, t.owner_id, t.title, t.created_at, t.updated_at, t.archived_at,
         t.forked_from_thread_id, t.forked_from_message_id,
         (extract(epoch FROM t.updated_at) * 1000000)::bigint::text AS updated_us,
         last_run.status AS last_run_status, last_run.agent_name,
         (SELECT count(*) FROM messages m WHERE m.thread_id = t.id)::int AS message_count
  FROM threads t
  LEFT JOIN LATERAL (
    SELECT r.status, r.agent_name FROM runs r
    WHERE r.thread_id = t.id
    ORDER BY r.started_at DESC, r.id DESC
    LIMIT 1
  ) last_run ON true`;

const LIVE_LOCK = `SELECT 1 FROM thread_locks l WHERE l.thread_id = t.id AND l.expires_at > now()`;

interface SummaryRow {
  id: string;
  owner_id: string;
  title: string | null;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  forked_from_thread_id: string | null;
  forked_from_message_id: string | null;
  updated_us: string;
  last_run_status: RunStatus | null;
  agent_name: string | null;
  message_count: number;
}

interface Cursor {
  /** updated_at in epoch microseconds. */
  updatedUs: string;
  id: string;
}

/** ThreadCatalog over the conversation tables; every read and change is scoped to its owner. */
@Injectable()
export class PostgresThreadCatalog extends ThreadCatalog {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  /** @throws InvalidThreadCursorError when `after` is not a cursor this catalog issued. */
  async list(ownerId: string, page: ThreadListQuery): Promise<ThreadPage> {
    const first = clamp(Math.trunc(page.first) || 1, 1, MAX_PAGE_SIZE);
    const after = page.after ? decodeCursor(page.after) : null;
    const rows: SummaryRow[] = await this.dataSource.query(
      `${SUMMARY_SELECT}
       WHERE t.owner_id = $1
         AND ($2::bigint IS NULL
              OR (t.updated_at, t.id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::text))
         AND (NOT $6::boolean
              OR EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.id
                         AND r.agent_name IS NOT DISTINCT FROM $4::text))
         AND ($7::boolean OR t.archived_at IS NULL)
       ORDER BY t.updated_at DESC, t.id DESC
       LIMIT $5`,
      [
        ownerId,
        after?.updatedUs ?? null,
        after?.id ?? null,
        page.agentName ?? null,
        first + 1,
        page.agentName !== undefined,
        page.includeArchived === true,
      ],
    );
    const threads = rows.slice(0, first);
    const last = threads[threads.length - 1];
    return {
      threads: threads.map(toSummary),
      nextCursor:
        rows.length > first && last ? encodeCursor({ updatedUs: last.updated_us, id: last.id }) : null,
    };
  }

  get(ownerId: string, threadId: string): Promise<ThreadSummary | null> {
    return findSummary(this.dataSource.manager, ownerId, threadId);
  }

  async runs(ownerId: string, threadId: string): Promise<RunRecord[] | null> {
    if (!(await this.owns(ownerId, threadId))) return null;
    const runs = await this.dataSource
      .getRepository(RunEntity)
      .find({ where: { threadId }, order: { startedAt: 'ASC', id: 'ASC' } });
    return runs.map(toRunRecord);
  }

  /** Stores the title as given: trimming and length rules are the caller's (the resolver's). */
  async rename(
    ownerId: string,
    threadId: string,
    title: string,
  ): Promise<ThreadChange<ThreadSummary>> {
    return this.dataSource.transaction(async (manager) => {
      const [, renamed] = (await manager.query(
        `UPDATE threads SET title = $3 WHERE id = $2 AND owner_id = $1`,
        [ownerId, threadId, title],
      )) as [unknown, number];
      const summary = renamed > 0 ? await findSummary(manager, ownerId, threadId) : null;
      return summary ? { ok: true, value: summary } : notFound(threadId);
    });
  }

  async setArchived(ownerId: string, threadId: string, archived: boolean): Promise<ThreadChange<ThreadSummary>> {
    return this.dataSource.transaction(async (manager) => {
      // Archiving twice keeps the first time; updated_at (the activity order) is left alone.
      const [, changed] = (await manager.query(
        `UPDATE threads SET archived_at = CASE WHEN $3 THEN coalesce(archived_at, now()) ELSE NULL END
         WHERE id = $2 AND owner_id = $1`,
        [ownerId, threadId, archived],
      )) as [unknown, number];
      const summary = changed > 0 ? await findSummary(manager, ownerId, threadId) : null;
      return summary ? { ok: true, value: summary } : notFound(threadId);
    });
  }

  async delete(ownerId: string, threadId: string): Promise<ThreadChange<true>> {
    return this.dataSource.transaction(async (manager) => {
      // The row lock queues this behind an admission in progress (which locks the thread row
      // too), so the lock check below sees a run admitted meanwhile.
      const owned: unknown[] = await manager.query(
        `SELECT id FROM threads WHERE id = $2 AND owner_id = $1 FOR UPDATE`,
        [ownerId, threadId],
      );
      if (owned.length === 0) return notFound(threadId);
      const locked: unknown[] = await manager.query(
        `SELECT 1 FROM thread_locks WHERE thread_id = $1 AND expires_at > now()`,
        [threadId],
      );
      if (locked.length > 0) {
        return {
          ok: false,
          reason: 'running',
          message: `Thread ${threadId} has an active run; stop it before deleting the thread.`,
        };
      }
      // Cascades to messages, runs, run_events, thread_locks and agent_states.
      await manager.query(`DELETE FROM threads WHERE id = $1`, [threadId]);
      return { ok: true, value: true };
    });
  }

  /** Fails (unique violation) when `newThreadId` is taken: ids are the caller's to make unique. */
  async fork(
    ownerId: string,
    threadId: string,
    messageId: string,
    newThreadId: string,
  ): Promise<ThreadChange<ThreadSummary>> {
    return this.dataSource.transaction(async (manager) => {
      const source: { title: string | null }[] = await manager.query(
        `SELECT title FROM threads WHERE id = $2 AND owner_id = $1`,
        [ownerId, threadId],
      );
      if (source.length === 0) return notFound(threadId);
      const message: { seq: string }[] = await manager.query(
        `SELECT seq FROM messages WHERE thread_id = $1 AND message_id = $2`,
        [threadId, messageId],
      );
      if (!message[0]) {
        return {
          ok: false,
          reason: 'message_not_found',
          message: `Thread ${threadId} has no message ${messageId}.`,
        };
      }
      await manager.query(
        `INSERT INTO threads
           (id, owner_id, title, created_at, updated_at, forked_from_thread_id, forked_from_message_id)
         VALUES ($1, $2, left(coalesce($3, 'Thread'), ${FORK_TITLE_BASE_LENGTH}) || ' (fork)',
                 now(), now(), $4, $5)`,
        [newThreadId, ownerId, source[0]!.title, threadId, messageId],
      );
      // Ordered, so that the copies get their seq in the source's order. Their run ids would
      // name runs of another thread: the fork's messages come from no run of its own.
      await manager.query(
        `INSERT INTO messages (thread_id, message_id, run_id, role, payload, created_at)
         SELECT $1, message_id, NULL, role, payload, created_at
         FROM messages WHERE thread_id = $2 AND seq <= $3::bigint
         ORDER BY seq`,
        [newThreadId, threadId, message[0].seq],
      );
      await manager.query(
        `INSERT INTO agent_states (thread_id, agent_name, version, run_id, state)
         SELECT DISTINCT ON (agent_name) $1, agent_name, 1, NULL, state
         FROM agent_states WHERE thread_id = $2
         ORDER BY agent_name, version DESC`,
        [newThreadId, threadId],
      );
      const summary = await findSummary(manager, ownerId, newThreadId);
      return { ok: true, value: summary! };
    });
  }

  async deleteExpired(rules: { maxAgeMs?: number; maxThreads?: number }): Promise<number> {
    const maxAgeMs = rules.maxAgeMs ?? null;
    const maxThreads = rules.maxThreads == null ? null : Math.max(0, Math.trunc(rules.maxThreads));
    if (maxAgeMs === null && maxThreads === null) return 0;
    return this.dataSource.transaction(async (manager) => {
      // Row-locked first (skipping threads an admission holds right now), so that the lock check
      // in the DELETE, a later statement, sees every run admitted before it.
      const candidates: { id: string }[] = await manager.query(
        `SELECT t.id FROM threads t
         WHERE ($1::double precision IS NOT NULL
                AND t.updated_at < now() - $1::double precision * interval '1 millisecond')
            OR ($2::int IS NOT NULL AND t.id IN (
                  SELECT id FROM threads ORDER BY updated_at DESC, id DESC OFFSET $2::int))
         FOR UPDATE OF t SKIP LOCKED`,
        [maxAgeMs, maxThreads],
      );
      if (candidates.length === 0) return 0;
      const [, deleted] = (await manager.query(
        `DELETE FROM threads t WHERE t.id = ANY($1::text[]) AND NOT EXISTS (${LIVE_LOCK})`,
        [candidates.map((row) => row.id)],
      )) as [unknown, number];
      return deleted;
    });
  }

  private async owns(ownerId: string, threadId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM threads WHERE id = $2 AND owner_id = $1`,
      [ownerId, threadId],
    );
    return rows.length > 0;
  }
}

/** With the caller's manager: inside a transaction, PGlite deadlocks on a second connection. */
async function findSummary(
  manager: EntityManager,
  ownerId: string,
  threadId: string,
): Promise<ThreadSummary | null> {
  const rows: SummaryRow[] = await manager.query(
    `${SUMMARY_SELECT} WHERE t.id = $2 AND t.owner_id = $1`,
    [ownerId, threadId],
  );
  return rows[0] ? toSummary(rows[0]) : null;
}

function toSummary(row: SummaryRow): ThreadSummary {
  return {
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    agentName: row.agent_name,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastRunStatus: row.last_run_status,
    messageCount: row.message_count,
    forkedFrom:
      row.forked_from_thread_id !== null && row.forked_from_message_id !== null
        ? { threadId: row.forked_from_thread_id, messageId: row.forked_from_message_id }
        : null,
    archived: row.archived_at !== null,
  };
}


function notFound(threadId: string): { ok: false; reason: 'not_found'; message: string } {
  return { ok: false, reason: 'not_found', message: `Thread ${threadId} was not found.` };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedUs, cursor.id]), 'utf8').toString('base64url');
}

function decodeCursor(value: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      /^-?\d{1,19}$/.test(parsed[0]) &&
      typeof parsed[1] === 'string'
    ) {
      return { updatedUs: parsed[0], id: parsed[1] };
    }
  } catch {
    // Reported below.
  }
  throw new InvalidThreadCursorError('The cursor is not one this API issued.');
}
