import { EventType } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { PostgresThreadCatalog } from '../../src/persistence/postgres-thread-catalog.js';
import { RunAdmission } from '../../src/persistence/run-admission.js';
import { AgentStateStore, EventLogStore, ThreadLockStore } from '../../src/ports/run-stores.js';
import { InvalidThreadCursorError, ThreadCatalog, type ThreadSummary } from '../../src/ports/thread-catalog.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import {
  assistantMessage,
  bootPersistence,
  type BootedPersistence,
  expireLock,
  runOutcome,
  seedThread,
  uniqueId,
  userMessage,
} from './persistence-fixtures.js';

// With PGlite, the first boot runs initdb: seconds, more on a busy machine.
jest.setTimeout(60_000);

async function bootCatalog(): Promise<{ database: TestDatabase; booted: BootedPersistence }> {
  const database = await testDatabaseOptions();
  return { database, booted: await bootPersistence(database.options) };
}

function at(minute: number): Date {
  return new Date(Date.UTC(2026, 0, 5, 10, minute));
}

describe('PostgresThreadCatalog', () => {
  let database: TestDatabase;
  let booted: BootedPersistence;
  let catalog: ThreadCatalog;

  beforeAll(async () => {
    ({ database, booted } = await bootCatalog());
    catalog = booted.moduleRef.get(ThreadCatalog);
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
  });

  it('is the ThreadCatalog the module provides', () => {
    expect(catalog).toBeInstanceOf(PostgresThreadCatalog);
  });

  describe('list', () => {
    it('pages newest first, ties broken by id, with an opaque cursor', async () => {
      const owner = uniqueId('owner');
      // t-c and t-d share updated_at: id desc decides.
      const seeds = [
        ['t-a', 1],
        ['t-b', 2],
        ['t-c', 3],
        ['t-d', 3],
        ['t-e', 4],
      ] as const;
      for (const [id, minute] of seeds) {
        await seedThread(booted.store, { threadId: `${owner}-${id}`, ownerId: owner, startedAt: at(minute) });
      }
      const seen: string[] = [];
      let after: string | undefined;
      const pageSizes: number[] = [];
      for (;;) {
        const page = await catalog.list(owner, { first: 2, after });
        pageSizes.push(page.threads.length);
        seen.push(...page.threads.map((thread) => thread.id.slice(owner.length + 1)));
        if (!page.nextCursor) break;
        expect(page.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
        after = page.nextCursor;
      }
      expect(seen).toEqual(['t-e', 't-d', 't-c', 't-b', 't-a']);
      expect(pageSizes).toEqual([2, 2, 1]);
      // An exact multiple of the page size ends with a null cursor, not an empty page.
      const full = await catalog.list(owner, { first: 5 });
      expect(full.threads).toHaveLength(5);
      expect(full.nextCursor).toBeNull();
    });

    it('keeps the microseconds of updated_at in the cursor: no thread skipped or repeated', async () => {
      const owner = uniqueId('owner');
      const ids = ['x1', 'x2', 'x3'].map((id) => `${owner}-${id}`);
      for (const id of ids) await seedThread(booted.store, { threadId: id, ownerId: owner });
      // Same millisecond, different microseconds, in the opposite order of the ids.
      await booted.dataSource.query(
        `UPDATE threads SET updated_at = timestamptz '2026-01-05 10:00:00.123001+00' WHERE id = $1`,
        [ids[2]],
      );
      await booted.dataSource.query(
        `UPDATE threads SET updated_at = timestamptz '2026-01-05 10:00:00.123002+00' WHERE id = $1`,
        [ids[1]],
      );
      await booted.dataSource.query(
        `UPDATE threads SET updated_at = timestamptz '2026-01-05 10:00:00.123003+00' WHERE id = $1`,
        [ids[0]],
      );
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await catalog.list(owner, { first: 1, after });
        seen.push(...page.threads.map((thread) => thread.id));
        after = page.nextCursor ?? undefined;
      } while (after);
      expect(seen).toEqual(ids);
    });

    it('clamps first to 1..100 and refuses a cursor it did not issue', async () => {
      const owner = uniqueId('owner');
      for (let i = 0; i < 3; i++) {
        await seedThread(booted.store, { threadId: `${owner}-${i}`, ownerId: owner, startedAt: at(i) });
      }
      expect((await catalog.list(owner, { first: 0 })).threads).toHaveLength(1);
      expect((await catalog.list(owner, { first: -5 })).threads).toHaveLength(1);
      expect((await catalog.list(owner, { first: 1000 })).threads).toHaveLength(3);
      await expect(catalog.list(owner, { first: 2, after: 'not-a-cursor' })).rejects.toBeInstanceOf(
        InvalidThreadCursorError,
      );
      const forged = Buffer.from(JSON.stringify(['1; DROP TABLE threads', 'x'])).toString('base64url');
      await expect(catalog.list(owner, { first: 2, after: forged })).rejects.toBeInstanceOf(
        InvalidThreadCursorError,
      );
    });

    it('filters by agent, and summarises the latest run and the message count', async () => {
      const owner = uniqueId('owner');
      const researched = `${owner}-researched`;
      const plain = `${owner}-plain`;
      const firstRun = uniqueId('run');
      await seedThread(booted.store, {
        threadId: researched,
        ownerId: owner,
        runId: firstRun,
        agentName: 'researcher',
        startedAt: at(1),
        messages: [userMessage('m1')],
      });
      await booted.store.recordRunFinished(
        runOutcome({ runId: firstRun, threadId: researched, finishedAt: at(2), outputMessages: [assistantMessage('m2')] }),
      );
      await seedThread(booted.store, {
        threadId: researched,
        ownerId: owner,
        agentName: 'writer',
        startedAt: at(3),
        messages: [userMessage('m1'), assistantMessage('m2'), userMessage('m3')],
      });
      await seedThread(booted.store, { threadId: plain, ownerId: owner, startedAt: at(0) });

      const filtered = await catalog.list(owner, { first: 10, agentName: 'researcher' });
      expect(filtered.threads.map((thread) => thread.id)).toEqual([researched]);
      expect(filtered.threads[0]).toEqual({
        id: researched,
        ownerId: owner,
        title: null,
        agentName: 'writer',
        createdAt: at(1),
        updatedAt: at(3),
        lastRunStatus: 'running',
        messageCount: 3,
        forkedFrom: null,
        archived: false,
      } satisfies ThreadSummary);
      expect((await catalog.list(owner, { first: 10, agentName: 'nobody' })).threads).toEqual([]);
      const all = await catalog.list(owner, { first: 10 });
      expect(all.threads.map((thread) => thread.id)).toEqual([researched, plain]);
      expect(all.threads[1]).toMatchObject({ agentName: null, lastRunStatus: 'running', messageCount: 0 });
      // null: threads with a run of no agent (the built-in model's chats).
      expect((await catalog.list(owner, { first: 10, agentName: null })).threads.map((thread) => thread.id)).toEqual([plain]);
    });

    it('archives and unarchives: archived threads only when asked for, their place in the order kept', async () => {
      const owner = uniqueId('owner');
      const [older, newer] = [`${owner}-older`, `${owner}-newer`];
      await seedThread(booted.store, { threadId: older, ownerId: owner, startedAt: at(1) });
      await seedThread(booted.store, { threadId: newer, ownerId: owner, startedAt: at(2) });
      const archived = await catalog.setArchived(owner, older, true);
      expect(archived).toMatchObject({ ok: true, value: { id: older, archived: true, updatedAt: at(1) } });
      expect((await catalog.list(owner, { first: 10 })).threads.map((t) => t.id)).toEqual([newer]);
      const withArchived = await catalog.list(owner, { first: 10, includeArchived: true });
      expect(withArchived.threads.map((t) => [t.id, t.archived])).toEqual([
        [newer, false],
        [older, true],
      ]);
      expect(await catalog.setArchived('someone-else', newer, true)).toMatchObject({ ok: false, reason: 'not_found' });
      expect((await catalog.get(owner, newer))!.archived).toBe(false);
      expect(await catalog.setArchived(owner, older, false)).toMatchObject({ ok: true, value: { archived: false } });
      expect((await catalog.list(owner, { first: 10 })).threads.map((t) => t.id)).toEqual([newer, older]);
    });

    it('keeps what each run was given (tools, context) for replays; null for runs recorded without', async () => {
      const owner = uniqueId('owner');
      const threadId = `${owner}-inputs`;
      const tools = [{ name: 'showBanner', description: 'Shows a banner', parameters: { type: 'object' } }];
      const context = [{ description: 'page', value: '/home' }];
      await booted.store.recordRunStarted({
        runId: uniqueId('run'),
        threadId,
        ownerId: owner,
        agentName: null,
        model: null,
        startedAt: at(1),
        inputMessages: [],
        runInput: { tools, context },
      });
      await seedThread(booted.store, { threadId, ownerId: owner, startedAt: at(2) });
      const runs = (await catalog.runs(owner, threadId))!;
      expect(runs.map((run) => run.input)).toEqual([{ tools, context }, null]);
    });
  });

  describe('owner scoping', () => {
    it('reports another owner’s thread exactly like a missing one', async () => {
      const threadId = uniqueId('thread');
      await seedThread(booted.store, { threadId, ownerId: 'alice', messages: [userMessage('m1')] });
      expect(await catalog.get('alice', threadId)).toMatchObject({ id: threadId, ownerId: 'alice' });
      expect(await catalog.get('bob', threadId)).toBeNull();
      expect(await catalog.get('alice', 'no-such-thread')).toBeNull();
      expect(await catalog.runs('bob', threadId)).toBeNull();
      expect((await catalog.list('bob', { first: 100 })).threads.map((t) => t.id)).not.toContain(threadId);
      const refusals = [
        await catalog.rename('bob', threadId, 'mine now'),
        await catalog.delete('bob', threadId),
        await catalog.fork('bob', threadId, 'm1', uniqueId('fork')),
      ];
      for (const refusal of refusals) expect(refusal).toMatchObject({ ok: false, reason: 'not_found' });
      expect(await catalog.get('alice', threadId)).toMatchObject({ title: null, messageCount: 1 });
    });
  });

  it('lists runs oldest first', async () => {
    const threadId = uniqueId('thread');
    const [r1, r2] = [uniqueId('run'), uniqueId('run')];
    await seedThread(booted.store, { threadId, runId: r2, startedAt: at(5), agentName: 'b' });
    await seedThread(booted.store, { threadId, runId: r1, startedAt: at(4), agentName: 'a' });
    await booted.store.recordRunFinished(runOutcome({ runId: r1, threadId, finishedAt: at(6) }));
    const runs = await catalog.runs('owner-1', threadId);
    expect(runs!.map((run) => run.id)).toEqual([r1, r2]);
    expect(runs![0]).toMatchObject({
      threadId,
      status: 'succeeded',
      agentName: 'a',
      startedAt: at(4),
      finishedAt: at(6),
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    });
    expect(await catalog.runs('owner-1', 'no-such-thread')).toBeNull();
  });

  it('renames without bumping updated_at', async () => {
    const threadId = uniqueId('thread');
    await seedThread(booted.store, { threadId, startedAt: at(7) });
    const renamed = await catalog.rename('owner-1', threadId, 'Trip planning');
    expect(renamed).toEqual({
      ok: true,
      value: expect.objectContaining({ id: threadId, title: 'Trip planning', updatedAt: at(7) }),
    });
    expect((await catalog.get('owner-1', threadId))!.title).toBe('Trip planning');
  });

  describe('delete', () => {
    it('removes the thread with its messages, runs, events, states and expired lock', async () => {
      const threadId = uniqueId('thread');
      const runId = uniqueId('run');
      const admission = booted.moduleRef.get(RunAdmission);
      expect(
        await admission.admitRun({
          threadId,
          runId,
          ownerId: 'owner-1',
          holder: 'instance-a',
          ttlMs: 30_000,
          agentName: 'researcher',
          model: null,
          startedAt: new Date(),
        }),
      ).toMatchObject({ admitted: true });
      await seedThread(booted.store, { threadId, runId, messages: [userMessage('m1')] });
      await booted.moduleRef.get(EventLogStore).append([
        { threadId, runId, sequence: 1, event: { type: EventType.RUN_STARTED, threadId, runId } as never },
      ]);
      await booted.moduleRef.get(AgentStateStore).record(threadId, 'researcher', { a: 1 }, runId);

      expect(await catalog.delete('owner-1', threadId)).toMatchObject({ ok: false, reason: 'running' });
      expect(await catalog.get('owner-1', threadId)).not.toBeNull();

      await expireLock(booted.dataSource, threadId);
      expect(await catalog.delete('owner-1', threadId)).toEqual({ ok: true, value: true });
      expect(await catalog.get('owner-1', threadId)).toBeNull();
      for (const table of ['messages', 'runs', 'run_event_batches', 'thread_locks', 'agent_states']) {
        const [{ n }] = await booted.dataSource.query(
          `SELECT count(*)::int AS n FROM ${table} WHERE thread_id = $1`,
          [threadId],
        );
        expect({ table, n }).toEqual({ table, n: 0 });
      }
      expect(await catalog.delete('owner-1', threadId)).toMatchObject({ ok: false, reason: 'not_found' });
    });

    it('is refused while a run holds the lock, and allowed once it is released', async () => {
      const threadId = uniqueId('thread');
      await seedThread(booted.store, { threadId });
      const locks = booted.moduleRef.get(ThreadLockStore);
      expect((await locks.tryAcquire(threadId, 'run-1', 'instance-a', 30_000)).acquired).toBe(true);
      expect(await catalog.delete('owner-1', threadId)).toMatchObject({ ok: false, reason: 'running' });
      await locks.release(threadId, 'run-1');
      expect(await catalog.delete('owner-1', threadId)).toEqual({ ok: true, value: true });
    });
  });

  describe('fork', () => {
    it('copies the messages up to and including the chosen one, and the latest agent states', async () => {
      const threadId = uniqueId('thread');
      const messages = [
        userMessage('m1'),
        assistantMessage('m2'),
        userMessage('m3'),
        assistantMessage('m4'),
      ];
      await seedThread(booted.store, { threadId, startedAt: at(8), messages, agentName: 'planner' });
      await catalog.rename('owner-1', threadId, 'Budget');
      const states = booted.moduleRef.get(AgentStateStore);
      await states.record(threadId, 'planner', { step: 1 }, null);
      await states.record(threadId, 'planner', { step: 2 }, null);
      await states.record(threadId, 'critic', { ok: true }, null);

      const forkId = uniqueId('fork');
      const forked = await catalog.fork('owner-1', threadId, 'm2', forkId);
      expect(forked).toEqual({
        ok: true,
        value: expect.objectContaining({
          id: forkId,
          ownerId: 'owner-1',
          title: 'Budget (fork)',
          messageCount: 2,
          lastRunStatus: null,
          agentName: null,
          forkedFrom: { threadId, messageId: 'm2' },
        }),
      });
      expect(await booted.store.listMessages(forkId)).toEqual(messages.slice(0, 2));
      expect(await states.latest(forkId, 'planner')).toMatchObject({ version: 1, state: { step: 2 } });
      expect(await states.latest(forkId, 'critic')).toMatchObject({ version: 1, state: { ok: true } });
      // The source is untouched, and the fork is a thread like any other.
      expect(await booted.store.listMessages(threadId)).toEqual(messages);
      expect((await states.record(forkId, 'planner', { step: 3 }, null)).version).toBe(2);
      const untitled = uniqueId('thread');
      await seedThread(booted.store, { threadId: untitled, messages: [userMessage('u1')] });
      const second = await catalog.fork('owner-1', untitled, 'u1', uniqueId('fork'));
      expect(second).toMatchObject({ ok: true, value: { title: 'Thread (fork)', messageCount: 1 } });
    });

    it('refuses a message the thread does not have, and creates nothing', async () => {
      const threadId = uniqueId('thread');
      const other = uniqueId('thread');
      await seedThread(booted.store, { threadId, messages: [userMessage('m1')] });
      await seedThread(booted.store, { threadId: other, messages: [userMessage('elsewhere')] });
      const forkId = uniqueId('fork');
      expect(await catalog.fork('owner-1', threadId, 'elsewhere', forkId)).toMatchObject({
        ok: false,
        reason: 'message_not_found',
      });
      expect(await catalog.fork('owner-1', 'no-such-thread', 'm1', forkId)).toMatchObject({
        ok: false,
        reason: 'not_found',
      });
      expect(await booted.store.findThread(forkId)).toBeNull();
    });
  });
});

