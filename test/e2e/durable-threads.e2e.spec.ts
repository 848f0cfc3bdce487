import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import type { Client as WsClient } from 'graphql-ws';
import { DataSource } from 'typeorm';
import { ANONYMOUS_IDENTITY, type Identity } from '../../src/common/request-context.js';
import { AGENT_RUNNER, type AgentRunner } from '../../src/runs/agent-runner.js';
import { AgentStateStore } from '../../src/ports/run-stores.js';
import { ThreadRetentionService } from '../../src/threads/thread-retention.service.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { awaitAimockCut, startChat, userMessage } from '../support/chat-runs.js';
import { chatInput, streamResponse, textOf } from '../support/copilot-client.js';
import {
  bearer,
  DELETE_THREAD,
  FORK_THREAD,
  gql,
  onlyError,
  postGenerate,
  prose,
  RENAME_THREAD,
  STOP_RUN,
  STOPPED_STATUS,
  SUCCESS_STATUS,
  THREAD,
  threadEvents,
  THREADS,
  wsClient,
  finalStatus,
  type GqlReply,
} from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';

const SECRET = 'durable-threads-test-secret-0123456789';
/**
 * Alice's live run must outlast everything Bob tries on it, however slow the database (the embedded
 * one under load takes seconds): a 20 s answer that aimock cuts at 10 s, though the test stops it
 * long before. (aimock never notices a client that hangs up: its cut is what ends its timers.)
 */
const AIMOCK_CUT_MS = 10_000;
const LOAD_AGENT_STATE = /* GraphQL */ `
  query loadAgentState($data: LoadAgentStateInput!) { loadAgentState(data: $data) { threadId threadExists state messages } }
`;

/** Rows of each table that references a thread. */
async function rowsOf(dataSource: DataSource, threadId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['threads', 'messages', 'runs', 'run_event_batches', 'thread_locks', 'agent_states']) {
    const column = table === 'threads' ? 'id' : 'thread_id';
    const [row] = await dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [threadId]);
    counts[table] = row.n;
  }
  return counts;
}

/**
 * Threads as an API (issue 3): list, read, rename, delete, fork, scoped to the caller's identity
 * (JWT `sub`), with another identity's thread reported exactly like a missing one everywhere:
 * queries, mutations, stopRun, threadEvents, a chat on it. Then retention.
 */
