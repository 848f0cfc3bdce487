import { HttpAgent } from '@ag-ui/client';
import type { BaseEvent, Message } from '@ag-ui/core';
import {
  ActionExecutionMessage,
  CopilotRuntimeClient,
  ResultMessage,
  Role,
  TextMessage,
  type Message as ClientMessage,
} from '@copilotkit/runtime-client-gql';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'graphql-ws';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { CopilotCloudGuardrails } from '../../src/guardrails/copilot-cloud-guardrails.js';
import { RequestRejectedError, type MiddlewareOutcome } from '../../src/index.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { summarize } from '../contract/incremental-summary.js';
import { boundaryOf, parseMultipart } from '../contract/multipart.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { contractFixture } from '../support/contract-fixtures.js';
import { chatInput, clientRequestBody, clientRequestHeaders, eventually, messagesOf, streamResponse, textOf } from '../support/copilot-client.js';
import { startGuardrailsServer, type GuardrailsServer } from '../support/guardrails-server.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { capturedAgentScript, ScriptedAgent } from '../support/scripted-agent.js';
import { connectedCore, postJson, pretendBrowser, runInput, userMessage } from '../v2/support/v2-client.js';

const WIRE_DIR = contractFixture('v1/wire/');
const capture = (name: string) => JSON.parse(readFileSync(new URL(`${name}.wire.json`, WIRE_DIR), 'utf8'))[0];
const rawCapture = (name: string): string => readFileSync(new URL(`${name}.raw.txt`, WIRE_DIR), 'utf8');

const KEY = 'ck_pub_test';
const CLOUD = { guardrails: { inputValidationRules: { allowList: ['weather'], denyList: ['forbidden'] } } };
const GUARDRAILS_TIMEOUT_MS = 400;
const outcomes: MiddlewareOutcome[] = [];

