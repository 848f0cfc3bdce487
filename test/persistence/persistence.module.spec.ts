import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Injectable, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { ConversationWriter } from '../../src/persistence/conversation-writer.js';
import { PersistenceModule } from '../../src/persistence/persistence.module.js';
import { PostgresConversationStore } from '../../src/persistence/postgres-conversation-store.js';
import { testDatabaseOptions, type TestDatabase, usesRealPostgres } from '../support/database.js';
import {
  assistantMessage,
  bootPersistence,
  runOutcome,
  runStart,
  runtimeOptionsModule,
  uniqueId,
  userMessage,
} from './persistence-fixtures.js';

// Every test boots the module at least once; with PGlite the first boot also runs initdb.
jest.setTimeout(60_000);

describe('PersistenceModule', () => {
  // Shared: every test uses its own thread ids, and reboots prove that data outlives a restart.
  let database: TestDatabase;

  beforeAll(async () => {
    database = await testDatabaseOptions();
  });

  afterAll(async () => {
    await database?.cleanup();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads the database options from a global RUNTIME_OPTIONS and serves the whole app (global)', async () => {
    // A module that does not import PersistenceModule still gets its exports.
    @Injectable()
    class ConversationConsumer {
      constructor(
        readonly store: ConversationStore,
        readonly writer: ConversationWriter,
        readonly dataSource: DataSource,
      ) {}
    }
    @Module({ providers: [ConversationConsumer], exports: [ConversationConsumer] })
    class ConsumerModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [runtimeOptionsModule(database.options, true), PersistenceModule.forRuntimeOptions(), ConsumerModule],
    }).compile();
    try {
      const consumer = moduleRef.get(ConversationConsumer);
      expect(consumer.store).toBeInstanceOf(PostgresConversationStore);
      expect(consumer.writer).toBeInstanceOf(ConversationWriter);
      expect(consumer.dataSource.isInitialized).toBe(true);
    } finally {
      await moduleRef.close();
    }
  });

  it('writes behind: runStarted returns at once and whenIdle makes the writes visible', async () => {
    const { writer, store, close } = await bootPersistence(database.options);
    try {
      const threadId = uniqueId('thread');
      const runId = uniqueId('run');
      const started = writer.runStarted(
        runStart({ runId, threadId, inputMessages: [userMessage('q')] }),
      );
      writer.runFinished(runOutcome({ runId, threadId, outputMessages: [assistantMessage('a')] }));
      // Not a promise: there is nothing for the streaming path to await.
      expect(started).toBeUndefined();
      await writer.whenIdle();
      expect((await store.listMessages(threadId)).map((m) => m.id)).toEqual(['q', 'a']);
      expect((await store.findRun(runId))?.status).toBe('succeeded');
    } finally {
      await close();
    }
  });

  it('flushes queued writes at shutdown, before the pool closes', async () => {
    const threadId = uniqueId('thread');
    const first = await bootPersistence(database.options);
    for (let i = 0; i < 20; i++) {
      const runId = `run-${i}`;
      first.writer.runStarted(runStart({ runId, threadId, inputMessages: [userMessage(`q${i}`)] }));
      const reply = assistantMessage(`a${i}`);
      first.writer.runFinished(runOutcome({ runId, threadId, outputMessages: [reply] }));
    }
    await first.close();
    expect(first.dataSource.isInitialized).toBe(false);

    // Also proves the embedded server released its data directory.
    const second = await bootPersistence(database.options);
    try {
      const ids = (await second.store.listMessages(threadId)).map((m) => m.id);
      expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => [`q${i}`, `a${i}`]).flat());
    } finally {
      await second.close();
    }
  });

  it('logs which database it uses, without the password', async () => {
    const lines: string[] = [];
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void lines.push(String(message)));
    let options = database.options;
    if (usesRealPostgres()) {
      // Trust authentication ignores the password, which makes it safe to put one in.
      const url = new URL(database.options.url!);
      url.password = 's3cret-pw';
      options = { url: url.toString() };
    }
    const booted = await bootPersistence(options);
    await booted.close();
    const line = lines.find((l) => l.startsWith('Using '));
    if (usesRealPostgres()) {
      expect(line).toMatch(/^Using PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/crn_test_/);
    } else {
      expect(line).toMatch(/^Using embedded PostgreSQL \(PGlite\) in .*pglite$/);
    }
    expect(lines.join('\n')).not.toContain('s3cret-pw');
  });
});
