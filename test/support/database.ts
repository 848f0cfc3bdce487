import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseOptions } from '../../src/config/runtime-options.js';

/**
 * The database for integration and e2e tests, fresh for each call:
 * - with TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres): a new database
 *   `crn_test_<pid>_<random>` on that server, dropped by cleanup();
 * - without it: the embedded PGlite in a new temp directory (a copy of an initialised empty
 *   cluster when the Jest run made one), deleted by cleanup().
 *
 *   const db = await testDatabaseOptions();
 *   ... CopilotRuntimeModule.forRoot({ database: db.options }) ...
 *   await app.close();   // first: PGlite must stop before its directory goes
 *   await db.cleanup();
 */
export interface TestDatabase {
  kind: 'postgres' | 'pglite';
  options: DatabaseOptions;
  cleanup(): Promise<void>;
}

export function usesRealPostgres(): boolean {
  return Boolean(process.env.TEST_DATABASE_URL);
}

export async function testDatabaseOptions(): Promise<TestDatabase> {
  if (process.env.CRN_TEST_TIER === 'unit') {
    throw new Error('This spec needs a database: it belongs to the integration project, not UNIT_SPECS (jest.config.js).');
  }
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'crn-test-'));
    // An initialised empty cluster, made once per Jest run (test/support/pglite-template.js):
    // copying it takes a fraction of PGlite's initdb.
    const template = process.env.CRN_TEST_PGLITE_TEMPLATE;
    if (template) await cp(template, dataDir, { recursive: true });
    return {
      kind: 'pglite',
      options: { dataDir },
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `crn_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    options: { url: url.toString() },
    // FORCE terminates whatever connections are left.
    cleanup: async () => {
      await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * Kills every connection to the database of `databaseUrl` (a database blip), from an admin
 * connection to TEST_DATABASE_URL. Returns how many were terminated.
 */
export async function terminateConnections(databaseUrl: string): Promise<number> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('terminateConnections needs TEST_DATABASE_URL');
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const result = await withClient(serverUrl, (client) =>
    client.query<{ terminated: string }>(
      `SELECT count(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    ),
  );
  return Number(result.rows[0]?.terminated ?? 0);
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
