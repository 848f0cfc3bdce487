import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { summarize, type IncrementalSummary } from '../contract/incremental-summary.js';
import { boundaryOf, parseMultipart } from '../contract/multipart.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { contractFixture } from '../support/contract-fixtures.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule, WeatherActions } from '../support/test-actions.module.js';

/**
 * Malformed and hostile requests: each gets a precise error (HTTP status, `extensions.code`,
 * a message naming the problem, an `errorId` to quote) with no stack trace or server path in the
 * body, and the process keeps serving afterwards (a `hello` query after every test).
 */
const WIRE_DIR = contractFixture('v1/wire/');
const capture = (name: string) => JSON.parse(readFileSync(new URL(`${name}.wire.json`, WIRE_DIR), 'utf8'))[0];

/** The document and headers the real v1 client (runtime-client-gql 1.74) sends. */
const CLIENT_REQUEST = capture('text_chat').request;
const GENERATE_DOCUMENT: string = CLIENT_REQUEST.body.query;
const CLIENT_HEADERS: Record<string, string> = CLIENT_REQUEST.headers;
const JSON_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json',
  'x-copilotkit-runtime-client-gql-version': '1.74.0',
};

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

function chatData(overrides: Record<string, unknown> = {}, content = 'Hi there') {
  return {
    metadata: { requestType: 'Chat' },
    threadId: 'thread-bad-input',
    messages: [{ id: 'u1', createdAt: '2026-01-01T00:00:00.000Z', textMessage: { role: 'user', content } }],
    frontend: { actions: [], url: 'http://localhost:3000' },
    ...overrides,
  };
}

