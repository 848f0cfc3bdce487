import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AvailableAgentsDocument,
  CopilotRuntimeClient,
  LoadAgentStateDocument,
  Role,
  TextMessage,
} from '@copilotkit/runtime-client-gql';
import { cacheExchange, Client as UrqlClient, fetchExchange } from '@urql/core';
import { startAimock, type AimockServer } from '../support/aimock.js';
import {
  CLIENT_VERSION,
  chatInput,
  clientRequestBody,
  clientRequestHeaders,
  multipartPayloads,
  recordFetch,
  sseFrames,
  streamResponse,
  streamedText,
  textOf,
  type RecordedExchange,
} from '../support/copilot-client.js';
import { startLlmGate, type LlmGate } from '../support/llm-gate.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';

/**
 * What travels on the wire between the real client and the runtime: framing (multipart, SSE,
 * plain JSON), proxy-proof headers, the version handshake, keep-alives during silence, and GET
 * queries. The app beats every 100 ms so that silence is cheap to provoke.
 */
describe('v1 transport: framing, headers, heartbeats, GET', () => {
  let llm: AimockServer;
  let gate: LlmGate;
  let rt: RuntimeApp;
  const warnings: string[] = [];
  let client: CopilotRuntimeClient;

  const input = (threadId: string, id: string, content: string) =>
    chatInput({ threadId, messages: [new TextMessage({ id, role: Role.User, content })] });
  const post = (body: string, accept: string) =>
    fetch(rt.url, { method: 'POST', headers: clientRequestHeaders(accept), body });
  /** The exchanges with the runtime (the runtime's own model calls share the global fetch). */
  const withRuntime = (exchanges: RecordedExchange[]) => exchanges.filter((exchange) => exchange.url.startsWith(rt.url));

  beforeAll(async () => {
    llm = await startAimock();
    gate = await startLlmGate(llm.url);
    rt = await startRuntimeApp({ llmBaseUrl: gate.baseURL, options: { heartbeatMs: 100 } });
    client = new CopilotRuntimeClient({ url: rt.url, handleGQLWarning: (warning) => warnings.push(warning) });
  });

  afterAll(async () => {
    await rt?.close();
    await gate?.stop();
    await llm?.stop();
  });

  it("answers the client's request as multipart/mixed with anti-buffering headers and its own version", async () => {
    const text = 'Multipart, not buffered.';
    llm.mock.onMessage('Check the headers', { content: text }, { chunkSize: 5 });
    const recorder = recordFetch();
    const { final } = await streamResponse(client, { data: input('thread-tr-1', 'u-tr-1', 'Check the headers') }).finally(
      () => recorder.restore(),
    );

    const [exchange] = withRuntime(recorder.exchanges);
    expect(withRuntime(recorder.exchanges)).toHaveLength(1);
    expect(exchange!.method).toBe('POST');
    expect(exchange!.requestHeaders.get('accept')).toContain('multipart/mixed');
    expect(exchange!.requestHeaders.get('x-copilotkit-runtime-client-gql-version')).toBe(CLIENT_VERSION);
    expect(exchange!.status).toBe(200);
    expect(exchange!.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    expect(exchange!.headers.get('x-accel-buffering')).toBe('no');
    expect(exchange!.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(exchange!.headers.get('x-copilotkit-runtime-version')).toBe(CLIENT_VERSION);
    // Same version on both sides: the client has nothing to warn about.
    expect(warnings).toEqual([]);

    // The legacy incremental format: an initial result, streamed items, then hasNext false.
    const payloads = multipartPayloads(await exchange!.body);
    expect(payloads[0]).toMatchObject({
      data: { generateCopilotResponse: { threadId: 'thread-tr-1', messages: [], metaEvents: [] } },
      hasNext: true,
    });
    expect(payloads.at(-1)).toEqual({ hasNext: false });
    expect(streamedText(payloads)).toBe(text);
    expect(textOf(final.messages[0])).toBe(text);
    expect(final.status).toMatchObject({ code: 'Success' });
  });

  it('sends a burst as a few parts whose entries carry several items, and the client keeps one item per delta', async () => {
    // 200 deltas of 4 characters, written by the mock in one go: they reach the executor together.
    const text = Array.from({ length: 200 }, (_, index) => `w${String(index).padStart(2, '0')} `.slice(0, 4)).join('');
    llm.mock.onMessage('A burst of deltas', { content: text }, { chunkSize: 4 });
    const recorder = recordFetch();
    const { final } = await streamResponse(client, { data: input('thread-tr-burst', 'u-tr-burst', 'A burst of deltas') }).finally(
      () => recorder.restore(),
    );

    const payloads = multipartPayloads(await withRuntime(recorder.exchanges)[0]!.body);
    const contentEntries = payloads
      .flatMap((payload) => payload.incremental ?? [])
      .filter((entry: any) => entry.items && entry.path.at(-2) === 'content');
    // Consecutive items of the list travel as one entry (path written once), in order, no gap.
    expect(contentEntries.length).toBeLessThan(200);
    expect(contentEntries.some((entry: any) => entry.items.length > 1)).toBe(true);
    let next = 0;
    for (const entry of contentEntries) {
      expect(entry.path.at(-1)).toBe(next);
      next += entry.items.length;
    }
    expect(next).toBe(200);
    // The real client puts each item at its own index: 200 deltas, 200 list items.
    const content = (final.messages[0] as { content?: string[] }).content ?? [];
    expect(content).toHaveLength(200);
    expect(content.every((delta) => delta.length === 4)).toBe(true);
    expect(content.join('')).toBe(text);
  });

  it('answers Accept: text/event-stream alone with server-sent events', async () => {
    const text = 'Server-sent, event by event.';
    llm.mock.onMessage('Stream as SSE', { content: text }, { chunkSize: 5 });

    const response = await post(clientRequestBody(input('thread-tr-2', 'u-tr-2', 'Stream as SSE')), 'text/event-stream');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const frames = sseFrames(await response.text());
    const events = frames.filter((frame): frame is { event: string; data: string } => 'event' in frame);
    expect(events.at(-1)).toEqual({ event: 'complete', data: '' });
    const nexts = events.slice(0, -1);
    expect(nexts.every((frame) => frame.event === 'next')).toBe(true);
    const payloads = nexts.map((frame) => JSON.parse(frame.data));
    expect(payloads[0]).toMatchObject({
      data: { generateCopilotResponse: { threadId: 'thread-tr-2', messages: [] } },
      hasNext: true,
    });
    expect(payloads.at(-1)!.hasNext).toBe(false);
    expect(streamedText(payloads)).toBe(text);
    const statuses = payloads.flatMap((p) => p.incremental ?? []).filter((entry: any) => entry.data?.status);
    expect(statuses.map((entry: any) => entry.data.status.code)).toEqual(['Success', 'Success']);
  });

  it('answers Accept: application/json alone with one complete result', async () => {
    const text = 'All of it, at once.';
    llm.mock.onMessage('Answer in one piece', { content: text }, { chunkSize: 4 });

    const response = await post(clientRequestBody(input('thread-tr-3', 'u-tr-3', 'Answer in one piece')), 'application/json');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(await response.text());
    expect(body.errors).toBeUndefined();
    expect(body.hasNext).toBeUndefined();
    const result = body.data.generateCopilotResponse;
    expect(result).toMatchObject({
      threadId: 'thread-tr-3',
      status: { code: 'Success' },
      messages: [{ __typename: 'TextMessageOutput', role: 'assistant', status: { code: 'Success' } }],
    });
    expect(result.messages[0].content.length).toBeGreaterThan(1);
    expect(result.messages[0].content.join('')).toBe(text);
  });

  it('keeps a silent multipart stream alive with {"hasNext":true} parts; the client still gets the answer', async () => {
    const text = 'Worth the wait.';
    llm.mock.onMessage('Think before answering', { content: text }, { chunkSize: 5 });
    // The model stays silent until the client has received three keep-alive parts.
    const silence = gate.hold('Think before answering');
    const recorder = recordFetch();
    const chat = streamResponse(client, { data: input('thread-tr-4', 'u-tr-4', 'Think before answering') }).finally(() =>
      recorder.restore(),
    );
    await waitFor(() => {
      const soFar = withRuntime(recorder.exchanges)[0]?.receivedSoFar() ?? '';
      return soFar.split('\r\n').filter((line) => line === '{"hasNext":true}').length >= 3;
    });
    silence.release();
    const { final } = await chat;

    const payloads = multipartPayloads(await withRuntime(recorder.exchanges)[0]!.body);
    const firstItem = payloads.findIndex((p) => p.incremental);
    expect(firstItem).toBeGreaterThan(0);
    // While the model was silent: keep-alive parts only, and the three the client waited for.
    const beforeContent = payloads.slice(1, firstItem);
    expect(beforeContent.length).toBeGreaterThanOrEqual(3);
    expect(beforeContent.every((p) => JSON.stringify(p) === '{"hasNext":true}')).toBe(true);

    expect(final.status).toMatchObject({ code: 'Success' });
    expect(final.messages).toHaveLength(1);
    expect(textOf(final.messages[0])).toBe(text);
    expect(final.messages[0]!.status).toMatchObject({ code: 'Success' });
  });

  it('keeps a silent SSE stream alive with comments', async () => {
    const text = 'Still worth the wait.';
    llm.mock.onMessage('Think, then stream SSE', { content: text }, { chunkSize: 5 });
    // The model stays silent until the client has received three keep-alive comments.
    const silence = gate.hold('Think, then stream SSE');

    const response = await post(clientRequestBody(input('thread-tr-5', 'u-tr-5', 'Think, then stream SSE')), 'text/event-stream');
    let received = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body!) received += decoder.decode(chunk, { stream: true });
    })();
    await waitFor(() => (received.match(/^: ?keep-alive$/gm) ?? []).length >= 3);
    silence.release();
    await reading;
    const frames = sseFrames(received);

    const firstItem = frames.findIndex((frame) => 'data' in frame && frame.data.includes('"incremental"'));
    expect(firstItem).toBeGreaterThan(0);
    const keepAlives = frames.slice(0, firstItem).filter((frame) => 'comment' in frame && frame.comment === 'keep-alive');
    expect(keepAlives.length).toBeGreaterThanOrEqual(3);
    const payloads = frames
      .filter((frame): frame is { event: string; data: string } => 'event' in frame && frame.event === 'next')
      .map((frame) => JSON.parse(frame.data));
    expect(streamedText(payloads)).toBe(text);
  });

  it("serves the client's queries, also as GET: CSRF prevention lets them through thanks to the client header", async () => {
    // The published client (urql 5) posts its queries.
    const recorder = recordFetch();
    const agents = await client.availableAgents().toPromise().finally(() => recorder.restore());
    expect(agents.error).toBeUndefined();
    expect(agents.data?.availableAgents.agents).toEqual([]);
    expect(withRuntime(recorder.exchanges).map((e) => [e.method, e.status])).toEqual([['POST', 200]]);

    // urql sends queries as GET when asked to (`preferGetMethod`, urql 4's default): the client's
    // documents with the client's header go through.
    const getClient = new UrqlClient({
      url: rt.url,
      exchanges: [cacheExchange, fetchExchange],
      preferGetMethod: 'within-url-limit',
      fetchOptions: { headers: { 'X-CopilotKit-Runtime-Client-GQL-Version': CLIENT_VERSION } },
    });
    const getRecorder = recordFetch();
    const [agentsByGet, stateByGet] = await Promise.all([
      getClient.query(AvailableAgentsDocument, {}).toPromise(),
      getClient.query(LoadAgentStateDocument, { data: { threadId: 'thread-tr-none', agentName: 'default' } }).toPromise(),
    ]).finally(() => getRecorder.restore());
    expect(withRuntime(getRecorder.exchanges).map((e) => [e.method, e.status])).toEqual([
      ['GET', 200],
      ['GET', 200],
    ]);
    expect(agentsByGet.error).toBeUndefined();
    expect(agentsByGet.data?.availableAgents.agents).toEqual([]);
    expect(stateByGet.error).toBeUndefined();
    expect(stateByGet.data?.loadAgentState).toMatchObject({ threadExists: false, state: '{}', messages: '[]' });

    // The header is what makes the difference: the same GET without it is refused as a possible CSRF.
    const query = `${rt.url}?query=${encodeURIComponent('{ hello }')}`;
    const withHeader = await fetch(query, { headers: { 'x-copilotkit-runtime-client-gql-version': CLIENT_VERSION } });
    expect(withHeader.headers.get('x-copilotkit-runtime-version')).toBe(CLIENT_VERSION);
    expect(await withHeader.json()).toEqual({ data: { hello: 'Hello World' } });
    const withoutHeader = await fetch(query);
    const refused = await withoutHeader.text();
    expect(refused).toMatch(/CSRF/);
    expect(refused).not.toContain('Hello World');
  });
});
