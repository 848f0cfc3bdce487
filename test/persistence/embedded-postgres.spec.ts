import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres } from '../../src/persistence/embedded-postgres.js';
import { conversationMigrations } from '../../src/persistence/migrations/index.js';
import {
  assistantMessage,
  bootPersistence,
  runOutcome,
  runStart,
  userMessage,
} from './persistence-fixtures.js';

// PGlite's first start in a new directory runs initdb: seconds, more on a busy machine.
jest.setTimeout(90_000);

/** Always PGlite, whatever TEST_DATABASE_URL says: these tests are about the embedded server. */
describe('EmbeddedPostgres', () => {
  let root: string;
  /** Initialised once (initdb is the slow part), then opened by several tests in turn. */
  let sharedDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'crn-embedded-'));
    sharedDir = join(root, 'shared');
    await (await EmbeddedPostgres.start({ dataDir: sharedDir, maxConnections: 1 })).stop();
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps threads across a restart of the module on the same data directory', async () => {
    const dataDir = join(root, 'restart', 'nested'); // created on demand
    const first = await bootPersistence({ dataDir });
    const [question, answer] = [userMessage('m1'), assistantMessage('m2')];
    first.writer.runStarted(
      runStart({ runId: 'r1', threadId: 't1', ownerId: 'alice', inputMessages: [question] }),
    );
    first.writer.runFinished(runOutcome({ runId: 'r1', threadId: 't1', outputMessages: [answer] }));
    await first.writer.whenIdle();
    await first.close();
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);

    const second = await bootPersistence({ dataDir });
    try {
      expect(await second.store.listMessages('t1')).toEqual([question, answer]);
      expect(await second.store.findThread('t1')).toMatchObject({ ownerId: 'alice' });
      expect(await second.store.findRun('r1')).toMatchObject({ status: 'succeeded' });
      // Migrations were not applied twice.
      expect(await second.dataSource.query(`SELECT name FROM migrations`)).toHaveLength(
        conversationMigrations.length,
      );
    } finally {
      await second.close();
    }
  });

  it('serves concurrent clients up to its connection limit, and serializes transactions', async () => {
    const server = await EmbeddedPostgres.start({ dataDir: sharedDir, maxConnections: 6 });
    const pool = new pg.Pool({ connectionString: server.url, max: 5 });
    try {
      // Distinct statements and parameters: a mix-up between sessions would show.
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          i % 2 === 0
            ? pool.query<{ n: number }>(`SELECT $1::int AS n, 'even' AS kind`, [i])
            : pool.query<{ n: number }>(`SELECT $1::int + $2::int AS n`, [i - 1, 1]),
        ),
      );
      expect(results.map((r) => r.rows[0]?.n)).toEqual(Array.from({ length: 300 }, (_, i) => i));

      // PGlite runs one session at a time: another connection's query waits until an open
      // transaction ends (so a transaction must never wait on a second connection), and never
      // sees uncommitted rows.
      const writer = await pool.connect();
      const reader = await pool.connect();
      try {
        await writer.query('CREATE TABLE IF NOT EXISTS isolation_probe (n int)');
        await writer.query('BEGIN');
        await writer.query('INSERT INTO isolation_probe VALUES (1)');
        let readerDone = false;
        const seen = reader.query('SELECT count(*)::int AS c FROM isolation_probe').then((r) => {
          readerDone = true;
          return r.rows[0].c;
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(readerDone).toBe(false);
        await writer.query('ROLLBACK');
        expect(await seen).toBe(0);
      } finally {
        writer.release();
        reader.release();
      }
    } finally {
      await pool.end();
      await server.stop();
    }
  });

  it('refuses a second server on a data directory open in this process', async () => {
    const dataDir = sharedDir;
    const server = await EmbeddedPostgres.start({ dataDir, maxConnections: 2 });
    try {
      await expect(EmbeddedPostgres.start({ dataDir, maxConnections: 2 })).rejects.toThrow(
        /already open in this process/,
      );
    } finally {
      await server.stop();
    }
  });

  it('refuses a data directory locked by another live process, naming it', async () => {
    const dataDir = join(root, 'other-process');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await rm(dataDir, { recursive: true, force: true });
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'pglite.lock'), `${holder.pid}\n`);
      await expect(EmbeddedPostgres.start({ dataDir, maxConnections: 2 })).rejects.toThrow(
        new RegExp(`in use by process ${holder.pid}`),
      );
      // The other process's lock is left alone.
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(true);
    } finally {
      holder.kill();
    }
  });

  it('takes over the lock of a process that is gone', async () => {
    const dataDir = sharedDir;
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.on('exit', resolve));
    await writeFile(join(dataDir, 'pglite.lock'), `${gone.pid}\n`);

    const server = await EmbeddedPostgres.start({ dataDir, maxConnections: 2 });
    await server.stop();
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
  });
});
