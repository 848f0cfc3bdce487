import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseProbe, type PoolStats } from '../ports/database-probe.js';

/** Structural view of the pg Pool under TypeORM's postgres driver (`driver.master`). */
interface PgPoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * DatabaseProbe on TypeORM's DataSource. Migrations are checked against the list the app was
 * built with; once none is pending the answer is remembered (they are never un-applied by a
 * running server), so a readiness probe costs one `SELECT 1`.
 */
@Injectable()
export class PostgresDatabaseProbe extends DatabaseProbe {
  private migrationsCurrent = false;

  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async ping(): Promise<void> {
    if (!this.dataSource.isInitialized) throw new Error('the connection pool is not open');
    await this.dataSource.query('SELECT 1');
  }

  async pendingMigrations(): Promise<string[]> {
    if (this.migrationsCurrent) return [];
    const rows: Array<{ name: string }> = await this.dataSource.query(
      `SELECT name FROM "${this.dataSource.options.migrationsTableName ?? 'migrations'}"`,
    );
    const applied = new Set(rows.map((row) => row.name));
    const pending = this.dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
    this.migrationsCurrent = pending.length === 0;
    return pending;
  }

  poolStats(): PoolStats | null {
    const pool = (this.dataSource.driver as unknown as { master?: Partial<PgPoolCounts> }).master;
    if (!pool || typeof pool.totalCount !== 'number') return null;
    return { total: pool.totalCount, idle: pool.idleCount ?? 0, waiting: pool.waitingCount ?? 0 };
  }
}
