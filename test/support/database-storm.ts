import { terminateConnections } from './database.js';

export interface ConnectionStorm {
  /** Resolves once the first round of terminations is done: the outage has begun. */
  underway: Promise<void>;
  /** Resolves when the storm is over, with how many connections were terminated. */
  terminated: Promise<number>;
}

/**
 * A database outage of `ms` milliseconds: every connection to the database of `databaseUrl` is
 * terminated again and again (pools and LISTEN clients reconnect, and are killed again), so that
 * any query sent meanwhile meets a dying connection. Needs TEST_DATABASE_URL (see
 * terminateConnections).
 */
export function connectionStorm(databaseUrl: string, ms: number): ConnectionStorm {
  let begun!: () => void;
  const underway = new Promise<void>((resolve) => (begun = resolve));
  const terminated = (async () => {
    const until = Date.now() + ms;
    let count = 0;
    try {
      do {
        count += await terminateConnections(databaseUrl);
        begun();
      } while (Date.now() < until);
    } finally {
      begun();
    }
    return count;
  })();
  return { underway, terminated };
}
