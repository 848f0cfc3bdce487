import { Logger } from '@nestjs/common';
import type { ClientBase } from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { conversationEntities } from './entities/index.js';
import { conversationMigrations } from './migrations/index.js';

const logger = new Logger('Persistence');

export interface PostgresConnection {
  url: string;
  /** Size of the pg pool. Default 10. */
  poolSize?: number;
  /** How long a query may wait for a pooled connection. Default 5000 ms. */
  connectionTimeoutMs?: number;
}

/** The one definition of the app's DataSource, shared by the Nest module and the TypeORM CLI. */
export function postgresDataSourceOptions(connection: PostgresConnection): DataSourceOptions {
  return {
    type: 'postgres',
    url: connection.url,
    applicationName: 'copilot-runtime',
    entities: conversationEntities,
    migrations: conversationMigrations,
    migrationsRun: true,
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+, so no extension has to be installed
    // (which needs privileges the app's user may lack).
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    // An idle connection lost (server restart, failover): the pool has dropped it already.
    poolErrorHandler: (error: unknown) =>
      logger.warn(`Lost an idle database connection: ${(error as Error)?.message ?? error}`),
    poolSize: connection.poolSize ?? 10,
    extra: {
      // Fail a checkout quickly during an outage instead of stalling callers indefinitely.
      connectionTimeoutMillis: connection.connectionTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      onConnect: keepConnectionErrorsHandled,
    },
    // Query errors reach their callers, which decide what to log; queries may carry user content.
    logging: ['warn', 'migration'],
  };
}

/**
 * pg-pool stops listening to a connection's errors when it hands the connection out, and TypeORM
 * starts one microtask later. An error read in the same network chunk as the end of the handshake
 * (a restarting server kills fresh connections) finds no listener, and an unhandled 'error' event
 * ends the process (brianc/node-postgres#2762). This listener stays for the connection's life and
 * closes that gap; the next query on the dead connection still fails and reports the error.
 */
function keepConnectionErrorsHandled(client: ClientBase): void {
  client.on('error', () => undefined);
}