async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  const response = await fetch(url, { method: init.method ?? 'POST', headers: init.headers ?? JSON_HEADERS, body: init.body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const postRaw = (url: string, body: string, headers: Record<string, string> = JSON_HEADERS) => send(url, { body, headers });

const generate = (url: string, data: unknown, headers: Record<string, string> = JSON_HEADERS) =>
  postRaw(url, JSON.stringify({ operationName: 'generateCopilotResponse', query: GENERATE_DOCUMENT, variables: { data, properties: {} } }), headers);

/** Nothing in a body may reveal the server's internals. */
function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/node_modules/);
  expect(text).not.toMatch(/"stack"|\\n\s+at |\bat \S+ \(/);
  expect(text).not.toMatch(/\(?\/(?:[\w.@-]+\/){2,}[\w.@-]+\.(?:ts|js|mjs|cjs)\b/);
  expect(text).not.toContain(process.cwd());
}

/** One GraphQL error with this code and message, an errorId, and nothing leaked. */
function expectError(reply: Reply, expected: { status: number; code: string; message: string | RegExp }) {
  expect(reply.status).toBe(expected.status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
  expectNoLeak(reply.text);
  const body = JSON.parse(reply.text);
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors;
  expect(error.extensions.code).toBe(expected.code);
  if (typeof expected.message === 'string') expect(error.message).toBe(expected.message);
  else expect(error.message).toMatch(expected.message);
  expect(error.extensions.errorId).toMatch(/^err-[\w-]+$/);
  expect(Object.keys(error.extensions).sort()).toEqual(['code', 'errorId', 'severity', 'statusCode', 'visibility']);
  return { body, error };
}

async function expectServing(url: string): Promise<void> {
  const reply = await postRaw(url, JSON.stringify({ query: '{ hello }' }));
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.text)).toEqual({ data: { hello: 'Hello World' } });
}

/** A streamed (multipart) answer, parsed and summarized (see test/contract/incremental-summary.ts). */
function streamed(reply: Reply): IncrementalSummary & { parts: any[] } {
  expect(reply.status).toBe(200);
  const contentType = reply.headers.get('content-type');
  expect(contentType).toMatch(/^multipart\/mixed/);
  expectNoLeak(reply.text);
  const parts = parseMultipart(reply.text, boundaryOf(contentType)!);
  const summary = summarize(parts);
  expect(summary.problems).toEqual([]);
  expect(summary.final).toEqual({ hasNext: false });
  return { ...summary, parts: parts.map((part) => part.body) };
}

describe('bad input', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Hi there', { content: 'Hello! I am a mock.' }, { chunkSize: 5 });
    llm.mock.onMessage('BROKEN_ARGS', { toolCalls: [{ id: 'call_broken', name: 'getWeather', arguments: '{"city": ' }] });
    llm.mock.onMessage('WRONG_ARGS', { toolCalls: [{ id: 'call_wrong', name: 'getWeather', arguments: '{"town":"x"}' }] });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, imports: [TestActionsModule] });
  });

  afterEach(async () => {
    await expectServing(rt.url);
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  describe('HTTP body', () => {
    it('malformed JSON: 200 BAD_REQUEST saying the body is not valid JSON', async () => {
      const reply = await postRaw(rt.url, '{"query": "{ hello }"');
      expectError(reply, { status: 200, code: 'BAD_REQUEST', message: /^The request body is not valid JSON: .+/ });
    });

    it('a body that is an array (a batch): 200 GRAPHQL_LIMIT_EXCEEDED, batches are off by default', async () => {
      const reply = await postRaw(rt.url, '[{"query":"{ hello }"}]');
      expectError(reply, {
        status: 200,
        code: 'GRAPHQL_LIMIT_EXCEEDED',
        message: 'Batched requests are disabled: send one operation per request (GRAPHQL_MAX_BATCH_SIZE).',
      });
    });

    it.each([
      ['a string', '"{ hello }"'],
      ['null', 'null'],
      ['a number', '42'],
    ])('a body that is %s: 200 BAD_REQUEST', async (_, body) => {
      const reply = await postRaw(rt.url, body);
      expectError(reply, { status: 200, code: 'BAD_REQUEST', message: 'The request body must be a JSON object with a "query" string.' });
    });

    it.each([
      ['missing', '{"variables":{}}'],
      ['empty', '{"query":"   "}'],
      ['not a string', '{"query":{"kind":"Document"}}'],
    ])('query %s: 200 BAD_REQUEST', async (_, body) => {
      const reply = await postRaw(rt.url, body);
      expectError(reply, { status: 200, code: 'BAD_REQUEST', message: 'The request body must have a non-empty "query" string.' });
    });

    it.each([
      ['an array', '[1]'],
      ['JSON text', '"{}"'],
      ['a number', '1'],
    ])('variables that are %s: 200 BAD_REQUEST', async (_, variables) => {
      const reply = await postRaw(rt.url, `{"query":"{ hello }","variables":${variables}}`);
      expectError(reply, { status: 200, code: 'BAD_REQUEST', message: '"variables" must be a JSON object.' });
    });

    it('operationName that is not a string: 200 BAD_REQUEST', async () => {
      const reply = await postRaw(rt.url, '{"query":"{ hello }","operationName":7}');
      expectError(reply, { status: 200, code: 'BAD_REQUEST', message: '"operationName" must be a string.' });
    });
  });

  describe('GraphQL document and variables', () => {
    it('syntax error: 200 GRAPHQL_PARSE_FAILED', async () => {
      const reply = await postRaw(rt.url, JSON.stringify({ query: '{ hello ' }));
      expectError(reply, { status: 200, code: 'GRAPHQL_PARSE_FAILED', message: 'Syntax Error: Expected Name, found <EOF>.' });
    });

    it('unknown field: 200 GRAPHQL_VALIDATION_FAILED', async () => {
      const reply = await postRaw(rt.url, JSON.stringify({ query: '{ hello nope }' }));
      expectError(reply, { status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: 'Cannot query field "nope" on type "Query".' });
    });

    it('messages of the wrong type: 200 BAD_USER_INPUT naming data.messages', async () => {
      const reply = await generate(rt.url, chatData({ messages: 'x' }));
      expectError(reply, {
        status: 200,
        code: 'BAD_USER_INPUT',
        message: 'Variable "$data" got invalid value "x" at "data.messages"; Expected type "MessageInput" to be an object.',
      });
    });

    it('temperature of the wrong type: 200 BAD_USER_INPUT naming the field', async () => {
      const reply = await generate(rt.url, chatData({ forwardedParameters: { temperature: 'hot' } }));
      expectError(reply, {
        status: 200,
        code: 'BAD_USER_INPUT',
        message: 'Variable "$data" got invalid value "hot" at "data.forwardedParameters.temperature"; Float cannot represent non numeric value: "hot"',
      });
    });

    it('unknown enum value: 200 BAD_USER_INPUT with upstream\'s message less its "Did you mean" hint (never on the wire)', async () => {
      const reply = await generate(rt.url, chatData({ metadata: { requestType: 'chat' } }));
      const upstream = JSON.parse(readFileSync(new URL('raw_probes.json', WIRE_DIR), 'utf8')).find(
        (probe: { name: string }) => probe.name === 'validation_error_bad_enum',
      );
      const { error } = expectError(reply, { status: 200, code: 'BAD_USER_INPUT', message: /enum\.$/ });
      expect(error.message).toBe(JSON.parse(upstream.body).errors[0].message.replace(/ Did you mean the enum value "Chat"\?$/, ''));
    });

    it('missing required field (frontend): 200 BAD_USER_INPUT with the same message as upstream', async () => {
      // The real client's request with `frontend` left out, as captured against upstream (HTTP 400 there).
      const { request } = capture('client_validation_error');
      const upstreamMessage = JSON.parse(readFileSync(new URL('client_validation_error.raw.txt', WIRE_DIR), 'utf8')).errors[0].message;
      const reply = await postRaw(rt.url, JSON.stringify(request.body), request.headers);
      const { error } = expectError(reply, {
        status: 200,
        code: 'BAD_USER_INPUT',
        message: /Field "frontend" of required type "FrontendInput!" was not provided\.$/,
      });
      expect(error.message).toBe(upstreamMessage);
    });
  });

  describe('input rules (src/graphql/v1/input-conversion.ts)', () => {
    it('empty message list: 200 BAD_USER_INPUT', async () => {
      const reply = await generate(rt.url, chatData({ messages: [] }));
      expectError(reply, { status: 200, code: 'BAD_USER_INPUT', message: 'data.messages must contain at least one message.' });
    });

    it('a message setting two kinds: 200 BAD_USER_INPUT naming data.messages[i]', async () => {
      const messages = [
        ...chatData().messages,
        {
          id: 'm2',
          createdAt: '2026-01-01T00:00:01.000Z',
          textMessage: { role: 'user', content: 'and' },
          resultMessage: { actionExecutionId: 'c1', actionName: 'getWeather', result: '{}' },
        },
      ];
      const reply = await generate(rt.url, chatData({ messages }));
      expectError(reply, {
        status: 200,
        code: 'BAD_USER_INPUT',
        message:
          'data.messages[1] must set exactly one of textMessage, actionExecutionMessage, resultMessage, agentStateMessage, imageMessage; it sets textMessage and resultMessage.',
      });
    });

    it('frontend action whose jsonSchema is not JSON: 200 BAD_USER_INPUT naming the action', async () => {
      const actions = [
        { name: 'fine', description: 'ok', jsonSchema: '{"type":"object","properties":{}}', available: 'enabled' },
        { name: 'showAlert', description: 'broken', jsonSchema: '{"type": "object",', available: 'enabled' },
      ];
      const reply = await generate(rt.url, chatData({ frontend: { actions } }));
      expectError(reply, {
        status: 200,
        code: 'BAD_USER_INPUT',
        message: /^data\.frontend\.actions\[1\]\.jsonSchema \(action "showAlert"\) is not valid JSON: .+/,
      });
    });

    it.each([
      [{ toolChoice: 'function' }, 'forwardedParameters.toolChoice "function" needs forwardedParameters.toolChoiceFunctionName.'],
      [{ toolChoice: 'sometimes' }, 'forwardedParameters.toolChoice must be auto, none, required or function; got "sometimes".'],
      [
        { toolChoice: 'function', toolChoiceFunctionName: 'launchRockets' },
        /^forwardedParameters\.toolChoiceFunctionName "launchRockets" is not one of the tools offered: .*getWeather/,
      ],
    ])('toolChoice %j: BAD_USER_INPUT before anything streams, the model is not called', async (forwardedParameters, message) => {
      const calls = llm.chatRequests().length;
      const reply = await generate(rt.url, chatData({ forwardedParameters }), CLIENT_HEADERS);
      const { body } = expectError(reply, { status: 200, code: 'BAD_USER_INPUT', message });
      expect(body.data).toBeNull();
      expect(llm.chatRequests()).toHaveLength(calls);
    });

    it("agentSession naming an unknown agent: 200 AGENT_NOT_FOUND (as upstream's code and classification)", async () => {
      const calls = llm.chatRequests().length;
      const reply = await generate(rt.url, chatData({ agentSession: { agentName: 'nope' } }), CLIENT_HEADERS);
      const { body, error } = expectError(reply, {
        status: 200,
        code: 'AGENT_NOT_FOUND',
        message: "Agent 'nope' was not found. Available agents: default.",
      });
      expect(body.data).toBeNull();
      expect(error.path).toEqual(['generateCopilotResponse']);
      // What the client uses to classify it, as in contract/v1/wire/unknown_agent_session.raw.txt.
      expect(error.extensions).toMatchObject({ statusCode: 500, visibility: 'banner', severity: 'critical' });
      expect(llm.chatRequests()).toHaveLength(calls);
    });
  });

  describe('server action arguments from the model', () => {
    async function runWithToolCall(trigger: string) {
      const weather = rt.app.get(WeatherActions);
      const before = weather.calls.length;
      const summary = streamed(await generate(rt.url, chatData({}, trigger), CLIENT_HEADERS));
      return { summary, handlerCalls: weather.calls.length - before };
    }

    function resultOf(summary: IncrementalSummary) {
      const result = summary.messages.find((message) => message.item.__typename === 'ResultMessageOutput');
      expect(result).toBeDefined();
      expect(result!.item.actionName).toBe('getWeather');
      expect(summary.responseData).toEqual([
        { status: { code: 'Success', __typename: 'SuccessResponseStatus' }, __typename: 'CopilotResponse' },
      ]);
      return JSON.parse(result!.item.result as string);
    }

    it('invalid JSON: the stream completes with an INVALID_ARGUMENTS result, the handler is not called', async () => {
      const { summary, handlerCalls } = await runWithToolCall('BROKEN_ARGS');
      expect(summary.messages[0].streamed.arguments).toBe('{"city": ');
      expect(resultOf(summary)).toEqual({
        error: { code: 'INVALID_ARGUMENTS', message: expect.stringMatching(/^Arguments for "getWeather" are not valid JSON: .+/) },
        result: '',
      });
      expect(handlerCalls).toBe(0);
    });

    it("arguments violating the action's schema: INVALID_ARGUMENTS naming the problem, the handler is not called", async () => {
      const { summary, handlerCalls } = await runWithToolCall('WRONG_ARGS');
      const result = resultOf(summary);
      expect(result).toEqual({
        error: { code: 'INVALID_ARGUMENTS', message: expect.stringMatching(/^Arguments for "getWeather" do not match its schema: /) },
        result: '',
      });
      expect(result.error.message).toContain("must have required property 'city'");
      expect(result.error.message).toContain('must NOT have additional properties');
      expect(handlerCalls).toBe(0);
    });
  });

  describe('size limit', () => {
    it('the default limit (2mb) rejects a 3mb body with 200 PAYLOAD_TOO_LARGE', async () => {
      const reply = await generate(rt.url, chatData({}, 'x'.repeat(3 * 1024 * 1024)));
      expectError(reply, { status: 200, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than the limit of 2mb.' });
    });

    it('the default limit accepts a 1mb body', async () => {
      const reply = await generate(rt.url, chatData({}, `Hi there ${'x'.repeat(1024 * 1024)}`));
      expect(reply.status).toBe(200);
      const result = JSON.parse(reply.text).data.generateCopilotResponse;
      expect(result.status.code).toBe('Success');
      expect(result.messages[0].content.join('')).toBe('Hello! I am a mock.');
    });

    describe('with bodyLimit 10kb', () => {
      let small: RuntimeApp;
      beforeAll(async () => {
        small = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { bodyLimit: '10kb' } });
      });
      afterAll(async () => {
        await small?.close();
      });

      it('rejects a 50kb body with 200 PAYLOAD_TOO_LARGE naming the limit, and keeps serving', async () => {
        const reply = await generate(small.url, chatData({}, 'x'.repeat(50 * 1024)));
        expectError(reply, { status: 200, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than the limit of 10kb.' });
        await expectServing(small.url);
      });
    });
  });

  describe('no LLM configured', () => {
    let bare: RuntimeApp;
    beforeAll(async () => {
      bare = await startRuntimeApp();
    });
    afterAll(async () => {
      await bare?.close();
    });

    it('the server starts and answers queries', async () => {
      await expectServing(bare.url);
    });

    it('a chat streams a Failed status with CONFIGURATION_ERROR naming OPENAI_API_KEY', async () => {
      const summary = streamed(await generate(bare.url, chatData(), CLIENT_HEADERS));
      expect(summary.messages).toEqual([]);
      expect(summary.responseData).toHaveLength(1);
      const { status } = summary.responseData[0] as { status: Record<string, any> };
      expect(status).toMatchObject({ __typename: 'FailedResponseStatus', code: 'Failed', reason: 'UNKNOWN_ERROR' });
      expect(status.details.description).toContain('OPENAI_API_KEY');
      expect(status.details.originalError).toMatchObject({ code: 'CONFIGURATION_ERROR', statusCode: 400, visibility: 'banner', severity: 'warning' });
      expect(status.details.originalError.errorId).toMatch(/^err-/);
      await expectServing(bare.url);
    });
  });

  describe('content negotiation', () => {
    it.each(['application/json', 'application/graphql-response+json'])(
      'Accept: %s only gets one complete JSON result (upstream: 406)',
      async (accept) => {
        const reply = await generate(rt.url, chatData(), { ...JSON_HEADERS, accept });
        expect(reply.status).toBe(200);
        expect(reply.headers.get('content-type')).toMatch(new RegExp(`^${accept.replace('+', '\\+')}`));
        const response = JSON.parse(reply.text).data.generateCopilotResponse;
        expect(response.status).toEqual({ code: 'Success', __typename: 'SuccessResponseStatus' });
        expect(response.messages).toHaveLength(1);
        expect(response.messages[0]).toMatchObject({ __typename: 'TextMessageOutput', role: 'assistant', status: { code: 'Success' } });
        expect(response.messages[0].content.join('')).toBe('Hello! I am a mock.');
      },
    );

    it('Accept: multipart/mixed only still gets request errors (as JSON, not 406)', async () => {
      const reply = await postRaw(rt.url, JSON.stringify({ query: '{ nope }' }), { ...JSON_HEADERS, accept: 'multipart/mixed' });
      expectError(reply, { status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: 'Cannot query field "nope" on type "Query".' });
    });
  });

  describe('HTTP method', () => {
    it('a mutation over GET: 405 METHOD_NOT_ALLOWED with Allow: POST', async () => {
      const search = new URLSearchParams({
        query: GENERATE_DOCUMENT,
        variables: JSON.stringify({ data: chatData() }),
      });
      const calls = llm.chatRequests().length;
      const reply = await send(`${rt.url}?${search}`, { method: 'GET', headers: JSON_HEADERS });
      expectError(reply, {
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
        message: 'GET requests only support query operations, not mutation operations',
      });
      expect(reply.headers.get('allow')).toBe('POST');
      expect(llm.chatRequests()).toHaveLength(calls);
    });

    it('a query over GET works', async () => {
      const reply = await send(`${rt.url}?query=${encodeURIComponent('{ hello }')}`, { method: 'GET', headers: JSON_HEADERS });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text)).toEqual({ data: { hello: 'Hello World' } });
    });

    it('GET with variables that are not a JSON object: 200 BAD_REQUEST', async () => {
      const reply = await send(`${rt.url}?query=${encodeURIComponent('{ hello }')}&variables=%7B`, { method: 'GET', headers: JSON_HEADERS });
      expectError(reply, { status: 200, code: 'BAD_REQUEST', message: 'The "variables" search parameter must be a JSON object.' });
    });

    it.each(['PUT', 'DELETE', 'PATCH'])('%s: 405 METHOD_NOT_ALLOWED with Allow: GET, POST', async (method) => {
      const reply = await send(rt.url, { method, body: method === 'DELETE' ? undefined : '{"query":"{ hello }"}' });
      expectError(reply, {
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
        message: `HTTP method ${method} is not allowed here: send GraphQL requests with POST (or queries with GET).`,
      });
      expect(reply.headers.get('allow')).toBe('GET, POST');
    });
  });

  it('still serves after everything above', async () => {
    await expectServing(rt.url);
    const reply = await generate(rt.url, chatData());
    expect(JSON.parse(reply.text).data.generateCopilotResponse.status.code).toBe('Success');
  });
});
