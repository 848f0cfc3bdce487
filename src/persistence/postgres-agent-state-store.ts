import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type AgentStateVersion, AgentStateStore } from '../ports/run-stores.js';
import { queryPrepared } from './prepared-query.js';

/**
 * The next version is computed in the INSERT itself; two concurrent records of one (thread, agent)
 * compute the same one, and the primary key refuses the second, which then tries again.
 */
const RECORD = `
  INSERT INTO agent_states (thread_id, agent_name, version, run_id, state)
  SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4::jsonb
  FROM agent_states WHERE thread_id = $1 AND agent_name = $2
  RETURNING thread_id, agent_name, version, run_id, state, created_at`;

const LATEST = `
  SELECT thread_id, agent_name, version, run_id, state, created_at FROM agent_states
  WHERE thread_id = $1 AND agent_name = $2
  ORDER BY version DESC LIMIT 1`;

const UNIQUE_VIOLATION = '23505';
/** Each conflict means another writer succeeded, so this bounds the writers racing at once. */
const MAX_ATTEMPTS = 50;

interface AgentStateRow {
  thread_id: string;
  agent_name: string;
  version: number;
  run_id: string | null;
  state: unknown;
  created_at: Date;
}

/** Agent state versions in `agent_states`. The thread's row must exist. */
@Injectable()
export class PostgresAgentStateStore extends AgentStateStore {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async record(
    threadId: string,
    agentName: string,
    state: unknown,
    runId: string | null,
  ): Promise<AgentStateVersion> {
    // JSON text, so that pg does not turn an array into a PostgreSQL array; undefined as null.
    const json = JSON.stringify(state ?? null);
    for (let attempt = 1; ; attempt++) {
      try {
        const rows: AgentStateRow[] = await this.dataSource.query(RECORD, [
          threadId,
          agentName,
          runId,
          json,
        ]);
        return toVersion(rows[0]!);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code !== UNIQUE_VIOLATION || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** Read at the start of every run: a named prepared statement (planned once per connection). */
  async latest(threadId: string, agentName: string): Promise<AgentStateVersion | null> {
    const rows = await queryPrepared<AgentStateRow>(this.dataSource, 'crn_latest_agent_state', LATEST, [threadId, agentName]);
    return rows[0] ? toVersion(rows[0]) : null;
  }
}

function toVersion(row: AgentStateRow): AgentStateVersion {
  return {
    threadId: row.thread_id,
    agentName: row.agent_name,
    version: row.version,
    runId: row.run_id,
    state: row.state,
    createdAt: row.created_at,
  };
}
