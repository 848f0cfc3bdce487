import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpAgent } from '@ag-ui/client';
import type { BaseEvent, Message } from '@ag-ui/core';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { DataSource } from 'typeorm';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { chatInput, GENERATE_COPILOT_RESPONSE as GENERATE, messagesOf, streamResponse, textOf, type FrontendAction } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule } from '../support/test-actions.module.js';
import { parseSse, postJson, runInput, send, userMessage } from '../v2/support/v2-client.js';

/**
 * Every provider by configuration, end to end: the runtime configured for Anthropic, Google
 * (Gemini API) and Ollama, each pointed at aimock's compatible endpoint; requests choose the model
 * as `provider:model` (v1 `forwardedParameters.model` with the real runtime-client-gql, v2
 * `forwardedProps.model` with the real @ag-ui/client HttpAgent). Each provider streams a text
 * answer and a tool call through both protocols with its usage recorded; provider HTTP errors map
 * to the CopilotKit codes; models outside the allow-list and unknown providers are refused before
 * anything is stored.
 */
const ANSWER = 'Bonjour! The provider answered in several small pieces.';
const USAGE = { input_tokens: 11, output_tokens: 7 };
const PROVIDERS = [
  { name: 'anthropic', model: 'anthropic:claude-haiku-4-5', usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 } },
  { name: 'google-genai', model: 'google-genai:gemini-2.5-flash', usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 } },
  // aimock's Ollama endpoint reports 0 tokens (test/llm/providers.spec.ts checks Ollama's real counts).
  { name: 'ollama', model: 'ollama:llama3.2', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 } },
];
const SHOW_ALERT = {
  name: 'showAlert',
  description: 'Show an alert in the browser',
  parameters: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
};

