import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Message } from '@ag-ui/core';
import { EntityManager } from 'typeorm';
import { PostgresConversationStore } from '../../src/persistence/postgres-conversation-store.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import {
  assistantToolCall,
  bootPersistence,
  type BootedPersistence,
  runOutcome,
  runStart,
  toolResult,
  uniqueId,
  userMessage,
} from './persistence-fixtures.js';

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
    const startedAt = new Date('2026-01-02T10:00:00.000Z');
    const finishedAt = new Date('2026-01-02T10:00:05.000Z');
    const input = [userMessage('m1'), userMessage('m2')];
    const output = [assistantToolCall('m3', 'call-1'), toolResult('m4', 'call-1'), {
      id: 'm5',
      role: 'assistant',
      content: 'done',
    } satisfies Message];

    await store.recordRunStarted(runStart({ runId: 'run-a', threadId, ownerId: 'alice', startedAt, inputMessages: input, agentName: 'researcher' }));
    expect(await store.findRun('run-a')).toEqual({
      id: 'run-a',
      threadId,
      status: 'running',
      agentName: 'researcher',
      model: 'gpt-test',
      startedAt,
      finishedAt: null,
      error: null,
      usage: null,
    });

    await store.recordRunFinished(runOutcome({ runId: 'run-a', threadId, finishedAt, outputMessages: output }));

    expect(await store.listMessages(threadId)).toEqual([...input, ...output]);
    expect(await store.findRun('run-a')).toMatchObject({
      status: 'succeeded',
      finishedAt,
      error: null,
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    });
    expect(await store.findThread(threadId)).toEqual({ id: threadId, ownerId: 'alice', createdAt: startedAt, updatedAt: finishedAt });
  });

  it('skips messages the thread already has when a client resends the whole history', async () => {
    const { store } = booted;
    const threadId = uniqueId('thread');
    const first = [userMessage('u1')];
    const firstReply = [{ id: 'a1', role: 'assistant', content: 'hi' } satisfies Message];
    await store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId, inputMessages: first }));
    const firstRunId = (await booted.dataSource.query(`SELECT id FROM runs WHERE thread_id = $1`, [threadId]))[0].id;
    await store.recordRunFinished(runOutcome({ runId: firstRunId, threadId, outputMessages: firstReply }));

    // A v1 client sends everything again, the assistant reply included, plus one new message;
    // a changed copy of an old message does not replace the stored one.
    const resent = [userMessage('u1', 'edited?'), ...firstReply, userMessage('u2')];
    const secondRunId = uniqueId('run');
    await store.recordRunStarted(runStart({ runId: secondRunId, threadId, inputMessages: resent }));
    await store.recordRunFinished(runOutcome({
      runId: secondRunId,
      threadId,
      outputMessages: [{ id: 'a2', role: 'assistant', content: 'again' }],
    }));

    const messages = await store.listMessages(threadId);
    expect(messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
    expect(messages[0]).toEqual(userMessage('u1'));
    const runIds = await booted.dataSource.query(
      `SELECT message_id, run_id FROM messages WHERE thread_id = $1 ORDER BY seq`,
      [threadId],
    );
    expect(runIds.map((r: { run_id: string }) => r.run_id)).toEqual([firstRunId, firstRunId, secondRunId, secondRunId]);
  });

  it('skips a duplicate id inside one request', async () => {
    const threadId = uniqueId('thread');
    await booted.store.recordRunStarted(runStart({
      runId: uniqueId('run'),
      threadId,
      inputMessages: [userMessage('x'), userMessage('y'), userMessage('x', 'again')],
    }));
    expect((await booted.store.listMessages(threadId)).map((m) => m.content)).toEqual(['text of x', 'text of y']);
  });

  it('keeps the same message id apart in different threads', async () => {
    const [t1, t2] = [uniqueId('thread'), uniqueId('thread')];
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId: t1, inputMessages: [userMessage('same', 'one')] }));
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId: t2, inputMessages: [userMessage('same', 'two')] }));
    expect(await booted.store.listMessages(t1)).toEqual([userMessage('same', 'one')]);
    expect(await booted.store.listMessages(t2)).toEqual([userMessage('same', 'two')]);
  });

  it('keeps the first owner of a thread and bumps updated_at', async () => {
    const threadId = uniqueId('thread');
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const t1 = new Date('2026-01-01T00:01:00.000Z');
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId, ownerId: 'alice', startedAt: t0 }));
    await booted.store.recordRunStarted(runStart({ runId: uniqueId('run'), threadId, ownerId: 'mallory', startedAt: t1 }));
    expect(await booted.store.findThread(threadId)).toEqual({ id: threadId, ownerId: 'alice', createdAt: t0, updatedAt: t1 });
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
    const outcome = runOutcome({ runId, threadId, outputMessages: [{ id: 'r', role: 'assistant', content: 'a' }] });
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
