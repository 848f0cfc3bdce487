import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { chatInput, clientRequestBody, clientRequestHeaders, GENERATE_COPILOT_RESPONSE } from '../support/copilot-client.js';
import { COPILOT_EVENTS, gql, onlyError, wsClient } from '../support/durable-api.js';
import { startLlmGate, type LlmGate } from '../support/llm-gate.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { runInput, send, userMessage } from '../v2/support/v2-client.js';

/**
 * The hardened edges against a running server, with the real clients where they apply: CORS
 * deny by default, origin-checked WebSocket upgrades, JSON-only POSTs, GraphQL document limits
 * (HTTP and graphql-ws), graphql-ws caps, and run input limits. Every refusal is a precise,
 * documented error, and nothing is stored or sent to the model.
 */

const EVIL = 'https://evil.example';

async function rowCounts(rt: RuntimeApp): Promise<Record<string, number>> {
  const [row] = await rt.app.get(DataSource).query(
    `SELECT (SELECT count(*)::int FROM threads) AS threads, (SELECT count(*)::int FROM runs) AS runs,
            (SELECT count(*)::int FROM messages) AS messages`,
  );
  return row;
}

const user = (content: string) => [new TextMessage({ id: 'u1', role: Role.User, content })];

describe('hardened edges: defaults (no CORS_ORIGINS)', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let gqlPath: string;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Hi there', { content: 'Hello! I am a mock.' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL });
    gqlPath = rt.url;
  });
  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  describe('CORS, deny by default', () => {
    it('a loopback development origin gets its preflight answered, echoed with credentials', async () => {
      const reply = await fetch(gqlPath, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-copilotkit-runtime-client-gql-version' },
      });
      expect(reply.status).toBe(204);
      expect(reply.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(reply.headers.get('access-control-allow-credentials')).toBe('true');
      expect(reply.headers.get('access-control-allow-headers')).toBe('content-type,x-copilotkit-runtime-client-gql-version');
      expect(reply.headers.get('vary')).toBe('Origin');
    });

    it.each([
      ['another site', EVIL],
      ['the "null" origin', 'null'],
    ])('%s is refused with 403 ORIGIN_NOT_ALLOWED and no CORS headers: preflight, GET query of threads, POST', async (_, origin) => {
      const preflight = await fetch(gqlPath, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.status).toBe(403);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      const query = encodeURIComponent('{ threads { nodes { id title } } }');
      const read = await fetch(`${gqlPath}?query=${query}`, { headers: { origin, 'x-copilotkit-runtime-client-gql-version': '1.74.0' } });
      expect(read.status).toBe(403);
      expect(read.headers.get('access-control-allow-origin')).toBeNull();
      const body = await read.json();
      expect(body).toEqual(expect.objectContaining({ code: 'ORIGIN_NOT_ALLOWED', message: `Origin ${JSON.stringify(origin)} is not allowed: add it to CORS_ORIGINS.` }));
      expect(body.errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
      const before = await rowCounts(rt);
      const run = await fetch(`${gqlPath}/agent/default/run`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify(runInput({ threadId: 'cors-t', runId: 'cors-r', messages: [userMessage('m', 'Hi there')] })),
      });
      expect(run.status).toBe(403);
      expect(await rowCounts(rt)).toEqual(before);
    });

    it('a request without Origin (curl, a server, the real clients in Node) is served as before', async () => {
      const client = new CopilotRuntimeClient({ url: gqlPath });
      const agents = await client.availableAgents().toPromise();
      expect(agents.error).toBeUndefined();
      expect(agents.data?.availableAgents.agents).toEqual([]);
    });
  });

  describe('WebSocket upgrades check Origin against the same policy', () => {
    const upgrade = (origin?: string) =>
      new Promise<{ status: number } | { open: true }>((resolve) => {
        const socket = new WebSocket(rt.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
        socket.once('open', () => (socket.close(), resolve({ open: true })));
        socket.once('unexpected-response', (_req, res) => (res.resume(), resolve({ status: res.statusCode ?? 0 })));
        socket.once('error', () => undefined);
      });

    it('refuses another site with HTTP 403 before any socket exists; loopback and no Origin connect', async () => {
      expect(await upgrade(EVIL)).toEqual({ status: 403 });
      expect(await upgrade('null')).toEqual({ status: 403 });
      expect(await upgrade('http://127.0.0.1:5173')).toEqual({ open: true });
      expect(await upgrade()).toEqual({ open: true });
    });
  });

  describe('a POST that is not declared JSON never reaches a run (CSRF "simple request")', () => {
    it('v2 run, connect and stop: 415 UNSUPPORTED_MEDIA_TYPE, nothing stored, no model call', async () => {
      const before = await rowCounts(rt);
      const calls = llm.chatRequests().length;
      const body = JSON.stringify(runInput({ threadId: 'csrf-t', runId: 'csrf-r', messages: [userMessage('m', 'Hi there')] }));
      for (const [path, type] of [
        ['/agent/default/run', 'text/plain'],
        ['/agent/default/run', 'application/x-www-form-urlencoded'],
        ['/agent/default/connect', 'text/plain;charset=UTF-8'],
        ['/agent/default/stop/csrf-t', 'multipart/form-data; boundary=x'],
      ] as const) {
        const reply = await send(`${gqlPath}${path}`, { body, headers: { 'content-type': type } });
        expect(reply.status).toBe(415);
        expect(JSON.parse(reply.text)).toEqual({
          error: 'Unsupported media type',
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'POST bodies must be sent with "Content-Type: application/json"; other content types are refused (a browser sends them cross-site without a CORS preflight).',
        });
      }
      expect(await rowCounts(rt)).toEqual(before);
      expect(llm.chatRequests().length).toBe(calls);
    });

    it('v1 GraphQL POST as text/plain: 415 UNSUPPORTED_MEDIA_TYPE, no run', async () => {
      const before = await rowCounts(rt);
      const reply = await fetch(gqlPath, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: clientRequestBody(chatInput({ threadId: 'csrf-v1', messages: [] }) as never),
      });
      expect(reply.status).toBe(415);
      expect((await reply.json()).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(await rowCounts(rt)).toEqual(before);
    });

    it('GraphQL over GET never runs a mutation, and needs a header a browser cannot send without a preflight', async () => {
      const mutation = encodeURIComponent('mutation { deleteThread(id: "x") }');
      const withHeader = await fetch(`${gqlPath}?query=${mutation}`, { headers: { 'x-copilotkit-runtime-client-gql-version': '1.74.0' } });
      expect(withHeader.status).toBe(405);
      const bare = await fetch(`${gqlPath}?query=${encodeURIComponent('{ threads { nodes { id } } }')}`);
      expect(bare.status).toBe(400); // Apollo's CSRF prevention: no custom header, no preflight, no answer
    });
  });

  describe('GraphQL document limits', () => {
    it('the issue\'s CPU attack, a 1 MB "{ hello hello ... }", is refused naming GRAPHQL_MAX_TOKENS; a concurrent { hello } is answered', async () => {
      const attack = JSON.stringify({ query: `{ ${'hello '.repeat(170_000)}}` });
      const post = () => fetch(gqlPath, { method: 'POST', headers: { 'content-type': 'application/json' }, body: attack }).then((r) => r.json());
      const started = performance.now();
      const attacks = Array.from({ length: 20 }, post);
      const hello = await gql(gqlPath, '{ hello }');
      const helloMs = performance.now() - started;
      const answers = await Promise.all(attacks);
      for (const answer of answers) {
        expect(answer.errors).toEqual([
          expect.objectContaining({ message: 'The document has more than 2000 tokens (GRAPHQL_MAX_TOKENS).', extensions: expect.objectContaining({ code: 'GRAPHQL_LIMIT_EXCEEDED' }) }),
        ]);
      }
      expect(hello.body.data).toEqual({ hello: 'Hello World' });
      console.log(`[edges] { hello } during twenty 1 MB token attacks: ${helloMs.toFixed(0)} ms; all twenty refused after ${(performance.now() - started).toFixed(0)} ms`);
    });

    it('50 aliased generateCopilotResponse mutations: refused before any run or model call', async () => {
      const before = await rowCounts(rt);
      const calls = llm.chatRequests().length;
      const aliases = Array.from({ length: 50 }, (_, i) => `r${i}: generateCopilotResponse(data: $data) { threadId }`).join('\n');
      const reply = await gql(gqlPath, `mutation many($data: GenerateCopilotResponseInput!) { ${aliases} }`, {
        data: chatInput({ threadId: 'fan-out', messages: [] }),
      });
      const messages = reply.body.errors!.map((error) => error.message);
      expect(messages).toContain('Aliases limit of 15 exceeded, found 50. (GRAPHQL_MAX_ALIASES)');
      expect(messages).toContain('An operation may start at most one run; this one asks for 50 (generateCopilotResponse / copilotEvents).');
      expect(reply.body.errors!.every((error) => error.extensions.code === 'GRAPHQL_LIMIT_EXCEEDED')).toBe(true);
      const two = await gql(gqlPath, 'mutation two($data: GenerateCopilotResponseInput!) { a: generateCopilotResponse(data: $data) { threadId } b: generateCopilotResponse(data: $data) { threadId } }', {
        data: chatInput({ threadId: 'fan-out', messages: [] }),
      });
      expect(onlyError(two)).toEqual(expect.objectContaining({ code: 'GRAPHQL_LIMIT_EXCEEDED', message: 'An operation may start at most one run; this one asks for 2 (generateCopilotResponse / copilotEvents).' }));
      expect(await rowCounts(rt)).toEqual(before);
      expect(llm.chatRequests().length).toBe(calls);
    });

    it('depth and batches are refused naming their limits; "Did you mean" is never on the wire', async () => {
      const deep = await gql(gqlPath, `{ ${'thread(id: "x") { forkedFrom { '.repeat(1)}${'a { '.repeat(20)}b${' }'.repeat(22)} }`);
      expect(deep.body.errors!.map((error) => error.message)).toContain('Query depth limit of 20 exceeded, found 23. (GRAPHQL_MAX_DEPTH)');
      const batch = await fetch(gqlPath, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"query":"{ hello }"},{"query":"{ hello }"}]' });
      expect(onlyError({ status: batch.status, contentType: null, body: await batch.json() })).toEqual(
        expect.objectContaining({ code: 'GRAPHQL_LIMIT_EXCEEDED', message: 'Batched requests are disabled: send one operation per request (GRAPHQL_MAX_BATCH_SIZE).' }),
      );
      const typo = await gql(gqlPath, '{ helo }');
      expect(onlyError(typo).message).toBe('Cannot query field "helo" on type "Query".');
      const typoWs = wsClient(rt.wsUrl);
      try {
        const result = await new Promise<unknown>((resolve) => typoWs.subscribe({ query: '{ helo }' }, { next: () => undefined, error: resolve, complete: () => resolve(null) }));
        expect(JSON.stringify(result)).not.toContain('Did you mean');
        expect(result).toEqual([expect.objectContaining({ message: 'Cannot query field "helo" on type "Query".', extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
      } finally {
        await typoWs.dispose();
      }
    });

    it('the same limits over graphql-ws: tokens, aliases, one run per operation', async () => {
      const ws = wsClient(rt.wsUrl);
      const errorsOf = (query: string, variables?: Record<string, unknown>) =>
        new Promise<any>((resolve) => ws.subscribe({ query, variables }, { next: (value) => resolve(value.errors), error: resolve, complete: () => resolve(null) }));
      try {
        expect(await errorsOf(`{ ${'hello '.repeat(5000)}}`)).toEqual([
          expect.objectContaining({ message: 'The document has more than 2000 tokens (GRAPHQL_MAX_TOKENS).', extensions: expect.objectContaining({ code: 'GRAPHQL_LIMIT_EXCEEDED' }) }),
        ]);
        expect(await errorsOf(`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: hello`).join(' ')} }`)).toEqual([
          expect.objectContaining({ message: 'Aliases limit of 15 exceeded, found 16. (GRAPHQL_MAX_ALIASES)' }),
        ]);
        const twoRuns = `subscription s($data: GenerateCopilotResponseInput!) { a: copilotEvents(data: $data) { type } b: copilotEvents(data: $data) { type } }`;
        const errors = await errorsOf(twoRuns, { data: chatInput({ threadId: 'ws-fan-out', messages: [] }) });
        expect(errors.map((e: any) => e.extensions.code)).toContain('GRAPHQL_LIMIT_EXCEEDED');
        expect(await errorsOf('{ hello')).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }) })]);
      } finally {
        await ws.dispose();
      }
    });
  });

  describe('run input limits', () => {
    it('v2: a state nested 5,000 levels is 400 INPUT_LIMIT_EXCEEDED, not 500; nothing stored', async () => {
      const before = await rowCounts(rt);
      const state = `${'{"a":'.repeat(5000)}{}${'}'.repeat(5000)}`;
      const body = `{"threadId":"deep-t","runId":"deep-r","messages":[],"tools":[],"context":[],"forwardedProps":{},"state":${state}}`;
      const reply = await send(`${gqlPath}/agent/default/run`, { body, headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text)).toEqual({
        error: 'Invalid request',
        code: 'INPUT_LIMIT_EXCEEDED',
        message: "The run's state is nested deeper than 64 levels (RUN_MAX_DEPTH).",
        errorId: expect.stringMatching(/^err-/),
      });
      expect(await rowCounts(rt)).toEqual(before);
    });

    it('v1: too deeply nested properties is a GraphQL error INPUT_LIMIT_EXCEEDED (HTTP 200), nothing stored', async () => {
      const before = await rowCounts(rt);
      const properties = JSON.parse(`${'{"a":'.repeat(100)}{}${'}'.repeat(100)}`);
      const reply = await fetch(gqlPath, {
        method: 'POST',
        headers: clientRequestHeaders('application/json'),
        body: JSON.stringify({ query: GENERATE_COPILOT_RESPONSE, variables: { data: chatInput({ threadId: 'deep-v1', messages: user('Hi there') }), properties } }),
      });
      expect(reply.status).toBe(200);
      const body = await reply.json();
      expect(body.errors).toEqual([
        expect.objectContaining({ message: "The run's properties is nested deeper than 64 levels (RUN_MAX_DEPTH).", extensions: expect.objectContaining({ code: 'INPUT_LIMIT_EXCEEDED' }) }),
      ]);
      expect(await rowCounts(rt)).toEqual(before);
    });
  });
});

describe('hardened edges: configured origins and tight limits', () => {
  let llm: AimockServer;
  let gate: LlmGate;
  let rt: RuntimeApp;
  let wildcard: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage(/hold/, { content: 'Released.' });
    gate = await startLlmGate(llm.url);
    [rt, wildcard] = await Promise.all([
      startRuntimeApp({
        llmBaseUrl: gate.baseURL,
        options: {
          edges: {
            corsOrigins: ['https://app.example.com', 'https://*.example.org'],
            graphql: { introspection: false },
            webSocket: { maxMessageBytes: 4096, maxSubscriptionsPerSocket: 2, maxSocketsPerIdentity: 3, connectionInitTimeoutMs: 500 },
            runPayload: { maxMessages: 3, maxTools: 2 },
          },
        },
      }),
      startRuntimeApp({ options: { edges: { corsOrigins: ['*'] } } }),
    ]);
  });
  afterAll(async () => {
    await rt?.close();
    await wildcard?.close();
    await gate?.stop();
    await llm?.stop();
  });

  it('exact origins and patterns are allowed with credentials; localhost is no longer allowed once origins are configured', async () => {
    for (const origin of ['https://app.example.com', 'https://eu.example.org']) {
      const reply = await fetch(rt.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(reply.status).toBe(204);
      expect(reply.headers.get('access-control-allow-origin')).toBe(origin);
      expect(reply.headers.get('access-control-allow-credentials')).toBe('true');
    }
    for (const origin of ['http://localhost:3000', 'https://example.org', 'https://app.example.com.evil.example', 'null']) {
      expect((await fetch(rt.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } })).status).toBe(403);
    }
  });

  it('a wildcard is answered with "*" and never with credentials', async () => {
    const reply = await fetch(wildcard.url, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    expect(reply.status).toBe(204);
    expect(reply.headers.get('access-control-allow-origin')).toBe('*');
    expect(reply.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await fetch(wildcard.url, { method: 'OPTIONS', headers: { origin: 'null', 'access-control-request-method': 'POST' } })).status).toBe(403);
  });

  it('introspection off: refused over HTTP and graphql-ws', async () => {
    const http = await gql(rt.url, '{ __schema { queryType { name } } }');
    expect(http.body.errors?.[0]?.message).toMatch(/introspection/i);
    const ws = wsClient(rt.wsUrl);
    try {
      const errors = await new Promise<any>((resolve) => ws.subscribe({ query: '{ __schema { queryType { name } } }' }, { next: (v) => resolve(v.errors), error: resolve, complete: () => resolve(null) }));
      expect(errors[0].message).toMatch(/introspection has been disabled/);
    } finally {
      await ws.dispose();
    }
  });

  it('graphql-ws: a message over WS_MAX_MESSAGE_BYTES closes the socket with 1009; the server keeps serving', async () => {
    const closed = await new Promise<number>((resolve) => {
      const socket = new WebSocket(rt.wsUrl, 'graphql-transport-ws');
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(8192) } })));
      socket.once('close', (code) => resolve(code));
      socket.once('error', () => undefined);
    });
    expect(closed).toBe(1009);
    expect((await gql(rt.url, '{ hello }')).body.data).toEqual({ hello: 'Hello World' });
  });

  it('graphql-ws: no connection_init in time closes with 4408', async () => {
    const closed = await new Promise<number>((resolve) => {
      const socket = new WebSocket(rt.wsUrl, 'graphql-transport-ws');
      socket.once('close', (code) => resolve(code));
    });
    expect(closed).toBe(4408);
  });

  it('graphql-ws: one operation over WS_MAX_SUBSCRIPTIONS_PER_SOCKET gets CONNECTION_LIMIT_EXCEEDED; the others go on', async () => {
    const held = gate.hold('hold-ws');
    const ws = wsClient(rt.wsUrl);
    const nexts: string[] = [];
    const results: Array<Promise<unknown>> = [];
    const start = (threadId: string) =>
      new Promise<unknown>((resolve) =>
        ws.subscribe(
          { query: COPILOT_EVENTS, variables: { data: chatInput({ threadId, messages: user('hold-ws') }) } },
          { next: (value) => void nexts.push(threadId), error: resolve, complete: () => resolve('complete') },
        ),
      );
    try {
      results.push(start('ws-cap-1'), start('ws-cap-2'));
      await waitFor(() => nexts.filter((t) => t === 'ws-cap-1').length > 0 && nexts.filter((t) => t === 'ws-cap-2').length > 0);
      const refused = (await start('ws-cap-3')) as any[];
      expect(refused).toEqual([
        expect.objectContaining({
          message: 'This WebSocket already runs 2 operations: complete one first (WS_MAX_SUBSCRIPTIONS_PER_SOCKET).',
          extensions: expect.objectContaining({ code: 'CONNECTION_LIMIT_EXCEEDED' }),
        }),
      ]);
      held.release();
      expect(await Promise.all(results)).toEqual(['complete', 'complete']);
    } finally {
      held.release();
      await ws.dispose();
    }
  });

  it('graphql-ws: one socket over WS_MAX_SOCKETS_PER_IDENTITY is closed with 4429; a closed one frees its place', async () => {
    const sockets: WsClient[] = [];
    const open = () => {
      const client = createClient({ url: rt.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
      sockets.push(client);
      return new Promise<{ connected: true } | { closed: number; reason: string }>((resolve) => {
        client.on('connected', () => resolve({ connected: true }));
        client.on('closed', (event) => resolve({ closed: (event as CloseEvent).code, reason: (event as CloseEvent).reason }));
      });
    };
    try {
      expect(await Promise.all([open(), open(), open()])).toEqual([{ connected: true }, { connected: true }, { connected: true }]);
      expect(await open()).toEqual({ closed: 4429, reason: 'Too many WebSockets for this identity (max 3)' });
      await sockets[0]!.dispose();
      await waitFor(async () => (await open()).hasOwnProperty('connected'));
    } finally {
      await Promise.all(sockets.map((socket) => socket.dispose()));
    }
  });

  it('run input: more messages or tools than allowed are refused naming the limit (v1 and v2), nothing stored', async () => {
    const before = await rowCounts(rt);
    const messages = [1, 2, 3, 4].map((i) => ({ id: `m${i}`, createdAt: '2026-01-01T00:00:00.000Z', textMessage: { role: 'user', content: `hold ${i}` } }));
    const v1 = await gql(rt.url, GENERATE_COPILOT_RESPONSE, { data: { ...chatInput({ threadId: 'many-v1', messages: [] }), messages } }, { 'x-copilotkit-runtime-client-gql-version': '1.74.0' });
    expect(onlyError(v1)).toEqual(expect.objectContaining({ code: 'INPUT_LIMIT_EXCEEDED', message: 'A run may carry at most 3 messages; this one has 4 (RUN_MAX_MESSAGES).' }));
    const tools = [1, 2, 3].map((i) => ({ name: `t${i}`, description: 'x', parameters: { type: 'object', properties: {} } }));
    const v2 = await send(`${rt.url}/agent/default/run`, {
      body: JSON.stringify(runInput({ threadId: 'many-v2', runId: 'many-v2-r', messages: [userMessage('u', 'hi')], tools })),
      headers: { 'content-type': 'application/json' },
    });
    expect(v2.status).toBe(400);
    expect(JSON.parse(v2.text)).toEqual(expect.objectContaining({ code: 'INPUT_LIMIT_EXCEEDED', message: 'A run may offer at most 2 tools; this one has 3 (RUN_MAX_TOOLS).' }));
    expect(await rowCounts(rt)).toEqual(before);
  });
});
