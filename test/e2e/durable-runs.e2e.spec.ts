import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import type { Client as WsClient } from 'graphql-ws';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { AGENT_RUNNER, type AgentRunner } from '../../src/runs/agent-runner.js';
import { EventLogStore } from '../../src/ports/run-stores.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { awaitAimockCut, startChat, userMessage } from '../support/chat-runs.js';
import { chatInput, eventually, textOf } from '../support/copilot-client.js';
import {
  COPILOT_EVENTS,
  deltas,
  finalStatus,
  gql,
  onlyError,
  postGenerate,
  prose,
  STOP_RUN,
  STOPPED_STATUS,
  subscribe,
  SUCCESS_STATUS,
  THREAD,
  threadEvents,
  wsClient,
  type FlatEvent,
  subscribeThenDrop,
} from '../support/durable-api.js';
import { startLlmTap, type LlmTap } from '../support/llm-tap.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';

/** aimock's own cut of a stream nobody stops: the safety cap of every slow fixture. */
/**
 * aimock never notices a client that hangs up: it cuts an interrupted stream itself after this long.
 * Long enough that a runtime which has to hang up (stop, client gone) always does so first, even on
 * a slow machine: the tests check who closed the model call (see LlmTap), not how fast.
 */
const AIMOCK_CUT_MS = 5_000;
/** The length of an answer a test interrupts: 2000 characters at 3 per 20 ms outlast the cut. */
const LONG_ANSWER_CHARS = 2000;

/**
 * Durable runs on one runtime instance (issue 3): one active run per thread, stopRun, client
 * disconnect, threadEvents replay and resume, and the precise errors of bad run input. Runs are
 * driven by the real v1 client; the LLM is aimock behind a tap that sees the runtime hang up.
 */
