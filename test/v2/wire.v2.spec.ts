import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { capture, capturedBody, capturedEvents, captureJson, captureText } from './support/captures.js';
import { EchoAgent } from './support/echo-agent.js';
import {
  JSON_HEADERS,
  openStream,
  parseSse,
  postJson,
  send,
  types,
  userMessage,
  withoutTimestamp,
  type RawReply,
} from './support/v2-client.js';

/**
 * Our v2 wire next to upstream's (contract/v2/wire, captured from @copilotkit/runtime 1.75.0 and
 * @copilotkitnext/runtime 1.54.1 serving an echo agent). The same echo agent (support/echo-agent)
 * serves here as `default` and `echo2`, the captured request bodies are replayed, and the answers
 * must be upstream's byte for byte where the contract is upstream's: statuses, error bodies,
 * events (minus our `timestamp`). Where we differ on purpose, the test says so:
 * - RUN_FINISHED always carries threadId and runId (upstream's bare one after a stop fails the
 *   client's validation);
 * - a second run on a busy thread is 409 with a JSON reason (upstream: an empty 200 stream);
 * - the live RUN_STARTED carries the request's whole input (upstream: only the new messages),
 *   the replayed one `{threadId, runId, messages, tools: [], context: []}` with exactly the
 *   messages upstream replays (we do not store tools, context and props per run);
 * - a GraphQL body at the base path is served by GraphQL (we serve v1 there too).
 */
const RUNTIME = 'runtime-1.75.0/';
const RUNTIME_154 = 'runtime-1.54.1/';

/** Upstream's SSE headers (capture 02) as we must send them, plus ours against proxy buffering. */
function expectSseHeaders(reply: { status: number; headers: Headers }): void {
  const upstream = capture(`${RUNTIME}02-run.txt`);
  expect(reply.status).toBe(upstream.status);
  expect(reply.headers.get('content-type')).toBe(upstream.headers['content-type']);
  expect(reply.headers.get('connection')).toBe(upstream.headers.connection);
  expect(reply.headers.get('cache-control')).toBe('no-cache, no-transform');
  expect(reply.headers.get('x-accel-buffering')).toBe('no');
  expect(reply.headers.get('content-encoding')).toBeNull();
}

function expectJson(reply: RawReply, status: number, body: unknown, headers: Record<string, string> = {}): void {
  expect({ status: reply.status, body: JSON.parse(reply.text) }).toEqual({ status, body });
  expect(reply.headers.get('content-type')).toBe('application/json');
  for (const [name, value] of Object.entries(headers)) expect(reply.headers.get(name)).toBe(value);
}

/** Our events as upstream's would read: no timestamps. */
const plain = (events: Array<Record<string, any>>) => events.map(withoutTimestamp);

/** RUN_STARTED events compared on their messages only (see the file comment). */
function withInputMessagesOnly(events: Array<Record<string, any>>) {
  return events.map((event) =>
    event.type === 'RUN_STARTED' ? { ...event, input: { messages: event.input?.messages } } : event,
  );
}