describe('guardrails, Copilot Cloud compatible: checked before the model or agent is called', () => {
  let llm: AimockServer;
  let guard: GuardrailsServer;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    llm = await startAimock();
    // guardrails_allowed was captured with this answer.
    llm.mock.onMessage('weather please', { content: 'Hello! I am a mock.' }, { chunkSize: 7 });
    llm.mock.onToolResult('call_w1', { content: 'It is sunny in Paris.' });
    llm.mock.onMessage(/.*/, { content: 'The model answered anyway.' });
    guard = await startGuardrailsServer();
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: {
        guardrails: { strategy: 'cloud', cloudBaseUrl: guard.url, timeoutMs: GUARDRAILS_TIMEOUT_MS },
        actions: [{ name: 'getWeather', description: 'Weather in a city', handler: () => ({ sky: 'sunny' }) }],
        agents: [{ id: 'scripted', agent: new ScriptedAgent(capturedAgentScript) }],
        middlewares: [
          {
            name: 'gate',
            // Middleware runs before guardrails: a refused request never costs a guardrails check.
            beforeRequest: (request) => {
              if (request.properties.blocked) throw new RequestRejectedError(403, 'Blocked before guardrails.');
            },
            afterRequest: (outcome) => void outcomes.push(outcome),
          },
        ],
      },
    });
    client = new CopilotRuntimeClient({ url: rt.url, headers: { 'x-copilotcloud-public-api-key': KEY } });
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await rt?.close();
    await guard?.stop();
    await llm?.stop();
  });

  const user = (id: string, content: string) => new TextMessage({ id, role: Role.User, content });
  const guarded = (threadId: string, messages: ClientMessage[], extra: Record<string, unknown> = {}) => ({
    ...chatInput({ threadId, messages }),
    cloud: CLOUD,
    ...extra,
  });
  const rawV1 = async (data: unknown, headers: Record<string, string> = { 'x-copilotcloud-public-api-key': KEY }) => {
    const response = await fetch(rt.url, {
      method: 'POST',
      headers: { ...clientRequestHeaders('application/json'), ...headers },
      body: clientRequestBody(data as any),
    });
    return { status: response.status, body: (await response.json()) as { errors?: Array<{ message: string; extensions: any }>; data?: any } };
  };

  async function replay(name: string) {
    const { request } = capture(name);
    const response = await fetch(rt.url, { method: 'POST', headers: request.headers, body: JSON.stringify(request.body) });
    return { request, response, raw: await response.text() };
  }

  it('guardrails_denied: the wire matches upstream\'s capture, the model is never called, the denial is stored', async () => {
    const modelCalls = llm.chatRequests().length;
    const checks = guard.received.length;
    const { request, response, raw } = await replay('guardrails_denied');

    expect(response.status).toBe(200);
    const boundary = boundaryOf(response.headers.get('content-type') ?? '')!;
    const ours = summarize(parseMultipart(raw, boundary));
    const theirs = summarize(parseMultipart(rawCapture('guardrails_denied'), boundary));
    expect(ours.problems).toEqual([]);
    expect({ ...ours, runId: null }).toEqual(theirs);
    // Byte for byte where our wire has it: the response status and the message's failed status.
    const upstreamParts = rawCapture('guardrails_denied').split('\r\n').filter((line) => line.startsWith('{"incremental":[{"data"'));
    expect(upstreamParts).toHaveLength(2);
    for (const part of upstreamParts) {
      const entry = JSON.stringify(JSON.parse(part).incremental[0]);
      expect(raw).toContain(entry);
    }

    // One guardrails call, upstream's body and key header; no model call at all.
    expect(guard.received.slice(checks)).toEqual([
      {
        path: '/guardrails/validate',
        headers: expect.objectContaining({ 'x-copilotcloud-public-api-key': KEY, 'content-type': 'application/json' }),
        body: {
          input: 'tell me about forbidden things',
          validTopics: ['weather'],
          invalidTopics: ['forbidden'],
          messages: [
            { role: 'user', content: 'earlier' },
            { role: 'assistant', content: 'ok' },
          ],
        },
      },
    ]);
    expect(llm.chatRequests()).toHaveLength(modelCalls);

    // Stored: the run (failed with the denial) and the messages, the denial as the assistant's answer.
    const store = rt.app.get(ConversationStore);
    const runId = ours.runId as string;
    const run = await eventually(async () => {
      await rt.persisted();
      const found = await store.findRun(runId);
      expect(found?.status).toBe('failed');
      return found!;
    });
    expect(run.error).toEqual({
      code: 'GUARDRAILS_VALIDATION_FAILED',
      message: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed",
    });
    const messages = await store.listMessages(request.body.variables.data.threadId);
    expect(messages.slice(-2)).toEqual([
      expect.objectContaining({ role: 'user', content: 'tell me about forbidden things' }),
      expect.objectContaining({ role: 'assistant', content: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed" }),
    ]);
  });

  it('guardrails_allowed: one guardrails round trip, then the model answers as in upstream\'s capture', async () => {
    const checks = guard.received.length;
    const { response, raw } = await replay('guardrails_allowed');
    const boundary = boundaryOf(response.headers.get('content-type') ?? '')!;
    const ours = summarize(parseMultipart(raw, boundary));
    const theirs = summarize(parseMultipart(rawCapture('guardrails_allowed'), boundary));
    expect({ ...ours, runId: null }).toEqual(theirs);
    expect(guard.received.slice(checks).map((entry) => entry.body)).toEqual([
      { input: 'weather please', validTopics: ['weather'], invalidTopics: ['forbidden'], messages: [] },
    ]);
  });

  it('the real v1 client reads the denial: GUARDRAILS_VALIDATION_FAILED with guardrailsReason, the message failed with upstream\'s reason', async () => {
    const { final } = await streamResponse(client, { data: guarded('gr-client', [user('u1', 'forbidden stuff please')]) as any });
    expect(final.status).toEqual({
      __typename: 'FailedResponseStatus',
      code: 'Failed',
      reason: 'GUARDRAILS_VALIDATION_FAILED',
      details: { guardrailsReason: "Topic 'forbidden' is not allowed" },
    });
    const [message] = messagesOf(final);
    expect(message).toMatchObject({
      __typename: 'TextMessageOutput',
      role: 'assistant',
      content: [],
      status: { code: 'Failed', reason: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed" },
    });
    // Middleware after hooks hear the denial like any ending.
    const outcome = await eventually(() => { const found = outcomes.find((entry) => entry.runId === final.runId); if (!found) throw new Error('not heard yet'); return found; });
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'GUARDRAILS_VALIDATION_FAILED' }, usage: null });
    expect(outcome.outputMessages).toEqual([
      expect.objectContaining({ role: 'assistant', content: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed" }),
    ]);
  });

  it('middleware runs first: a request it refuses is never sent to the guardrails service', async () => {
    const checks = guard.received.length;
    const { error } = await streamResponse(client, { data: guarded('gr-mw-first', [user('u1', 'weather please')]) as any, properties: { blocked: true } });
    expect(String(error)).toContain('Blocked before guardrails.');
    expect(guard.received).toHaveLength(checks);
  });

  it('an agent session is checked the same way: a denied one never runs the agent', async () => {
    const { final } = await streamResponse(client, {
      data: guarded('gr-agent', [user('u1', 'forbidden plans')], { agentSession: { agentName: 'scripted' } }) as any,
    });
    expect(final.status).toMatchObject({ reason: 'GUARDRAILS_VALIDATION_FAILED' });
    expect(messagesOf(final).map((m) => m.__typename)).toEqual(['TextMessageOutput']);
    const allowed = await streamResponse(client, {
      data: guarded('gr-agent-ok', [user('u1', 'weather in the agent')], { agentSession: { agentName: 'scripted' } }) as any,
    });
    expect(allowed.final.status).toMatchObject({ code: 'Success' });
    expect(messagesOf(allowed.final).some((m) => textOf(m) === 'AG-UI says hi')).toBe(true);
  });

  it('graphql-ws: the copilotEvents subscription ends a denied run with the guardrails status', async () => {
    // Browsers cannot set headers on a WebSocket; Node's `ws` can (the key travels on the upgrade request).
    class KeyedWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { 'x-copilotcloud-public-api-key': KEY } });
      }
    }
    const ws = createClient({ url: rt.wsUrl, webSocketImpl: KeyedWebSocket, retryAttempts: 0 });
    try {
      const events: any[] = [];
      for await (const result of ws.iterate<{ copilotEvents: any }>({
        query: `subscription($data: GenerateCopilotResponseInput!) { copilotEvents(data: $data) {
          __typename type
          ... on TextMessageContentEvent { delta }
          ... on RunFinishedEvent { status { __typename ... on FailedResponseStatus { reason details } } }
        } }`,
        variables: { data: guarded('gr-ws', [user('u1', 'forbidden over a socket')]) },
      })) {
        expect(result.errors).toBeUndefined();
        events.push(result.data!.copilotEvents);
      }
      expect(events.map((event) => event.type)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED']);
      expect(events.at(-1).status).toEqual({
        __typename: 'FailedResponseStatus',
        reason: 'GUARDRAILS_VALIDATION_FAILED',
        details: { guardrailsReason: "Topic 'forbidden' is not allowed" },
      });
    } finally {
      await ws.dispose();
    }
  });

  it('a tool-result follow-up (no user message last) is not checked and the run goes ahead', async () => {
    const checks = guard.received.length;
    const { final } = await streamResponse(client, {
      data: guarded('gr-followup', [
        user('u1', 'weather in Paris'),
        new ActionExecutionMessage({ id: 'call_w1', name: 'getWeather', arguments: { city: 'Paris' }, parentMessageId: 'a1' }),
        new ResultMessage({ id: 'result-call_w1', actionExecutionId: 'call_w1', actionName: 'getWeather', result: '{"sky":"sunny"}' }),
      ]) as any,
    });
    expect(final.status).toMatchObject({ code: 'Success' });
    expect(textOf(final.messages[0])).toBe('It is sunny in Paris.');
    expect(guard.received).toHaveLength(checks);
  });

  it('cloud set without the key header: upstream\'s error, nothing stored', async () => {
    const reply = await rawV1(guarded('gr-nokey', [user('u1', 'weather')]), {});
    expect(reply.status).toBe(200);
    expect(reply.body.errors![0]).toMatchObject({
      message: 'X-CopilotCloud-Public-API-Key header is required',
      extensions: { code: 'MISSING_PUBLIC_API_KEY_ERROR' },
    });
    const v2 = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: 'gr-nokey-v2', runId: 'r1', messages: [userMessage('u1', 'x')], forwardedProps: { cloud: CLOUD } }));
    expect(v2.status).toBe(400);
    expect(JSON.parse(v2.text)).toMatchObject({ code: 'MISSING_PUBLIC_API_KEY_ERROR' });
    await rt.persisted();
    expect(await rt.app.get(ConversationStore).findThread('gr-nokey')).toBeNull();
  });

  it.each([
    ['slow', 'SLOW weather', `did not answer within ${GUARDRAILS_TIMEOUT_MS} ms`],
    ['garbage', 'GARBAGE weather', 'not JSON'],
    ['no status', 'NO_STATUS weather', 'without a status'],
    ['HTTP 500', 'HTTP_500 weather', 'answered HTTP 500'],
    ['connection reset', 'RESET weather', 'could not be reached'],
  ])('the service %s: fail closed with GUARDRAILS_UNAVAILABLE before any model call; the process keeps serving', async (_label, text, why) => {
    const modelCalls = llm.chatRequests().length;
    const reply = await rawV1(guarded(`gr-fail-${text.split(' ')[0]}`, [user('u1', text)]));
    const error = reply.body.errors![0]!;
    expect(error.extensions).toMatchObject({ code: 'GUARDRAILS_UNAVAILABLE', errorId: expect.any(String) });
    expect(error.message).toContain(why);
    expect(error.message).toContain(error.extensions.errorId);
    const v2 = await postJson(
      `${rt.url}/agent/default/run`,
      runInput({ threadId: `gr-fail-v2-${text.split(' ')[0]}`, runId: 'r1', messages: [userMessage('u1', text)], forwardedProps: { cloud: CLOUD } }),
      { 'x-copilotcloud-public-api-key': KEY },
    );
    expect(v2.status).toBe(503);
    expect(JSON.parse(v2.text)).toMatchObject({ code: 'GUARDRAILS_UNAVAILABLE' });
    expect(llm.chatRequests()).toHaveLength(modelCalls);

    const { final } = await streamResponse(client, { data: guarded(`gr-after-${text.split(' ')[0]}`, [user('u1', 'weather please')]) as any });
    expect(textOf(final.messages[0])).toBe('Hello! I am a mock.');
    expect(unhandled).toEqual([]);
  });

  it('an allowed request makes exactly one guardrails round trip before the model is called (time added measured, not asserted)', async () => {
    const N = 31;
    /** From the client's request to the model request reaching aimock (its journal's timestamp). */
    const toModel = async (threadId: string, text: string, withGuardrails: boolean) => {
      const data = chatInput({ threadId, messages: [user('u1', text)] });
      const started = Date.now();
      await streamResponse(client, { data: (withGuardrails ? { ...data, cloud: CLOUD } : data) as any });
      const entry = llm.mock.getRequests().find((request) => JSON.stringify(request.body).includes(text))!;
      return entry.timestamp - started;
    };
    const checks = guard.received.length;
    const added: number[] = [];
    // Interleaved pairs, so that whatever drifts on the (shared) machine hits both alike.
    for (let i = 0; i < N; i += 1) {
      const plain = await toModel(`gr-latency-plain-${i}`, `weather please plain ${i}`, false);
      const guardedMs = await toModel(`gr-latency-guarded-${i}`, `weather please guarded ${i}`, true);
      added.push(guardedMs - plain);
    }
    expect(guard.received.length - checks).toBe(N);
    const sorted = [...added].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(N - 1, Math.floor(N * q))]!;
    // The check itself, which is all the stage adds on the way to the model (end to end, the
    // difference drowns in the noise of a shared machine).
    const strategy = new CopilotCloudGuardrails(guard.url);
    const own: number[] = [];
    for (let i = 0; i < N; i += 1) {
      const started = performance.now();
      const verdict = await strategy.check({
        input: `weather please ${i}`,
        messages: [],
        cloud: CLOUD,
        headers: { 'x-copilotcloud-public-api-key': KEY },
        signal: new AbortController().signal,
      });
      own.push(performance.now() - started);
      expect(verdict).toEqual({ status: 'allowed' });
    }
    own.sort((a, b) => a - b);
    console.log(
      `guardrails, ${N} runs: the check (loopback service) median ${own[Math.floor(N / 2)]!.toFixed(2)} ms; ` +
        `request → model request, guarded minus plain, interleaved: median ${at(0.5)} ms (p25 ${at(0.25)}, p75 ${at(0.75)})`,
    );
  });

  describe('v2', () => {
    let leaveBrowser: (() => void) | undefined;
    beforeAll(() => {
      leaveBrowser = pretendBrowser();
    });
    afterAll(() => leaveBrowser?.());

    it('an AG-UI client gets the denial as an assistant message, then RUN_ERROR with the code; no model call', async () => {
      const modelCalls = llm.chatRequests().length;
      const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId: 'gr-v2', headers: { 'x-copilotcloud-public-api-key': KEY } });
      agent.messages = [{ id: 'u1', role: 'user', content: 'forbidden plans' } as Message];
      const events: BaseEvent[] = [];
      await agent.runAgent({ forwardedProps: { cloud: CLOUD } }, { onEvent: ({ event }) => void events.push(event) });
      expect(events.map((event) => event.type)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_ERROR']);
      expect(events.at(-1)).toMatchObject({ code: 'GUARDRAILS_VALIDATION_FAILED', message: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed" });
      expect(agent.messages.at(-1)).toMatchObject({ role: 'assistant', content: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed" });
      expect(llm.chatRequests()).toHaveLength(modelCalls);
    });

    it('@copilotkit/core (the chat) shows the reason as the assistant message and reports the run error with its code', async () => {
      const errors: Array<{ code: string; error: Error }> = [];
      const copilotkit = await connectedCore({
        runtimeUrl: rt.url,
        headers: { 'x-copilotcloud-public-api-key': KEY },
        properties: { cloud: CLOUD },
      });
      copilotkit.subscribe({ onError: (event: any) => void errors.push({ code: event.code, error: event.error }) });
      const agent = copilotkit.getAgent('default')!;
      agent.threadId = 'gr-core';
      agent.addMessage(userMessage('gr-core-u1', 'forbidden things'));
      await copilotkit.runAgent({ agent });
      expect(agent.messages.at(-1)).toMatchObject({
        role: 'assistant',
        content: "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed",
      });
      expect(errors.some((entry) => (entry.error as Error & { code?: string }).code === 'GUARDRAILS_VALIDATION_FAILED' || String(entry.error).includes('Guardrails'))).toBe(true);

      // Reloaded (connect replays the thread): the denial is still there.
      const reloaded = await connectedCore({ runtimeUrl: rt.url });
      const again = reloaded.getAgent('default')!;
      again.threadId = 'gr-core';
      await reloaded.connectAgent({ agent: again });
      expect(again.messages.map((m: any) => [m.role, m.content])).toEqual([
        ['user', 'forbidden things'],
        ['assistant', "Interrupted due to Guardrails validation failure. Reason: Topic 'forbidden' is not allowed"],
      ]);
    });
  });
});

describe('guardrails service down, configured to fail open', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('weather please', { content: 'Sunny.' });
    const dead = await startGuardrailsServer();
    const deadUrl = dead.url;
    await dead.stop(); // nothing listens there any more: connection refused
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: { guardrails: { strategy: 'cloud', cloudBaseUrl: deadUrl, onFailure: 'open' } },
    });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('the run goes ahead unchecked (logged), instead of being refused', async () => {
    const client = new CopilotRuntimeClient({ url: rt.url, headers: { 'x-copilotcloud-public-api-key': KEY } });
    const { final } = await streamResponse(client, {
      data: { ...chatInput({ threadId: 'gr-open', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'weather please' })] }), cloud: CLOUD } as any,
    });
    expect(textOf(final.messages[0])).toBe('Sunny.');
  });
});
