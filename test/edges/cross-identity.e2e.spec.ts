import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client as WsClient } from 'graphql-ws';
import { DataSource } from 'typeorm';
import { AGENT_RUNNER, type AgentRunner } from '../../src/runs/agent-runner.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { userMessage as clientMessage } from '../support/chat-runs.js';
import { chatInput, clientRequestBody, clientRequestHeaders } from '../support/copilot-client.js';
import {
  bearer,
  COPILOT_EVENTS,
  DELETE_THREAD,
  FORK_THREAD,
  gql,
  RENAME_THREAD,
  STOP_RUN,
  subscribe,
  THREAD,
  THREAD_EVENTS,
  THREADS,
  wsClient,
} from '../support/durable-api.js';
import { startLlmGate, type LlmGate } from '../support/llm-gate.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, runInput, send, userMessage } from '../v2/support/v2-client.js';

const SECRET = 'cross-identity-test-secret-0123456789';
const LOAD_AGENT_STATE = /* GraphQL */ `
  query loadAgentState($data: LoadAgentStateInput!) { loadAgentState(data: $data) { threadId threadExists state messages } }
`;

/**
 * Every thread and run operation on every transport (v1 GraphQL over HTTP, the same over
 * graphql-ws, v2 REST routes, v2 single-route envelope), asked by Bob about Alice's thread and
 * about a thread that does not exist: the two answers are the same (status, code, message,
 * shape), but for the ids and the errorId. Alice's threads, runs and live run are untouched.
 * (A run on a thread id nobody has creates that thread, so "run" and "resume" on Alice's thread
 * are compared with their documented refusal instead: THREAD_NOT_FOUND, nothing stored.)
 */
