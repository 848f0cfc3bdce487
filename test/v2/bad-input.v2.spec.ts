import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { AGENT_RUNNER, type AgentRunner } from '../../src/runs/agent-runner.js';
import { EventLogStore } from '../../src/ports/run-stores.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { eventually } from '../support/copilot-client.js';
import { bearer, gql, onlyError, prose, THREAD } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { capture } from './support/captures.js';
import { openStream, parseSse, runInput, send, userMessage, type RawReply } from './support/v2-client.js';

/**
 * Malformed, oversized, unauthenticated and hostile v2 requests, raw: each gets its exact status
 * and body (upstream's where upstream has one), nothing is stored or changed, no stack or server
 * path leaks, and the server keeps serving. Two JWT identities (alice, bob) check that a thread
 * belongs to its creator, on v2 and across v1 GraphQL.
 */
const SECRET = 'v2-bad-input-secret-0123456789abcdef';
const LIMIT = '64kb';
const ERROR_ID = expect.stringMatching(/^err-[\w-]+$/);
const LIVE_ANSWER = prose('Alice’s long answer', 400);

function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/node_modules|"stack"|\\n\s+at |\bat \S+ \(/);
  expect(text).not.toContain(process.cwd());
}

function expectAnswer(reply: RawReply, status: number, body: unknown): void {
  expectNoLeak(reply.text);
  expect({ status: reply.status, body: JSON.parse(reply.text) }).toEqual({ status, body });
  expect(reply.headers.get('content-type')).toBe('application/json');
}

