import { Injectable } from '@nestjs/common';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { LangGraphCheckpointerSource } from '../ports/langgraph-checkpointer.js';

/**
 * LangGraph's own tables (checkpoints, checkpoint_blobs, checkpoint_writes, checkpoint_migrations)
 * live in this schema, apart from ours in `public`; LangGraph migrates them itself.
 */
export const LANGGRAPH_CHECKPOINT_SCHEMA = 'langgraph';

/** The LangGraph checkpointer on the runtime's database (see createLangGraphCheckpointer). */
@Injectable()
export class PostgresLangGraphCheckpointerSource extends LangGraphCheckpointerSource {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  open(): Promise<PostgresSaver> {
    return createLangGraphCheckpointer(this.dataSource);
  }
}

/**
 * A PostgresSaver on the runtime's own database, sharing TypeORM's pg pool rather than opening a
 * pool of its own:
 * - the embedded PGlite serves one session through a pool of size 1 (concurrent sessions
 *   interleave their protocol messages), so a second pool would break it; the saver's queries
 *   and short transactions queue for that connection like the runtime's own do;
 * - on an external PostgreSQL, the configured pool size stays the app's whole footprint.
 * The saver must therefore never be `end()`ed: PersistenceModule closes the pool at shutdown.
 */
export async function createLangGraphCheckpointer(dataSource: DataSource): Promise<PostgresSaver> {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('The LangGraph checkpointer needs an initialized PostgreSQL DataSource.');
  const saver = new PostgresSaver(pool, undefined, { schema: LANGGRAPH_CHECKPOINT_SCHEMA });
  await setUp(saver);
  return saver;
}

/**
 * `setup()` creates the schema and tables and records its migrations. Instances booting together
 * on one database race on them (CREATE ... IF NOT EXISTS is not atomic in PostgreSQL): a loser
 * sees a duplicate error, and retrying finds the winner's work done. Several migration steps and
 * several replicas (three booting at once in the deployment test) can make one instance lose more
 * than once: up to 10 attempts, a little apart.
 */
async function setUp(saver: PostgresSaver, attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await saver.setup();
      return;
    } catch (error) {
      if (attempt >= attempts || !isConcurrentDdlRace(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt + Math.random() * 50));
    }
  }
}

/** unique_violation (catalog rows, the migrations table), duplicate_schema, duplicate_table. */
const CONCURRENT_DDL_CODES = new Set(['23505', '42P06', '42P07']);

function isConcurrentDdlRace(error: unknown): boolean {
  return CONCURRENT_DDL_CODES.has((error as { code?: string } | null)?.code ?? '');
}