describe('another identity\'s thread is indistinguishable from a missing one, on every transport', () => {
  let llm: AimockServer;
  let gate: LlmGate;
  let rt: RuntimeApp;
  let alice: string;
  let bob: string;
  let bobWs: WsClient;
  let aliceMessageId: string;
  let aliceRunId: string;
  let liveRunId: string;
  let aliceLive: ReturnType<typeof openStream>;
  let held: { release(): void };
  let aliceRowsBefore: Record<string, number>;

  const aliceRows = async () => {
    const [row] = await rt.app.get(DataSource).query(
      `SELECT (SELECT count(*)::int FROM threads WHERE owner_id = 'alice') AS threads,
              (SELECT count(*)::int FROM messages m JOIN threads t ON t.id = m.thread_id WHERE t.owner_id = 'alice') AS messages,
              (SELECT count(*)::int FROM runs r JOIN threads t ON t.id = r.thread_id WHERE t.owner_id = 'alice') AS runs,
              (SELECT title FROM threads WHERE id = 'alice-own') AS title`,
    );
    return row;
  };

  /** An answer with the ids and error ids taken out: what tells one case from the other. */
  const normalised = (answer: unknown, ids: string[]) => {
    let text = JSON.stringify(answer);
    for (const id of ids) text = text.replaceAll(id, '<id>');
    return JSON.parse(text.replace(/err-[0-9a-f-]{36}/g, '<errorId>').replace(/"timestamp":\d+/g, '"timestamp":0'));
  };

  const wsOnce = (query: string, variables: Record<string, unknown>) =>
    new Promise<unknown>((resolve) => {
      const results: unknown[] = [];
      bobWs.subscribe({ query, variables }, { next: (value) => void results.push(value), error: (error) => resolve({ error }), complete: () => resolve(results) });
    });

  const v2 = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(`${rt.url}${path}`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: bob, ...headers } }).then(
      (reply) => ({ status: reply.status, type: reply.headers.get('content-type'), text: reply.text }),
    );
  const envelope = (method: string, params: Record<string, string>, body?: unknown) =>
    send(rt.url, { body: JSON.stringify({ method, params, ...(body === undefined ? {} : { body }) }), headers: { 'content-type': 'application/json', authorization: bob } }).then(
      (reply) => ({ status: reply.status, type: reply.headers.get('content-type'), text: reply.text }),
    );

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage(/Alice/, { content: 'Hello Alice.' });
    llm.mock.onMessage(/Bob/, { content: 'Hello Bob.' });
    gate = await startLlmGate(llm.url);
    rt = await startRuntimeApp({ llmBaseUrl: gate.baseURL, options: { auth: { jwt: { secret: SECRET } } } });
    alice = await bearer(SECRET, 'alice');
    bob = await bearer(SECRET, 'bob');

    // Alice: a finished v1 chat, a finished v2 run, and a live v2 run (held at the model).
    const chat = await fetch(rt.url, {
      method: 'POST',
      headers: { ...clientRequestHeaders('application/json'), authorization: alice },
      body: clientRequestBody(chatInput({ threadId: 'alice-own', messages: [clientMessage('alice-u1', 'Hi, Alice here')] })),
    });
    expect((await chat.json()).data.generateCopilotResponse.status.code).toBe('Success');
    const v2run = openStream(`${rt.url}/agent/default/run`, runInput({ threadId: 'alice-v2', runId: 'alice-v2-run', messages: [userMessage('alice-v2-u', 'Alice again')] }), { authorization: alice });
    expect((await v2run.done).events.at(-1)?.type).toBe('RUN_FINISHED');
    held = gate.hold('Alice keeps going');
    aliceLive = openStream(`${rt.url}/agent/default/run`, runInput({ threadId: 'alice-live', runId: 'alice-live-run', messages: [userMessage('alice-live-u', 'Alice keeps going')] }), { authorization: alice });
    await aliceLive.next('RUN_STARTED');
    liveRunId = 'alice-live-run';
    await rt.persisted();
    const thread = (await gql(rt.url, THREAD, { id: 'alice-own' }, { authorization: alice })).body.data.thread;
    aliceMessageId = thread.messages[0].id;
    aliceRunId = thread.runs[0].id;
    bobWs = wsClient(rt.wsUrl, bob);
    aliceRowsBefore = await aliceRows();
  });

  afterAll(async () => {
    held?.release();
    await aliceLive?.done.catch(() => undefined);
    await bobWs?.dispose();
    await rt?.close();
    await gate?.stop();
    await llm?.stop();
  });

  const v1Operations: Array<[string, string, (id: string) => Record<string, unknown>]> = [
    ['thread (read)', THREAD, (id) => ({ id })],
    ['renameThread', RENAME_THREAD, (id) => ({ id, title: 'Bob was here' })],
    ['deleteThread', DELETE_THREAD, (id) => ({ id })],
    ['forkThread', FORK_THREAD, (id) => ({ id, messageId: '<message>' })],
    ['stopRun by threadId (finished thread)', STOP_RUN, (id) => ({ threadId: id })],
    ['loadAgentState', LOAD_AGENT_STATE, (id) => ({ data: { threadId: id, agentName: 'default' } })],
  ];

  describe.each([
    ['v1 GraphQL over HTTP', 'http'],
    ['v1 GraphQL over graphql-ws', 'ws'],
  ] as const)('%s', (_, transport) => {
    const ask = async (query: string, variables: Record<string, unknown>) =>
      transport === 'http' ? (await gql(rt.url, query, variables, { authorization: bob })).body : wsOnce(query, variables);

    it.each(v1Operations)('%s', async (_name, query, variablesFor) => {
      const withMessage = (id: string) => JSON.parse(JSON.stringify(variablesFor(id)).replace('<message>', aliceMessageId));
      const theirs = await ask(query, withMessage('alice-own'));
      const missing = await ask(query, withMessage('nobody-thread'));
      expect(normalised(theirs, ['alice-own', 'nobody-thread'])).toEqual(normalised(missing, ['alice-own', 'nobody-thread']));
      expect(JSON.stringify(theirs)).not.toContain('Hello Alice');
    });

    it('stopRun of Alice\'s live run, by thread and by run id', async () => {
      const byThread = [await ask(STOP_RUN, { threadId: 'alice-live' }), await ask(STOP_RUN, { threadId: 'nobody-live' })];
      expect(normalised(byThread[0], ['alice-live', 'nobody-live'])).toEqual(normalised(byThread[1], ['alice-live', 'nobody-live']));
      const byRun = [await ask(STOP_RUN, { runId: liveRunId }), await ask(STOP_RUN, { runId: 'nobody-run' }), await ask(STOP_RUN, { runId: aliceRunId })];
      expect(normalised(byRun[0], [liveRunId, 'nobody-run'])).toEqual(normalised(byRun[1], [liveRunId, 'nobody-run']));
      expect(normalised(byRun[2], [aliceRunId, 'nobody-run'])).toEqual(normalised(byRun[1], [aliceRunId, 'nobody-run']));
      expect(await rt.app.get<AgentRunner>(AGENT_RUNNER).isRunning('alice-live')).toBe(true);
    });

    it('threads lists none of Alice\'s', async () => {
      expect(await ask(THREADS, { first: 100 })).toEqual(transport === 'http' ? { data: { threads: { nodes: [], nextCursor: null } } } : [{ data: { threads: { nodes: [], nextCursor: null } } }]);
    });
  });

  it('graphql-ws threadEvents (connect to the live thread and to a finished one)', async () => {
    for (const [theirs, missing] of [['alice-live', 'nobody-live'], ['alice-own', 'nobody-thread']]) {
      const a = await subscribe(bobWs, THREAD_EVENTS, { threadId: theirs, afterSequence: 0 });
      const b = await subscribe(bobWs, THREAD_EVENTS, { threadId: missing, afterSequence: 0 });
      expect(normalised(a, [theirs!, missing!])).toEqual(normalised(b, [theirs!, missing!]));
      expect(a.events).toEqual([]);
    }
  });

  it('v2 connect (REST and single route): the same empty stream as for a missing thread', async () => {
    for (const theirs of ['alice-live', 'alice-v2']) {
      const a = await v2('/agent/default/connect', runInput({ threadId: theirs, runId: 'bob-c' }));
      const b = await v2('/agent/default/connect', runInput({ threadId: 'nobody-v2', runId: 'bob-c' }));
      expect(normalised(a, [theirs, 'nobody-v2'])).toEqual(normalised(b, [theirs, 'nobody-v2']));
      expect(a.text).not.toContain('Alice');
      const c = await envelope('agent/connect', { agentId: 'default' }, runInput({ threadId: theirs, runId: 'bob-c' }));
      const d = await envelope('agent/connect', { agentId: 'default' }, runInput({ threadId: 'nobody-v2', runId: 'bob-c' }));
      expect(normalised(c, [theirs, 'nobody-v2'])).toEqual(normalised(d, [theirs, 'nobody-v2']));
    }
  });

  it('v2 stop (REST and single route), with and without the live run\'s id: the missing thread\'s answer, the run goes on', async () => {
    for (const body of [undefined, { runId: liveRunId }]) {
      const a = await v2('/agent/default/stop/alice-live', body ?? {});
      const b = await v2('/agent/default/stop/nobody-live', body ?? {});
      expect(normalised(a, ['alice-live', 'nobody-live'])).toEqual(normalised(b, ['alice-live', 'nobody-live']));
      const c = await envelope('agent/stop', { agentId: 'default', threadId: 'alice-live' }, body);
      const d = await envelope('agent/stop', { agentId: 'default', threadId: 'nobody-live' }, body);
      expect(normalised(c, ['alice-live', 'nobody-live'])).toEqual(normalised(d, ['alice-live', 'nobody-live']));
    }
    expect(await rt.app.get<AgentRunner>(AGENT_RUNNER).isRunning('alice-live')).toBe(true);
  });

  it('a run or resume on Alice\'s thread is refused THREAD_NOT_FOUND on every transport, nothing stored, no model call', async () => {
    const calls = llm.chatRequests().length;
    const notFound = (id: string) => ({ code: 'THREAD_NOT_FOUND', message: `Thread "${id}" was not found.` });
    // v1 over HTTP (the real client's request) and over graphql-ws (copilotEvents)
    const v1 = await fetch(rt.url, {
      method: 'POST',
      headers: { ...clientRequestHeaders('application/json'), authorization: bob },
      body: clientRequestBody(chatInput({ threadId: 'alice-own', messages: [clientMessage('bob-u1', 'Bob here')] })),
    }).then((r) => r.json());
    expect(v1.errors).toEqual([expect.objectContaining({ message: notFound('alice-own').message, extensions: expect.objectContaining({ code: 'THREAD_NOT_FOUND' }) })]);
    const overWs = await subscribe(bobWs, COPILOT_EVENTS, { data: chatInput({ threadId: 'alice-own', messages: [clientMessage('bob-u2', 'Bob here')] }) });
    expect(overWs.errors).toEqual([expect.objectContaining({ message: notFound('alice-own').message, extensions: expect.objectContaining({ code: 'THREAD_NOT_FOUND' }) })]);
    // v2 REST and single route, resuming Alice's finished v2 thread
    const body = runInput({ threadId: 'alice-v2', runId: 'bob-run-1', messages: [userMessage('bob-v2', 'Bob here')] });
    const rest = await v2('/agent/default/run', body);
    expect(rest.status).toBe(404);
    expect(JSON.parse(rest.text)).toEqual({ error: 'Thread not found', ...notFound('alice-v2'), errorId: expect.stringMatching(/^err-/) });
    const single = await envelope('agent/run', { agentId: 'default' }, { ...body, runId: 'bob-run-2' });
    expect(single.status).toBe(404);
    expect(JSON.parse(single.text)).toEqual(expect.objectContaining(notFound('alice-v2')));
    // Reusing Alice's runId on a new thread of Bob's says what any used runId says, naming no owner.
    const reuse = await v2('/agent/default/run', runInput({ threadId: 'bob-new', runId: 'alice-v2-run', messages: [userMessage('bob-r', 'Bob here')] }));
    expect(reuse.status).toBe(400);
    expect(JSON.parse(reuse.text).message).toBe('runId "alice-v2-run" cannot start a new run (run ids are single-use): omit runId to get a new one.');
    expect(llm.chatRequests().length).toBe(calls);
  });

  it('Alice\'s threads, messages, runs and title are as they were, and her live run finishes', async () => {
    await rt.persisted();
    expect(await aliceRows()).toEqual(aliceRowsBefore);
    held.release();
    const finished = await aliceLive.done;
    expect(finished.events.at(-1)?.type).toBe('RUN_FINISHED');
    await waitFor(async () => !(await rt.app.get<AgentRunner>(AGENT_RUNNER).isRunning('alice-live')));
  });
});
