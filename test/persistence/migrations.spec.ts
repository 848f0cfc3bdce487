import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { encodeEvents } from '../../src/persistence/event-batch-codec.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import { bootPersistence, type BootedPersistence } from './persistence-fixtures.js';

// With PGlite, the first boot runs initdb: seconds, more on a busy machine.
jest.setTimeout(60_000);

describe('conversation migrations', () => {
  let database: TestDatabase;
  let booted: BootedPersistence;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    booted = await bootPersistence(database.options);
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
  });

  it('run at boot on a fresh database', async () => {
    expect(await booted.dataSource.showMigrations()).toBe(false);
    const tables = await booted.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    expect(tables.map((row: { table_name: string }) => row.table_name)).toEqual([
      'agent_states',
      'api_keys',
      'messages',
      'migrations',
      'run_event_batches',
      'runs',
      'thread_locks',
      'threads',
    ]);
  });

  it('create the named constraints and indexes', async () => {
    const constraints = await booted.dataSource.query(
      `SELECT conname, contype FROM pg_constraint
       WHERE conrelid IN ('threads'::regclass, 'runs'::regclass, 'messages'::regclass,
                          'run_event_batches'::regclass, 'thread_locks'::regclass, 'agent_states'::regclass)
         AND contype <> 'n'
       ORDER BY conname`,
    );
    expect(constraints).toEqual([
      { conname: 'ck_run_event_batches_range', contype: 'c' },
      { conname: 'ck_runs_status', contype: 'c' },
      { conname: 'fk_agent_states_thread_id', contype: 'f' },
      { conname: 'fk_messages_thread_id', contype: 'f' },
      { conname: 'fk_run_event_batches_thread_id', contype: 'f' },
      { conname: 'fk_runs_thread_id', contype: 'f' },
      { conname: 'fk_thread_locks_thread_id', contype: 'f' },
      { conname: 'pk_agent_states', contype: 'p' },
      { conname: 'pk_messages', contype: 'p' },
      { conname: 'pk_run_event_batches', contype: 'p' },
      { conname: 'pk_runs', contype: 'p' },
      { conname: 'pk_thread_locks', contype: 'p' },
      { conname: 'pk_threads', contype: 'p' },
      { conname: 'uq_messages_thread_id_message_id', contype: 'u' },
    ]);
    const indexes = await booted.dataSource.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix\\_%' ORDER BY indexname`,
    );
    expect(indexes.map((row: { indexname: string }) => row.indexname)).toEqual([
      'ix_api_keys_owner_id',
      'ix_messages_thread_id_seq',
      'ix_run_event_batches_run_id',
      'ix_run_event_batches_thread_id_last_sequence',
      'ix_runs_thread_id_started_at',
      'ix_thread_locks_expires_at',
      'ix_threads_owner_id_updated_at',
    ]);
    expect(indexes[6].indexdef).toContain('updated_at DESC');
  });

  it('use timestamptz, jsonb and an always-generated identity', async () => {
    const columns = await booted.dataSource.query(
      `SELECT table_name, column_name, data_type, is_identity, identity_generation
       FROM information_schema.columns
       WHERE table_schema = 'public'
         AND table_name IN ('threads', 'runs', 'messages', 'run_event_batches', 'thread_locks', 'agent_states')`,
    );
    type Column = { table_name: string; column_name: string };
    const type = (table: string, column: string) =>
      columns.find((c: Column) => c.table_name === table && c.column_name === column);
    expect(type('threads', 'updated_at').data_type).toBe('timestamp with time zone');
    expect(type('runs', 'usage').data_type).toBe('jsonb');
    expect(type('messages', 'payload').data_type).toBe('jsonb');
    expect(type('run_event_batches', 'first_sequence').data_type).toBe('bigint');
    expect(type('run_event_batches', 'last_sequence').data_type).toBe('bigint');
    expect(type('run_event_batches', 'events').data_type).toBe('jsonb');
    expect(type('thread_locks', 'expires_at').data_type).toBe('timestamp with time zone');
    expect(type('agent_states', 'state').data_type).toBe('jsonb');
    expect(type('threads', 'title').data_type).toBe('text');
    expect(type('messages', 'seq')).toMatchObject({
      data_type: 'bigint',
      is_identity: 'YES',
      identity_generation: 'ALWAYS',
    });
  });

  it('leave nothing for TypeORM to generate: the entities match the migration', async () => {
    const pending = await booted.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('revert and re-apply', async () => {
    const countTables = async (names: string[]) =>
      (
        await booted.dataSource.query(
          `SELECT count(*)::int AS n FROM information_schema.tables
           WHERE table_schema = 'public' AND table_name = ANY($1)`,
          [names],
        )
      )[0].n;
    const columns = async (table: string) =>
      (
        await booted.dataSource.query(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
          [table],
        )
      ).map((row: { column_name: string }) => row.column_name);
    // Runs of deltas stored as one element are expanded for the code before them.
    const events = [
      { type: 'TEXT_MESSAGE_START', messageId: 'm', role: 'assistant', timestamp: 1 },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'Hel', timestamp: 2 },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'lo', timestamp: 3 },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'c', delta: '{', timestamp: 4 },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'c', delta: '}', timestamp: 5 },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'n', delta: 'a' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'n', delta: 'b' },
      { type: 'RUN_FINISHED', threadId: 'mig-thread', runId: 'mig-run' },
    ];
    await booted.dataSource.query(`INSERT INTO threads (id, owner_id, created_at, updated_at) VALUES ('mig-thread', 'o', now(), now())`);
    await booted.dataSource.query(
      `INSERT INTO run_event_batches (thread_id, first_sequence, last_sequence, run_id, events) VALUES ('mig-thread', 1, 8, 'mig-run', $1::jsonb)`,
      [JSON.stringify(encodeEvents(events as never))],
    );
    await booted.dataSource.undoLastMigration(); // the compact runs of deltas
    const [expanded] = await booted.dataSource.query(`SELECT events FROM run_event_batches WHERE thread_id = 'mig-thread'`);
    expect(expanded.events).toEqual(events);
    await booted.dataSource.query(`DELETE FROM threads WHERE id = 'mig-thread'`);
    await booted.dataSource.undoLastMigration(); // the API keys
    expect(await countTables(['api_keys'])).toBe(0);
    await booted.dataSource.undoLastMigration(); // the runs' tools and context
    expect(await columns('runs')).not.toContain('tools');
    expect(await columns('runs')).not.toContain('context');
    await booted.dataSource.undoLastMigration(); // the threads' archive flag
    expect(await columns('threads')).not.toContain('archived_at');
    await booted.dataSource.undoLastMigration(); // the checkpoint-clearing trigger
    await booted.dataSource.undoLastMigration();
    // Undoing the event-log batches brings back the one-row-per-event table.
    expect(await countTables(['run_events'])).toBe(1);
    expect(await countTables(['run_event_batches'])).toBe(0);
    const durable = ['run_events', 'thread_locks', 'agent_states'];
    await booted.dataSource.undoLastMigration();
    expect(await countTables(durable)).toBe(0);
    const threadColumns = await booted.dataSource.query(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = 'threads' ORDER BY column_name`,
    );
    expect(threadColumns.map((row: { column_name: string }) => row.column_name)).toEqual([
      'created_at',
      'id',
      'owner_id',
      'updated_at',
    ]);
    await booted.dataSource.undoLastMigration();
    expect(await countTables(['threads', 'runs', 'messages'])).toBe(0);
    await booted.dataSource.runMigrations();
    expect(await booted.dataSource.showMigrations()).toBe(false);
  });

  it('are what the TypeORM CLI data source file sees too', async () => {
    const url = (booted.dataSource.options as { url: string }).url;
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = url;
    try {
      const cliModule = await import('../../src/persistence/data-source.js');
      const exported = Object.values(cliModule);
      // The CLI refuses a file with more than one DataSource export.
      expect(exported.filter((value) => value instanceof DataSource)).toHaveLength(1);
      const cli = cliModule.default;
      expect(cli.options.migrationsRun).toBe(false);
      await cli.initialize();
      try {
        expect(await cli.showMigrations()).toBe(false);
      } finally {
        await cli.destroy();
      }
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = previous;
    }
  });
});
