import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Message } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { QueryRunnerAlreadyReleasedError } from 'typeorm';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { isRetryableDatabaseError, PermanentWriteError } from '../../src/persistence/database-errors.js';
import {
  terminateConnections,
  testDatabaseOptions,
  type TestDatabase,
  usesRealPostgres,
} from '../support/database.js';
import {
  assistantMessage,
  bootPersistence,
  type BootedPersistence,
  runOutcome,
  runStart,
  userMessage,
} from './persistence-fixtures.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('isRetryableDatabaseError (the one classifier of retryable storage errors)', () => {
  it('retries what a later attempt may not hit, and nothing else', () => {
    const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
    for (const retryable of [
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      coded('terminating connection due to administrator command', '57P01'),
      coded('could not serialize access', '40001'),
      coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      new QueryRunnerAlreadyReleasedError(),
    ]) {
      expect([retryable.message, isRetryableDatabaseError(retryable)]).toEqual([retryable.message, true]);
    }
    for (const permanent of [
      coded('duplicate key value', '23505'),
      coded('invalid input syntax for type json', '22P02'),
      coded('relation "nope" does not exist', '42P01'),
      new PermanentWriteError('its start was not stored'),
      new CopilotRuntimeError('THREAD_NOT_FOUND', 'Thread "t" was not found.'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      'not even an error',
    ]) {
      expect([String(permanent), isRetryableDatabaseError(permanent)]).toEqual([String(permanent), false]);
    }
  });
});

// Needs a real server to kill backends on (PGlite has a single backend and no pg_terminate_backend).
const describeWithPostgres = usesRealPostgres() ? describe : describe.skip;

describeWithPostgres('ConversationWriter through a database blip', () => {
  let database: TestDatabase;
  let booted: BootedPersistence;
  let url: string;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    url = database.options.url!;
    booted = await bootPersistence(database.options, {
      initialRetryDelayMs: 20,
      maxRetryDelayMs: 200,
      giveUpAfterMs: 20_000,
    });
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
  });

  it('loses and duplicates nothing when connections are killed between and during writes', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const threadIds = Array.from({ length: 6 }, (_, i) => `blip-thread-${i}`);
    const runsPerThread = 8;
    const histories = new Map<string, Message[]>(threadIds.map((id) => [id, []]));

    let kills = 0;
    let killing = true;
    const killer = (async () => {
      while (killing) {
        kills += await terminateConnections(url);
        await sleep(5);
      }
    })();

    try {
      for (let run = 0; run < runsPerThread; run++) {
        for (const threadId of threadIds) {
          const history = histories.get(threadId)!;
          const runId = `${threadId}-run-${run}`;
          history.push(userMessage(`${threadId}-u${run}`));
          // A v1 client resends the whole history with every request.
          booted.writer.runStarted(runStart({ runId, threadId, inputMessages: [...history] }));
          const reply = assistantMessage(`${threadId}-a${run}`);
          history.push(reply);
          booted.writer.runFinished(runOutcome({ runId, threadId, outputMessages: [reply] }));
        }
        await sleep(15);
      }
      await booted.writer.whenIdle();
    } finally {
      killing = false;
      await killer;
    }

    expect(kills).toBeGreaterThan(0);
    expect(warnings).toHaveBeenCalled(); // some writes did fail and were retried
    expect(errors).not.toHaveBeenCalled();
    for (const threadId of threadIds) {
      expect(await booted.store.listMessages(threadId)).toEqual(histories.get(threadId));
    }
    const [{ messages, runs, unfinished }] = await booted.dataSource.query(`
      SELECT (SELECT count(*)::int FROM messages) AS messages,
             (SELECT count(*)::int FROM runs) AS runs,
             (SELECT count(*)::int FROM runs WHERE status <> 'succeeded') AS unfinished`);
    expect({ messages, runs, unfinished }).toEqual({
      messages: threadIds.length * runsPerThread * 2,
      runs: threadIds.length * runsPerThread,
      unfinished: 0,
    });
  });
});
