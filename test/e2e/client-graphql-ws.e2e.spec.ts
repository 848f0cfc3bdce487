import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CopilotRuntimeClient,
  GenerateCopilotResponseDocument,
  Role,
  TextMessage,
  type GenerateCopilotResponseMutation,
} from '@copilotkit/runtime-client-gql';
import { cacheExchange, Client as UrqlClient, subscriptionExchange } from '@urql/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { chatInput, eventually, streamResponse, type CopilotResponse } from '../support/copilot-client.js';
import { startLlmTap, type LlmTap } from '../support/llm-tap.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { capturedAgentScript, ScriptedAgent } from '../support/scripted-agent.js';
import { TestActionsModule, WeatherActions } from '../support/test-actions.module.js';

const COPILOT_EVENTS = /* GraphQL */ `
  subscription copilotEvents($data: GenerateCopilotResponseInput!, $properties: JSONObject) {
    copilotEvents(data: $data, properties: $properties) {
      __typename
      type
      threadId
      runId
      sequence
      timestamp
      ... on TextMessageStartEvent { messageId role }
      ... on TextMessageContentEvent { messageId delta }
      ... on TextMessageEndEvent { messageId }
      ... on ActionExecutionStartEvent { actionExecutionId actionName parentMessageId }
      ... on ActionExecutionArgsEvent { actionExecutionId delta }
      ... on ActionExecutionEndEvent { actionExecutionId }
      ... on ActionExecutionResultEvent { actionExecutionId actionName result }
      ... on RunFinishedEvent {
        status {
          __typename
          ... on SuccessResponseStatus { code }
          ... on FailedResponseStatus { code reason details }
        }
      }
    }
  }
`;

type CopilotEvent = { __typename: string; type: string; threadId: string; runId: string; sequence: number } & Record<string, any>;

/**
 * aimock keeps its timers running after a client hangs up: streams that may be abandoned are cut
 * here, late enough that a runtime which has to hang up always does so first (see LlmTap).
 */
const AIMOCK_CUT_MS = 5000;