describe('v2 wire compared with upstream captures', () => {
  let rt: RuntimeApp;

  beforeAll(async () => {
    rt = await startRuntimeApp({
      options: {
        heartbeatMs: 200,
        agents: [
          { id: 'default', description: 'Echoes the last user message (no LLM)', agent: new EchoAgent() },
          { id: 'echo2', description: 'Second echo agent', agent: new EchoAgent('Second echo agent') },
        ],
      },
    });
  });

  afterAll(async () => {
    await rt?.close();
  });

  it('GET /info: the agents by id with name, description and className, in SSE mode', async () => {
    const reply = await send(`${rt.url}/info`, { method: 'GET' });
    const upstream = capturedBody(`${RUNTIME}01-info.txt`);
    const ours = JSON.parse(reply.text);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe(capture(`${RUNTIME}01-info.txt`).headers['content-type']);
    expect(ours.agents).toEqual(upstream.agents);
    // 1.54.1's fields, plus 1.75.0's thread endpoints (same keys as upstream's) and suggestions,
    // which we serve from our own database; no realtime socket (a hosted service upstream).
    const threadEndpoints = { list: true, inspect: true, mutations: true, realtimeMetadata: false };
    expect(Object.keys(ours.threadEndpoints).sort()).toEqual(Object.keys(upstream.threadEndpoints).sort());
    expect(ours).toEqual({
      ...capturedBody(`${RUNTIME_154}01-info.txt`),
      version: expect.stringMatching(/^1\.\d+\.\d+$/),
      threadEndpoints,
      singleRoute: { resourceOperations: true, threadEndpoints },
      suggestions: upstream.suggestions,
    });
  });

  describe('a thread of two runs, then connect', () => {
    it('run: the same events as upstream, RUN_STARTED with the input', async () => {
      const reply = await postJson(`${rt.url}/agent/default/run`, captureJson(`${RUNTIME}run-body.json`));
      expectSseHeaders(reply);
      expect(plain(parseSse(reply.text).events)).toEqual(capturedEvents(`${RUNTIME}02-run.txt`));
    });

    it('connect after the run: the compacted replay upstream sends', async () => {
      const reply = await postJson(`${rt.url}/agent/default/connect`, { ...captureJson(`${RUNTIME}run-body.json`), runId: 'c-1', messages: [] });
      expectSseHeaders(reply);
      const ours = plain(parseSse(reply.text).events);
      const upstream = capturedEvents(`${RUNTIME}03-connect-after-run.txt`);
      expect(withInputMessagesOnly(ours)).toEqual(withInputMessagesOnly(upstream));
      // The tools and context the run was given, as upstream replays them (recorded with the run).
      const { tools, context, messages } = upstream[0]!.input;
      expect(ours[0]!.input).toEqual({ threadId: 'thread-1', runId: 'run-1', messages, tools, context });
    });

    it('second run (a tool result and a new message): upstream events; RUN_STARTED has the whole input', async () => {
      const body = captureJson(`${RUNTIME}run2-body.json`);
      const reply = await postJson(`${rt.url}/agent/default/run`, body);
      const ours = plain(parseSse(reply.text).events);
      const upstream = capturedEvents(`${RUNTIME}04-run2.txt`);
      expect(withInputMessagesOnly(ours.slice(1))).toEqual(withInputMessagesOnly(upstream.slice(1)));
      const { messages: upstreamNew, ...upstreamInput } = upstream[0]!.input;
      expect({ ...ours[0], input: undefined }).toEqual({ ...upstream[0], input: undefined });
      expect(ours[0]!.input).toMatchObject(upstreamInput);
      expect(ours[0]!.input.messages.map((m: { id: string }) => m.id)).toEqual(body.messages.map((m: { id: string }) => m.id));
      expect(upstreamNew.map((m: { id: string }) => m.id)).toEqual(['tr-1', 'u2']);
    });

    it('connect after two runs: both runs compacted, each RUN_STARTED with the messages it brought', async () => {
      const reply = await postJson(`${rt.url}/agent/default/connect`, { threadId: 'thread-1', runId: 'c-2', messages: [], tools: [], context: [] });
      const ours = plain(parseSse(reply.text).events);
      const upstream = capturedEvents(`${RUNTIME}05-connect-after-2-runs.txt`);
      expect(withInputMessagesOnly(ours)).toEqual(withInputMessagesOnly(upstream));
    });

    it('single route: info, agent/run, agent/connect and agent/stop answer what the REST routes answer', async () => {
      const post = (envelope: unknown) => send(rt.url, { body: JSON.stringify(envelope), headers: JSON_HEADERS });
      const info = await post({ method: 'info' });
      expectJson(info, 200, JSON.parse((await send(`${rt.url}/info`, { method: 'GET' })).text));

      const body = { threadId: 'st-1', runId: 'sr-run-1', state: {}, messages: [userMessage('m1', 'via single route')], tools: [], context: [], forwardedProps: {} };
      const run = await post({ method: 'agent/run', params: { agentId: 'default' }, body });
      expectSseHeaders(run);
      expect(plain(parseSse(run.text).events)).toEqual(capturedEvents(`${RUNTIME}11-single-route.txt`, 'single-route: agent/run'));

      const connect = await post({ method: 'agent/connect', params: { agentId: 'default' }, body: { ...body, runId: 'sr-c' } });
      expect(withInputMessagesOnly(plain(parseSse(connect.text).events))).toEqual(
        withInputMessagesOnly(capturedEvents(`${RUNTIME}11-single-route.txt`, 'single-route: agent/connect')),
      );

      const stop = await post({ method: 'agent/stop', params: { agentId: 'default', threadId: 'st-1' } });
      expectJson(stop, 200, capturedBody(`${RUNTIME}11-single-route.txt`, 'single-route: agent/stop'));
    });
  });

  describe('a slow run: busy thread, connect while running, stop', () => {
    const slowBody = () => ({
      threadId: 'thread-slow',
      runId: 'run-s1',
      state: {},
      messages: [userMessage('su1', 'slow please')],
      tools: [],
      context: [],
      forwardedProps: { delayMs: 700 },
    });

    it('keeps the stream alive with `: keep-alive` comments during silence', async () => {
      const reply = await postJson(`${rt.url}/agent/default/run`, {
        ...slowBody(),
        threadId: 'thread-ka',
        runId: 'run-ka',
        forwardedProps: { delayMs: 700 },
      });
      const upstream = captureText(`${RUNTIME}13-keepalive-comment.txt`);
      expect(upstream).toContain('\t: keep-alive\n');
      const frames = reply.text.split('\n\n');
      const firstKeepAlive = frames.indexOf(': keep-alive');
      expect(firstKeepAlive).toBeGreaterThan(0);
      expect(frames[firstKeepAlive - 1]).toMatch(/^data: \{.*"type":"RUN_STARTED"/);
      expect(parseSse(reply.text).comments.every((comment) => comment === 'keep-alive')).toBe(true);
    });

    it('409 for a second run, connect follows live, a wrong runId stops nothing, stop ends it as upstream', async () => {
      const slow = openStream(`${rt.url}/agent/default/run`, slowBody());
      await slow.next('TEXT_MESSAGE_START');

      const busy = await postJson(`${rt.url}/agent/default/run`, { ...slowBody(), runId: 'run-s2' });
      expect(captureText(`${RUNTIME}07b-concurrent-run.txt`)).toContain('200');
      expect(busy.status).toBe(409);
      expect(JSON.parse(busy.text)).toEqual({
        error: 'Thread busy',
        code: 'THREAD_BUSY',
        message: 'Thread thread-slow already has an active run (run-s1). Wait for it to finish or stop it.',
        errorId: expect.stringMatching(/^err-/),
      });

      const joined = openStream(`${rt.url}/agent/default/connect`, { ...slowBody(), runId: 'c-slow', messages: [] });
      await joined.next('TEXT_MESSAGE_START');

      const wrongRun = await send(`${rt.url}/agent/default/stop/thread-slow`, { body: JSON.stringify({ runId: 'nope' }), headers: JSON_HEADERS });
      expectJson(wrongRun, 200, capturedBody(`${RUNTIME}07d-stop-wrong-runid.txt`));

      const stop = await send(`${rt.url}/agent/default/stop/thread-slow`, { body: JSON.stringify({ runId: 'run-s1' }), headers: JSON_HEADERS });
      expectJson(stop, 200, capturedBody(`${RUNTIME}07e-stop.txt`));

      const upstreamStopped = capturedEvents(`${RUNTIME}07a-slow-run-stopped.txt`);
      expect(upstreamStopped.at(-1)).toEqual({ type: 'RUN_FINISHED' });
      const stoppedAsWeSendIt = [...upstreamStopped.slice(0, -1), { type: 'RUN_FINISHED', threadId: 'thread-slow', runId: 'run-s1' }];
      const { events } = await slow.done;
      expect(plain(events)).toEqual(stoppedAsWeSendIt);
      const followed = await joined.done;
      expect(types(followed.events)).toEqual(types(capturedEvents(`${RUNTIME}07c-connect-while-running.txt`)));
      expect(followed.events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', threadId: 'thread-slow', runId: 'run-s1' });

      const again = await send(`${rt.url}/agent/default/stop/thread-slow`, { headers: JSON_HEADERS });
      expectJson(again, 200, capturedBody(`${RUNTIME}07f-stop-again-no-body.txt`));

      const replay = await postJson(`${rt.url}/agent/default/connect`, { ...slowBody(), runId: 'c-after', messages: [] });
      const upstreamReplay = capturedEvents(`${RUNTIME}20-connect-replay-of-stopped-run.txt`);
      expect(types(plain(parseSse(replay.text).events))).toEqual(types(upstreamReplay));
      expect(plain(parseSse(replay.text).events).slice(1, -1)).toEqual(
        upstreamReplay.slice(1, -1).map((event) =>
          event.type === 'STATE_SNAPSHOT' ? { ...event, snapshot: { turns: 1, forwardedProps: { delayMs: 700 } } } : event,
        ).map((event) => JSON.parse(JSON.stringify(event).replaceAll('run-st1', 'run-s1'))),
      );
    });
  });

  describe('errors', () => {
    it('unknown agent (run, connect, stop): 404 as upstream', async () => {
      const body = captureJson(`${RUNTIME}run-body.json`);
      expectJson(await postJson(`${rt.url}/agent/nope/run`, body), 404, capturedBody(`${RUNTIME}08-errors.txt`, 'unknown agent'));
      expectJson(await postJson(`${rt.url}/agent/nope/connect`, body), 404, capturedBody(`${RUNTIME}19-connect-unknown-agent.txt`));
      expectJson(await send(`${rt.url}/agent/nope/stop/thread-1`, { headers: JSON_HEADERS }), 404, capturedBody(`${RUNTIME}16-stop-unknown-agent.txt`));
    });

    it('invalid run body: 400 with the zod issues, byte for byte', async () => {
      const body = captureJson(`${RUNTIME}run-body.json`);
      delete body.tools;
      delete body.context;
      const reply = await postJson(`${rt.url}/agent/default/run`, body);
      expect(reply.text).toBe(capture(`${RUNTIME}08-errors.txt`, 'invalid body').body);
      expect(reply.status).toBe(400);
      // 1.54.1's capture: a body with only threadId.
      const bare = await postJson(`${rt.url}/agent/default/run`, { threadId: 'thread-1' });
      expect(bare.text).toBe(capture(`${RUNTIME_154}05-errors-and-misc.txt`, 'invalid body').body);
    });

    it('wrong method: 405 with Allow; unknown path: 404', async () => {
      const getRun = await send(`${rt.url}/agent/default/run`, { method: 'GET' });
      expectJson(getRun, 405, capturedBody(`${RUNTIME}08-errors.txt`, 'GET /agent/default/run'), { allow: 'POST' });
      const postInfo = await send(`${rt.url}/info`, { method: 'POST' });
      expectJson(postInfo, 405, capturedBody(`${RUNTIME}08-errors.txt`, 'POST /info'), { allow: 'GET' });
      expectJson(await send(`${rt.url}/nothing-here`, { method: 'GET' }), 404, capturedBody(`${RUNTIME}08-errors.txt`, 'GET /nothing-here'));
    });

    it('transcribe without a service: 503 as upstream', async () => {
      const reply = await send(`${rt.url}/transcribe`, { body: 'audio', headers: { 'content-type': 'audio/webm' } });
      expectJson(reply, 503, capturedBody(`${RUNTIME}08-errors.txt`, 'POST /transcribe'));
    });

    it('connect to an unknown thread: an empty 200 stream', async () => {
      const reply = await postJson(`${rt.url}/agent/default/connect`, { threadId: 'never-seen', runId: 'r', messages: [], tools: [], context: [] });
      expectSseHeaders(reply);
      expect(capture(`${RUNTIME}18-connect-unknown-thread.txt`).body).toBe('');
      expect(reply.text).toBe('');
    });

    it('stop body validation: the answers of upstream’s handler', async () => {
      const table = captureText(`${RUNTIME}15b-stop-body-validation-direct-handler.txt`)
        .trim()
        .split('\n')
        .map((line) => {
          const match = /^(".*") (\d{3}) (.*)$/.exec(line)!;
          return { body: JSON.parse(match[1]!) as string, status: Number(match[2]), answer: JSON.parse(match[3]!) };
        });
      expect(table).toHaveLength(6);
      for (const row of table) {
        const reply = await send(`${rt.url}/agent/default/stop/t1`, { body: row.body === '' ? undefined : row.body, headers: JSON_HEADERS });
        expectJson(reply, row.status, row.answer);
      }
    });

    it('single route: unsupported method, missing agentId, non-JSON: 400/400/415 as upstream', async () => {
      const envelope = (body: string, contentType = 'application/json') => send(rt.url, { body, headers: { 'content-type': contentType } });
      const section = (title: string) => capturedBody(`${RUNTIME}11-single-route.txt`, title);
      expectJson(await envelope(JSON.stringify({ method: 'agent/explode' })), 400, section('unsupported method'));
      expectJson(await envelope(JSON.stringify({ method: 'agent/run', params: {}, body: {} })), 400, section('missing agentId'));
      expectJson(await envelope(JSON.stringify({ method: 'info' }), 'text/plain'), 415, section('non-JSON'));
    });

    it('a GraphQL body at the base path is GraphQL’s (upstream single-route: "Missing method field")', async () => {
      expect(capturedBody(`${RUNTIME}14-graphql-body-against-single-route.txt`)).toEqual({ error: 'invalid_request', message: 'Missing method field' });
      const reply = await send(rt.url, { body: JSON.stringify({ query: '{ hello }' }), headers: JSON_HEADERS });
      expect(JSON.parse(reply.text)).toEqual({ data: { hello: 'Hello World' } });
    });
  });
});
