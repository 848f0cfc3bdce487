import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootPersistence, type BootedPersistence } from './persistence-fixtures.js';

jest.setTimeout(120_000);

/**
 * The embedded database (one PGlite session behind a socket) under concurrent extended-protocol
 * queries of different shapes: every query must get its own answer, none may fail.
 */
describe('embedded PostgreSQL under concurrent queries', () => {
  let dataDir: string;
  let booted: BootedPersistence;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'crn-embedded-concurrency-'));
    booted = await bootPersistence({ dataDir });
  });

  afterAll(async () => {
    await booted?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 400 concurrent parameterized queries of different arities correctly', async () => {
    const queries = Array.from({ length: 400 }, (_, i) => {
      const arity = 1 + (i % 7);
      const params = Array.from({ length: arity }, (_, j) => i * 10 + j);
      const sql = `SELECT ${params.map((_, j) => `$${j + 1}::int`).join(' + ')} AS total`;
      const expected = params.reduce((a, b) => a + b, 0);
      return booted.dataSource.query(sql, params).then((rows: Array<{ total: number }>) => [rows[0].total, expected]);
    });
    const results = await Promise.allSettled(queries);
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures.slice(0, 3)).toEqual([]);
    for (const r of results) {
      const [got, expected] = (r as PromiseFulfilledResult<number[]>).value;
      expect(got).toBe(expected);
    }
  });
});
