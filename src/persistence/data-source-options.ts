import type { DataSourceOptions } from 'typeorm';
import { conversationEntities } from './entities/index.js';
import { conversationMigrations } from './migrations/index.js';

export interface PostgresConnection {
  url: string;
  /** Size of the pg pool. Default 10. */
  poolSize?: number;
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
    poolSize: connection.poolSize ?? 10,
    extra: {
      // Fail a checkout quickly during an outage instead of stalling callers indefinitely.
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    },
    // Query errors reach their callers, which decide what to log; queries may carry user content.
    logging: ['warn', 'migration'],
  };
}
