import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Runs `use` against a fresh database created on the PostgreSQL server of `serverUrl` (named
 * `<prefix>_<random>`), dropped afterwards whatever happens, so a bench never reads another's rows.
 */
export async function withScratchDatabase<T>(serverUrl: string, prefix: string, use: (url: string) => Promise<T>): Promise<T> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    return await use(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}
