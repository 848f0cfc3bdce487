import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { userMessage } from '../support/chat-runs.js';
import { chatInput } from '../support/copilot-client.js';
import { testDatabaseOptions, usesRealPostgres } from '../support/database.js';
import { startLlmGate, type LlmGate } from '../support/llm-gate.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, postJson, runInput, userMessage as v2Message } from '../v2/support/v2-client.js';
import { COPILOT_EVENTS, multipartErrors, postGenerate, subscribe } from './support.js';

/**
 * Overload is an answer, not a failure (issue 12): past the instance's cap on concurrent runs, or
 * when no database connection comes within the admission wait, a run is refused with OVERLOADED:
 * retryable (`retryAfter`; v2 503 with `Retry-After`), nothing stored, and no message on the wire
 * names the database, its host or its user. The issue's case (1,000 subscriptions on one socket,
 * a pool of 10) at a smaller scale: 20 subscriptions (under the edges' 25 per socket), a pool of 2 held busy (both connections wait
 * on an advisory lock the test holds).
 */
describe('overload', () => {
  let llm: AimockServer;
  let gate: LlmGate;
  const apps: RuntimeApp[] = [];

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('busy', { content: 'Served.' });
    gate = await startLlmGate(llm.url);
  });

  afterAll(async () => {
    for (const rt of apps) await rt.close();
    await gate?.stop();
    await llm?.stop();
  });

  const v2Run = (rt: RuntimeApp, threadId: string) =>
    postJson(`${rt.url}/agent/default/run`, runInput({ threadId, runId: `${threadId}-r`, messages: [v2Message(`${threadId}-u`, `busy ${threadId}`)] }));

  it('the instance’s cap on concurrent runs: the next run is OVERLOADED (v2 503 + Retry-After, v1 retryAfter) until one ends', async () => {
    const rt = await startRuntimeApp({ llmBaseUrl: gate.baseURL, options: { limits: { maxConcurrentRuns: 2 } } });
    apps.push(rt);
    const held = gate.hold('busy cap-');
    const running = ['cap-1', 'cap-2'].map((threadId) =>
      openStream(`${rt.url}/agent/default/run`, runInput({ threadId, runId: `${threadId}-r`, messages: [v2Message(`${threadId}-u`, `busy ${threadId}`)] })),
    );
    await Promise.all(running.map((stream) => stream.next('RUN_STARTED')));

    const v2 = await v2Run(rt, 'cap-3');
    expect(v2.status).toBe(503);
    expect(v2.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(v2.text)).toMatchObject({ error: 'Service unavailable', code: 'OVERLOADED', retryAfter: 1 });
    const v1 = await postGenerate(rt.url, chatInput({ threadId: 'cap-4', messages: [userMessage('cap-4-u', 'busy cap-4')] }));
    expect(multipartErrors(v1.text)).toMatchObject([{ extensions: { code: 'OVERLOADED', statusCode: 503, retryAfter: 1 } }]);

    held.release();
    await Promise.all(running.map((stream) => stream.done));
    expect((await v2Run(rt, 'cap-5')).status).toBe(200);
  });

  it('a run refused after the limits let it through (a later stage, bad input found by the agent, a busy thread) gives its place back', async () => {
    const laterStage = {
      name: 'refuses-some',
      order: 100,
      beforeRun: (run: { input: { messages: unknown[] } }) => {
        if (JSON.stringify(run.input.messages).includes('refuse me')) throw new CopilotRuntimeError('REQUEST_REJECTED', 'Refused by a later stage.');
      },
    };
    const rt = await startRuntimeApp({
      llmBaseUrl: gate.baseURL,
      options: { limits: { maxConcurrentRuns: 2, concurrentRuns: 2 }, runPolicies: [laterStage as never] },
    });
    apps.push(rt);
    const url = `${rt.url}/agent/default/run`;
    for (const i of [1, 2, 3]) {
      const refused = await postJson(url, runInput({ threadId: `later-${i}`, runId: `later-${i}-r`, messages: [v2Message(`later-${i}-u`, 'refuse me')] }));
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'REQUEST_REJECTED' });
    }
    for (const i of [1, 2, 3]) {
      const bad = await postJson(url, runInput({ threadId: `bad-${i}`, runId: `bad-${i}-r`, messages: [v2Message(`bad-${i}-u`, 'busy bad')], forwardedProps: { temperature: 'hot' } }));
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toMatchObject({ code: 'BAD_USER_INPUT', message: 'forwardedProps.temperature must be a number.' });
    }
    const held = gate.hold('busy held');
    const running = openStream(url, runInput({ threadId: 'busy-thread', runId: 'held-r', messages: [v2Message('held-u', 'busy held')] }));
    await running.next('RUN_STARTED');
    for (const i of [1, 2, 3]) {
      const busy = await postJson(url, runInput({ threadId: 'busy-thread', runId: `busy-${i}-r`, messages: [v2Message(`busy-${i}-u`, 'busy again')] }));
      expect(busy.status).toBe(409);
    }
    // One run holds a place; the nine refused ones hold none: another run still fits under both caps.
    expect((await v2Run(rt, 'fits')).status).toBe(200);
    held.release();
    await running.done;
  });

  (usesRealPostgres() ? it : it.skip)(
    'no database connection within the admission wait: OVERLOADED, retryable, never naming the database; served once the pool frees up',
    async () => {
      const db = await testDatabaseOptions();
      const rt = await startRuntimeApp({
        llmBaseUrl: llm.baseURL,
        options: { database: { ...db.options, poolSize: 2, acquireTimeoutMs: 300 }, limits: { maxConcurrentRuns: 0 } },
        db,
      });
      apps.push(rt);
      const dataSource = rt.app.get(DataSource);
      const url = new URL(db.options.url!);
      const secrets = [db.options.url!, url.hostname, url.port, url.username, url.pathname.slice(1), 'postgres'];

      // Every connection of the pool busy until the test lets go: both wait for an advisory lock
      // the test holds on a connection of its own.
      const holder = new pg.Client({ connectionString: db.options.url });
      await holder.connect();
      const lockKey = 912_012;
      await holder.query('SELECT pg_advisory_lock($1)', [lockKey]);
      const release = Promise.all([
        dataSource.query('SELECT pg_advisory_xact_lock($1)', [lockKey]),
        dataSource.query('SELECT pg_advisory_xact_lock($1)', [lockKey]),
      ]);
      release.catch(() => undefined); // awaited below; a failed assertion must not leave it unhandled
      const letGo = async () => {
        await holder.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
        await holder.end().catch(() => undefined);
      };
      try {
        await waitFor(async () => {
          const { rows } = await holder.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return rows[0].n === 2;
        }, { what: 'both pooled connections to wait on the lock' });
        const ws = createClient({ url: rt.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
        const subscriptions = Array.from({ length: 20 }, (_, i) =>
          subscribe(ws, COPILOT_EVENTS, { data: chatInput({ threadId: `pool-ws-${i}`, messages: [userMessage(`pool-ws-${i}-u`, `busy pool-ws-${i}`)] }) }),
        );
        const v2 = await v2Run(rt, 'pool-v2');
        const outcomes = await Promise.all(subscriptions);
        await ws.dispose();

        expect(v2.status).toBe(503);
        expect(v2.headers.get('retry-after')).toBe('2');
        expect(JSON.parse(v2.text)).toMatchObject({ code: 'OVERLOADED', message: 'The server is at capacity; try again in 2 s.', retryAfter: 2 });
        const codes = outcomes.map((outcome) => (outcome.errors as Array<{ extensions: { code: string; retryAfter?: number } }> | undefined)?.[0]?.extensions);
        // Every one refused as an overload: never PERSISTENCE_UNAVAILABLE, never UNKNOWN, nothing run.
        expect(codes).toHaveLength(20);
        for (const extensions of codes) expect(extensions).toMatchObject({ code: 'OVERLOADED', retryAfter: 2 });
        expect(outcomes.every((outcome) => outcome.events.length === 0)).toBe(true);
        const wire = JSON.stringify(outcomes) + v2.text;
        for (const secret of secrets) expect(wire).not.toContain(secret);

        await letGo();
        await release;
        // Retryable: the same request once the pool is free.
        expect((await v2Run(rt, 'pool-v2')).status).toBe(200);
      } finally {
        await letGo();
      }
    },
  );
});
