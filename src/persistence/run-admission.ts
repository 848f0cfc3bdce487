import { Injectable, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { LoggedEvent } from '../runs/logged-event.js';
import type { AdmissionResult, RunAdmissionRequest, ThreadLock } from '../ports/run-stores.js';
import type { RunOutcome } from '../ports/conversation-store.js';
import { insertMessagesSql } from './message-rows.js';
import { toEventBatches, upsertEventBatches } from './postgres-event-log-store.js';
import { queryPrepared } from './prepared-query.js';
import { acquireThreadLock, TAKE_OVER_LOCK, type ThreadLockRow, toThreadLock } from './postgres-thread-lock-store.js';
import { settleAbandonedRuns } from './abandoned-runs.js';
import { runInputJson } from './postgres-conversation-store.js';
import { overloadOf } from './pool-pressure.js';
import { AdmissionQueue } from './admission-queue.js';
import type { InStatementNotice } from './postgres-run-signals.js';

export type { AdmissionResult, RunAdmissionRequest } from '../ports/run-stores.js';

/** The state of the agent's last stored version on the thread (no row: none stored). */
function latestAgentState(threadId: string, agentName: string): string {
  return `SELECT state FROM agent_states WHERE thread_id = ${threadId} AND agent_name = ${agentName} ORDER BY version DESC LIMIT 1`;
}

/** What a run left 'running' by a dead instance is finished with. */
export { RUN_ABANDONED_ERROR } from './abandoned-runs.js';

/*
 * Creates the thread, or checks its owner. The update (to the row's own values, when the owner
 * matches) is there for its row lock: admissions of one thread queue behind each other, and a
 * delete of the thread cannot slip between this check and the lock.
 */
const UPSERT_OWNED_THREAD = `
  INSERT INTO threads (id, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
  ON CONFLICT (id) DO UPDATE SET updated_at = GREATEST(threads.updated_at, EXCLUDED.updated_at)
  WHERE threads.owner_id = EXCLUDED.owner_id
  RETURNING id`;

const INSERT_RUN = `
  INSERT INTO runs (id, thread_id, status, agent_name, model, started_at, tools, context)
  VALUES ($1, $2, 'running', $3, $4, $5, $6::jsonb, $7::jsonb)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

/**
 * The end of a run in one statement (one round trip, one commit): the last events of its log (the
 * terminal one among them), the run row's final state, its output messages (in order, skipping ids
 * the thread has), the thread's updated_at, the release of the run's lock and, when given, the
 * notice of the run's end to every instance listening (NOTIFY, sent on commit). The run's state and
 * its log can never disagree. Without the run row only the events are stored (idempotently); the
 * caller then takes the slow, retrying path. The lock is released after the thread's row is
 * taken (the release reads `touched`; PostgreSQL orders sub-statements only by what they read), the
 * order in which admissions take them: a run's end and an admission on its thread never deadlock.
 */
const FINISH_AND_RELEASE = `
  WITH finished AS (
    UPDATE runs SET status = $2, finished_at = $3, error = $4::jsonb, usage = $5::jsonb
    WHERE id = $1 AND thread_id = $6
    RETURNING id
  ), output AS (${insertMessagesSql({ after: 'finished', threadId: '$6', runId: '$1', messages: '$7', createdAt: '$3' })}
  ), touched AS (
    UPDATE threads SET updated_at = GREATEST(updated_at, $3)
    WHERE id = $6 AND EXISTS (SELECT 1 FROM finished)
    RETURNING id
  ), released AS (
    DELETE FROM thread_locks
    WHERE thread_id = $6 AND run_id = $1 AND EXISTS (SELECT 1 FROM touched)
  ), logged AS (${upsertEventBatches('$8')}
  ), announced AS (
    SELECT pg_notify($9, $10) FROM finished WHERE $10::text IS NOT NULL
  )
  SELECT (SELECT count(*) FROM finished)::int AS finished, (SELECT count(*) FROM announced)::int AS announced`;

/**
 * The common case in ONE autocommitted statement (one round trip): the thread created (or its
 * owner confirmed, under its row lock), its lock taken and the run inserted, and the thread's last
 * event-log sequence read under that lock. Every step is guarded by the conditions of the next
 * ones (owner, no live lock, no other run still 'running', an unused run id), so when any fails
 * nothing at all changes and the step-by-step path says precisely why (and settles abandoned runs).
 * It also reads the last stored state of the agent the run starts from ($12, when given).
 * The request's messages are stored with it, in order, skipping ids the thread already has (the
 * client resends the history). An existing thread's updated_at moves when the run ends (a row is
 * changed once per statement).
 */
const ADMIT_FAST = `
  WITH owned AS (
    INSERT INTO threads (id, owner_id, created_at, updated_at)
    SELECT $1, $2, $3, $3 WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = $4)
    ON CONFLICT (id) DO UPDATE SET updated_at = threads.updated_at
    WHERE threads.owner_id = EXCLUDED.owner_id
    RETURNING id
  ), locked AS (
    INSERT INTO thread_locks (thread_id, run_id, holder, acquired_at, expires_at)
    SELECT $1, $4, $5, now(), now() + $6::double precision * interval '1 millisecond' FROM owned
    WHERE NOT EXISTS (SELECT 1 FROM runs WHERE thread_id = $1 AND status = 'running')
    ON CONFLICT (thread_id) DO UPDATE SET ${TAKE_OVER_LOCK}
    WHERE thread_locks.expires_at <= now()
    RETURNING run_id
  ), inserted AS (
    INSERT INTO runs (id, thread_id, status, agent_name, model, started_at, tools, context)
    SELECT $4, $1, 'running', $7, $8, $3, $10::jsonb, $11::jsonb FROM locked
    ON CONFLICT (id) DO NOTHING
    RETURNING id
  ), input AS (${insertMessagesSql({ after: 'inserted', threadId: '$1', runId: '$4', messages: '$9', createdAt: '$3' })}
  )
  SELECT (SELECT count(*) FROM inserted)::int AS admitted,
         (SELECT coalesce(max(last_sequence), 0) FROM run_event_batches WHERE thread_id = $1)::int AS last_sequence,
         (${latestAgentState('$1', '$12')}) AS agent_state`;



/** The rollback of a refused admission, carrying its answer out of the transaction. */
class Refused extends Error {
  constructor(readonly result: AdmissionResult) {
    super('admission refused');
  }
}

/**
 * The SQL of the PostgreSQL RunStore (postgres-run-store.ts). Starts a run on a thread, atomically: creates the thread for its owner on first use (and refuses
 * another owner's thread), takes the thread's lock, and records the run as 'running'. A refused
 * admission changes nothing.
 */
@Injectable()
export class RunAdmission {
  constructor(
    private readonly dataSource: DataSource,
    /** Where admissions wait their turn when the pool is busy; none: straight to the pool. */
    @Optional() private readonly queue?: AdmissionQueue,
  ) {}

  /**
   * Throws OVERLOADED when the admission queue is full or its wait ran out (admission-queue.ts),
   * or when no connection came within the pool's wait (see pool-pressure.ts).
   */
  admitRun(request: RunAdmissionRequest): Promise<AdmissionResult> {
    return this.queue ? this.queue.run(() => this.admitNow(request)) : this.admitNow(request);
  }

  private async admitNow(request: RunAdmissionRequest): Promise<AdmissionResult> {
    try {
      const fast = await this.admitFast(request);
      return fast ?? (await this.admitStepByStep(request));
    } catch (error) {
      throw overloadOf(this.dataSource, error) ?? error;
    }
  }

  /** Admitted in one statement, or null (nothing changed: go step by step). */
  private async admitFast(request: RunAdmissionRequest): Promise<AdmissionResult | null> {
    const [row] = (await queryPrepared(this.dataSource, 'crn_admit_run', ADMIT_FAST, [
      request.threadId,
      request.ownerId,
      request.startedAt,
      request.runId,
      request.holder,
      request.ttlMs,
      request.agentName,
      request.model,
      JSON.stringify(request.inputMessages ?? []),
      runInputJson(request.runInput?.tools),
      runInputJson(request.runInput?.context),
      request.agentStateOf ?? null,
    ])) as Array<{ admitted: number; last_sequence: number; agent_state: unknown }>;
    if (row?.admitted !== 1) return null;
    return {
      admitted: true,
      lastSequence: Number(row.last_sequence),
      inputStored: request.inputMessages !== undefined,
      ...(request.agentStateOf === undefined ? {} : { agentState: row.agent_state === null ? null : { state: row.agent_state } }),
    };
  }

  private async admitStepByStep(request: RunAdmissionRequest): Promise<AdmissionResult> {
    try {
      // Only the transaction's manager inside: PGlite serializes transactions, and a second
      // connection would wait for this one forever.
      return await this.dataSource.transaction(async (manager) => {
        const owned: unknown[] = await manager.query(UPSERT_OWNED_THREAD, [
          request.threadId,
          request.ownerId,
          request.startedAt,
        ]);
        if (owned.length === 0) throw new Refused({ admitted: false, reason: 'forbidden' });

        const lock = await acquireThreadLock(
          manager,
          request.threadId,
          request.runId,
          request.holder,
          request.ttlMs,
        );
        if (!lock.acquired) {
          throw new Refused({ admitted: false, reason: 'busy', current: lock.current });
        }

        // A run of this thread still 'running' lost its lock (its instance died): settle it.
        await settleAbandonedRuns(manager, request.threadId, { exceptRunId: request.runId });
        const inserted = (await manager.query(INSERT_RUN, [
          request.runId,
          request.threadId,
          request.agentName,
          request.model,
          request.startedAt,
          runInputJson(request.runInput?.tools),
          runInputJson(request.runInput?.context),
        ])) as unknown[];
        if (inserted.length === 0) throw new Refused({ admitted: false, reason: 'duplicate_run' });
        if (request.agentStateOf === undefined) return { admitted: true } as const;
        const [stored] = (await manager.query(latestAgentState('$1', '$2'), [request.threadId, request.agentStateOf])) as Array<{ state: unknown }>;
        return { admitted: true, agentState: stored ? { state: stored.state } : null } as const;
      });
    } catch (error) {
      if (error instanceof Refused) return error.result;
      throw error;
    }
  }

  /**
   * Fails the runs of these (expired, reaped) locks that are still 'running', with
   * RUN_ABANDONED_ERROR. Returns how many runs it failed.
   */
  async markAbandonedRuns(locks: ThreadLock[]): Promise<number> {
    if (locks.length === 0) return 0;
    return failAbandonedRuns(this.dataSource.manager, locks);
  }

  /**
   * Records how a run ended and releases its lock, atomically, in one round trip: the fast path
   * at the end of every run. False when the run row is not there (its start is still queued or
   * was lost): the caller then records through the retrying ConversationWriter. `endNotice` is
   * sent only when the run was recorded.
   */
  async finishAndRelease(
    outcome: RunOutcome,
    lastEvents: LoggedEvent[] = [],
    endNotice?: Pick<InStatementNotice, 'channel' | 'payload'>,
  ): Promise<boolean> {
    const rows = await queryPrepared<{ finished: number }>(this.dataSource, 'crn_finish_run', FINISH_AND_RELEASE, [
      outcome.runId,
      outcome.status,
      outcome.finishedAt,
      outcome.error == null ? null : JSON.stringify(outcome.error),
      outcome.usage == null ? null : JSON.stringify(outcome.usage),
      outcome.threadId,
      JSON.stringify(outcome.outputMessages),
      JSON.stringify(toEventBatches(lastEvents)),
      endNotice?.channel ?? null,
      endNotice?.payload ?? null,
    ]);
    return (rows[0]?.finished ?? 0) > 0;
  }

  /**
   * reapExpired and markAbandonedRuns in one transaction, so that an instance dying in between
   * cannot leave runs 'running' without a lock. Returns the reaped locks.
   */
  async reapAbandonedRuns(): Promise<{ locks: ThreadLock[]; failedRuns: number }> {
    return this.dataSource.transaction(async (manager) => {
      const [rows] = (await manager.query(
        `DELETE FROM thread_locks WHERE expires_at <= now()
         RETURNING thread_id, run_id, holder, expires_at`,
      )) as [ThreadLockRow[], number];
      const locks = rows.map(toThreadLock);
      const failedRuns = locks.length === 0 ? 0 : await failAbandonedRuns(manager, locks);
      return { locks, failedRuns };
    });
  }
}

async function failAbandonedRuns(manager: EntityManager, locks: ThreadLock[]): Promise<number> {
  let settled = 0;
  for (const lock of locks) settled += await settleAbandonedRuns(manager, lock.threadId, { runId: lock.runId });
  return settled;
}
