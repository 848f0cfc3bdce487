import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { type AimockServer, startAimock } from '../support/aimock.js';
import { startChat } from '../support/chat-runs.js';
import { chatInput, streamResponse, textOf } from '../support/copilot-client.js';
import { type TestDatabase, testDatabaseOptions } from '../support/database.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, runInput, userMessage as v2Message } from '../v2/support/v2-client.js';
import { userMessage } from '../support/chat-runs.js';
import { databaseEnv, queryRows } from './database-rows.js';
import { COPILOT_EVENTS, subscribe, wsClient } from '../support/durable-api.js';

/**
 * Graceful drain on SIGTERM, on the real server process (src/main.ts) with real clients mid-answer:
 * readiness goes false, new runs are refused with SHUTTING_DOWN (v2: 503 + Retry-After), runs in
 * flight finish within SHUTDOWN_DRAIN_MS or are stopped with a terminal event, every run row gets
 * its final status, then the process exits.
 */
const WORDS = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

describe('graceful drain on SIGTERM', () => {
  let llm: AimockServer;
  let db: TestDatabase;
  let server: RuntimeProcess | undefined;

  beforeAll(async () => {
    llm = await startAimock();
    // Short answer: a few hundred ms of streaming. Long answer: ~8 s, far beyond the 300 ms drain it meets.
    llm.mock.onMessage('short answer', { content: WORDS }, { chunkSize: 8, latency: 40 });
    llm.mock.onMessage('endless answer', { content: `${WORDS} ${WORDS} ${WORDS}` }, { chunkSize: 2, latency: 30 });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await db?.cleanup();
  });

  afterAll(async () => {
    await llm.stop();
  });

  async function boot(drainMs: number): Promise<RuntimeProcess> {
    db = await testDatabaseOptions();
    server = await startRuntimeProcess({
      ...databaseEnv(db),
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MAX_RETRIES: '0',
      SHUTDOWN_DRAIN_MS: String(drainMs),
    });
    return server;
  }

  it('lets a run in flight finish, refuses new runs and answers not ready meanwhile, then exits', async () => {
    const rt = await boot(60_000);
    expect((await fetch(`${rt.origin}/health/ready`)).status).toBe(200);
    const client = new CopilotRuntimeClient({ url: rt.url });
    const chat = startChat(client, { threadId: 'drain-t1', messageId: 'u1', text: 'short answer please' });
    const runId = await chat.streaming;

    rt.signal('SIGTERM');
    const notReady = await waitFor(async () => {
      const reply = await fetch(`${rt.origin}/health/ready`);
      return reply.status === 503 ? ((await reply.json()) as Record<string, any>) : false;
    });
    expect(notReady.error.shutdown.status).toBe('down');
    expect((await fetch(`${rt.origin}/health/live`)).status).toBe(200);

    // A new v1 run: a GraphQL error with the retryable code.
    const refused = await streamResponse(client, {
      data: chatInput({ threadId: 'drain-t2', messages: [userMessage('u2', 'short answer please')] }),
    });
    const v1Error = JSON.stringify(refused.error ?? refused.final);
    expect(v1Error).toContain('SHUTTING_DOWN');
    // A new v2 run: 503 with Retry-After.
    const v2 = await fetch(`${rt.url}/agent/default/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(runInput({ threadId: 'drain-t3', runId: 'r3', messages: [v2Message('u3', 'short answer please')] })),
    });
    expect(v2.status).toBe(503);
    expect(v2.headers.get('retry-after')).toBe('1');
    expect(await v2.json()).toMatchObject({ code: 'SHUTTING_DOWN' });

    // The run in flight was not cut: the whole answer, a successful end.
    const { final, error } = await chat.done;
    expect(error).toBeUndefined();
    expect(textOf(final.messages[0])).toBe(WORDS);
    expect(final.status?.code).toBe('Success');

    const exit = await rt.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(rt.output()).not.toMatch(/unfinished|ERROR_DURING_SHUTDOWN/);
    const rows = await queryRows<{ id: string; status: string }>(db, 'SELECT id, status FROM runs ORDER BY started_at');
    expect(rows).toEqual([{ id: runId, status: 'succeeded' }]);
  });

  it('stops the runs still going at the deadline: every client gets a terminal event, every run a final status', async () => {
    const rt = await boot(300);
    const client = new CopilotRuntimeClient({ url: rt.url });
    const v1 = startChat(client, { threadId: 'drain-t4', messageId: 'u4', text: 'endless answer please' });
    const v2 = openStream(`${rt.url}/agent/default/run`, runInput({ threadId: 'drain-t5', runId: 'r5', messages: [v2Message('u5', 'endless answer please')] }));
    // And a v1 client over graphql-ws (copilotEvents).
    const ws = wsClient(rt.url.replace('http', 'ws'));
    let wsStreaming!: () => void;
    const wsStarted = new Promise<void>((resolve) => (wsStreaming = resolve));
    const overWs = subscribe(
      ws,
      COPILOT_EVENTS,
      { data: chatInput({ threadId: 'drain-t6', messages: [userMessage('u6', 'endless answer please')] }), properties: {} },
      (event) => {
        if (event.type === 'TEXT_MESSAGE_CONTENT') wsStreaming();
      },
    );
    await v1.streaming;
    await v2.next('TEXT_MESSAGE_CONTENT');
    await wsStarted;

    rt.signal('SIGTERM');

    const v2End = await v2.done;
    const last = v2End.events.at(-1)!;
    expect(last.type).toBe('RUN_ERROR');
    const { final } = await v1.done;
    expect(final.status?.code).toBe('Failed');
    expect(textOf(final.messages[0]).length).toBeLessThan(WORDS.length * 3);

    const wsEnd = await overWs;
    await ws.dispose();
    expect(wsEnd.events.at(-1)?.type).toBe('RUN_FINISHED');
    expect(wsEnd.events.at(-1)?.status).toMatchObject({ code: 'Failed' });

    const exit = await rt.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    const rows = await queryRows<{ thread_id: string; status: string; error: { code: string } | null }>(
      db,
      'SELECT thread_id, status, error FROM runs ORDER BY thread_id',
    );
    expect(rows.map((row) => [row.thread_id, row.status])).toEqual([
      ['drain-t4', 'failed'],
      ['drain-t5', 'failed'],
      ['drain-t6', 'failed'],
    ]);
    const locks = await queryRows(db, 'SELECT * FROM thread_locks');
    expect(locks).toEqual([]);
  });
});
