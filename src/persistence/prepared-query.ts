import type pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Runs a statement as a NAMED prepared statement on the app's pool: PostgreSQL parses and plans
 * it once per connection instead of on every call. For the few statements every run executes
 * (admission, event-log appends, the run's end), whose CTEs cost more to plan (~0.7 ms) than to
 * execute. Errors are pg's own (their `code` is the SQLSTATE, as database-errors expects).
 */
export async function queryPrepared<Row>(
  dataSource: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  const result = await pool.query<Row & pg.QueryResultRow>({ name, text, values });
  return result.rows;
}
