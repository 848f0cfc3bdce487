import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { EntityManager } from 'typeorm';
import { PostgresConversationStore } from '../../src/persistence/postgres-conversation-store.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import {
  assistantMessage,
  assistantToolCall,
  bootPersistence,
  type BootedPersistence,
  runOutcome,
  runStart,
  toolResult,
  uniqueId,
  userMessage,
} from './persistence-fixtures.js';

// With PGlite, the first boot runs initdb: seconds, more on a busy machine.
jest.setTimeout(60_000);

describe('PostgresConversationStore', () => {
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

  it('is the ConversationStore the module provides', () => {
    expect(booted.store).toBeInstanceOf(PostgresConversationStore);
  });

  it('stores a run, its input and output messages, in order', async () => {
    const { store } = booted;
    const threadId = uniqueId('thread');
    const runId = uniqueId('run');
    const startedAt = new Date('2026-01-02T10:00:00.000Z');
    const finishedAt = new Date('2026-01-02T10:00:05.000Z');
    const input = [userMessage('m1'), userMessage('m2')];
    const output = [
      assistantToolCall('m3', 'call-1'),
      toolResult('m4', 'call-1'),
      assistantMessage('m5'),
    ];

    await store.recordRunStarted(
      runStart({ runId, threadId, ownerId: 'alice', startedAt, inputMessages: input, agentName: 'researcher' }),
    );
    expect(await store.findRun(runId)).toEqual({
      id: runId,
      threadId,
      status: 'running',
      agentName: 'researcher',
      model: 'gpt-test',
      startedAt,
      finishedAt: null,
      error: null,
      usage: null,
      // Recorded without its tools and context (runStart gives none).
      input: null,
    });

    await store.recordRunFinished(runOutcome({ runId, threadId, finishedAt, outputMessages: output }));

    expect(await store.listMessages(threadId)).toEqual([...input, ...output]);
    expect(await store.findRun(runId)).toMatchObject({
      status: 'succeeded',
      finishedAt,
      error: null,
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    });
    expect(await store.findThread(threadId)).toEqual({
      id: threadId,
      ownerId: 'alice',
      createdAt: startedAt,
      updatedAt: finishedAt,
    });
  });

  it('skips messages the thread already has when a client resends the whole history', async () => {
    const { store } = booted;
    const threadId = uniqueId('thread');
    const [firstRunId, secondRunId] = [uniqueId('run'), uniqueId('run')];
    const firstReply = assistantMessage('a1');
    await store.recordRunStarted(
      runStart({ runId: firstRunId, threadId, inputMessages: [userMessage('u1')] }),
    );
    await store.recordRunFinished(
      runOutcome({ runId: firstRunId, threadId, outputMessages: [firstReply] }),
    );

    // A v1 client sends everything again, the assistant reply included, plus one new message;
    // a changed copy of an old message does not replace the stored one.
    const resent = [userMessage('u1', 'edited?'), firstReply, userMessage('u2')];
    await store.recordRunStarted(runStart({ runId: secondRunId, threadId, inputMessages: resent }));
    await store.recordRunFinished(
      runOutcome({ runId: secondRunId, threadId, outputMessages: [assistantMessage('a2')] }),
    );

    const messages = await store.listMessages(threadId);
    expect(messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
    expect(messages[0]).toEqual(userMessage('u1'));
    const rows: { run_id: string }[] = await booted.dataSource.query(
      `SELECT run_id FROM messages WHERE thread_id = $1 ORDER BY seq`,
      [threadId],
    );
    expect(rows.map((row) => row.run_id)).toEqual([firstRunId, firstRunId, secondRunId, secondRunId]);
  });

  it('skips a duplicate id inside one request', async () => {
    const threadId = uniqueId('thread');
    const inputMessages = [userMessage('x'), userMessage('y'), userMessage('x', 'again')];
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId, inputMessages }));
    const contents = (await booted.store.listMessages(threadId)).map((m) => m.content);
    expect(contents).toEqual(['text of x', 'text of y']);
  });

  it('keeps the same message id apart in different threads', async () => {
    const [one, two] = [userMessage('same', 'one'), userMessage('same', 'two')];
    const [t1, t2] = [uniqueId('thread'), uniqueId('thread')];
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId: t1, inputMessages: [one] }));
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId: t2, inputMessages: [two] }));
    expect(await booted.store.listMessages(t1)).toEqual([one]);
    expect(await booted.store.listMessages(t2)).toEqual([two]);
  });

  it('keeps the first owner of a thread and bumps updated_at', async () => {
    const threadId = uniqueId('thread');
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const t1 = new Date('2026-01-01T00:01:00.000Z');
    const start = (ownerId: string, startedAt: Date) =>
      booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId, ownerId, startedAt }));
    await start('alice', t0);
    await start('mallory', t1);
    expect(await booted.store.findThread(threadId)).toEqual({
      id: threadId,
      ownerId: 'alice',
      createdAt: t0,
      updatedAt: t1,
    });
  });

  it('records a failed run with its error', async () => {
    const threadId = uniqueId('thread');
    const runId = uniqueId('run');
    await booted.store.recordRunStarted(runStart({ runId, threadId }));
    await booted.store.recordRunFinished(runOutcome({
      runId,
      threadId,
      status: 'failed',
      error: { code: 'LLM_UNAVAILABLE', message: 'upstream 503' },
      usage: null,
    }));
    expect(await booted.store.findRun(runId)).toMatchObject({
      status: 'failed',
      error: { code: 'LLM_UNAVAILABLE', message: 'upstream 503' },
      usage: null,
    });
  });

  it('is idempotent: repeating a write (a retry after a lost COMMIT) changes nothing', async () => {
    const threadId = uniqueId('thread');
    const runId = uniqueId('run');
    const start = runStart({ runId, threadId, inputMessages: [userMessage('q')] });
    const outcome = runOutcome({ runId, threadId, outputMessages: [assistantMessage('r')] });
    await booted.store.recordRunStarted(start);
    await booted.store.recordRunStarted(start);
    await booted.store.recordRunFinished(outcome);
    await booted.store.recordRunFinished(outcome);
    expect((await booted.store.listMessages(threadId)).map((m) => m.id)).toEqual(['q', 'r']);
    expect((await booted.store.findRun(runId))?.status).toBe('succeeded');
  });

  it('refuses to finish a run that was never started', async () => {
    const threadId = uniqueId('thread');
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId }));
    await expect(
      booted.store.recordRunFinished(runOutcome({ runId: 'never-started', threadId })),
    ).rejects.toThrow(/never recorded as started/);
  });

  it('stores a history larger than one statement can bind, in few statements, in order', async () => {
    const threadId = uniqueId('thread');
    // 6 parameters per row: 12000 rows need 72000 parameters, beyond the 65535 limit.
    const history = Array.from({ length: 12_000 }, (_, i) => userMessage(`h${i}`, `#${i}`));
    const query = jest.spyOn(EntityManager.prototype, 'query');
    try {
      await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId, inputMessages: history }));
      const inserts = query.mock.calls.filter(([sql]) => /INSERT INTO messages/.test(sql));
      expect(inserts).toHaveLength(12);
      expect(Math.max(...inserts.map(([, parameters]) => parameters?.length ?? 0))).toBeLessThanOrEqual(65_535);
    } finally {
      query.mockRestore();
    }
    const stored = await booted.store.listMessages(threadId);
    expect(stored.map((m) => m.id)).toEqual(history.map((m) => m.id));
  });

  it('answers null or empty for what does not exist', async () => {
    expect(await booted.store.findThread('no-such-thread')).toBeNull();
    expect(await booted.store.findRun('no-such-run')).toBeNull();
    expect(await booted.store.listMessages('no-such-thread')).toEqual([]);
  });

  it('deletes runs and messages with their thread', async () => {
    const threadId = uniqueId('thread');
    const runId = uniqueId('run');
    await booted.store.recordRunStarted(runStart({ runId, threadId, inputMessages: [userMessage('gone')] }));
    await booted.dataSource.query(`DELETE FROM threads WHERE id = $1`, [threadId]);
    expect(await booted.store.findRun(runId)).toBeNull();
    expect(await booted.store.listMessages(threadId)).toEqual([]);
  });
});