describe('threads API and ownership (JWT identities)', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let auth: Record<'alice' | 'bob' | 'carol', { authorization: string }>;

  const as = (who: keyof typeof auth) => ({
    query: (query: string, variables: Record<string, unknown> = {}) => gql(rt.url, query, variables, auth[who]),
    client: () => new CopilotRuntimeClient({ url: rt.url, headers: auth[who] }),
    ws: () => wsClient(rt.wsUrl, auth[who].authorization),
  });
  const data = (reply: GqlReply) => {
    expect(reply.body.errors).toBeUndefined();
    return reply.body.data;
  };
  /** A finished chat turn of `who` on `threadId`, through the real client; returns the assistant message. */
  const turn = async (who: keyof typeof auth, threadId: string, history: TextMessage[]) => {
    const { final } = await streamResponse(as(who).client(), { data: chatInput({ threadId, messages: history }) });
    expect(final.status).toMatchObject({ code: 'Success' });
    const answer = final.messages[0]!;
    return new TextMessage({ id: answer.id, role: Role.Assistant, content: textOf(answer) });
  };

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Hello there', { content: 'Hi! How can I help?', usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } } as any);
    llm.mock.onMessage('Tell me more', { content: 'Here is more.', usage: { prompt_tokens: 23, completion_tokens: 4, total_tokens: 27 } } as any);
    llm.mock.onMessage('Quick one', { content: 'Quick answer.' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { auth: { jwt: { secret: SECRET } } } });
    auth = {
      alice: { authorization: await bearer(SECRET, 'alice') },
      bob: { authorization: await bearer(SECRET, 'bob') },
      carol: { authorization: await bearer(SECRET, 'carol') },
    };
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('lists the caller’s threads newest first, paged by cursor, filtered by agent; bad paging input is refused', async () => {
    const carol = as('carol');
    for (const id of ['carol-1', 'carol-2', 'carol-3']) await turn('carol', id, [userMessage(`${id}-u`, 'Quick one')]);
    // A run of an agent (the LLM path has none), through the runner as an agent integration drives it.
    const identity: Identity = { id: 'user:carol', anonymous: false };
    const session = await rt.app.get<AgentRunner>(AGENT_RUNNER).run({
      ctx: { requestId: 'req-agent', identity, headers: {}, signal: new AbortController().signal, log: { requestId: 'req-agent' } },
      threadId: 'carol-agent',
      runId: 'run-carol-agent',
      agentName: 'researcher',
      model: null,
      inputMessages: [{ id: 'carol-agent-u', role: 'user', content: 'Research this' }],
      onCallerGone: 'continue',
      body: async function* (): AsyncGenerator<BaseEvent> {
        yield { type: EventType.RUN_STARTED, threadId: 'carol-agent', runId: 'run-carol-agent' } as BaseEvent;
        yield { type: EventType.RUN_FINISHED, threadId: 'carol-agent', runId: 'run-carol-agent' } as BaseEvent;
      },
    });
    for await (const _ of session.events) void _;
    await rt.persisted();

    const page1 = data(await carol.query(THREADS, { first: 2 })).threads;
    expect(page1.nodes.map((t: any) => t.id)).toEqual(['carol-agent', 'carol-3']);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = data(await carol.query(THREADS, { first: 2, after: page1.nextCursor })).threads;
    expect(page2).toEqual({ nodes: [expect.objectContaining({ id: 'carol-2' }), expect.objectContaining({ id: 'carol-1' })], nextCursor: null });
    expect(page2.nodes[1]).toMatchObject({ title: null, agentName: null, lastRunStatus: 'succeeded', messageCount: 2, forkedFrom: null });

    const agents = data(await carol.query(THREADS, { agentName: 'researcher' })).threads;
    expect(agents).toEqual({ nodes: [expect.objectContaining({ id: 'carol-agent', agentName: 'researcher', lastRunStatus: 'succeeded' })], nextCursor: null });
    expect(data(await carol.query(THREADS, { agentName: 'nobody' })).threads).toEqual({ nodes: [], nextCursor: null });

    // A new turn makes a thread the newest.
    await turn('carol', 'carol-1', [userMessage('carol-1-u', 'Quick one'), userMessage('carol-1-u2', 'Quick one again')]);
    expect(data(await carol.query(THREADS, { first: 1 })).threads.nodes.map((t: any) => t.id)).toEqual(['carol-1']);

    for (const [variables, message] of [
      [{ first: 0 }, 'first must be between 1 and 100; got 0.'],
      [{ first: 101 }, 'first must be between 1 and 100; got 101.'],
      [{ after: 'not-a-cursor' }, 'after: "not-a-cursor" is not a cursor this API issued.'],
    ] as const) {
      expect(onlyError(await carol.query(THREADS, variables))).toMatchObject({ code: 'BAD_USER_INPUT', message });
    }
  });

  it('reads a thread: its messages in AG-UI shape and its runs with status, model, timings and token usage', async () => {
    const u1 = userMessage('alice-read-u1', 'Hello there');
    const a1 = await turn('alice', 'alice-read', [u1]);
    const u2 = userMessage('alice-read-u2', 'Tell me more');
    const a2 = await turn('alice', 'alice-read', [u1, a1, u2]);
    await rt.persisted();

    const thread = data(await as('alice').query(THREAD, { id: 'alice-read' })).thread;
    expect(thread).toMatchObject({ id: 'alice-read', title: null, agentName: null, lastRunStatus: 'succeeded', messageCount: 4, forkedFrom: null });
    expect(thread.messages).toEqual([
      { id: 'alice-read-u1', role: 'user', content: 'Hello there' },
      { id: a1.id, role: 'assistant', content: 'Hi! How can I help?' },
      { id: 'alice-read-u2', role: 'user', content: 'Tell me more' },
      { id: a2.id, role: 'assistant', content: 'Here is more.' },
    ]);
    expect(thread.runs).toEqual([
      expect.objectContaining({ threadId: 'alice-read', status: 'succeeded', agentName: null, model: 'gpt-4o-mini', error: null, usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 } }),
      expect.objectContaining({ threadId: 'alice-read', status: 'succeeded', agentName: null, model: 'gpt-4o-mini', error: null, usage: { inputTokens: 23, outputTokens: 4, totalTokens: 27 } }),
    ]);
    const [run1, run2] = thread.runs.map((run: any) => ({ started: Date.parse(run.startedAt), finished: Date.parse(run.finishedAt) }));
    expect(run1.started).toBeLessThanOrEqual(run1.finished);
    expect(run1.finished).toBeLessThanOrEqual(run2.started);
    expect(run2.started).toBeLessThanOrEqual(run2.finished);
    expect(Date.parse(thread.createdAt)).toBeLessThanOrEqual(Date.parse(thread.updatedAt));

    // Its event log: one sequence per thread, shared by its runs, from 1 without gaps.
    const ws = as('alice').ws();
    const replay = await threadEvents(ws, 'alice-read', 0);
    await ws.dispose();
    expect(replay.events.map((e) => e.sequence)).toEqual(replay.events.map((_, i) => i + 1));
    expect(replay.events.filter((e) => e.type === 'RUN_STARTED').map((e) => e.runId)).toEqual(thread.runs.map((r: any) => r.id));
    expect(replay.events.filter((e) => e.type === 'RUN_FINISHED').map((e) => e.status)).toEqual([SUCCESS_STATUS, SUCCESS_STATUS]);

    expect(onlyError(await as('alice').query(THREAD, { id: 'alice-nope' }))).toMatchObject({ code: 'THREAD_NOT_FOUND', message: 'Thread "alice-nope" was not found.' });
  });

  it('renames a thread (trimmed); an empty or too long title, or an unknown thread, changes nothing', async () => {
    const alice = as('alice');
    await turn('alice', 'alice-rename', [userMessage('alice-rename-u', 'Quick one')]);
    const renamed = data(await alice.query(RENAME_THREAD, { id: 'alice-rename', title: '  Trip to Rome  ' })).renameThread;
    expect(renamed).toMatchObject({ id: 'alice-rename', title: 'Trip to Rome', messageCount: 2 });
    expect(data(await alice.query(THREADS, { first: 100 })).threads.nodes).toContainEqual(expect.objectContaining({ id: 'alice-rename', title: 'Trip to Rome' }));

    for (const title of ['   ', 'x'.repeat(201)]) {
      expect(onlyError(await alice.query(RENAME_THREAD, { id: 'alice-rename', title }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        message: 'title must be 1 to 200 characters after trimming.',
      });
    }
    expect(onlyError(await alice.query(RENAME_THREAD, { id: 'alice-nope', title: 'New' }))).toMatchObject({ code: 'THREAD_NOT_FOUND' });
    expect(data(await alice.query(THREAD, { id: 'alice-rename' })).thread.title).toBe('Trip to Rome');
  });

  it('forks a thread at a message: a new thread with the messages up to it and the agent state; a message not in the thread changes nothing', async () => {
    const alice = as('alice');
    const u1 = userMessage('alice-fork-u1', 'Hello there');
    const a1 = await turn('alice', 'alice-fork', [u1]);
    const u2 = userMessage('alice-fork-u2', 'Tell me more');
    await turn('alice', 'alice-fork', [u1, a1, u2]);
    await alice.query(RENAME_THREAD, { id: 'alice-fork', title: 'Original' });
    await rt.app.get(AgentStateStore).record('alice-fork', 'planner', { step: 2 }, null);
    const source = data(await alice.query(THREAD, { id: 'alice-fork' })).thread;

    const fork = data(await alice.query(FORK_THREAD, { id: 'alice-fork', messageId: a1.id })).forkThread;
    expect(fork.id).not.toBe('alice-fork');
    expect(fork).toMatchObject({ title: 'Original (fork)', messageCount: 2, forkedFrom: { threadId: 'alice-fork', messageId: a1.id }, runs: [] });
    expect(fork.messages).toEqual(source.messages.slice(0, 2));
    expect((await rt.app.get(AgentStateStore).latest(fork.id, 'planner'))?.state).toEqual({ step: 2 });
    // The source is untouched; the fork is the caller's own, newest thread, and takes new turns.
    expect(data(await alice.query(THREAD, { id: 'alice-fork' })).thread).toEqual(source);
    expect(data(await alice.query(THREADS, { first: 1 })).threads.nodes[0].id).toBe(fork.id);
    const forkAnswer = await turn('alice', fork.id, [u1, a1, userMessage('alice-fork-u3', 'Tell me more')]);
    expect(forkAnswer.content).toBe('Here is more.');
    expect(data(await alice.query(THREAD, { id: fork.id })).thread.messageCount).toBe(4);

    const countBefore = data(await alice.query(THREADS, { first: 100 })).threads.nodes.length;
    // A message of another thread, and a made-up one.
    for (const messageId of ['alice-read-u1', 'no-such-message']) {
      expect(onlyError(await alice.query(FORK_THREAD, { id: 'alice-fork', messageId }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        message: `Thread alice-fork has no message ${messageId}.`,
      });
    }
    expect(onlyError(await alice.query(FORK_THREAD, { id: 'alice-nope', messageId: a1.id }))).toMatchObject({ code: 'THREAD_NOT_FOUND' });
    expect(data(await alice.query(THREADS, { first: 100 })).threads.nodes.length).toBe(countBefore);
  });

  it('deletes a thread with its messages, runs, events and agent states; refuses while a run is active; a fork outlives its source', async () => {
    const alice = as('alice');
    const dataSource = rt.app.get(DataSource);
    const u1 = userMessage('alice-del-u1', 'Hello there');
    const a1 = await turn('alice', 'alice-del', [u1]);
    await rt.app.get(AgentStateStore).record('alice-del', 'planner', { step: 1 }, null);
    const fork = data(await alice.query(FORK_THREAD, { id: 'alice-del', messageId: a1.id })).forkThread;
    await rt.persisted();
    const before = await rowsOf(dataSource, 'alice-del');
    expect(before).toEqual({ threads: 1, messages: 2, runs: 1, run_event_batches: expect.any(Number), thread_locks: 0, agent_states: 1 });
    expect(before.run_event_batches).toBeGreaterThan(0);

    // While a run is active: refused, nothing deleted, the run unaffected.
    const answer = prose('Busy delete', 90);
    llm.mock.onMessage('Keep it alive', { content: answer }, { chunkSize: 3, latency: 20, disconnectAfterMs: 10_000 });
    const chat = startChat(as('alice').client(), { threadId: 'alice-del', messageId: 'alice-del-u2', text: 'Keep it alive' });
    await chat.streaming;
    const refused = onlyError(await alice.query(DELETE_THREAD, { id: 'alice-del' }));
    expect(refused).toMatchObject({ code: 'THREAD_BUSY', message: 'Thread alice-del has an active run; stop it before deleting the thread.' });
    expect(textOf((await chat.done).final.messages[0])).toBe(answer);
    await rt.persisted();
    expect(data(await alice.query(THREAD, { id: 'alice-del' })).thread.messageCount).toBe(4);

    expect(data(await alice.query(DELETE_THREAD, { id: 'alice-del' }))).toEqual({ deleteThread: true });
    expect(await rowsOf(dataSource, 'alice-del')).toEqual({ threads: 0, messages: 0, runs: 0, run_event_batches: 0, thread_locks: 0, agent_states: 0 });
    expect(onlyError(await alice.query(THREAD, { id: 'alice-del' }))).toMatchObject({ code: 'THREAD_NOT_FOUND' });
    expect(onlyError(await alice.query(DELETE_THREAD, { id: 'alice-del' }))).toMatchObject({ code: 'THREAD_NOT_FOUND', message: 'Thread "alice-del" was not found.' });
    expect(data(await alice.query(THREADS, { first: 100 })).threads.nodes.map((t: any) => t.id)).not.toContain('alice-del');
    // The fork keeps its messages and its origin (provenance, not a reference).
    expect(data(await alice.query(THREAD, { id: fork.id })).thread).toMatchObject({ messageCount: 2, forkedFrom: { threadId: 'alice-del', messageId: a1.id } });
  });

  describe('another identity’s thread is reported exactly like a missing one, and nothing changes', () => {
    const marker = 'Alice keeps talking';
    let finishedMessages: unknown[];
    let liveRunId: string;
    let aliceChat: ReturnType<typeof startChat>;
    let bobWs: WsClient;

    /** `reply` about alice's `realId` is `missing` about `missingId`, but for the id (and errorId). */
    const expectSameAsMissing = (reply: GqlReply, missing: GqlReply, realId: string, missingId: string) => {
      expect(reply.status).toBe(missing.status);
      expect(reply.body.data).toEqual(missing.body.data);
      const [got, expected] = [onlyError(reply), onlyError(missing)];
      expect(['THREAD_NOT_FOUND', 'RUN_NOT_FOUND']).toContain(got.code);
      expect(got.message).toBe(expected.message.replaceAll(missingId, realId));
      expect({ ...got.extensions, errorId: '' }).toEqual({ ...expected.extensions, errorId: '' });
    };

    beforeAll(async () => {
      const u1 = userMessage('alice-own-u1', 'Hello there');
      await turn('alice', 'alice-own', [u1]);
      await as('alice').query(RENAME_THREAD, { id: 'alice-own', title: 'Private' });
      await rt.persisted();
      finishedMessages = data(await as('alice').query(THREAD, { id: 'alice-own' })).thread.messages;
      llm.mock.onMessage(marker, { content: prose(marker, 3000) }, { chunkSize: 3, latency: 20, disconnectAfterMs: AIMOCK_CUT_MS });
      aliceChat = startChat(as('alice').client(), { threadId: 'alice-live', messageId: 'alice-live-u', text: marker });
      liveRunId = await aliceChat.streaming;
      bobWs = as('bob').ws();
    });

    afterAll(async () => {
      await bobWs?.dispose();
    });

    it('queries, rename, delete, fork, loadAgentState', async () => {
      const bob = as('bob');
      expect(data(await bob.query(THREADS, { first: 100 })).threads).toEqual({ nodes: [], nextCursor: null });
      expectSameAsMissing(await bob.query(THREAD, { id: 'alice-own' }), await bob.query(THREAD, { id: 'missing-1' }), 'alice-own', 'missing-1');
      expectSameAsMissing(
        await bob.query(RENAME_THREAD, { id: 'alice-own', title: 'Mine now' }),
        await bob.query(RENAME_THREAD, { id: 'missing-1', title: 'Mine now' }),
        'alice-own',
        'missing-1',
      );
      expectSameAsMissing(await bob.query(DELETE_THREAD, { id: 'alice-own' }), await bob.query(DELETE_THREAD, { id: 'missing-1' }), 'alice-own', 'missing-1');
      expectSameAsMissing(
        await bob.query(FORK_THREAD, { id: 'alice-own', messageId: 'alice-own-u1' }),
        await bob.query(FORK_THREAD, { id: 'missing-1', messageId: 'alice-own-u1' }),
        'alice-own',
        'missing-1',
      );
      const state = (threadId: string) => bob.query(LOAD_AGENT_STATE, { data: { threadId, agentName: 'default' } });
      expect(data(await state('alice-own')).loadAgentState).toEqual({ threadId: 'alice-own', threadExists: false, state: '{}', messages: '[]' });
      expect(data(await state('missing-1')).loadAgentState).toEqual({ threadId: 'missing-1', threadExists: false, state: '{}', messages: '[]' });

      // Alice's thread is as it was.
      expect(data(await as('alice').query(THREAD, { id: 'alice-own' })).thread).toMatchObject({ title: 'Private', messages: finishedMessages });
      expect(data(await bob.query(THREADS, { first: 100 })).threads.nodes).toEqual([]);
    });

    it('stopRun by thread or run id, threadEvents, and a chat on the thread', async () => {
      const bob = as('bob');
      expectSameAsMissing(await bob.query(STOP_RUN, { threadId: 'alice-live' }), await bob.query(STOP_RUN, { threadId: 'missing-2' }), 'alice-live', 'missing-2');
      expectSameAsMissing(await bob.query(STOP_RUN, { runId: liveRunId }), await bob.query(STOP_RUN, { runId: 'run-missing' }), liveRunId, 'run-missing');

      const joined = await threadEvents(bobWs, 'alice-live', 0);
      const joinedMissing = await threadEvents(bobWs, 'missing-2', 0);
      expect(joined.events).toEqual([]);
      const [got, expected] = [(joined.errors as any[])[0], (joinedMissing.errors as any[])[0]];
      expect(got.extensions.code).toBe('THREAD_NOT_FOUND');
      expect(got.message).toBe(expected.message.replace('missing-2', 'alice-live'));

      // Bob cannot run on (join) Alice's finished thread either: refused before anything streams.
      const chat = await postGenerate(rt.url, chatInput({ threadId: 'alice-own', messages: [userMessage('bob-u', 'Quick one')] }), auth.bob);
      expect(chat.status).toBe(200);
      const body = JSON.parse(chat.text);
      expect(body.errors).toEqual([expect.objectContaining({ message: 'Thread "alice-own" was not found.', extensions: expect.objectContaining({ code: 'THREAD_NOT_FOUND' }) })]);
      await rt.persisted();
      expect(data(await as('alice').query(THREAD, { id: 'alice-own' })).thread.messages).toEqual(finishedMessages);

      // Alice's live run went on; Alice can follow and stop it.
      expect(await rt.app.get<AgentRunner>(AGENT_RUNNER).isRunning('alice-live')).toBe(true);
      const aliceWs = as('alice').ws();
      const following = threadEvents(aliceWs, 'alice-live', 0);
      expect(data(await as('alice').query(STOP_RUN, { threadId: 'alice-live' })).stopRun).toMatchObject({ stopped: true, runId: liveRunId });
      const followed = await following;
      await aliceWs.dispose();
      expect(followed.errors).toBeUndefined();
      expect(finalStatus(followed.events)).toMatchObject(STOPPED_STATUS);
      expect((await aliceChat.done).final.status).toMatchObject({ code: 'Failed', reason: 'MESSAGE_STREAM_INTERRUPTED' });
      await awaitAimockCut(llm, marker, AIMOCK_CUT_MS + 5000);
    });

    it('without a valid token nothing is served: HTTP and WebSocket', async () => {
      const anonymous = await gql(rt.url, THREADS, {});
      expect(onlyError(anonymous)).toMatchObject({ code: 'AUTHENTICATION_ERROR' });
      const forgedToken = await bearer('another-secret-entirely-0123456789', 'alice');
      const forged = await gql(rt.url, THREADS, {}, { authorization: forgedToken });
      expect(onlyError(forged)).toMatchObject({ code: 'AUTHENTICATION_ERROR' });

      const ws = wsClient(rt.wsUrl, forgedToken);
      const refused = await threadEvents(ws, 'alice-own', 0);
      await ws.dispose();
      expect(refused.events).toEqual([]);
      expect(refused.errors).toMatchObject({ code: 4401 });
    });
  });
});