describe('PostgresThreadCatalog.deleteExpired', () => {
  // Its own database: retention counts every thread there is.
  let database: TestDatabase;
  let booted: BootedPersistence;
  let catalog: ThreadCatalog;

  beforeAll(async () => {
    ({ database, booted } = await bootCatalog());
    catalog = booted.moduleRef.get(ThreadCatalog);
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
  });

  async function remaining(): Promise<string[]> {
    const rows: { id: string }[] = await booted.dataSource.query(`SELECT id FROM threads ORDER BY id`);
    return rows.map((row) => row.id);
  }

  it('deletes by age and beyond the newest maxThreads, never a thread with a live lock', async () => {
    const day = 24 * 60 * 60 * 1000;
    const ago = (days: number) => new Date(Date.now() - days * day);
    const locks = booted.moduleRef.get(ThreadLockStore);
    for (const [id, days] of [
      ['old-1', 40],
      ['old-locked', 50],
      ['old-expired-lock', 45],
      ['new-1', 1],
      ['new-2', 2],
      ['new-3', 3],
      ['new-locked', 4],
    ] as const) {
      await seedThread(booted.store, { threadId: id, startedAt: ago(days) });
    }
    expect((await locks.tryAcquire('old-locked', 'r', 'i', 60_000)).acquired).toBe(true);
    expect((await locks.tryAcquire('new-locked', 'r', 'i', 60_000)).acquired).toBe(true);
    expect((await locks.tryAcquire('old-expired-lock', 'r', 'i', 60_000)).acquired).toBe(true);
    await expireLock(booted.dataSource, 'old-expired-lock');

    expect(await catalog.deleteExpired({})).toBe(0);
    expect(await catalog.deleteExpired({ maxAgeMs: 30 * day })).toBe(2);
    expect(await remaining()).toEqual(['new-1', 'new-2', 'new-3', 'new-locked', 'old-locked']);

    // Newest two are new-1 and new-2; new-3 goes; the locked ones stay.
    expect(await catalog.deleteExpired({ maxThreads: 2 })).toBe(1);
    expect(await remaining()).toEqual(['new-1', 'new-2', 'new-locked', 'old-locked']);

    await locks.release('old-locked', 'r');
    expect(await catalog.deleteExpired({ maxAgeMs: 30 * day, maxThreads: 100 })).toBe(1);
    expect(await remaining()).toEqual(['new-1', 'new-2', 'new-locked']);
  });
});