describe('graphql-ws: copilotEvents subscription and the client mutation over WebSocket', () => {
  let llm: AimockServer;
  /**
   * Between the runtime and aimock, only so that afterAll can cut the runtime's pooled model
   * connections: after an aborted call undici keeps a spare one open, which would hold aimock's
   * stop() for seconds.
   */
  let tap: LlmTap;
  let rt: RuntimeApp;
  let ws: WsClient;
  let client: CopilotRuntimeClient;

  const user = (id: string, content: string) => new TextMessage({ id, role: Role.User, content });
  const variables = (threadId: string, id: string, content: string, properties: Record<string, unknown> = {}) => ({
    data: chatInput({ threadId, messages: [user(id, content)] }),
    properties,
  });

  /** All events of one subscription, until the server completes it. */
  async function subscribe(vars: Record<string, unknown>): Promise<CopilotEvent[]> {
    const events: CopilotEvent[] = [];
    for await (const result of ws.iterate<{ copilotEvents: CopilotEvent }>({ query: COPILOT_EVENTS, variables: vars })) {
      expect(result.errors).toBeUndefined();
      events.push(result.data!.copilotEvents);
    }
    return events;
  }

  beforeAll(async () => {
    llm = await startAimock();
    tap = await startLlmTap(llm.mock.port);
    rt = await startRuntimeApp({
      llmBaseUrl: `${tap.url}/v1`,
      imports: [TestActionsModule],
      options: { agents: [{ id: 'scripted', agent: new ScriptedAgent(capturedAgentScript) }] },
    });
    ws = createClient({ url: rt.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    client = new CopilotRuntimeClient({ url: rt.url });
  });

  afterAll(async () => {
    await ws?.dispose();
    await rt?.close();
    await tap?.stop();
    await llm?.stop();
  });

  it('streams a text answer as flat typed events, numbered from 0', async () => {
    const text = 'Events arrive one by one.';
    llm.mock.onMessage('Subscribe to a text answer', { content: text }, { chunkSize: 6 });

    const events = await subscribe(variables('thread-ws-1', 'u-ws-1', 'Subscribe to a text answer'));

    const types = events.map((e) => e.type);
    expect(types[0]).toBe('RUN_STARTED');
    expect(types[1]).toBe('TEXT_MESSAGE_START');
    expect(types.at(-2)).toBe('TEXT_MESSAGE_END');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    const deltas = events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT');
    expect(deltas.length).toBeGreaterThan(1);
    expect(types.slice(2, -2)).toEqual(deltas.map(() => 'TEXT_MESSAGE_CONTENT'));
    expect(deltas.map((e) => e.delta).join('')).toBe(text);
    expect(new Set(events.map((e) => e.__typename))).toEqual(
      new Set(['RunStartedEvent', 'TextMessageStartEvent', 'TextMessageContentEvent', 'TextMessageEndEvent', 'RunFinishedEvent']),
    );

    // One message id throughout; one run; the thread's sequence numbers, contiguous from 1 on a new thread.
    const messageId = events[1]!.messageId;
    expect(events[1]).toMatchObject({ role: 'assistant' });
    for (const e of [...deltas, events.at(-2)!]) expect(e.messageId).toBe(messageId);
    expect(new Set(events.map((e) => e.runId)).size).toBe(1);
    expect(events.every((e) => e.threadId === 'thread-ws-1')).toBe(true);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)!.status).toEqual({ __typename: 'SuccessResponseStatus', code: 'Success' });
  });

  it('runs the agent of an agentSession alone, as the mutation does (the model is not called)', async () => {
    const modelCallsBefore = llm.chatRequests().length;
    const vars = variables('thread-ws-agent', 'u-ws-agent', 'Hello agent');
    (vars.data as Record<string, unknown>).agentSession = { agentName: 'scripted' };

    const events = await subscribe(vars);

    expect(llm.chatRequests()).toHaveLength(modelCallsBefore);
    const text = events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
    expect(text).toBe('AG-UI says hi');
    expect(events.find((e) => e.type === 'ACTION_EXECUTION_START')).toMatchObject({ actionName: 'showAlert' });
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', status: { code: 'Success' } });
  });

  it('streams a server action as ACTION_EXECUTION_* events and its result', async () => {
    const weather = rt.app.get(WeatherActions);
    const callsBefore = weather.calls.length;
    llm.mock.onMessage(
      'Subscribe to the weather in Rome',
      { toolCalls: [{ id: 'call_ws_weather', name: 'getWeather', arguments: '{"city":"Rome"}' }] },
      { chunkSize: 5 },
    );

    const events = await subscribe(
      variables('thread-ws-2', 'u-ws-2', 'Subscribe to the weather in Rome', { userId: 'ws-user' }),
    );

    const types = events.map((e) => e.type);
    const args = events.filter((e) => e.type === 'ACTION_EXECUTION_ARGS');
    expect(args.length).toBeGreaterThan(1);
    expect(types).toEqual([
      'RUN_STARTED',
      'ACTION_EXECUTION_START',
      ...args.map(() => 'ACTION_EXECUTION_ARGS'),
      'ACTION_EXECUTION_END',
      'ACTION_EXECUTION_RESULT',
      'RUN_FINISHED',
    ]);
    expect(events[1]).toMatchObject({ actionExecutionId: 'call_ws_weather', actionName: 'getWeather' });
    expect(args.map((e) => e.delta).join('')).toBe('{"city":"Rome"}');
    expect(events.at(-2)).toMatchObject({
      __typename: 'ActionExecutionResultEvent',
      actionExecutionId: 'call_ws_weather',
      actionName: 'getWeather',
      result: '{"city":"Rome","tempC":21,"sky":"sunny"}',
    });
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)!.status).toEqual({ __typename: 'SuccessResponseStatus', code: 'Success' });
    expect(weather.calls.slice(callsBefore)).toEqual([
      { args: { city: 'Rome' }, threadId: 'thread-ws-2', properties: { userId: 'ws-user' } },
    ]);
  });

  it("delivers the client's own mutation document over graphql-ws with the same merged result as HTTP", async () => {
    // urql merges the incremental payloads (@defer/@stream) it receives over the WebSocket. Its
    // cacheExchange adds `__typename` to the document, exactly as in the client's own urql setup.
    const urql = new UrqlClient({
      url: rt.url,
      exchanges: [
        cacheExchange,
        subscriptionExchange({
          enableAllOperations: true,
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    // Fixed ids, so that both transports produce identical messages.
    llm.mock.onMessage(
      'Compare the transports',
      { content: 'Same bytes either way, I promise.', id: 'chatcmpl-compare' },
      { chunkSize: 4 },
    );
    llm.mock.onMessage(
      'Compare with a server action',
      { toolCalls: [{ id: 'call_compare', name: 'getWeather', arguments: '{"city":"Oslo"}' }], id: 'chatcmpl-compare-2' },
      { chunkSize: 4 },
    );
    const normalize = (response: CopilotResponse) =>
      JSON.parse(JSON.stringify(response), (key, value) => (key === 'createdAt' || key === 'runId' ? '<varies>' : value));

    for (const [threadId, text] of [
      ['thread-ws-3', 'Compare the transports'],
      ['thread-ws-4', 'Compare with a server action'],
    ] as const) {
      const overHttp = await streamResponse(client, variables(threadId, `u-${threadId}`, text));
      const overWs = await urql
        .mutation<GenerateCopilotResponseMutation>(GenerateCopilotResponseDocument, variables(threadId, `u-${threadId}`, text))
        .toPromise();

      expect(overWs.error).toBeUndefined();
      expect(overWs.hasNext).toBe(false);
      const wsResponse = overWs.data!.generateCopilotResponse;
      expect(wsResponse.status).toMatchObject({ code: 'Success' });
      expect(wsResponse.messages.length).toBeGreaterThan(0);
      expect(wsResponse.runId).toEqual(expect.any(String));
      expect(normalize(wsResponse)).toEqual(normalize(overHttp.final));
    }
  });

  it('stops the run when the subscriber completes early', async () => {
    llm.mock.onMessage(
      'Subscribe and leave early',
      { content: 'This answer is far too long to wait for, so the subscriber leaves. '.repeat(4) },
      { chunkSize: 5, latency: 200, disconnectAfterMs: AIMOCK_CUT_MS },
    );

    let runId = '';
    let contentEvents = 0;
    for await (const result of ws.iterate<{ copilotEvents: CopilotEvent }>({
      query: COPILOT_EVENTS,
      variables: variables('thread-ws-5', 'u-ws-5', 'Subscribe and leave early'),
    })) {
      const event = result.data!.copilotEvents;
      runId ||= event.runId;
      if (event.type === 'TEXT_MESSAGE_CONTENT') contentEvents++;
      expect(event.type).not.toBe('RUN_FINISHED');
      if (contentEvents === 1) break; // sends `complete` to the server
    }
    expect(contentEvents).toBe(1);

    const store = rt.app.get(ConversationStore);
    const run = await eventually(async () => {
      await rt.persisted();
      const found = await store.findRun(runId);
      expect(found?.status).toEqual(expect.any(String));
      expect(found!.status).not.toBe('running');
      return found!;
    });
    expect(run.status).toBe('stopped');
    // The model did not get to finish: the runtime hung up on it, not aimock's own cut.
    expect(await tap.waitUntilClosed('Subscribe and leave early')).toBe('runtime');

    // Let aimock's abandoned stream end, so that no timer outlives the suite.
    const upstream = llm.mock.getRequests().find((entry) => JSON.stringify(entry.body).includes('Subscribe and leave early'))!;
    await eventually(() => expect(upstream.response.interrupted).toBe(true), AIMOCK_CUT_MS + 5000);
  });
});