describe('v2 bad input', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let alice: Record<string, string>;
  let bob: Record<string, string>;

  const url = (path = '') => `${rt.url}${path}`;
  const json = (who?: Record<string, string>) => ({ 'content-type': 'application/json', ...who });
  const post = (path: string, body: string, headers: Record<string, string>) => send(url(path), { body, headers });
  const envelope = (value: unknown, who = alice) => post('', JSON.stringify(value), json(who));

  /** What is stored: rows per table, and the thread's event log position. */
  async function stored(threadId: string): Promise<Record<string, number>> {
    await rt.persisted();
    const counts: Record<string, number> = {};
    for (const table of ['threads', 'messages', 'runs']) {
      const [row] = await rt.app.get(DataSource).query(`SELECT count(*)::int AS n FROM ${table}`);
      counts[table] = row.n;
    }
    counts[`log:${threadId}`] = await rt.app.get(EventLogStore).lastSequence(threadId);
    return counts;
  }

  /** Runs `act` and checks that nothing stored changed. */
  async function unchanged(threadId: string, act: () => Promise<void>): Promise<void> {
    const before = await stored(threadId);
    await act();
    expect(await stored(threadId)).toEqual(before);
  }

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Alice says hi', { content: 'Hi Alice.' });
    llm.mock.onMessage('Alice takes her time', { content: LIVE_ANSWER }, { chunkSize: 4, latency: 15 });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { bodyLimit: LIMIT, auth: { jwt: { secret: SECRET } } } });
    alice = { authorization: await bearer(SECRET, 'alice') };
    bob = { authorization: await bearer(SECRET, 'bob') };
    const first = await post(
      '/agent/default/run',
      JSON.stringify(runInput({ threadId: 'alice-thread', runId: 'alice-run-1', messages: [userMessage('a1', 'Alice says hi')] })),
      json(alice),
    );
    expect(parseSse(first.text).events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', threadId: 'alice-thread', runId: 'alice-run-1' });
  });

  afterEach(async () => {
    const info = await send(url('/info'), { method: 'GET', headers: alice });
    expect(info.status).toBe(200);
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  describe('REST routes', () => {
    it('invalid JSON: 400 "Invalid request body" with the parser’s message', async () => {
      const text = '{"threadId": "t-json", "runId":';
      let parserMessage = '';
      try {
        JSON.parse(text);
      } catch (error) {
        parserMessage = (error as Error).message;
      }
      await unchanged('t-json', async () => {
        expectAnswer(await post('/agent/default/run', text, json(alice)), 400, { error: 'Invalid request body', details: parserMessage });
        expectAnswer(await post('/agent/default/connect', text, json(alice)), 400, { error: 'Invalid request body', details: parserMessage });
        expectAnswer(await post('/agent/default/stop/t-json', text, json(alice)), 400, { error: 'Invalid stop request' });
      });
    });

    it(`a body over BODY_LIMIT (${LIMIT}): 413 naming the limit`, async () => {
      const big = JSON.stringify(runInput({ threadId: 't-big', runId: 'r-big', messages: [userMessage('b1', 'x'.repeat(100 * 1024))] }));
      await unchanged('t-big', async () => {
        expectAnswer(await post('/agent/default/run', big, json(alice)), 413, {
          error: 'Payload too large',
          message: `The request body is larger than the limit of ${LIMIT}.`,
        });
      });
    });

    it('missing tools and context: 400 with the zod issues, as upstream', async () => {
      const body = { threadId: 't-shape', runId: 'r-shape', messages: [userMessage('s1', 'hello')] };
      await unchanged('t-shape', async () => {
        const reply = await post('/agent/default/run', JSON.stringify(body), json(alice));
        expect(reply.status).toBe(400);
        expect(reply.text).toBe(capture('runtime-1.75.0/08-errors.txt', 'invalid body').body);
      });
    });

    it('a message of an unknown role: 400 naming the path of the bad value', async () => {
      const body = runInput({ threadId: 't-role', runId: 'r-role', messages: [{ id: 'x', role: 'robot', content: 'beep' }] });
      await unchanged('t-role', async () => {
        const reply = await post('/agent/default/run', JSON.stringify(body), json(alice));
        expect(reply.status).toBe(400);
        const answer = JSON.parse(reply.text);
        expect(answer.error).toBe('Invalid request body');
        expect(JSON.parse(answer.details)).toEqual([expect.objectContaining({ path: ['messages', 0, 'role'] })]);
      });
    });

    it('a model setting of the wrong type in forwardedProps: 400 BAD_USER_INPUT before any stream', async () => {
      const body = runInput({ threadId: 't-temp', runId: 'r-temp', messages: [userMessage('t1', 'hi')], forwardedProps: { temperature: 'hot' } });
      await unchanged('t-temp', async () => {
        expectAnswer(await post('/agent/default/run', JSON.stringify(body), json(alice)), 400, {
          error: 'Invalid request',
          code: 'BAD_USER_INPUT',
          message: 'forwardedProps.temperature must be a number.',
          errorId: ERROR_ID,
        });
      });
    });

    it('a runId used before: 400 BAD_USER_INPUT, the earlier run untouched', async () => {
      const body = runInput({ threadId: 'alice-thread', runId: 'alice-run-1', messages: [userMessage('a2', 'Alice says hi')] });
      await unchanged('alice-thread', async () => {
        expectAnswer(await post('/agent/default/run', JSON.stringify(body), json(alice)), 400, {
          error: 'Invalid request',
          code: 'BAD_USER_INPUT',
          message: 'runId "alice-run-1" cannot start a new run (run ids are single-use): omit runId to get a new one.',
          errorId: ERROR_ID,
        });
      });
    });

    it('no credentials: 401 on every route, nothing served', async () => {
      const unauthorized = {
        error: 'unauthorized',
        code: 'AUTHENTICATION_ERROR',
        message: 'Authentication required: send "Authorization: Bearer <token>".',
        errorId: ERROR_ID,
      };
      await unchanged('alice-thread', async () => {
        expectAnswer(await send(url('/info'), { method: 'GET' }), 401, unauthorized);
        const connect = JSON.stringify(runInput({ threadId: 'alice-thread', runId: 'c' }));
        expectAnswer(await post('/agent/default/connect', connect, json()), 401, unauthorized);
        expectAnswer(await post('/agent/default/stop/alice-thread', '', json()), 401, unauthorized);
        expectAnswer(await send(rt.url, { body: JSON.stringify({ method: 'info' }), headers: json() }), 401, unauthorized);
        const forged = { authorization: await bearer('another-secret-entirely-0123456789', 'alice') };
        const reply = await send(url('/info'), { method: 'GET', headers: forged });
        expect(reply.status).toBe(401);
        expect(JSON.parse(reply.text).message).toBe('The credentials were rejected.');
      });
    });
  });

  describe('single-route envelope', () => {
    it('an unknown method: 400 invalid_request, as upstream', async () => {
      expectAnswer(await envelope({ method: 'agent/explode' }), 400, { error: 'invalid_request', message: "Unsupported method 'agent/explode'" });
      expectAnswer(await envelope({ method: 'agent/explain', params: { agentId: 'default' } }), 400, {
        error: 'invalid_request',
        message: "Unsupported method 'agent/explain'",
      });
      expectAnswer(await envelope({ method: 'agent/suggest', params: { agentId: 'default' } }), 400, {
        error: 'invalid_request',
        message: 'Missing request body for JSON handler',
      });
      expectAnswer(await envelope({ method: null, params: {} }), 400, { error: 'invalid_request', message: 'Missing method field' });
    });

    it('missing params and body: 400 naming what is missing', async () => {
      expectAnswer(await envelope({ method: 'agent/run', body: {} }), 400, { error: 'invalid_request', message: "Missing or invalid parameter 'agentId'" });
      expectAnswer(await envelope({ method: 'agent/stop', params: { agentId: 'default' } }), 400, {
        error: 'invalid_request',
        message: "Missing or invalid parameter 'threadId'",
      });
      expectAnswer(await envelope({ method: 'agent/run', params: { agentId: 'default' } }), 400, {
        error: 'invalid_request',
        message: 'Missing request body for JSON handler',
      });
    });

    it('missing tools and context in the envelope body: the REST answer', async () => {
      const body = { threadId: 't-env-shape', runId: 'r', messages: [userMessage('e1', 'hello')] };
      await unchanged('t-env-shape', async () => {
        const reply = await envelope({ method: 'agent/run', params: { agentId: 'default' }, body });
        expect(reply.status).toBe(400);
        expect(reply.text).toBe(capture('runtime-1.75.0/08-errors.txt', 'invalid body').body);
      });
    });

    it('a content type other than JSON: 415, as upstream', async () => {
      const reply = await post('', JSON.stringify({ method: 'info' }), { 'content-type': 'text/plain', ...alice });
      expectAnswer(reply, 415, { error: 'invalid_request', message: 'Single-route endpoint expects JSON payloads' });
    });

    it('invalid JSON: 400 "Invalid JSON payload"; from a GraphQL client, the GraphQL error as before', async () => {
      expectAnswer(await post('', '{"method": "info"', json(alice)), 400, { error: 'invalid_request', message: 'Invalid JSON payload' });
      const graphql = await post('', '{"query": "{ hello }"', {
        ...json(alice),
        'x-copilotkit-runtime-client-gql-version': '1.74.0',
      });
      expect(graphql.status).toBe(200);
      expect(JSON.parse(graphql.text).errors[0].extensions.code).toBe('BAD_REQUEST');
    });

    it(`a body over BODY_LIMIT (${LIMIT}): 413; from a GraphQL client, PAYLOAD_TOO_LARGE as before`, async () => {
      const big = JSON.stringify({ method: 'agent/run', params: { agentId: 'default' }, body: { padding: 'x'.repeat(100 * 1024) } });
      expectAnswer(await post('', big, json(alice)), 413, {
        error: 'invalid_request',
        message: `The request body is larger than the limit of ${LIMIT}.`,
      });
      const graphql = await post('', JSON.stringify({ query: `{ hello } # ${'x'.repeat(100 * 1024)}` }), {
        ...json(alice),
        accept: 'application/graphql-response+json, application/json',
      });
      expect(JSON.parse(graphql.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('GraphQL still owns bodies without `method`', async () => {
      const reply = await post('', JSON.stringify({ variables: {} }), json(alice));
      expect(JSON.parse(reply.text).errors[0]).toMatchObject({ message: 'The request body must have a non-empty "query" string.' });
    });
  });

  describe('another identity’s thread', () => {
    it('bob cannot stop alice’s running run: upstream’s not-stopped answers, and her run finishes untouched', async () => {
      const live = openStream(
        url('/agent/default/run'),
        runInput({ threadId: 'alice-live', runId: 'alice-live-run', messages: [userMessage('l1', 'Alice takes her time')] }),
        alice,
      );
      await live.next('TEXT_MESSAGE_CONTENT');
      const runner = rt.app.get<AgentRunner>(AGENT_RUNNER);

      const bobStops = await post('/agent/default/stop/alice-live', '', json(bob));
      expectAnswer(bobStops, 200, { stopped: false, message: "No active run for thread 'alice-live'." });
      const bobStopsRun = await post('/agent/default/stop/alice-live', JSON.stringify({ runId: 'alice-live-run' }), json(bob));
      expectAnswer(bobStopsRun, 200, { stopped: false, message: "Run 'alice-live-run' is not the active run for thread 'alice-live'." });
      const bobEnvelope = await envelope({ method: 'agent/stop', params: { agentId: 'default', threadId: 'alice-live' }, body: { runId: 'alice-live-run' } }, bob);
      expectAnswer(bobEnvelope, 200, { stopped: false, message: "Run 'alice-live-run' is not the active run for thread 'alice-live'." });
      // The same answers as for a thread that does not exist: nothing about alice’s thread leaks.
      expectAnswer(await post('/agent/default/stop/no-such-thread', '', json(bob)), 200, { stopped: false, message: "No active run for thread 'no-such-thread'." });
      expect(await runner.isRunning('alice-live')).toBe(true);

      const { events } = await live.done;
      expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', threadId: 'alice-live', runId: 'alice-live-run' });
      const text = events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
      expect(text).toBe(LIVE_ANSWER);
      await rt.persisted();
      const [run] = await rt.app.get(DataSource).query(`SELECT status FROM runs WHERE id = 'alice-live-run'`);
      expect(run.status).toBe('succeeded');
    });

    it('bob cannot run on alice’s thread (404, nothing stored) nor read it (connect is empty)', async () => {
      await unchanged('alice-thread', async () => {
        const body = runInput({ threadId: 'alice-thread', runId: 'bob-run', messages: [userMessage('b1', 'Alice says hi')] });
        expectAnswer(await post('/agent/default/run', JSON.stringify(body), json(bob)), 404, {
          error: 'Thread not found',
          code: 'THREAD_NOT_FOUND',
          message: 'Thread "alice-thread" was not found.',
          errorId: ERROR_ID,
        });
        const connect = await post('/agent/default/connect', JSON.stringify(runInput({ threadId: 'alice-thread', runId: 'bob-c' })), {
          ...json(bob),
          accept: 'text/event-stream',
        });
        expect(connect.status).toBe(200);
        expect(connect.text).toBe('');
      });
      const mine = await post('/agent/default/connect', JSON.stringify(runInput({ threadId: 'alice-thread', runId: 'alice-c' })), json(alice));
      expect(parseSse(mine.text).events.map((e) => e.type)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED']);
    });

    it('a thread started on v2 is its creator’s on v1 GraphQL too', async () => {
      const asAlice = await gql(rt.url, THREAD, { id: 'alice-thread' }, alice);
      expect(asAlice.body.errors).toBeUndefined();
      expect(asAlice.body.data.thread).toMatchObject({ id: 'alice-thread', lastRunStatus: 'succeeded' });
      const asBob = await gql(rt.url, THREAD, { id: 'alice-thread' }, bob);
      expect(onlyError(asBob)).toMatchObject({ code: 'THREAD_NOT_FOUND' });
    });
  });

  it('no thread was created for any of the rejected requests', async () => {
    const [row] = await rt.app.get(DataSource).query(
      `SELECT count(*)::int AS n FROM threads WHERE id IN ('t-json','t-big','t-shape','t-role','t-temp','t-env-shape')`,
    );
    expect(row.n).toBe(0);
    await eventually(async () => {
      if (await rt.app.get<AgentRunner>(AGENT_RUNNER).isRunning('alice-live')) throw new Error('still running');
    });
  });
});
