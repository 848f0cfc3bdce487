import { join } from 'node:path';
import pg from 'pg';
import type { TestDatabase } from '../support/database.js';

/**
 * Reads a test database from outside the runtime: a PostgreSQL server directly, the embedded
 * PGlite once the process that held its directory has exited.
 */
export async function queryRows<T>(db: TestDatabase, sql: string, params: unknown[] = []): Promise<T[]> {
  if (db.kind === 'postgres') {
    const client = new pg.Client({ connectionString: db.options.url });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const { PGlite } = await import('@electric-sql/pglite');
  // The runtime keeps its embedded cluster in <DATA_DIR>/pglite (persistence/embedded-postgres.ts).
  const lite = new PGlite(join(db.options.dataDir!, 'pglite'));
  try {
    return (await lite.query<T>(sql, params)).rows;
  } finally {
    await lite.close();
  }
}

/** The child process's environment for a test database. */
export function databaseEnv(db: TestDatabase): Record<string, string> {
  return db.kind === 'postgres' ? { DATABASE_URL: db.options.url! } : { DATA_DIR: db.options.dataDir! };
}