describe('LLM providers by configuration (aimock behind the real provider packages)', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;

  beforeAll(async () => {
    llm = await startAimock();
    for (const { name } of PROVIDERS) {
      for (const protocol of ['v1', 'v2']) {
        // A pause between chunks: what arrives together leaves together (one part per event-loop
        // turn), so a burst would reach the client as one snapshot; paced, it visibly streams.
        llm.mock.onMessage(`say hello via ${name} on ${protocol}`, { content: ANSWER, usage: USAGE } as any, { chunkSize: 7, latency: 5 });
        llm.mock.onMessage(`weather via ${name} on ${protocol}`, { toolCalls: [{ name: 'getWeather', arguments: '{"city":"Paris"}' }], usage: USAGE } as any);
        // The model's second step, once the server action's result is in the conversation.
        llm.mock.on({ userMessage: `forecast via ${name} on ${protocol}`, hasToolResult: true }, { content: `It is sunny in Paris (${name}).`, usage: USAGE } as any);
        llm.mock.on({ userMessage: `forecast via ${name} on ${protocol}`, hasToolResult: false }, { toolCalls: [{ name: 'getWeather', arguments: '{"city":"Paris"}' }], usage: USAGE } as any);
        llm.mock.onMessage(`alert via ${name} on ${protocol}`, { toolCalls: [{ name: 'showAlert', arguments: '{"message":"hi"}' }], usage: USAGE } as any);
      }
    }
    llm.mock.onMessage('anthropic key is bad', { error: { message: 'invalid x-api-key', type: 'authentication_error' }, status: 401 });
    llm.mock.onMessage('gemini is down', { error: { message: 'The service is currently unavailable.', type: 'UNAVAILABLE' }, status: 500 });
    llm.mock.onMessage('ollama is down', { error: { message: 'model runner crashed', type: 'server_error' }, status: 500 });
    rt = await startRuntimeApp({
      imports: [TestActionsModule],
      options: {
        llm: {
          anthropic: { apiKey: 'test-key', baseUrl: llm.url, maxRetries: 0 },
          google: { apiKey: 'test-key', baseUrl: llm.url, maxRetries: 0 },
          ollama: { baseUrl: llm.url },
          model: 'anthropic:claude-haiku-4-5',
          allowedModels: ['anthropic:claude-*', 'google-genai:gemini-*', 'ollama:llama3.2'],
        },
      },
    });
    client = new CopilotRuntimeClient({ url: rt.url });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  async function runsOf(threadId: string): Promise<Array<{ model: string; status: string; usage: unknown; error: any }>> {
    await rt.persisted();
    return rt.app.get(DataSource).query('SELECT model, status, usage, error FROM runs WHERE thread_id = $1 ORDER BY started_at', [threadId]);
  }

  async function storedRows(): Promise<Record<string, number>> {
    await rt.persisted();
    const counts: Record<string, number> = {};
    for (const table of ['threads', 'runs', 'messages']) {
      const [row] = await rt.app.get(DataSource).query(`SELECT count(*)::int AS n FROM ${table}`);
      counts[table] = row.n;
    }
    return counts;
  }

  function v1(threadId: string, text: string, model?: string, actions: FrontendAction[] = []) {
    const data = chatInput({ threadId, messages: [new TextMessage({ id: `${threadId}-u1`, role: Role.User, content: text })], actions });
    return streamResponse(client, { data: { ...data, forwardedParameters: model ? { model } : {} } });
  }

  async function v2(threadId: string, text: string, model?: string, tools: unknown[] = []) {
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId });
    agent.messages = [{ id: `${threadId}-u1`, role: 'user', content: text } as Message];
    const events: BaseEvent[] = [];
    await agent.runAgent({ tools: tools as any, forwardedProps: model ? { model } : {} }, { onEvent: ({ event }) => void events.push(event) });
    return { agent, events: events as Array<BaseEvent & Record<string, any>> };
  }

  describe.each(PROVIDERS)('$name', ({ name, model, usage }) => {
    it('v1: streams a text answer, recorded with its model and usage', async () => {
      const threadId = `v1-text-${name}`;
      const { final, snapshots } = await v1(threadId, `Please say hello via ${name} on v1`, model);
      expect(final.status).toMatchObject({ code: 'Success' });
      const [message] = messagesOf(final);
      expect(message).toMatchObject({ __typename: 'TextMessageOutput', role: 'assistant' });
      expect(textOf(message)).toBe(ANSWER);
      // Streamed: the client saw the text grow over several snapshots.
      expect(message!.content.length).toBeGreaterThan(1);
      expect(new Set(snapshots.map((s) => textOf(messagesOf(s.response)[0]))).size).toBeGreaterThan(2);
      expect(await runsOf(threadId)).toEqual([{ model, status: 'succeeded', usage, error: null }]);
    });

    it('v1: streams a tool call the runtime executes (a server action), with its result', async () => {
      const threadId = `v1-tool-${name}`;
      const { final } = await v1(threadId, `What is the weather via ${name} on v1?`, model);
      expect(final.status).toMatchObject({ code: 'Success' });
      const messages = messagesOf(final);
      expect(messages.map((m) => m.__typename)).toEqual(['ActionExecutionMessageOutput', 'ResultMessageOutput']);
      expect(messages[0]).toMatchObject({ name: 'getWeather' });
      expect(JSON.parse(messages[0]!.arguments.join(''))).toEqual({ city: 'Paris' });
      expect(messages[1]).toMatchObject({ actionName: 'getWeather', result: '{"city":"Paris","tempC":21,"sky":"sunny"}' });
      expect(await runsOf(threadId)).toEqual([{ model, status: 'succeeded', usage, error: null }]);
    });

    it('v2: streams a text answer through HttpAgent, recorded with its model and usage', async () => {
      const threadId = `v2-text-${name}`;
      const { agent, events } = await v2(threadId, `Please say hello via ${name} on v2`, model);
      expect(events.at(-1)?.type).toBe('RUN_FINISHED');
      const deltas = events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta);
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.join('')).toBe(ANSWER);
      expect(agent.messages.at(-1)).toMatchObject({ role: 'assistant', content: ANSWER });
      expect(await runsOf(threadId)).toEqual([{ model, status: 'succeeded', usage, error: null }]);
    });

    it('v2: sends a server action’s result back to the model in its own format, which then answers', async () => {
      const threadId = `v2-steps-${name}`;
      const requestsBefore = llm.mock.getRequests().length;
      const { events } = await v2(threadId, `Give me the forecast via ${name} on v2`, model);
      const kinds = events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1]);
      expect(kinds).toEqual([
        'RUN_STARTED',
        'TOOL_CALL_START',
        'TOOL_CALL_ARGS',
        'TOOL_CALL_END',
        'TOOL_CALL_RESULT',
        'TEXT_MESSAGE_START',
        'TEXT_MESSAGE_CONTENT',
        'TEXT_MESSAGE_END',
        'RUN_FINISHED',
      ]);
      expect(events.find((e) => e.type === 'TOOL_CALL_RESULT')).toMatchObject({ content: '{"city":"Paris","tempC":21,"sky":"sunny"}' });
      expect(events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('')).toBe(`It is sunny in Paris (${name}).`);
      // The second model call carried the call and its result (aimock shows them in OpenAI's shape).
      const calls = llm.mock.getRequests().slice(requestsBefore).map((entry) => (entry.body as any).messages);
      expect(calls).toHaveLength(2);
      expect(calls[1].map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool']);
      // Gemini's functionResponse takes an object: LangChain wraps a text result as {result}.
      const sentResult = name === 'google-genai' ? JSON.parse(calls[1][2].content).result : calls[1][2].content;
      expect(sentResult).toBe('{"city":"Paris","tempC":21,"sky":"sunny"}');
      // Both steps' tokens are recorded.
      const doubled = { inputTokens: usage.inputTokens * 2, outputTokens: usage.outputTokens * 2, totalTokens: usage.totalTokens * 2 };
      expect(await runsOf(threadId)).toEqual([{ model, status: 'succeeded', usage: doubled, error: null }]);
    });

    it('v2: streams a frontend tool call, which ends the run for the client to execute', async () => {
      const threadId = `v2-tool-${name}`;
      const { agent, events } = await v2(threadId, `Please show an alert via ${name} on v2`, model, [SHOW_ALERT]);
      const kinds = events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1]);
      expect(kinds).toEqual(['RUN_STARTED', 'TOOL_CALL_START', 'TOOL_CALL_ARGS', 'TOOL_CALL_END', 'RUN_FINISHED']);
      expect(events.find((e) => e.type === 'TOOL_CALL_START')).toMatchObject({ toolCallName: 'showAlert' });
      const assistant = agent.messages.at(-1) as any;
      expect(assistant.toolCalls).toEqual([expect.objectContaining({ function: { name: 'showAlert', arguments: '{"message":"hi"}' } })]);
      // The tool was offered to the model.
      const sent = llm.mock.getRequests().at(-1)!.body as any;
      expect(sent.tools.map((tool: any) => tool.function.name)).toContain('showAlert');
      expect(await runsOf(threadId)).toEqual([{ model, status: 'succeeded', usage, error: null }]);
    });
  });

  it('serves the configured default model when a request names none', async () => {
    const { final } = await v1('v1-default', 'Please say hello via anthropic on v1');
    expect(textOf(messagesOf(final)[0])).toBe(ANSWER);
    expect((await runsOf('v1-default'))[0]).toMatchObject({ model: 'anthropic:claude-haiku-4-5' });
    expect(llm.mock.getRequests().at(-1)!.path).toBe('/v1/messages');
  });

  describe('provider HTTP errors, mapped the same for every provider', () => {
    it('v1, Anthropic 401 → AUTHENTICATION_ERROR naming ANTHROPIC_API_KEY', async () => {
      const { final } = await v1('v1-401', 'Why is the anthropic key is bad?', 'anthropic:claude-haiku-4-5');
      expect(final.status).toMatchObject({
        __typename: 'FailedResponseStatus',
        details: {
          description: 'The LLM provider rejected the API key (401): invalid x-api-key. Check ANTHROPIC_API_KEY.',
          originalError: { code: 'AUTHENTICATION_ERROR', statusCode: 401 },
        },
      });
      expect((await runsOf('v1-401'))[0]).toMatchObject({ status: 'failed', error: { code: 'AUTHENTICATION_ERROR' } });
    });

    it('v2, Gemini 500 → RUN_ERROR NETWORK_ERROR', async () => {
      const reply = await postJson(`${rt.url}/agent/default/run`, runInput({
        threadId: 'v2-500-google',
        runId: 'v2-500-google-r1',
        messages: [userMessage('g1', 'Is gemini is down?')],
        forwardedProps: { model: 'google-genai:gemini-2.5-flash' },
      }));
      expect(reply.status).toBe(200);
      const { events } = parseSse(reply.text);
      expect(events.at(-1)).toMatchObject({
        type: 'RUN_ERROR',
        code: 'NETWORK_ERROR',
        message: 'The LLM provider failed (500): The service is currently unavailable. Try again later.',
      });
      expect(reply.text).not.toMatch(/node_modules|GoogleGenerativeAI|127\.0\.0\.1/);
    });

    it('v2, Ollama 500 → RUN_ERROR NETWORK_ERROR', async () => {
      const { events } = parseSse(
        (
          await postJson(`${rt.url}/agent/default/run`, runInput({
            threadId: 'v2-500-ollama',
            runId: 'v2-500-ollama-r1',
            messages: [userMessage('o1', 'Is ollama is down?')],
            forwardedProps: { model: 'ollama:llama3.2' },
          }))
        ).text,
      );
      expect(events.at(-1)).toMatchObject({ type: 'RUN_ERROR', code: 'NETWORK_ERROR', message: 'The LLM provider failed (500): model runner crashed. Try again later.' });
    });
  });

  describe('models a request may not have: refused before anything is stored', () => {
    const allowed =
      'Allowed models: anthropic:claude-*, google-genai:gemini-*, ollama:llama3.2 (default: anthropic:claude-haiku-4-5). ' +
      'Write a model as provider:model, e.g. anthropic:claude-sonnet-4-5.';

    it.each([
      ['ollama:qwen3', 'forwardedParameters.model "ollama:qwen3" is not an allowed model.'],
      [
        'mistral:mistral-large',
        'forwardedParameters.model "mistral:mistral-large" names the unknown provider "mistral" (providers: custom, openai, anthropic, google-genai, ollama; ' +
          'a model name containing ":" is written with its provider, e.g. openai:mistral:mistral-large).',
      ],
      ['gpt-4o', 'forwardedParameters.model "gpt-4o" is a model of openai (no provider prefix), which is not configured on this server.'],
    ])('v1 %s: BAD_USER_INPUT (HTTP 200, GraphQL error), no thread or run stored, the model not called', async (model, problem) => {
      const before = await storedRows();
      const calls = llm.mock.getRequests().length;
      const data = { ...chatInput({ threadId: `v1-refused-${model}`, messages: [new TextMessage({ id: 'r1', role: Role.User, content: 'hi' })] }), forwardedParameters: { model } };
      const reply = await send(rt.url, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operationName: 'generateCopilotResponse', query: GENERATE, variables: { data, properties: {} } }),
      });
      expect(reply.status).toBe(200);
      const body = JSON.parse(reply.text);
      expect(body.errors).toEqual([
        expect.objectContaining({ message: `${problem} ${allowed}`, extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
      ]);
      expect(await storedRows()).toEqual(before);
      expect(llm.mock.getRequests().length).toBe(calls);
    });

    it.each([
      ['google-genai:learnlm-2.0', 'forwardedProps.model "google-genai:learnlm-2.0" is not an allowed model.'],
      ['bedrock:claude', 'forwardedProps.model "bedrock:claude" names the unknown provider "bedrock" (providers: custom, openai, anthropic, google-genai, ollama; a model name containing ":" is written with its provider, e.g. openai:bedrock:claude).'],
    ])('v2 %s: 400 BAD_USER_INPUT, no thread or run stored, the model not called', async (model, problem) => {
      const before = await storedRows();
      const calls = llm.mock.getRequests().length;
      const reply = await postJson(`${rt.url}/agent/default/run`, runInput({
        threadId: `v2-refused-${model}`,
        runId: `v2-refused-${model}-r1`,
        messages: [userMessage('r1', 'hi')],
        forwardedProps: { model },
      }));
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text)).toEqual({ error: 'Invalid request', code: 'BAD_USER_INPUT', message: `${problem} ${allowed}`, errorId: expect.stringMatching(/^err-/) });
      expect(await storedRows()).toEqual(before);
      expect(llm.mock.getRequests().length).toBe(calls);
    });
  });
});
