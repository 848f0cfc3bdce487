import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import type { Client as WsClient } from 'graphql-ws';
import { DataSource } from 'typeorm';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { AGENT_RUNNER, type AgentRunner } from '../../src/runs/agent-runner.js';
import { EventLogStore } from '../../src/ports/run-stores.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { awaitAimockCut, startChat, userMessage } from '../support/chat-runs.js';
import { chatInput, eventually, multipartPayloads, streamedText, textOf } from '../support/copilot-client.js';
import { terminateConnections, testDatabaseOptions, usesRealPostgres, type TestDatabase } from '../support/database.js';
import { connectionStorm } from '../support/database-storm.js';
import {
  deltas,
  finalStatus,
  gql,
  onlyError,
  postGenerate,
  prose,
  STOP_RUN,
  STOPPED_STATUS,
  SUCCESS_STATUS,
  THREAD,
  threadEvents,
  THREADS,
  wsClient,
  type FlatEvent,
  subscribeThenDrop,
} from '../support/durable-api.js';
import { startLlmTap, type LlmTap } from '../support/llm-tap.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { decodeEvents } from '../../src/persistence/event-batch-codec.js';

/**
 * aimock never notices a client that hangs up: it cuts an interrupted stream itself after this long.
 * Long enough that a runtime which has to hang up (stop, client gone) always does so first, even on
 * a slow machine: the tests check who closed the model call (see LlmTap), not how fast.
 */
const AIMOCK_CUT_MS = 8_000;
/** The length of an answer a test interrupts: 3000 characters at 3 per 20 ms outlast the cut. */
const LONG_ANSWER_CHARS = 3000;

/** Two processes' worth of runtime need a real PostgreSQL server (PGlite is one process's). */
const describeWithPostgres = usesRealPostgres() ? describe : describe.skip;

/**
 * Two runtime instances (two Nest apps on loopback) sharing one PostgreSQL database: the thread
 * lock holds across them, and stop and threadEvents work from the instance that does not run the
 * run (LISTEN/NOTIFY). Then a database blip mid-run: the stream goes on and the log has every
 * event exactly once.
 */
