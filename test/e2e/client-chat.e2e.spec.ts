import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ActionExecutionMessage,
  CopilotRuntimeClient,
  ResultMessage,
  Role,
  TextMessage,
  convertGqlOutputToMessages,
} from '@copilotkit/runtime-client-gql';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import {
  ActionInputAvailability,
  chatInput,
  messagesOf,
  recordFetch,
  streamResponse,
  textOf,
  type FrontendAction,
} from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule, WeatherActions } from '../support/test-actions.module.js';

/**
 * The booted app (with a user module of server actions) driven by the real published v1 client over
 * loopback HTTP, with aimock behind the real ChatOpenAI. Each test uses its own user text so that
 * aimock fixtures never match another test's request.
 */
describe('v1 client: chat, actions, errors, agents, persistence', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const warnings: string[] = [];

  const user = (id: string, content: string) => new TextMessage({ id, role: Role.User, content });
  const showAlert: FrontendAction = {
    name: 'showAlert',
    description: 'Show an alert in the browser',
    jsonSchema: JSON.stringify({
      type: 'object',
      properties: { message: { type: 'string', description: 'text' } },
      required: ['message'],
    }),
    available: ActionInputAvailability.Enabled,
  };
  const noArguments = JSON.stringify({ type: 'object', properties: {}, required: [] });
  const disabledAction: FrontendAction = {
    name: 'disabledAction',
    description: 'should never reach the LLM',
    jsonSchema: noArguments,
    available: ActionInputAvailability.Disabled,
  };
  const remoteOnlyAction: FrontendAction = {
    name: 'remoteOnlyAction',
    description: 'available=remote: only for remote agents',
    jsonSchema: noArguments,
    available: ActionInputAvailability.Remote,
  };

  /** The chat completion request aimock received whose last user message contains `text`. */
  const modelRequestFor = (text: string) => {
    const found = llm
      .chatRequests()
      .filter((body) => body.messages.some((m) => m.role === 'user' && String(m.content).includes(text)));
    expect(found.length).toBeGreaterThan(0);
    return found.at(-1)!;
  };

  beforeAll(async () => {
    llm = await startAimock();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, imports: [TestActionsModule] });
    client = new CopilotRuntimeClient({ url: rt.url, handleGQLWarning: (warning) => warnings.push(warning) });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('streams a text answer incrementally: snapshots grow while the model is still streaming', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    // 9 content chunks, 100 ms apart: the model takes about a second to finish.
    llm.mock.onMessage('Tell me about the fox', { content: text }, { chunkSize: 5, latency: 100 });

    const { snapshots, final } = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-1', messages: [user('u-fox', 'Tell me about the fox')] }),
      properties: { userId: 'u-123' },
    });

    const withContent = snapshots.filter((s) => textOf(s.response.messages[0]).length > 0);
    // Several snapshots, each with more text than the one before, each a prefix of the answer.
    expect(withContent.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < withContent.length; i++) {
      const before = textOf(withContent[i - 1]!.response.messages[0]);
      const now = textOf(withContent[i]!.response.messages[0]);
      expect(now.length).toBeGreaterThanOrEqual(before.length);
      expect(now.startsWith(before)).toBe(true);
    }
    expect(textOf(withContent[0]!.response.messages[0]).length).toBeLessThan(text.length);
    // Ordering proof: the first delta reached the client long before the model produced the last one.
    const firstAt = withContent[0]!.at;
    const lastAt = withContent.at(-1)!.at;
    expect(lastAt - firstAt).toBeGreaterThanOrEqual(500);

    expect(final.threadId).toBe('thread-chat-1');
    expect(final.runId).toEqual(expect.any(String));
    expect(final.runId!.length).toBeGreaterThan(0);
    expect(final.status).toMatchObject({ __typename: 'SuccessResponseStatus', code: 'Success' });
    const messages = messagesOf(final);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      __typename: 'TextMessageOutput',
      role: 'assistant',
      status: { __typename: 'SuccessMessageStatus', code: 'Success' },
    });
    expect(messages[0]!.content.length).toBeGreaterThan(1);
    expect(textOf(messages[0])).toBe(text);
    expect(warnings).toEqual([]);
  });

  it('streams a frontend tool call, then answers the follow-up carrying its result', async () => {
    const callId = 'call_showAlert_e2e';
    const args = JSON.stringify({ message: 'hello from e2e' });
    llm.mock.on(
      { userMessage: 'Please show an alert', hasToolResult: false },
      { toolCalls: [{ id: callId, name: 'showAlert', arguments: args }] },
      { chunkSize: 8 },
    );
    llm.mock.onToolResult(callId, { content: 'Done: the alert was shown.' });
    const question = user('u-alert', 'Please show an alert');

    const first = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-2', messages: [question], actions: [showAlert] }),
    });
    expect(first.final.status).toMatchObject({ code: 'Success' });
    const [call] = messagesOf(first.final);
    expect(messagesOf(first.final)).toHaveLength(1);
    expect(call).toMatchObject({
      __typename: 'ActionExecutionMessageOutput',
      id: callId,
      name: 'showAlert',
      status: { code: 'Success' },
    });
    expect(call!.arguments.length).toBeGreaterThan(1);
    expect(call!.arguments.join('')).toBe(args);
    // The model was offered the frontend action with its schema.
    const offered = modelRequestFor('Please show an alert').tools?.find((t) => t.function.name === 'showAlert');
    expect(offered?.function.parameters).toEqual(JSON.parse(showAlert.jsonSchema));

    // The follow-up, as the client builds it: the action execution and its result after the question.
    // (Built by hand: under Node ESM the client's convertGqlOutputToMessages loses tool arguments,
    // because its default import of the CommonJS `untruncate-json` is not a function there.)
    const executed = new ActionExecutionMessage({
      id: call!.id,
      name: call!.name,
      arguments: JSON.parse(call!.arguments.join('')),
      parentMessageId: call!.parentMessageId,
    });
    const result = new ResultMessage({
      id: `result-${callId}`,
      actionExecutionId: callId,
      actionName: 'showAlert',
      result: 'alert shown',
    });
    const followUp = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-2', messages: [question, executed, result], actions: [showAlert] }),
    });

    expect(followUp.final.status).toMatchObject({ code: 'Success' });
    expect(messagesOf(followUp.final)).toHaveLength(1);
    expect(messagesOf(followUp.final)[0]).toMatchObject({ __typename: 'TextMessageOutput', role: 'assistant' });
    expect(textOf(followUp.final.messages[0])).toBe('Done: the alert was shown.');

    // What the model received in the follow-up: the call on an assistant message, then its result.
    const sent = llm.chatRequests().at(-1)!.messages;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent[1]).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: callId, type: 'function', function: { name: 'showAlert' } }],
    });
    expect(JSON.parse((sent[1] as any).tool_calls[0].function.arguments)).toEqual(JSON.parse(args));
    expect(sent[2]).toMatchObject({ role: 'tool', tool_call_id: callId, content: 'alert shown' });
  });

  it('executes a server action and streams its result; disabled and remote frontend actions are not offered', async () => {
    const weather = rt.app.get(WeatherActions);
    const callsBefore = weather.calls.length;
    llm.mock.onMessage(
      'weather in Paris',
      { toolCalls: [{ id: 'call_getWeather_e2e', name: 'getWeather', arguments: '{"city":"Paris"}' }] },
      { chunkSize: 8 },
    );

    const { final } = await streamResponse(client, {
      data: chatInput({
        threadId: 'thread-chat-3',
        messages: [user('u-weather', 'What is the weather in Paris?')],
        actions: [showAlert, disabledAction, remoteOnlyAction],
      }),
      properties: { userId: 'u-42', tenant: 'acme' },
    });

    expect(final.status).toMatchObject({ __typename: 'SuccessResponseStatus', code: 'Success' });
    const messages = messagesOf(final);
    expect(messages.map((m) => m.__typename)).toEqual(['ActionExecutionMessageOutput', 'ResultMessageOutput']);
    expect(messages[0]).toMatchObject({ id: 'call_getWeather_e2e', name: 'getWeather', status: { code: 'Success' } });
    expect(messages[0]!.arguments.join('')).toBe('{"city":"Paris"}');
    expect(messages[1]).toMatchObject({
      id: 'result-call_getWeather_e2e',
      actionExecutionId: 'call_getWeather_e2e',
      actionName: 'getWeather',
      result: '{"city":"Paris","tempC":21,"sky":"sunny"}',
      status: { code: 'Success' },
    });

    // The handler ran once, with the request's properties and thread.
    expect(weather.calls.slice(callsBefore)).toEqual([
      { args: { city: 'Paris' }, threadId: 'thread-chat-3', properties: { userId: 'u-42', tenant: 'acme' } },
    ]);

    // Server actions first, then enabled frontend actions; disabled and remote ones never reach the model.
    const offered = (modelRequestFor('weather in Paris').tools ?? []).map((t) => t.function.name);
    expect(offered).toEqual(expect.arrayContaining(['getWeather', 'failingAction', 'getTime', 'showAlert']));
    expect(offered).toHaveLength(4);
    expect(offered.at(-1)).toBe('showAlert');
    expect(offered).not.toContain('disabledAction');
    expect(offered).not.toContain('remoteOnlyAction');
  });

  it('turns a throwing server action into a HANDLER_ERROR result, and the response still succeeds', async () => {
    llm.mock.onMessage('Run the failing action', {
      toolCalls: [{ id: 'call_failingAction_e2e', name: 'failingAction', arguments: '{}' }],
    });

    const { final } = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-4', messages: [user('u-fail', 'Run the failing action')] }),
    });

    expect(final.status).toMatchObject({ __typename: 'SuccessResponseStatus', code: 'Success' });
    const messages = messagesOf(final);
    expect(messages.map((m) => m.__typename)).toEqual(['ActionExecutionMessageOutput', 'ResultMessageOutput']);
    expect(messages[1]).toMatchObject({
      id: 'result-call_failingAction_e2e',
      actionName: 'failingAction',
      result: '{"error":{"code":"HANDLER_ERROR","message":"boom from handler"},"result":""}',
      status: { code: 'Success' },
    });
  });

  it('runs two server actions called in one turn: both calls, then both results', async () => {
    const weather = rt.app.get(WeatherActions);
    const callsBefore = weather.calls.length;
    llm.mock.onMessage(
      'Weather in Berlin and the time',
      {
        toolCalls: [
          { id: 'call_two_weather', name: 'getWeather', arguments: '{"city":"Berlin"}' },
          { id: 'call_two_time', name: 'getTime', arguments: '{}' },
        ],
      },
      { chunkSize: 6 },
    );

    const { final } = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-5', messages: [user('u-two', 'Weather in Berlin and the time?')] }),
    });

    expect(final.status).toMatchObject({ code: 'Success' });
    const messages = messagesOf(final);
    expect(messages.map((m) => [m.__typename, m.id])).toEqual([
      ['ActionExecutionMessageOutput', 'call_two_weather'],
      ['ActionExecutionMessageOutput', 'call_two_time'],
      ['ResultMessageOutput', 'result-call_two_weather'],
      ['ResultMessageOutput', 'result-call_two_time'],
    ]);
    expect(messages[0]!.arguments.join('')).toBe('{"city":"Berlin"}');
    expect(messages[1]!.arguments.join('')).toBe('{}');
    expect(messages[2]).toMatchObject({ actionName: 'getWeather', result: '{"city":"Berlin","tempC":21,"sky":"sunny"}' });
    // A string result is sent as-is: only getTime's handler produces this text.
    expect(messages[3]).toMatchObject({ actionName: 'getTime', result: 'It is noon.' });
    expect(weather.calls.slice(callsBefore).map((c) => c.args)).toEqual([{ city: 'Berlin' }]);
    for (const message of messages) expect(message.status).toMatchObject({ code: 'Success' });
  });

  it('reports an LLM 401 as a failed status with an actionable description and no server internals', async () => {
    llm.mock.onMessage('trigger an auth failure', {
      error: { message: 'Incorrect API key provided: sk-bad.', type: 'invalid_request_error', code: 'invalid_api_key' },
      status: 401,
    });
    const recorder = recordFetch();
    const { final } = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-6', messages: [user('u-401', 'Please trigger an auth failure')] }),
    }).finally(() => recorder.restore());
    // The runtime's own call to the model goes through the same global fetch: keep the client's.
    const exchanges = recorder.exchanges.filter((exchange) => exchange.url.startsWith(rt.url));
    expect(exchanges).toHaveLength(1);
    const body = await exchanges[0]!.body;
    expect(exchanges[0]!.status).toBe(200);
    expect(final.messages).toEqual([]);
    expect(final.status).toMatchObject({
      __typename: 'FailedResponseStatus',
      code: 'Failed',
      reason: 'UNKNOWN_ERROR',
      details: {
        description: expect.stringMatching(/API key/),
        originalError: { code: 'AUTHENTICATION_ERROR', statusCode: 401, severity: 'critical', visibility: 'banner' },
      },
    });
    const description = (final.status as any).details.description as string;
    expect(description).toMatch(/OPENAI_API_KEY/);
    expect(description).toMatch(/401/);
    // Neither the merged result nor the raw bytes carry a stack trace or a server path.
    for (const text of [JSON.stringify(final), body]) {
      expect(text).not.toMatch(/stack/i);
      expect(text).not.toMatch(/\bat [\w.<>]+ \(/);
      expect(text).not.toMatch(/node_modules|\/work\/|\/home\/|\/usr\/|file:\/\//);
      expect(text).not.toMatch(/\.[cm]?[jt]s:\d+/);
    }
    expect(body).toContain('AUTHENTICATION_ERROR');
  });

  it('lists no agents, and loads a thread after a chat (unknown threads do not exist, unknown agents are AGENT_NOT_FOUND)', async () => {
    const agents = await client.availableAgents().toPromise();
    expect(agents.error).toBeUndefined();
    expect(agents.data?.availableAgents.agents).toEqual([]);

    llm.mock.onMessage('Remember this thread', { content: 'I will remember it.' });
    const { final } = await streamResponse(client, {
      data: chatInput({ threadId: 'thread-chat-8', messages: [user('u-remember', 'Remember this thread')] }),
    });
    expect(final.status).toMatchObject({ code: 'Success' });
    const assistantId = final.messages[0]!.id;
    await rt.persisted();

    // The built-in agent answered: it is the agent `default`.
    const loaded = await client.loadAgentState({ threadId: 'thread-chat-8', agentName: 'default' }).toPromise();
    expect(loaded.error).toBeUndefined();
    const state = loaded.data!.loadAgentState;
    expect(state).toMatchObject({ threadId: 'thread-chat-8', threadExists: true, state: '{}' });
    expect(JSON.parse(state.messages)).toEqual([
      expect.objectContaining({ id: 'u-remember', role: 'user', content: 'Remember this thread' }),
      expect.objectContaining({ id: assistantId, role: 'assistant', content: 'I will remember it.' }),
    ]);

    const unknownAgent = await client.loadAgentState({ threadId: 'thread-chat-8', agentName: 'anyAgent' }).toPromise();
    expect(unknownAgent.data).toBeFalsy();
    expect(unknownAgent.error?.graphQLErrors[0]?.extensions).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect(unknownAgent.error?.graphQLErrors[0]?.message).toBe("Agent 'anyAgent' was not found. Available agents: default.");

    const unknown = await client.loadAgentState({ threadId: 'thread-never-seen', agentName: 'default' }).toPromise();
    expect(unknown.error).toBeUndefined();
    expect(unknown.data!.loadAgentState).toMatchObject({
      threadId: 'thread-never-seen',
      threadExists: false,
      state: '{}',
      messages: '[]',
    });
  });

  it('stores each message of a two-turn conversation once, in order', async () => {
    llm.mock.onMessage('First question', { content: 'First answer.' });
    llm.mock.onMessage('Second question', { content: 'Second answer.' });
    const threadId = 'thread-chat-11';
    const system = new TextMessage({ id: 'sys-11', role: Role.System, content: 'You are helpful.' });
    const q1 = user('u-11-1', 'First question');
    const q2 = user('u-11-2', 'Second question');

    const turn1 = await streamResponse(client, { data: chatInput({ threadId, messages: [system, q1] }) });
    expect(turn1.final.status).toMatchObject({ code: 'Success' });
    // The second request resends the whole history, including the first answer, as the client does.
    const answer1 = convertGqlOutputToMessages(turn1.final.messages as any);
    const turn2 = await streamResponse(client, { data: chatInput({ threadId, messages: [system, q1, ...answer1, q2] }) });
    expect(turn2.final.status).toMatchObject({ code: 'Success' });
    await rt.persisted();

    const stored = await rt.app.get(ConversationStore).listMessages(threadId);
    expect(stored.map((m) => [m.id, m.role, m.content])).toEqual([
      ['sys-11', 'system', 'You are helpful.'],
      ['u-11-1', 'user', 'First question'],
      [turn1.final.messages[0]!.id, 'assistant', 'First answer.'],
      ['u-11-2', 'user', 'Second question'],
      [turn2.final.messages[0]!.id, 'assistant', 'Second answer.'],
    ]);
  });
});
