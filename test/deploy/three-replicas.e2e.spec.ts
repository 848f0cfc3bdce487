import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { type AimockServer, startAimock } from '../support/aimock.js';
import { startChat } from '../support/chat-runs.js';
import { textOf } from '../support/copilot-client.js';
import { type TestDatabase, testDatabaseOptions, usesRealPostgres } from '../support/database.js';
import { deltas, threadEvents, wsClient } from '../support/durable-api.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, runInput, userMessage } from '../v2/support/v2-client.js';
import { queryRows } from '../health/database-rows.js';
import { ensureNginx, type Nginx, startNginx } from './nginx.js';

/**
 * The deployment recipe on this machine, without Docker: three runtime processes (src/main.ts) on
 * loopback sharing PostgreSQL and Redis, Debian's nginx in front with deploy/nginx/copilot-runtime.conf.
 * Needs a PostgreSQL server (TEST_DATABASE_URL): the embedded one cannot be shared by processes.
 */
const LOCK_TTL_MS = 1_500;
const SLOW = 'slow answer '.repeat(60).trim();
const TERMINAL = new Set(['RUN_FINISHED', 'RUN_ERROR']);

const suite = usesRealPostgres() ? describe : describe.skip;

suite('three replicas behind nginx', () => {
  let llm: AimockServer;
  let db: TestDatabase;
  let replicas: RuntimeProcess[];
  let nginx: Nginx;
  let base: string;

  beforeAll(async () => {
    await ensureNginx();
    llm = await startAimock();
    llm.mock.onMessage('quick hello', { content: 'Hello from one of three replicas, streamed through nginx.' }, { chunkSize: 6, latency: 15 });
    llm.mock.onMessage('slow story', { content: SLOW }, { chunkSize: 3, latency: 40 });
    db = await testDatabaseOptions();
    replicas = await Promise.all(
      [1, 2, 3].map(() =>
        startRuntimeProcess({
          DATABASE_URL: db.options.url,
          REDIS_URL: 'redis://127.0.0.1:6379',
          OPENAI_API_KEY: 'test-key',
          OPENAI_BASE_URL: llm.baseURL,
          LLM_MAX_RETRIES: '0',
          RUN_LOCK_TTL_MS: String(LOCK_TTL_MS),
        }),
      ),
    );
    nginx = await startNginx(replicas.map((replica) => `127.0.0.1:${replica.port}`));
    base = `${nginx.origin}/api/copilotkit`;
  }, 180_000);

  afterAll(async () => {
    await nginx?.close();
    await Promise.all((replicas ?? []).map((replica) => replica.close()));
    await db?.cleanup();
    await llm?.stop();
  });

  it('streams v1 and v2 chats through nginx, unbuffered', async () => {
    const client = new CopilotRuntimeClient({ url: base });
    const chat = startChat(client, { threadId: 'lb-v1', messageId: 'u1', text: 'quick hello' });
    const { final, snapshots } = await chat.done;
    expect(textOf(final.messages[0])).toBe('Hello from one of three replicas, streamed through nginx.');
    expect(final.status?.code).toBe('Success');
    // The answer arrived in parts: nginx passed the multipart stream on as it came.
    expect(snapshots.filter((snapshot) => textOf(snapshot.response.messages[0]).length > 0).length).toBeGreaterThan(1);

    const v2 = openStream(`${base}/agent/default/run`, runInput({ threadId: 'lb-v2', runId: 'lb-v2-r1', messages: [userMessage('u1', 'slow story')] }));
    await v2.next('TEXT_MESSAGE_CONTENT');
    // The first part is here while the run still streams: not buffered until the end.
    const endedAlready = await Promise.race([v2.done.then(() => true), Promise.resolve(false)]);
    expect(endedAlready).toBe(false);
    const { status, events } = await v2.done;
    expect(status).toBe(200);
    expect(events.at(-1)?.type).toBe('RUN_FINISHED');
  });

  it('follows, resumes and stops a run held by one replica through the others', async () => {
    const [holder, follower, stopper] = replicas as [RuntimeProcess, RuntimeProcess, RuntimeProcess];
    const threadId = 'lb-shared';
    const run = openStream(`${holder.url}/agent/default/run`, runInput({ threadId, runId: 'lb-shared-r1', messages: [userMessage('u1', 'slow story')] }));
    await run.next('TEXT_MESSAGE_CONTENT');

    // v2 connect on another replica: the live run, from its start.
    const connected = openStream(`${follower.url}/agent/default/connect`, runInput({ threadId, runId: 'lb-connect' }));
    await connected.next('TEXT_MESSAGE_CONTENT');
    // v1 threadEvents over WebSocket through nginx (the upgrade), resuming after the first events.
    const ws = wsClient(base.replace('http', 'ws'));
    const resumed = threadEvents(ws, threadId, 2);

    const stop = await fetch(`${stopper.url}/agent/default/stop/${threadId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(stop.status).toBe(200);

    const held = await run.done;
    expect(TERMINAL.has(String(held.events.at(-1)?.type))).toBe(true);
    const followed = await connected.done;
    expect(TERMINAL.has(String(followed.events.at(-1)?.type))).toBe(true);
    const viaWs = await resumed;
    await ws.dispose();
    expect(viaWs.errors).toBeUndefined();
    expect(viaWs.events[0]!.sequence).toBe(3);
    expect(viaWs.events.at(-1)?.type).toBe('RUN_FINISHED');
    // Everyone saw the same answer, up to where it was stopped.
    const heldText = held.events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
    const followedText = followed.events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
    expect(followedText).toBe(heldText);
    expect(heldText.endsWith(deltas(viaWs.events))).toBe(true);
    expect(heldText.length).toBeLessThan(SLOW.length);
  });

  it('frees the thread of a replica killed mid-answer: reconnect sees a terminal event, no gap in the log, a new run succeeds', async () => {
    const victim = replicas[2]!;
    const threadId = 'lb-killed';
    const run = openStream(`${victim.url}/agent/default/run`, runInput({ threadId, runId: 'lb-killed-r1', messages: [userMessage('u1', 'slow story')] }));
    await run.next('TEXT_MESSAGE_CONTENT');
    // Mid-answer with part of it already in the log (batches land every 25 ms).
    await waitFor(async () => {
      const [content] = await queryRows<{ count: string }>(
        db,
        `SELECT count(*) AS count FROM run_event_batches b, jsonb_array_elements(b.events) e
         WHERE b.thread_id = $1 AND b.run_id = $2
           AND 'TEXT_MESSAGE_CONTENT' IN (e->>'type', e->>'$deltas')`, // a stored run of deltas is one element
        [threadId, 'lb-killed-r1'],
      );
      return Number(content!.count) > 0;
    });
    victim.signal('SIGKILL');
    await victim.exited;
    await run.done.catch(() => undefined);

    // A client reconnecting through nginx: within the lock TTL another replica reaps the run,
    // whose log then ends with a RUN_ERROR.
    const replay = await waitFor(async () => {
      const again = openStream(`${base}/agent/default/connect`, runInput({ threadId, runId: 'lb-reconnect' }));
      const { events } = await again.done;
      return events.at(-1)?.type === 'RUN_ERROR' ? events : false;
    }, { what: 'a reconnect that ends with RUN_ERROR', giveUpAfterMs: 60_000 });
    expect(replay.some((event) => event.type === 'RUN_STARTED')).toBe(true);

    const batches = await queryRows<{ first_sequence: string; last_sequence: string }>(
      db,
      'SELECT first_sequence, last_sequence FROM run_event_batches WHERE thread_id = $1 ORDER BY first_sequence',
      [threadId],
    );
    let expected = 1;
    for (const batch of batches) {
      expect(Number(batch.first_sequence)).toBe(expected);
      expected = Number(batch.last_sequence) + 1;
    }
    const [row] = await queryRows<{ status: string; error: { code: string } }>(db, 'SELECT status, error FROM runs WHERE id = $1', ['lb-killed-r1']);
    expect(row).toMatchObject({ status: 'failed', error: { code: 'RUN_ABANDONED' } });

    const next = openStream(`${base}/agent/default/run`, runInput({ threadId, runId: 'lb-killed-r2', messages: [userMessage('u2', 'quick hello')] }));
    const { status, events } = await next.done;
    expect(status).toBe(200);
    expect(events.at(-1)?.type).toBe('RUN_FINISHED');
  }, 90_000);
});
