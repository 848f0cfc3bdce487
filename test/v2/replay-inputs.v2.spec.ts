import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { prose } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { openStream, parseSse, postJson, runInput, userMessage } from './support/v2-client.js';

/**
 * `connect` replays what each run was given: every RUN_STARTED.input carries the tools and context
 * items of its own run (recorded with the run), for ended runs (compacted history) and for the run
 * still going (the live tail), with either runner.
 */
const SLOW = prose('A slow answer', 300);

const toolsOf = (name: string) => [{ name, description: `The ${name} tool`, parameters: { type: 'object', properties: {} } }];
const contextOf = (page: string) => [{ description: 'page', value: page }];

describe.each([['postgres' as const], ['memory' as const]])('replayed run inputs, %s runner', (runner) => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('first', { content: 'First answer.' });
    llm.mock.onMessage('second', { content: 'Second answer.' });
    llm.mock.onMessage('slowly', { content: SLOW }, { chunkSize: 8, latency: 20 });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { runs: { runner } } });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  const run = (runId: string, text: string, tool: string, page: string) =>
    runInput({ threadId: 'ri-thread', runId, messages: [userMessage(`${runId}-u`, text)], tools: toolsOf(tool), context: contextOf(page) });

  it('each ended run and the live one come back with their own tools and context', async () => {
    expect((await postJson(`${rt.url}/agent/default/run`, run('ri-1', 'first', 'showBanner', '/home'))).status).toBe(200);
    expect((await postJson(`${rt.url}/agent/default/run`, run('ri-2', 'second', 'openMap', '/map'))).status).toBe(200);
    await rt.persisted();

    const live = openStream(`${rt.url}/agent/default/run`, run('ri-3', 'slowly', 'bookTrip', '/trips'));
    await live.next('TEXT_MESSAGE_CONTENT');
    const connect = await postJson(`${rt.url}/agent/default/connect`, runInput({ threadId: 'ri-thread', runId: 'ri-c' }));
    const started = parseSse(connect.text).events.filter((event) => event.type === 'RUN_STARTED');
    expect(started.map((event) => [event.runId, event.input.tools, event.input.context])).toEqual([
      ['ri-1', toolsOf('showBanner'), contextOf('/home')],
      ['ri-2', toolsOf('openMap'), contextOf('/map')],
      ['ri-3', toolsOf('bookTrip'), contextOf('/trips')],
    ]);
    expect((await live.done).events.at(-1)).toMatchObject({ type: 'RUN_FINISHED' });
  });
});
