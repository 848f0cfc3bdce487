import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { HttpAgent, type BaseEvent } from '@ag-ui/client';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { createServer } from 'node:net';
import { RemoteDiscovery } from '../../src/index.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { ActionInputAvailability, chatInput, messagesOf, streamResponse, textOf } from '../support/copilot-client.js';
import {
  REMOTE_AGENT_DESCRIPTION,
  startRemoteEndpoint,
  type RemoteEndpointServer,
} from '../support/remote-endpoint-server.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule } from '../support/test-actions.module.js';
import { connectedCore, pretendBrowser, userMessage } from '../v2/support/v2-client.js';

/**
 * Remote CopilotKit endpoints end to end: the runtime against a loopback server speaking the
 * Python SDK's protocol (test/support/remote-endpoint-server.ts, replaying the captured
 * exchanges), driven by the real v1 client (`@copilotkit/runtime-client-gql`) and the real v2
 * client (`@ag-ui/client`'s HttpAgent). Faults: 503 then success, 429 with Retry-After, a hang,
 * JSON lines byte by byte, a malformed line, an agent error, an endpoint down at boot.
 */
describe('remote CopilotKit endpoints', () => {
  let llm: AimockServer;
  let remote: RemoteEndpointServer;
  let late: RemoteEndpointServer | undefined;
  let latePort: number;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const warnings: string[] = [];

  const lastBody = (path: string) => remote.requests.filter((request) => request.path === path).at(-1)!;
  /** A fresh client each time: the real client caches query results (urql's cacheExchange). */
  const agentIds = async () =>
    ((await new CopilotRuntimeClient({ url: rt.url }).availableAgents().toPromise()).data?.availableAgents.agents ?? []).map((a) => a.id);

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    llm = await startAimock();
    llm.mock.onMessage('CALL_TOOL:remoteLookup', {
      toolCalls: [{ id: 'call_remoteLookup_1', name: 'remoteLookup', arguments: '{"key":"abc"}' }],
    });
    llm.mock.onMessage('CALL_AGENT', { toolCalls: [{ id: 'call_agent_1', name: 'remote_agent', arguments: '{}' }] });
    remote = await startRemoteEndpoint();
    // A remote action named like a server action: the server action wins.
    remote.extraActions.push({ name: 'getWeather', description: 'remote weather', parameters: { type: 'object', properties: {} } });
    latePort = await closedPort();
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      imports: [TestActionsModule],
      options: {
        remoteEndpoints: [
          {
            url: remote.url,
            headers: ({ properties }) => ({ authorization: 'Bearer from-hook', 'x-user': String(properties.userId ?? 'none') }),
            retry: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 },
            timeoutMs: 1500,
          },
          // Down when the runtime boots; asked again on the next request after a failure.
          { url: `http://127.0.0.1:${latePort}/copilotkit`, discoveryRetryMs: 0, retry: { maxAttempts: 1 } },
        ],
      },
    });
    client = new CopilotRuntimeClient({ url: rt.url });
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await rt?.close();
    await llm?.stop();
    await remote?.close();
    await late?.close();
  });

  beforeEach(() => {
    remote.requests.length = 0;
  });

  describe('v1 (runtime-client-gql)', () => {
    it('availableAgents lists the remote agent under its name', async () => {
      const agents = await client.availableAgents().toPromise();
      expect(agents.data?.availableAgents.agents).toEqual([
        { __typename: 'Agent', id: 'remote_agent', name: 'remote_agent', description: REMOTE_AGENT_DESCRIPTION },
      ]);
    });

    it('a remote action is a tool after the server actions; the model calls it and reads its result', async () => {
      const data = chatInput({
        threadId: 'remote-action-1',
        messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'CALL_TOOL:remoteLookup {"key":"abc"}' })],
      });
      const { final, error } = await streamResponse(client, { data, properties: { authorization: 'tok-1', userId: 'u-9' } });
      expect(error).toBeUndefined();
      expect(final.status).toMatchObject({ code: 'Success' });
      const messages = messagesOf(final);
      expect(messages.map((m) => m.__typename)).toEqual(['ActionExecutionMessageOutput', 'ResultMessageOutput']);
      expect(messages[1]).toMatchObject({ actionName: 'remoteLookup', result: '{"found":true,"key":"abc","value":42}' });

      const tools = llm.chatRequests().at(-1)!.tools!.map((tool) => tool.function.name);
      expect(tools.slice(0, 4)).toEqual(['getWeather', 'failingAction', 'getTime', 'remoteLookup']);
      expect(tools.filter((name) => name === 'getWeather')).toHaveLength(1);
      expect(tools).toContain('remote_agent');

      const call = lastBody('/actions/execute');
      expect(call.body).toEqual({ name: 'remoteLookup', arguments: { key: 'abc' }, properties: { authorization: 'tok-1', userId: 'u-9' } });
      expect(call.headers).toMatchObject({ authorization: 'Bearer from-hook', 'x-user': 'u-9', 'content-type': 'application/json' });
    });

    it('a remote action named like a server action is not offered, and that is logged once', async () => {
      const data = chatInput({ threadId: 'remote-clash', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'CALL_TOOL:remoteLookup {"key":"abc"}' })] });
      await streamResponse(client, { data });
      expect(llm.chatRequests().at(-1)!.tools!.find((tool) => tool.function.name === 'getWeather')!.function.description).toBe('Current weather in a city');
      expect(warnings.filter((w) => w.includes('Remote action "getWeather"'))).toEqual([
        `Remote action "getWeather" of ${remote.url} is not offered: a server action of that name wins.`,
      ]);
    });

    it('503 then success, and 429 with Retry-After: retried, the model reads the result', async () => {
      remote.fail('/actions/execute', { kind: 'status', status: 503 }, { kind: 'status', status: 429, headers: { 'retry-after': '0' } });
      const data = chatInput({
        threadId: 'remote-action-2',
        messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'CALL_TOOL:remoteLookup {"key":"abc"}' })],
      });
      const { final } = await streamResponse(client, { data });
      expect(messagesOf(final)[1]).toMatchObject({ result: '{"found":true,"key":"abc","value":42}' });
      expect(remote.count('/actions/execute')).toBe(3);
    });

    it('a remote action that keeps failing is a result the model reads, naming the endpoint; the run succeeds', async () => {
      remote.fail('/actions/execute', ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 502 })));
      const data = chatInput({
        threadId: 'remote-action-3',
        messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'CALL_TOOL:remoteLookup {"key":"abc"}' })],
      });
      const { final } = await streamResponse(client, { data });
      expect(final.status).toMatchObject({ code: 'Success' });
      const result = JSON.parse(messagesOf(final)[1].result);
      expect(result).toEqual({
        error: { code: 'NETWORK_ERROR', message: expect.stringContaining(`Remote endpoint ${remote.url}/actions/execute answered 502`) },
        result: '',
      });
      expect(result.error.message).not.toContain('from-hook');
    });

    it('an agent session streams state, text and the interrupt; the request body is what upstream sends', async () => {
      const data = {
        ...chatInput({
          threadId: 'lg-thread-1',
          messages: [new TextMessage({ id: 'user-11', role: Role.User, content: 'hello agent INTERRUPT' })],
          actions: [
            { name: 'showAlert', description: 'alert', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Enabled },
            { name: 'remoteOnly', description: 'remote', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Remote },
            { name: 'off', description: 'disabled', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Disabled },
          ],
        }),
        agentSession: { agentName: 'remote_agent' },
        agentStates: [{ agentName: 'remote_agent', state: '{"counter":0}', config: '{"configurable":{"x":1}}' }],
      };
      const { final, error } = await streamResponse(client, { data, properties: { userId: 'u-1' } });
      expect(error).toBeUndefined();
      expect(final.status).toMatchObject({ code: 'Success' });
      const messages = messagesOf(final);
      const text = messages.find((m) => m.__typename === 'TextMessageOutput');
      expect(textOf(text)).toBe('Hi from the agent');
      expect(text).toMatchObject({ id: 'run-lc-msg-1' });
      const states = messages.filter((m) => m.__typename === 'AgentStateMessageOutput');
      expect(states.map((m) => JSON.parse(m.state).counter)).toEqual([0, 1, 1, 2, 2]);
      expect(states.at(-1)).toMatchObject({ running: false, agentName: 'remote_agent', threadId: 'lg-thread-1' });
      expect(states[1]).toMatchObject({ nodeName: 'chat_node', active: true, running: true });
      expect(final.metaEvents).toEqual([
        expect.objectContaining({ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}' }),
      ]);

      const execute = lastBody('/agents/execute');
      expect(execute.headers).toMatchObject({ authorization: 'Bearer from-hook', 'x-user': 'u-1' });
      expect(execute.body).toEqual({
        name: 'remote_agent',
        threadId: 'lg-thread-1',
        messages: [{ id: 'user-11', createdAt: expect.any(String), type: 'TextMessage', content: 'hello agent INTERRUPT', role: 'user' }],
        state: { counter: 0 },
        config: { configurable: { x: 1 } },
        properties: { userId: 'u-1' },
        actions: [
          { name: 'showAlert', description: 'alert', parameters: { type: 'object', properties: {} } },
          { name: 'remoteOnly', description: 'remote', parameters: { type: 'object', properties: {} } },
        ],
        metaEvents: [],
      });
    });

    it("an agent session streams the agent's tool call (a frontend action) as a v1 action execution", async () => {
      const data = {
        ...chatInput({
          threadId: 'remote-tool',
          messages: [new TextMessage({ id: 'u', role: Role.User, content: 'use a TOOL' })],
          actions: [{ name: 'showAlert', description: 'alert', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Enabled }],
        }),
        agentSession: { agentName: 'remote_agent' },
      };
      const { final } = await streamResponse(client, { data });
      expect(final.status).toMatchObject({ code: 'Success' });
      const call = messagesOf(final).find((m) => m.__typename === 'ActionExecutionMessageOutput')!;
      expect(call).toMatchObject({ id: 'tc-1', name: 'showAlert', parentMessageId: 'run-lc-msg-2' });
      expect(call.arguments.join('')).toBe('{"message":"hi"}');
    });

    it('resumes after an interrupt: the answered metaEvent and the node reach the endpoint', async () => {
      const data = {
        ...chatInput({
          threadId: 'lg-thread-1',
          messages: [new TextMessage({ id: 'user-12', role: Role.User, content: 'hello agent INTERRUPT' })],
        }),
        agentSession: { agentName: 'remote_agent', nodeName: 'chat_node', threadId: 'lg-thread-1' },
        metaEvents: [{ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}', response: 'yes' }],
      };
      const { final } = await streamResponse(client, { data: data as never });
      expect(final.status).toMatchObject({ code: 'Success' });
      expect(final.metaEvents).toEqual([]);
      expect(lastBody('/agents/execute').body).toMatchObject({
        nodeName: 'chat_node',
        metaEvents: [{ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}', response: 'yes' }],
      });
    });

    it('on_copilotkit_interrupt becomes a CopilotKitLangGraphInterruptEvent with its messages', async () => {
      const data = {
        ...chatInput({ threadId: 'lg-thread-2', messages: [new TextMessage({ id: 'user-1', role: Role.User, content: 'hello agent CK_INTERRUPT' })] }),
        agentSession: { agentName: 'remote_agent' },
      };
      const { final } = await streamResponse(client, { data });
      expect(final.metaEvents).toEqual([
        expect.objectContaining({
          name: 'CopilotKitLangGraphInterruptEvent',
          data: expect.objectContaining({
            value: 'Please confirm',
            messages: [
              expect.objectContaining({ __typename: 'TextMessageOutput', id: 'int-msg-1', content: ['Do you approve?'] }),
              expect.objectContaining({ __typename: 'ActionExecutionMessageOutput', id: 'int-tc-1', name: 'approve', arguments: ['{"level":2}'] }),
            ],
          }),
        }),
      ]);
    });

    async function failedSession(threadId: string, content: string) {
      const data = {
        ...chatInput({ threadId, messages: [new TextMessage({ id: 'u', role: Role.User, content })] }),
        agentSession: { agentName: 'remote_agent' },
      };
      const { final } = await streamResponse(client, { data });
      expect(final.status).toMatchObject({ code: 'Failed', reason: 'UNKNOWN_ERROR' });
      return (final.status as { details: { description: string; originalError: { code: string } } }).details;
    }

    it('on_copilotkit_error fails the run with the code of its status', async () => {
      const details = await failedSession('remote-err-1', 'AGENT_ERROR');
      expect(details.originalError.code).toBe('AUTHENTICATION_ERROR');
      expect(details.description).toBe("Agent 'remote_agent' reported an error (ValueError): The graph blew up");
    });

    it('a malformed JSON line fails the run with a precise message; the server keeps serving', async () => {
      remote.fail('/agents/execute', { kind: 'malformed-line' });
      const details = await failedSession('remote-err-2', 'hello agent');
      expect(details.originalError.code).toBe('AGENT_FAILED');
      expect(details.description).toMatch(
        new RegExp(`^Remote endpoint ${escape(remote.url)}/agents/execute sent an invalid answer: line 3 is not JSON \\(.+\\): \\{"event": "on_chat_model_stream", "data": \\{oops$`),
      );
      expect(await agentIds()).toContain('remote_agent');
    });

    it('JSON lines arriving byte by byte give the same session', async () => {
      remote.fail('/agents/execute', { kind: 'byte-by-byte' });
      const data = {
        ...chatInput({ threadId: 'remote-bytes', messages: [new TextMessage({ id: 'u', role: Role.User, content: 'UNICODE please' })] }),
        agentSession: { agentName: 'remote_agent' },
      };
      const { final } = await streamResponse(client, { data });
      expect(final.status).toMatchObject({ code: 'Success' });
      expect(textOf(messagesOf(final).find((m) => m.__typename === 'TextMessageOutput'))).toBe('Hé from the agent ✓');
    });

    it('a hang is bounded by the endpoint timeout: NETWORK_ERROR naming the endpoint', async () => {
      remote.fail('/agents/execute', { kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
      const details = await failedSession('remote-hang', 'hello agent');
      expect(details.originalError.code).toBe('NETWORK_ERROR');
      expect(details.description).toBe(`Remote endpoint ${remote.url}/agents/execute did not answer within 1500 ms. Try again later.`);
      expect(remote.count('/agents/execute')).toBe(3);
    });

    it('the model hands the conversation to the remote agent (agents as tools)', async () => {
      const data = chatInput({ threadId: 'remote-as-tool', messages: [new TextMessage({ id: 'u', role: Role.User, content: 'CALL_AGENT now' })] });
      const { final } = await streamResponse(client, { data });
      expect(final.status).toMatchObject({ code: 'Success' });
      const messages = messagesOf(final);
      expect(messages[1]).toMatchObject({ __typename: 'ResultMessageOutput', result: 'remote_agent agent started' });
      expect(textOf(messages.find((m) => m.__typename === 'TextMessageOutput'))).toBe('Hi from the agent');
      expect(lastBody('/agents/execute').body).toMatchObject({ name: 'remote_agent', threadId: 'remote-as-tool' });
    });

    it('loadAgentState reads the thread from /agents/state', async () => {
      const found = await client.loadAgentState({ threadId: 'lg-thread-unknown-to-us', agentName: 'remote_agent' }).toPromise();
      expect(found.data?.loadAgentState).toMatchObject({ threadExists: false, state: '{}', messages: '[]' });
      remote.requests.length = 0;
      const state = await client.loadAgentState({ threadId: 'lg-thread-1', agentName: 'remote_agent' }).toPromise();
      expect(state.data?.loadAgentState).toMatchObject({
        threadId: 'lg-thread-1',
        threadExists: true,
        state: '{"counter":3}',
        messages: '[{"id":"m1","role":"user","content":"hi"},{"id":"m2","role":"assistant","content":"hello"}]',
      });
      expect(lastBody('/agents/state').body).toEqual({ properties: {}, threadId: 'lg-thread-1', name: 'remote_agent' });
    });

    it('the object shape of /info (current Python SDK) registers the same agent', async () => {
      remote.infoShape = 'object';
      try {
        rt.app.get(RemoteDiscovery).invalidate();
        expect(await agentIds()).toEqual(['remote_agent']);
        expect(remote.count('/info')).toBe(1);
      } finally {
        remote.infoShape = 'list';
        rt.app.get(RemoteDiscovery).invalidate();
      }
    });
  });

  describe('v2 (AG-UI)', () => {
    it('info lists the remote agent', async () => {
      const response = await fetch(`${rt.url}/info`);
      const info = (await response.json()) as { agents: Record<string, unknown> };
      expect(info.agents.remote_agent).toEqual({ name: 'remote_agent', description: REMOTE_AGENT_DESCRIPTION, className: 'RemoteLangGraphAgent' });
    });

    it('HttpAgent runs the remote agent: text, state, the interrupt; a resume reaches the endpoint', async () => {
      const agent = new HttpAgent({ url: `${rt.url}/agent/remote_agent/run`, threadId: 'v2-remote-1' });
      agent.messages = [{ id: 'v2-u1', role: 'user', content: 'hello agent INTERRUPT' }];
      const events: BaseEvent[] = [];
      await agent.runAgent({}, { onEvent: ({ event }) => void events.push(event) });
      const types = events.map((event) => event.type);
      expect(types[0]).toBe('RUN_STARTED');
      expect(types.at(-1)).toBe('RUN_FINISHED');
      expect(events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => (e as unknown as { delta: string }).delta).join('')).toBe('Hi from the agent');
      expect(events.find((e) => e.type === 'CUSTOM')).toMatchObject({ name: 'on_interrupt', value: '{"question":"Approve?"}' });
      expect(agent.state).toMatchObject({ counter: 2 });

      agent.messages = [...agent.messages, { id: 'v2-u2', role: 'user', content: 'hello agent INTERRUPT' }];
      await agent.runAgent({ forwardedProps: { command: { resume: 'approved' } } });
      expect(lastBody('/agents/execute').body).toMatchObject({
        threadId: 'v2-remote-1',
        metaEvents: [{ name: 'LangGraphInterruptEvent', value: null, response: 'approved' }],
      });
    });

    it('@copilotkit/core lists the remote agent from /info and runs it', async () => {
      // CopilotKitCore only talks to the runtime in a "browser": see pretendBrowser.
      const leaveBrowser = pretendBrowser();
      try {
        const copilotkit = await connectedCore({ runtimeUrl: rt.url, runtimeTransport: 'auto' });
        const agent = copilotkit.getAgent('remote_agent')!;
        expect(agent).toBeDefined();
        agent.threadId = 'v2-core-1';
        agent.addMessage(userMessage('core-u1', 'hello agent'));
        const result = await copilotkit.runAgent({ agent });
        expect(result.newMessages).toEqual([{ id: 'run-lc-msg-1', role: 'assistant', content: 'Hi from the agent' }]);
        expect(agent.state).toMatchObject({ counter: 2 });
      } finally {
        leaveBrowser();
      }
    });

    it('an agent error is a RUN_ERROR with the mapped code', async () => {
      const agent = new HttpAgent({ url: `${rt.url}/agent/remote_agent/run`, threadId: 'v2-remote-2' });
      agent.messages = [{ id: 'v2-u1', role: 'user', content: 'AGENT_ERROR' }];
      const events: BaseEvent[] = [];
      await agent.runAgent({}, { onEvent: ({ event }) => void events.push(event) }).catch(() => undefined);
      expect(events.at(-1)).toMatchObject({ type: 'RUN_ERROR', code: 'AUTHENTICATION_ERROR' });
    });
  });

  it('an endpoint down at boot is left out, then served once it answers', async () => {
    expect(await agentIds()).toEqual(['remote_agent']);
    late = await startRemoteEndpoint({ port: latePort, agentName: 'late_agent', withAction: false });
    expect(await agentIds()).toEqual(['remote_agent', 'late_agent']);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
