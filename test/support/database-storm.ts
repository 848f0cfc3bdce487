import { terminateConnections } from './database.js';

/**
 * A database outage of `ms` milliseconds: every connection to the database of `databaseUrl` is
 * terminated again and again (pools and LISTEN clients reconnect, and are killed again), so that
 * any query sent meanwhile meets a dying connection. Resolves with how many were terminated.
 * Needs TEST_DATABASE_URL (see terminateConnections).
 */
export async function connectionStorm(databaseUrl: string, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let terminated = 0;
  while (Date.now() < until) terminated += await terminateConnections(databaseUrl);
  return terminated;
}