describe('durable runs: busy threads, stop, disconnect, resume', () => {
  let llm: AimockServer;
  let tap: LlmTap;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  let ws: WsClient;

  /** A slow answer that a test interrupts: it would take seconds, aimock cuts it at AIMOCK_CUT_MS. */
  const longFixture = (marker: string) =>
    llm.mock.onMessage(marker, { content: prose(marker, LONG_ANSWER_CHARS) }, { chunkSize: 3, latency: 20, disconnectAfterMs: AIMOCK_CUT_MS });
  /** A slow answer that runs to its end (about 1 s), with a cap far beyond it. */
  const slowFixture = (marker: string, content: string) =>
    llm.mock.onMessage(marker, { content }, { chunkSize: 3, latency: 20, disconnectAfterMs: 10_000 });

  const stopRun = (variables: { runId?: string; threadId?: string }) => gql(rt.url, STOP_RUN, variables);
  const readThread = async (id: string) => {
    const reply = await gql(rt.url, THREAD, { id });
    expect(reply.body.errors).toBeUndefined();
    return reply.body.data.thread;
  };
  const expectContiguous = (events: FlatEvent[], from = 1) =>
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => from + i));

  beforeAll(async () => {
    llm = await startAimock();
    tap = await startLlmTap(llm.mock.port);
    rt = await startRuntimeApp({ llmBaseUrl: `${tap.url}/v1` });
    client = new CopilotRuntimeClient({ url: rt.url });
    ws = wsClient(rt.wsUrl);
  });

  afterAll(async () => {
    await ws?.dispose();
    await rt?.close();
    await tap?.stop();
    await llm?.stop();
  });

  it('refuses a second run on a busy thread at once (THREAD_BUSY, HTTP 200, no stream), over HTTP and WebSocket, changing nothing', async () => {
    const answer = prose('Busy thread', 150);
    slowFixture('Keep the thread busy', answer);
    const first = startChat(client, { threadId: 'thread-busy', messageId: 'u-busy-1', text: 'Keep the thread busy' });
    const runId = await first.streaming;

    // The client's own request (headers, document): refused before anything streams.
    const second = await postGenerate(rt.url, chatInput({ threadId: 'thread-busy', messages: [userMessage('u-busy-2', 'Let me in')] }));
    // At once: while the first run still streams (its finishedAt is checked below), not queued behind it.
    const refusedAt = Date.now();
    expect(second.status).toBe(200);
    expect(second.contentType).toMatch(/^application\/(graphql-response\+)?json/);
    const body = JSON.parse(second.text);
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions).toMatchObject({ code: 'THREAD_BUSY', statusCode: 409 });
    expect(body.errors[0].message).toBe(
      `Thread thread-busy already has an active run (${runId}). Wait for it to finish or stop it.`,
    );

    // Over graphql-ws: an error, not an empty stream.
    const overWs = await subscribe(ws, COPILOT_EVENTS, {
      data: chatInput({ threadId: 'thread-busy', messages: [userMessage('u-busy-3', 'Let me in too')] }),
      properties: {},
    });
    expect(overWs.events).toEqual([]);
    expect(overWs.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'THREAD_BUSY' }) })]);

    // The first run was still streaming when the others were refused, and is unaffected.
    const done = await first.done;
    expect(done.finishedAt).toBeGreaterThan(refusedAt);
    expect(done.final.status).toMatchObject({ code: 'Success' });
    expect(textOf(done.final.messages[0])).toBe(answer);

    // Nothing of the refused requests was recorded: one run, the first exchange's messages.
    await rt.persisted();
    const thread = await readThread('thread-busy');
    expect(thread.runs).toEqual([expect.objectContaining({ id: runId, status: 'succeeded' })]);
    expect(thread.messages.map((m: any) => m.id)).toEqual(['u-busy-1', done.final.messages[0]!.id]);

    // Free again: the next run is admitted at once.
    llm.mock.onMessage('Now it is my turn', { content: 'Your turn.' });
    const next = await postGenerate(rt.url, chatInput({ threadId: 'thread-busy', messages: [userMessage('u-busy-4', 'Now it is my turn')] }));
    expect(next.text).toContain('Your turn.');
    expect(next.text).not.toContain('THREAD_BUSY');
  });

  it('stopRun(threadId) aborts the LLM call, closes the open message, records the run stopped; client and subscribers see the final status', async () => {
    const marker = 'Stop me by thread';
    longFixture(marker);
    const chat = startChat(client, { threadId: 'thread-stop-1', messageId: 'u-stop-1', text: marker, minChars: 6 });
    const runId = await chat.streaming;
    const follower = threadEvents(ws, 'thread-stop-1', 0);
    // The follower has joined the live run before the stop.
    await eventually(() => expect(tap.seen(marker)).toBe(true));

    const reply = await stopRun({ threadId: 'thread-stop-1' });
    expect(reply.body).toEqual({ data: { stopRun: { stopped: true, threadId: 'thread-stop-1', runId, reason: null, message: null } } });
    // The runtime hung up the model call: not aimock's own cut.
    expect(await tap.waitUntilClosed(marker)).toBe('runtime');

    // The client: a partial answer, its message closed, the run interrupted.
    const { final } = await chat.done;
    expect(final.status).toMatchObject({ code: 'Failed', reason: 'MESSAGE_STREAM_INTERRUPTED' });
    const partial = textOf(final.messages[0]);
    expect(partial.length).toBeGreaterThanOrEqual(6);
    expect(prose(marker, LONG_ANSWER_CHARS).startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(LONG_ANSWER_CHARS);
    expect(final.messages[0]!.status).toMatchObject({ code: 'Success' });

    // The subscriber: the message closed, then the stopped status, and its stream completed.
    const followed = await follower;
    expect(followed.errors).toBeUndefined();
    expect(followed.events.map((e) => e.type).slice(-2)).toEqual(['TEXT_MESSAGE_END', 'RUN_FINISHED']);
    expect(finalStatus(followed.events)).toMatchObject(STOPPED_STATUS);
    expect(deltas(followed.events)).toBe(partial);
    // Every event once, in order; the stop status is numbered as the run's last event in the log
    // (the CUSTOM run_stopped before it has no event of its own), so resuming after it yields nothing.
    expectContiguous(followed.events.slice(0, -1));
    const lastSequence = await rt.app.get(EventLogStore).lastSequence('thread-stop-1');
    expect(followed.events.at(-1)!.sequence).toBe(lastSequence);
    expect(lastSequence).toBe(followed.events.at(-2)!.sequence + 2);
    expect(await threadEvents(ws, 'thread-stop-1', lastSequence)).toEqual({ events: [] });

    // Recorded: stopped, with its end time and the partial answer.
    await rt.persisted();
    const thread = await readThread('thread-stop-1');
    expect(thread.lastRunStatus).toBe('stopped');
    expect(thread.runs).toEqual([expect.objectContaining({ id: runId, status: 'stopped', error: null, finishedAt: expect.any(String) })]);
    expect(thread.messages.at(-1)).toMatchObject({ role: 'assistant', content: partial });

    // Stopping it again: nothing to stop, said precisely, nothing changed.
    for (const target of [{ runId }, { threadId: 'thread-stop-1' }]) {
      const again = await stopRun(target);
      expect(again.body.data.stopRun).toMatchObject({ stopped: false, reason: 'NOT_RUNNING', message: expect.stringMatching(/already finished|no active run/) });
    }
    expect((await readThread('thread-stop-1')).runs).toEqual(thread.runs);

    await awaitAimockCut(llm, marker, AIMOCK_CUT_MS + 1000);
  });

  it('stopRun(runId) stops a run started over graphql-ws: its copilotEvents stream ends with the stopped status', async () => {
    const marker = 'Stop me by run id';
    longFixture(marker);
    let resolveRunId!: (runId: string) => void;
    const started = new Promise<string>((resolve) => (resolveRunId = resolve));
    const owner = subscribe(
      ws,
      COPILOT_EVENTS,
      { data: chatInput({ threadId: 'thread-stop-2', messages: [userMessage('u-stop-2', marker)] }), properties: {} },
      (event) => {
        if (event.type === 'TEXT_MESSAGE_CONTENT') resolveRunId(event.runId);
      },
    );
    const runId = await started;

    const reply = await stopRun({ runId });
    expect(reply.body.data.stopRun).toEqual({ stopped: true, threadId: 'thread-stop-2', runId, reason: null, message: null });
    expect(await tap.waitUntilClosed(marker)).toBe('runtime');

    const { events, errors } = await owner;
    expect(errors).toBeUndefined();
    expect(events.map((e) => e.type).slice(-2)).toEqual(['TEXT_MESSAGE_END', 'RUN_FINISHED']);
    expect(finalStatus(events)).toEqual({ ...STOPPED_STATUS, details: { description: 'Run stopped by user.' } });

    const run = await eventually(async () => {
      const found = await rt.app.get(ConversationStore).findRun(runId);
      expect(found?.status).toBe('stopped');
      return found!;
    });
    expect(run.finishedAt).toBeInstanceOf(Date);
    await awaitAimockCut(llm, marker, AIMOCK_CUT_MS + 1000);
  });

  it('a v1 client that disconnects aborts its run by default: LLM call cancelled, run stopped, log closed, thread free', async () => {
    const marker = 'I will hang up on you';
    longFixture(marker);
    const chat = startChat(client, { threadId: 'thread-hangup', messageId: 'u-hangup', text: marker, abortOnceStreaming: true });
    const runId = await chat.streaming;
    expect(await tap.waitUntilClosed(marker)).toBe('runtime');

    const runner = rt.app.get<AgentRunner>(AGENT_RUNNER);
    await eventually(async () => expect(await runner.isRunning('thread-hangup')).toBe(false));
    const run = await eventually(async () => {
      await rt.persisted();
      const found = await rt.app.get(ConversationStore).findRun(runId);
      expect(found?.status).toBe('stopped');
      return found!;
    });
    expect(run.finishedAt).toBeInstanceOf(Date);

    // The log tells the whole story, ending with the stopped status.
    const replay = await threadEvents(ws, 'thread-hangup', 0);
    expect(replay.errors).toBeUndefined();
    expect(replay.events[0]).toMatchObject({ type: 'RUN_STARTED', runId });
    expect(finalStatus(replay.events)).toMatchObject(STOPPED_STATUS);
    expect(replay.events.at(-2)!.type).toBe('TEXT_MESSAGE_END');

    // The thread takes the next message at once.
    llm.mock.onMessage('Sorry, I am back', { content: 'Welcome back.' });
    const next = await postGenerate(rt.url, chatInput({ threadId: 'thread-hangup', messages: [userMessage('u-back', 'Sorry, I am back')] }));
    expect(next.text).toContain('Welcome back.');
    await awaitAimockCut(llm, marker, AIMOCK_CUT_MS + 1000);
  });

  it('threadEvents resume: a subscriber cut off mid-run reconnects with its last sequence and gets the rest, no gaps, no duplicates', async () => {
    const answer = prose('Resume', 180);
    slowFixture('Stream while I reconnect', answer);
    const chat = startChat(client, { threadId: 'thread-resume', messageId: 'u-resume', text: 'Stream while I reconnect' });
    await chat.streaming;

    // First connection: reads a few deltas, then its socket drops.
    const before = await subscribeThenDrop(rt.wsUrl, 'thread-resume', 5);
    expect(before.events.length).toBeGreaterThanOrEqual(7);
    const lastSeen = before.events.at(-1)!.sequence;

    // Events go by while it is away; the run is still going when it comes back.
    const log = rt.app.get(EventLogStore);
    await eventually(async () => expect(await log.lastSequence('thread-resume')).toBeGreaterThan(lastSeen + 3));
    expect(await rt.app.get<AgentRunner>(AGENT_RUNNER).isRunning('thread-resume')).toBe(true);

    const second = wsClient(rt.wsUrl);
    const after = await threadEvents(second, 'thread-resume', lastSeen);
    await second.dispose();
    expect(after.errors).toBeUndefined();
    const { final, finishedAt } = await chat.done;

    // Together: every event once, in order, the whole answer, the final status.
    const all = [...before.events, ...after.events];
    expectContiguous(all);
    expect(all[0]!.type).toBe('RUN_STARTED');
    expect(deltas(all)).toBe(answer);
    expect(finalStatus(all)).toEqual(SUCCESS_STATUS);
    expect(textOf(final.messages[0])).toBe(answer);
    expect(finishedAt).toBeGreaterThan(0);

    // Exactly what the log replays from the start.
    const replay = await threadEvents(ws, 'thread-resume', 0);
    const shape = (e: FlatEvent) => ({ sequence: e.sequence, type: e.type, runId: e.runId, delta: e.delta, messageId: e.messageId });
    expect(replay.events.map(shape)).toEqual(all.map(shape));
  });

  it('threadEvents on a finished thread: from the last sequence nothing; from just before the end, the final status', async () => {
    llm.mock.onMessage('A short answer to resume', { content: 'Short and done.' }, { chunkSize: 5 });
    await postGenerate(rt.url, chatInput({ threadId: 'thread-tail', messages: [userMessage('u-tail', 'A short answer to resume')] }));
    await rt.persisted();
    const replay = await threadEvents(ws, 'thread-tail', 0);
    const last = replay.events.at(-1)!.sequence;
    expect(finalStatus(replay.events)).toEqual(SUCCESS_STATUS);

    expect(await threadEvents(ws, 'thread-tail', last)).toEqual({ events: [] });
    const tail = await threadEvents(ws, 'thread-tail', last - 1);
    expect(tail.errors).toBeUndefined();
    expect(tail.events).toEqual([replay.events.at(-1)]);
  });

  describe('bad run input: precise errors, nothing changed', () => {
    let finishedRunId: string;

    beforeAll(async () => {
      llm.mock.onMessage('Finish quickly', { content: 'Done.' });
      const reply = await postGenerate(rt.url, chatInput({ threadId: 'thread-bad-runs', messages: [userMessage('u-bad', 'Finish quickly')] }));
      expect(reply.text).toContain('Done.');
      await rt.persisted();
      finishedRunId = (await readThread('thread-bad-runs')).runs[0].id;
    });

    it('threadEvents with a sequence number from the future, a negative one, or an unknown thread', async () => {
      const last = await rt.app.get(EventLogStore).lastSequence('thread-bad-runs');
      expect(last).toBeGreaterThan(0);
      const future = await threadEvents(ws, 'thread-bad-runs', last + 1);
      expect(future.events).toEqual([]);
      expect(future.errors).toEqual([
        expect.objectContaining({
          message: `afterSequence ${last + 1} is beyond the last event of thread "thread-bad-runs" (${last}).`,
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      ]);
      const negative = await threadEvents(ws, 'thread-bad-runs', -1);
      expect(negative.errors).toEqual([
        expect.objectContaining({ message: 'afterSequence must be a whole number >= 0; got -1.', extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
      ]);
      const unknown = await threadEvents(ws, 'thread-nobody-made', 0);
      expect(unknown.errors).toEqual([
        expect.objectContaining({ message: 'Thread "thread-nobody-made" was not found.', extensions: expect.objectContaining({ code: 'THREAD_NOT_FOUND' }) }),
      ]);
    });

    it('stopRun of an unknown run or thread, of both or neither, and of a finished run', async () => {
      const before = await readThread('thread-bad-runs');

      const unknownRun = onlyError(await stopRun({ runId: 'run-nobody-started' }));
      expect(unknownRun).toMatchObject({ code: 'RUN_NOT_FOUND', message: 'Run "run-nobody-started" was not found.' });
      const unknownThread = onlyError(await stopRun({ threadId: 'thread-nobody-made' }));
      expect(unknownThread).toMatchObject({ code: 'THREAD_NOT_FOUND', message: 'Thread "thread-nobody-made" was not found.' });
      for (const variables of [{}, { runId: finishedRunId, threadId: 'thread-bad-runs' }]) {
        const reply = await stopRun(variables);
        expect(reply.status).toBe(200);
        expect(onlyError(reply)).toMatchObject({ code: 'BAD_USER_INPUT', message: 'stopRun needs exactly one of runId and threadId.' });
      }

      const finished = await stopRun({ runId: finishedRunId });
      expect(finished.body.data.stopRun).toEqual({
        stopped: false,
        threadId: 'thread-bad-runs',
        runId: finishedRunId,
        reason: 'NOT_RUNNING',
        message: `The run ${finishedRunId} already finished.`,
      });
      const idle = await stopRun({ threadId: 'thread-bad-runs' });
      expect(idle.body.data.stopRun).toEqual({
        stopped: false,
        threadId: 'thread-bad-runs',
        runId: null,
        reason: 'NOT_RUNNING',
        message: 'Thread "thread-bad-runs" has no active run.',
      });

      expect(await readThread('thread-bad-runs')).toEqual(before);
      expect(before.runs).toEqual([expect.objectContaining({ id: finishedRunId, status: 'succeeded' })]);
    });
  });
});