/**
 * Retention (options `retention`, `ThreadRetentionService.sweep()`): deletes threads older than
 * maxAgeMs and beyond the newest maxThreads, with everything they hold, and never a thread with
 * an active run. Without auth, every thread belongs to the anonymous identity.
 */
describe('thread retention', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let ws: WsClient;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Quick one', { content: 'Quick answer.' });
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: { retention: { maxAgeMs: 3_600_000, maxThreads: 2, intervalMs: 3_600_000 } },
    });
    ws = wsClient(rt.wsUrl);
  });

  afterAll(async () => {
    await ws?.dispose();
    await rt?.close();
    await llm?.stop();
  });

  it('deletes old and surplus threads with all their rows, never one with an active run, which then completes', async () => {
    const client = new CopilotRuntimeClient({ url: rt.url });
    const dataSource = rt.app.get(DataSource);
    const quick = (threadId: string) =>
      streamResponse(client, { data: chatInput({ threadId, messages: [userMessage(`${threadId}-u`, 'Quick one')] }) });
    for (const id of ['ret-old', 'ret-surplus', 'ret-fresh-1', 'ret-fresh-2']) await quick(id);

    const answer = prose('Retention', 120);
    llm.mock.onMessage('Run through the sweep', { content: answer }, { chunkSize: 3, latency: 20, disconnectAfterMs: 10_000 });
    const chat = startChat(client, { threadId: 'ret-busy', messageId: 'ret-busy-u', text: 'Run through the sweep' });
    await chat.streaming;
    await rt.persisted();
    // Old: not updated for two hours. 'ret-surplus' is recent but beyond the newest two.
    await dataSource.query(`UPDATE threads SET updated_at = now() - interval '2 hours' WHERE id IN ('ret-old', 'ret-busy')`);
    expect((await dataSource.query(`SELECT DISTINCT owner_id FROM threads`)).map((r: any) => r.owner_id)).toEqual([ANONYMOUS_IDENTITY.id]);

    const deleted = await rt.app.get(ThreadRetentionService).sweep();
    expect(deleted).toBe(2);
    for (const id of ['ret-old', 'ret-surplus']) {
      expect(await rowsOf(dataSource, id)).toEqual({ threads: 0, messages: 0, runs: 0, run_event_batches: 0, thread_locks: 0, agent_states: 0 });
    }
    const listed = (await gql(rt.url, THREADS, { first: 100 })).body.data.threads.nodes.map((t: any) => t.id);
    expect(listed.sort()).toEqual(['ret-busy', 'ret-fresh-1', 'ret-fresh-2']);

    // The running thread was not touched: its run completes and is recorded in full.
    const { final } = await chat.done;
    expect(final.status).toMatchObject({ code: 'Success' });
    expect(textOf(final.messages[0])).toBe(answer);
    await rt.persisted();
    const busy = (await gql(rt.url, THREAD, { id: 'ret-busy' })).body.data.thread;
    expect(busy).toMatchObject({ lastRunStatus: 'succeeded', messageCount: 2 });
    expect(busy.messages.at(-1)).toMatchObject({ role: 'assistant', content: answer });
    const replay = await threadEvents(ws, 'ret-busy', 0);
    expect(replay.events.map((e) => e.sequence)).toEqual(replay.events.map((_, i) => i + 1));
    expect(finalStatus(replay.events)).toEqual(SUCCESS_STATUS);

    // Now ret-busy is the newest; the next sweep keeps two threads.
    expect(await rt.app.get(ThreadRetentionService).sweep()).toBe(1);
    const kept = (await gql(rt.url, THREADS, { first: 100 })).body.data.threads.nodes.map((t: any) => t.id);
    expect(kept).toEqual(['ret-busy', 'ret-fresh-2']);
  });
});
