import { describe, expect, it } from '@jest/globals';
import { isRetryableWriteError, PermanentWriteError } from '../../src/persistence/database-errors.js';
import { chunkForInsert, valuesPlaceholders } from '../../src/persistence/multi-row-insert.js';
import { redactDatabaseUrl } from '../../src/persistence/redact-database-url.js';

describe('redactDatabaseUrl', () => {
  it('hides the password and keeps what helps to diagnose', () => {
    expect(redactDatabaseUrl('postgres://app:hunter2@db.internal:6543/copilot?sslmode=require')).toBe(
      'postgres://app:***@db.internal:6543/copilot?sslmode=require',
    );
  });

  it('hides secrets passed as query parameters', () => {
    const redacted = redactDatabaseUrl('postgres://app@db/copilot?password=hunter2&sslkey=/k');
    expect(redacted).not.toContain('hunter2');
    expect(redacted).toContain('sslkey=***');
  });

  it('echoes nothing of a URL it cannot parse', () => {
    expect(redactDatabaseUrl('app:hunter2@@@')).toBe('<unparseable database URL>');
    expect(redactDatabaseUrl('not a url')).toBe('<unparseable database URL>');
  });
});

describe('multi-row inserts', () => {
  it('stay within 65535 bind parameters per statement', () => {
    const rows = Array.from({ length: 25_000 }, (_, i) => i);
    const chunks = chunkForInsert(rows, 7);
    expect(chunks.flat()).toEqual(rows);
    for (const chunk of chunks) expect(chunk.length * 7).toBeLessThanOrEqual(65_535);
    expect(chunkForInsert(rows, 100)[0]).toHaveLength(655);
    expect(chunkForInsert([], 6)).toEqual([]);
  });

  it('number placeholders across rows with each column cast', () => {
    expect(valuesPlaceholders(2, ['', '::jsonb'])).toBe('($1, $2::jsonb), ($3, $4::jsonb)');
  });
});

describe('isRetryableWriteError', () => {
  it('retries connection trouble and gives up on what no retry can fix', () => {
    expect(isRetryableWriteError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetryableWriteError(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isRetryableWriteError(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
    expect(isRetryableWriteError(Object.assign(new Error('fk'), { code: '23503' }))).toBe(false);
    expect(isRetryableWriteError(Object.assign(new Error('bad json'), { code: '22P02' }))).toBe(false);
    expect(isRetryableWriteError(Object.assign(new Error('no table'), { code: '42P01' }))).toBe(false);
    expect(isRetryableWriteError(new PermanentWriteError('never started'))).toBe(false);
    expect(isRetryableWriteError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
  });
});
