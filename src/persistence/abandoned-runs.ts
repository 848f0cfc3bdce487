import type { EntityManager } from 'typeorm';
import { RUN_ABANDONED_ERROR } from '../ports/run-stores.js';

export { RUN_ABANDONED_ERROR };

const RUNNING_RUNS_OF = `
  SELECT id AS run_id FROM runs
  WHERE thread_id = $1 AND status = 'running' AND ($2::text IS NULL OR id = $2) AND ($3::text IS NULL OR id <> $3)`;

/**
 * The run's last terminal event, and whether the run was stopped (its log says so). Stored
 * elements in log order (a run of deltas is one element, see event-batch-codec.ts; terminal and
 * CUSTOM events are always elements of their own).
 */
const TERMINAL_EVENT = `
  WITH run_log AS (
    SELECT b.first_sequence, e.ordinality, e.value AS payload
    FROM run_event_batches b, jsonb_array_elements(b.events) WITH ORDINALITY AS e
    WHERE b.thread_id = $1 AND b.run_id = $2
  )
  SELECT payload->>'type' AS type, payload,
         EXISTS (SELECT 1 FROM run_log s WHERE s.payload->>'type' = 'CUSTOM' AND s.payload->>'name' = 'run_stopped') AS stopped
  FROM run_log
  WHERE payload->>'type' IN ('RUN_FINISHED', 'RUN_ERROR')
  ORDER BY first_sequence DESC, ordinality DESC LIMIT 1`;

const SETTLE_RUN = `
  UPDATE runs SET status = $3, finished_at = now(), error = $4::jsonb
  WHERE thread_id = $1 AND id = $2 AND status = 'running'`;

const APPEND_TERMINAL_EVENT = `
  INSERT INTO run_event_batches (thread_id, first_sequence, last_sequence, run_id, events)
  SELECT $1, next.sequence, next.sequence, $2, jsonb_build_array($3::jsonb)
  FROM (SELECT COALESCE(MAX(last_sequence), 0) + 1 AS sequence FROM run_event_batches WHERE thread_id = $1) next`;

/**
 * Ends runs whose instance died (their lock expired) so that each run's row agrees with its event
 * log: a run whose log already holds its terminal event (the process died after the final flush)
 * gets the status that event says; a run whose log stops mid-way is failed with RUN_ABANDONED and
 * its log gets a closing RUN_ERROR, so replaying the thread never shows a run left open.
 * Runs inside the caller's transaction. Returns how many runs it settled.
 */
export async function settleAbandonedRuns(
  manager: EntityManager,
  threadId: string,
  only: { runId?: string; exceptRunId?: string },
): Promise<number> {
  const runs = (await manager.query(RUNNING_RUNS_OF, [threadId, only.runId ?? null, only.exceptRunId ?? null])) as Array<{
    run_id: string;
  }>;
  for (const { run_id: runId } of runs) {
    const [terminal] = (await manager.query(TERMINAL_EVENT, [threadId, runId])) as Array<{
      type: string;
      payload: { code?: string; message?: string };
      stopped: boolean;
    }>;
    if (terminal?.type === 'RUN_FINISHED') {
      await manager.query(SETTLE_RUN, [threadId, runId, terminal.stopped ? 'stopped' : 'succeeded', null]);
    } else if (terminal?.type === 'RUN_ERROR') {
      const error = { code: terminal.payload.code ?? 'UNKNOWN', message: terminal.payload.message ?? '' };
      await manager.query(SETTLE_RUN, [threadId, runId, 'failed', JSON.stringify(error)]);
    } else {
      await manager.query(SETTLE_RUN, [threadId, runId, 'failed', JSON.stringify(RUN_ABANDONED_ERROR)]);
      await manager.query(APPEND_TERMINAL_EVENT, [
        threadId,
        runId,
        JSON.stringify({ type: 'RUN_ERROR', ...RUN_ABANDONED_ERROR, timestamp: Date.now() }),
      ]);
    }
  }
  return runs.length;
}
