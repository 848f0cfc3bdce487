/**
 * What operations ask of the database (readiness, pool metrics), without knowing it is TypeORM on
 * pg: persistence/ implements it (PostgresDatabaseProbe), health/ and observability/ use it.
 */
export abstract class DatabaseProbe {
  /** Resolves when the database answers a trivial query; rejects with why not. */
  abstract ping(): Promise<void>;
  /** Names of the migrations not applied yet (empty: the schema is current). */
  abstract pendingMigrations(): Promise<string[]>;
  /** The connection pool right now: connections open, in use, and callers waiting for one. */
  abstract poolStats(): PoolStats | null;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}