describeWithPostgres('durable runs across two instances sharing one database', () => {
  let db: TestDatabase;
  let llm: AimockServer;
  let tap: LlmTap;
  let a: RuntimeApp;
  let b: RuntimeApp;
  let clientA: CopilotRuntimeClient;
  let wsB: WsClient;
  /** Streams a test interrupted: aimock cuts them itself, awaited once at the end. */
  const interrupted: string[] = [];

  const slowFixture = (marker: string, content: string) =>
    llm.mock.onMessage(marker, { content }, { chunkSize: 3, latency: 20, disconnectAfterMs: 10_000 });
  const longFixture = (marker: string) => {
    interrupted.push(marker);
    llm.mock.onMessage(marker, { content: prose(marker, LONG_ANSWER_CHARS) }, { chunkSize: 3, latency: 20, disconnectAfterMs: AIMOCK_CUT_MS });
  };
  const expectContiguous = (events: Array<{ sequence: number }>) =>
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  const readThread = async (app: RuntimeApp, id: string) => {
    const reply = await gql(app.url, THREAD, { id });
    expect(reply.body.errors).toBeUndefined();
    return reply.body.data.thread;
  };

  beforeAll(async () => {
    db = await testDatabaseOptions();
    llm = await startAimock();
    tap = await startLlmTap(llm.mock.port);
    a = await startRuntimeApp({ llmBaseUrl: `${tap.url}/v1`, db });
    b = await startRuntimeApp({ llmBaseUrl: `${tap.url}/v1`, db });
    clientA = new CopilotRuntimeClient({ url: a.url });
    wsB = wsClient(b.wsUrl);
  });

  afterAll(async () => {
    await Promise.all(interrupted.map((marker) => awaitAimockCut(llm, marker, AIMOCK_CUT_MS + 2000).catch(() => undefined)));
    await wsB?.dispose();
    await a?.close();
    await b?.close();
    await db?.cleanup();
    await tap?.stop();
    await llm?.stop();
  });

  it('two instances racing for one thread: exactly one runs, the other gets THREAD_BUSY at once', async () => {
    slowFixture('Race for the thread', prose('Race', 45));
    for (let round = 0; round < 4; round++) {
      const threadId = `race-${round}`;
      const [fromA, fromB] = await Promise.all(
        (['a', 'b'] as const).map((side) =>
          postGenerate((side === 'a' ? a : b).url, chatInput({ threadId, messages: [userMessage(`${threadId}-${side}`, 'Race for the thread')] })),
        ),
      );
      const replies = [fromA!, fromB!];
      const busy = replies.filter((reply) => reply.text.includes('"THREAD_BUSY"'));
      const ran = replies.filter((reply) => streamedText(multipartPayloads(reply.text)) === prose('Race', 45));
      expect({ round, busy: busy.length, ran: ran.length }).toEqual({ round, busy: 1, ran: 1 });
      expect(busy[0]!.status).toBe(200);
      expect(JSON.parse(busy[0]!.text)).toMatchObject({ data: null, errors: [{ extensions: { code: 'THREAD_BUSY' } }] });
      expect(busy[0]!.elapsedMs).toBeLessThan(ran[0]!.elapsedMs);

      await Promise.all([a.persisted(), b.persisted()]);
      const thread = await readThread(b, threadId);
      expect(thread.runs).toEqual([expect.objectContaining({ status: 'succeeded' })]);
      const winner = replies.indexOf(ran[0]!) === 0 ? 'a' : 'b';
      expect(thread.messages.map((m: any) => m.id)[0]).toBe(`${threadId}-${winner}`);
      expect(thread.messageCount).toBe(2);
    }
  });

  it('stopRun on the other instance (by thread, then by run id) stops the run: LLM call aborted, everyone sees the stopped status', async () => {
    const marker = 'Stop me from the other side';
    longFixture(marker);
    const chat = startChat(clientA, { threadId: 'cross-stop-1', messageId: 'cross-stop-1-u', text: marker, minChars: 6 });
    const runId = await chat.streaming;
    const followerB = threadEvents(wsB, 'cross-stop-1', 0);
    // B sees the run as running: the lock is in the database.
    expect(await b.app.get<AgentRunner>(AGENT_RUNNER).isRunning('cross-stop-1')).toBe(true);

    const reply = await gql(b.url, STOP_RUN, { threadId: 'cross-stop-1' });
    expect(reply.body.data.stopRun).toEqual({ stopped: true, threadId: 'cross-stop-1', runId, reason: null, message: null });
    // A's runtime hung up the model call: not aimock's own cut.
    expect(await tap.waitUntilClosed(marker)).toBe('runtime');

    const { final } = await chat.done;
    expect(final.status).toMatchObject({ code: 'Failed', reason: 'MESSAGE_STREAM_INTERRUPTED' });
    const followed = await followerB;
    expect(followed.errors).toBeUndefined();
    expect(followed.events[0]).toMatchObject({ type: 'RUN_STARTED', runId });
    expect(finalStatus(followed.events)).toMatchObject(STOPPED_STATUS);
    expect(deltas(followed.events)).toBe(textOf(final.messages[0]));
    // stopRun answered once the run was over: recorded, lock released.
    expect((await b.app.get(ConversationStore).findRun(runId))?.status).toBe('stopped');
    expect(await b.app.get<AgentRunner>(AGENT_RUNNER).isRunning('cross-stop-1')).toBe(false);

    // By run id, from B, on a second run on A.
    const marker2 = 'Stop me by id from the other side';
    longFixture(marker2);
    const chat2 = startChat(clientA, { threadId: 'cross-stop-2', messageId: 'cross-stop-2-u', text: marker2 });
    const runId2 = await chat2.streaming;
    const byId = await gql(b.url, STOP_RUN, { runId: runId2 });
    expect(byId.body.data.stopRun).toEqual({ stopped: true, threadId: 'cross-stop-2', runId: runId2, reason: null, message: null });
    expect(await tap.waitUntilClosed(marker2)).toBe('runtime');
    expect((await chat2.done).final.status).toMatchObject({ code: 'Failed', reason: 'MESSAGE_STREAM_INTERRUPTED' });
    expect((await a.app.get(ConversationStore).findRun(runId2))?.status).toBe('stopped');
    // Stopping it again from either side: nothing to stop.
    for (const app of [a, b]) {
      expect((await gql(app.url, STOP_RUN, { runId: runId2 })).body.data.stopRun).toMatchObject({ stopped: false, reason: 'NOT_RUNNING' });
    }
  });

  it('threadEvents on the other instance follows the live run, and resumes after a disconnect with no gaps and no duplicates', async () => {
    const answer = prose('Cross resume', 180);
    slowFixture('Follow me from the other side', answer);
    const chat = startChat(clientA, { threadId: 'cross-resume', messageId: 'cross-resume-u', text: 'Follow me from the other side' });
    await chat.streaming;

    const before = await subscribeThenDrop(b.wsUrl, 'cross-resume', 5);
    const lastSeen = before.events.at(-1)!.sequence;
    await eventually(async () => expect(await b.app.get(EventLogStore).lastSequence('cross-resume')).toBeGreaterThan(lastSeen + 3));
    expect(await b.app.get<AgentRunner>(AGENT_RUNNER).isRunning('cross-resume')).toBe(true);

    const second = wsClient(b.wsUrl);
    const after = await threadEvents(second, 'cross-resume', lastSeen);
    await second.dispose();
    const { final } = await chat.done;

    expect(after.errors).toBeUndefined();
    const all = [...before.events, ...after.events];
    expectContiguous(all);
    expect(deltas(all)).toBe(answer);
    expect(finalStatus(all)).toEqual(SUCCESS_STATUS);
    expect(textOf(final.messages[0])).toBe(answer);
  });

  it('PostgreSQL connections terminated mid-run: the stream continues and completes; the log has every event exactly once', async () => {
    const answer = prose('Blip', 150);
    slowFixture('Survive the database blip', answer);
    const chat = startChat(clientA, { threadId: 'blip', messageId: 'blip-u', text: 'Survive the database blip', minChars: 9 });
    const runId = await chat.streaming;
    const followerB = threadEvents(wsB, 'blip', 0);

    // Every connection of both instances (pools and LISTEN) dies, twice, mid-answer.
    const log = a.app.get(EventLogStore);
    const loggedBeforeBlip = await log.lastSequence('blip');
    expect(await terminateConnections(db.options.url!)).toBeGreaterThan(0);
    // Again once the instances have reconnected: the run has written more of its log meanwhile.
    await eventually(async () => expect(await log.lastSequence('blip')).toBeGreaterThan(loggedBeforeBlip));
    await eventually(async () => expect(await terminateConnections(db.options.url!)).toBeGreaterThan(0));
    const lastBlipAt = Date.now();

    const { final, error, finishedAt } = await chat.done;
    expect(finishedAt).toBeGreaterThan(lastBlipAt);
    expect(error).toBeUndefined();
    expect(final.status).toMatchObject({ code: 'Success' });
    expect(textOf(final.messages[0])).toBe(answer);
    const followed = await followerB;
    expect(followed.errors).toBeUndefined();
    expectContiguous(followed.events);
    expect(deltas(followed.events)).toBe(answer);
    expect(finalStatus(followed.events)).toEqual(SUCCESS_STATUS);

    // The log: every event once, in order, one run from RUN_STARTED to RUN_FINISHED.
    await Promise.all([a.persisted(), b.persisted()]);
    const logged = await a.app.get(EventLogStore).readAfter('blip', 0, 10_000);
    expectContiguous(logged);
    expect(logged.every((e) => e.runId === runId)).toBe(true);
    const types = logged.map((e) => e.event.type);
    expect(types.filter((t) => t === 'RUN_STARTED')).toHaveLength(1);
    expect(types.filter((t) => t === 'RUN_FINISHED')).toHaveLength(1);
    expect([types[0], types.at(-1)]).toEqual(['RUN_STARTED', 'RUN_FINISHED']);
    // Every event stored once: the rows tile the log without overlap, each holding its range's events.
    const rows: Array<{ first: number; last: number; events: unknown[] }> = await a.app
      .get(DataSource)
      .query(
        `SELECT first_sequence::int AS first, last_sequence::int AS last, events
         FROM run_event_batches WHERE thread_id = 'blip' ORDER BY first_sequence`,
      );
    let next = 1;
    for (const row of rows) {
      expect(row.first).toBe(next);
      expect(decodeEvents(row.events)).toHaveLength(row.last - row.first + 1);
      next = row.last + 1;
    }
    expect(next - 1).toBe(logged.length);
    const replay = await threadEvents(wsB, 'blip', 0);
    expect(replay.events.map((e: FlatEvent) => e.sequence)).toEqual(followed.events.map((e) => e.sequence));
    expect(deltas(replay.events)).toBe(answer);

    // Messages and run: stored once.
    const thread = await readThread(a, 'blip');
    expect(thread.messages).toEqual([
      { id: 'blip-u', role: 'user', content: 'Survive the database blip' },
      { id: final.messages[0]!.id, role: 'assistant', content: answer },
    ]);
    expect(thread.runs).toEqual([expect.objectContaining({ id: runId, status: 'succeeded', error: null })]);
  });

  it('while connections keep being terminated, the threads API and threadEvents still answer (reads retry through the outage); stopRun never misreports', async () => {
    llm.mock.onMessage('Settle before the storm', { content: 'Settled.' });
    await postGenerate(a.url, chatInput({ threadId: 'storm', messages: [userMessage('storm-u', 'Settle before the storm')] }));
    await a.persisted();
    const expected = (await threadEvents(wsB, 'storm', 0)).events;
    expect(finalStatus(expected)).toEqual(SUCCESS_STATUS);
    const runId = expected[0]!.runId;

    for (let round = 0; round < 3; round++) {
      const storm = connectionStorm(db.options.url!, 400);
      await storm.underway;
      const [threads, lists, stops, replays] = await Promise.all([
        Promise.all([a, b].map((app) => gql(app.url, THREAD, { id: 'storm' }))),
        Promise.all([a, b].map((app) => gql(app.url, THREADS, { first: 100 }))),
        Promise.all([a, b].map((app) => gql(app.url, STOP_RUN, { runId }))),
        Promise.all([0, 1, 2].map(() => threadEvents(wsB, 'storm', 0))),
      ]);
      expect(await storm.terminated).toBeGreaterThan(0);
      for (const reply of threads) {
        expect(reply.body.errors).toBeUndefined();
        expect(reply.body.data.thread).toMatchObject({ id: 'storm', messageCount: 2, lastRunStatus: 'succeeded', runs: [expect.objectContaining({ id: runId })] });
      }
      for (const reply of lists) expect(reply.body.data.threads.nodes).toContainEqual(expect.objectContaining({ id: 'storm' }));
      // stopRun: the right answer, or (its runner's lock reads do not retry yet) a precise
      // PERSISTENCE_UNAVAILABLE; never "not found" nor an unexpected error.
      for (const reply of stops) {
        if (reply.body.errors) expect(onlyError(reply).code).toBe('PERSISTENCE_UNAVAILABLE');
        else expect(reply.body.data.stopRun).toMatchObject({ stopped: false, reason: 'NOT_RUNNING' });
      }
      for (const replay of replays) expect(replay).toEqual({ events: expected });
    }
  });
});
