import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { LlmOptions } from '../../src/config/runtime-options.js';
import type { ModelCallSettings } from '../../src/llm/chat-model-provider.js';
import { ChatModelResolver } from '../../src/llm/chat-model-resolver.js';
import { LangChainChatEngine } from '../../src/llm/langchain-chat-engine.js';
import { LlmModule } from '../../src/llm/llm.module.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { waitFor } from '../support/wait-for.js';
import { closedPort } from './connection-probe.js';
import { ANSWER, collect, ofType, PARALLEL_WEATHER_CALLS, turnRequest, WEATHER_TOOL } from './support.js';

/**
 * Anthropic, Google (Gemini API) and Ollama through their real LangChain packages, each pointed at
 * aimock's compatible endpoint (`/v1/messages`, `/v1beta/models/...:streamGenerateContent`,
 * `/api/chat`): the same AG-UI events, token usage and error codes as OpenAI.
 */

interface ProviderCase {
  name: string;
  model: string;
  llm: (llm: AimockServer) => LlmOptions;
  /** The path aimock serves for it. */
  path: RegExp;
  /** What it reports for 11 input and 7 output tokens (aimock's Ollama always reports 0). */
  usage: { inputTokens: number; outputTokens: number; totalTokens: number };
  apiKeySetting?: string;
  baseUrlSetting: string;
  /** Point it at another base URL. */
  at: (url: string) => LlmOptions;
}

const CASES: ProviderCase[] = [
  {
    name: 'anthropic',
    model: 'anthropic:claude-sonnet-4-5',
    llm: (llm) => ({ anthropic: { apiKey: 'test-key', baseUrl: llm.url, maxRetries: 0 } }),
    path: /^\/v1\/messages$/,
    usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 },
    apiKeySetting: 'ANTHROPIC_API_KEY',
    baseUrlSetting: 'ANTHROPIC_BASE_URL',
    at: (url) => ({ anthropic: { apiKey: 'test-key', baseUrl: url, maxRetries: 0 } }),
  },
  {
    name: 'google-genai',
    model: 'google-genai:gemini-2.5-flash',
    llm: (llm) => ({ google: { apiKey: 'test-key', baseUrl: llm.url, maxRetries: 0 } }),
    path: /^\/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent/,
    usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 },
    apiKeySetting: 'GOOGLE_API_KEY',
    baseUrlSetting: 'GOOGLE_BASE_URL',
    at: (url) => ({ google: { apiKey: 'test-key', baseUrl: url, maxRetries: 0 } }),
  },
  {
    name: 'ollama',
    model: 'ollama:llama3.2',
    llm: (llm) => ({ ollama: { baseUrl: llm.url } }),
    path: /^\/api\/chat$/,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    baseUrlSetting: 'OLLAMA_BASE_URL',
    at: (url) => ({ ollama: { baseUrl: url } }),
  },
];

async function resolverFor(llm: LlmOptions): Promise<ChatModelResolver> {
  const moduleRef = await Test.createTestingModule({ imports: [LlmModule.register({ llm })] }).compile();
  return moduleRef.get(ChatModelResolver);
}

describe.each(CASES)('$name through its LangChain package and aimock', (provider) => {
  const engine = new LangChainChatEngine();
  let llm: AimockServer;
  let resolver: ChatModelResolver;

  beforeAll(async () => {
    llm = await startAimock();
    const usage = { input_tokens: 11, output_tokens: 7 };
    llm.mock.onMessage('tell me a sentence', { content: ANSWER, usage } as any, { chunkSize: 6 });
    llm.mock.onMessage('weather in Paris and Berlin', {
      toolCalls: PARALLEL_WEATHER_CALLS,
    });
    llm.mock.onMessage('weather in Paris', { toolCalls: [{ id: 'call_paris', name: 'getWeather', arguments: '{"city":"Paris"}' }], usage } as any);
    llm.mock.onMessage('bad key', { error: { message: 'invalid x-api-key', type: 'authentication_error' }, status: 401 });
    llm.mock.onMessage('bad request', { error: { message: 'max_tokens: must be positive', type: 'invalid_request_error' }, status: 400 });
    llm.mock.onMessage('too many', { error: { message: 'Rate limit exceeded', type: 'rate_limit_error' }, status: 429 });
    llm.mock.onMessage('server down', { error: { message: 'Overloaded', type: 'overloaded_error' }, status: 500 });
    resolver = await resolverFor(provider.llm(llm));
  });

  afterAll(async () => {
    await llm.stop();
  });

  function turn(text: string, settings: ModelCallSettings = {}, tools = [WEATHER_TOOL]) {
    const resolved = resolver.resolve({ model: provider.model, ...settings });
    const stream = engine.streamChatTurn(resolved.model, turnRequest({ text, tools, settings }), resolved.errorContext);
    return { resolved, stream };
  }

  async function failureOf(text: string, resolverToUse = resolver): Promise<CopilotRuntimeError> {
    const resolved = resolverToUse.resolve({ model: provider.model });
    const failure = await collect(engine.streamChatTurn(resolved.model, turnRequest({ text }), resolved.errorContext).events).then(
      () => new Error('expected the turn to fail'),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CopilotRuntimeError);
    return failure as CopilotRuntimeError;
  }

  it('streams a text answer in deltas, with the usage it reported', async () => {
    const { resolved, stream } = turn('tell me a sentence');
    expect(resolved).toMatchObject({ provider: provider.name, modelName: provider.model });
    const events = await collect(stream.events);
    expect(events.map((event) => event.type)).toEqual([
      'TEXT_MESSAGE_START',
      ...ofType(events, 'TEXT_MESSAGE_CONTENT').map(() => 'TEXT_MESSAGE_CONTENT'),
      'TEXT_MESSAGE_END',
    ]);
    const deltas = ofType(events, 'TEXT_MESSAGE_CONTENT').map((event: any) => event.delta);
    expect(deltas.join('')).toBe(ANSWER);
    // Streamed, not one block at the end (aimock sends 6 characters a chunk).
    expect(deltas.length).toBeGreaterThan(1);
    expect(stream.usage()).toEqual(provider.usage);
    const request = llm.mock.getRequests().at(-1)!;
    expect(request.path).toMatch(provider.path);
  });

  it('streams a tool call: its name, its arguments, its end; the tool was offered in the provider’s format', async () => {
    const { stream } = turn('weather in Paris');
    const events = await collect(stream.events);
    expect(events.map((event) => event.type).filter((type) => type !== 'TOOL_CALL_ARGS')).toEqual(['TOOL_CALL_START', 'TOOL_CALL_END']);
    const [start] = ofType(events, 'TOOL_CALL_START') as any[];
    expect(start.toolCallName).toBe('getWeather');
    const args = ofType(events, 'TOOL_CALL_ARGS').map((event: any) => event.delta).join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    expect(ofType(events, 'TOOL_CALL_END')).toEqual([expect.objectContaining({ toolCallId: start.toolCallId })]);
    // aimock translates each provider's tool format into OpenAI's in its journal.
    const sent = llm.mock.getRequests().at(-1)!.body as any;
    expect(sent.tools).toEqual([
      { type: 'function', function: { name: 'getWeather', description: 'The weather in a city.', parameters: expect.objectContaining({ properties: { city: { type: 'string' } } }) } },
    ]);
  });

  it('streams parallel tool calls as separate calls, each with its own arguments', async () => {
    const events = await collect(turn('weather in Paris and Berlin').stream.events);
    const starts = ofType(events, 'TOOL_CALL_START') as any[];
    expect(starts.map((start) => start.toolCallName)).toEqual(['getWeather', 'getWeather']);
    expect(new Set(starts.map((start) => start.toolCallId)).size).toBe(2);
    const argsOf = (id: string) => JSON.parse(ofType(events, 'TOOL_CALL_ARGS').filter((e: any) => e.toolCallId === id).map((e: any) => e.delta).join(''));
    expect(starts.map((start) => argsOf(start.toolCallId))).toEqual([{ city: 'Paris' }, { city: 'Berlin' }]);
    expect(ofType(events, 'TOOL_CALL_END')).toHaveLength(2);
  });

  it('sends temperature and max tokens in the provider’s own fields', async () => {
    await collect(turn('tell me a sentence', { temperature: 0.25, maxTokens: 321 }).stream.events);
    const sent = llm.mock.getRequests().at(-1)!.body as any;
    expect({ temperature: sent.temperature, max_tokens: sent.max_tokens }).toEqual({ temperature: 0.25, max_tokens: 321 });
  });

  it('401 → AUTHENTICATION_ERROR with the provider’s words', async () => {
    const failure = await failureOf('bad key');
    expect(failure.code).toBe('AUTHENTICATION_ERROR');
    const check = provider.apiKeySetting ? `Check ${provider.apiKeySetting}.` : 'Check the API key of the configured chat model.';
    expect(failure.message).toBe(`The LLM provider rejected the API key (401): invalid x-api-key. ${check}`);
  });

  it('400 → CONFIGURATION_ERROR, 429 → CONFIGURATION_ERROR, 500 → NETWORK_ERROR', async () => {
    const badRequest = await failureOf('bad request');
    expect(badRequest).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect(badRequest.message).toContain('(400): max_tokens: must be positive.');
    const tooMany = await failureOf('too many');
    expect(tooMany).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect(tooMany.message).toContain('rate limiting or out of quota (429): Rate limit exceeded.');
    const serverDown = await failureOf('server down');
    expect(serverDown).toMatchObject({ code: 'NETWORK_ERROR', message: 'The LLM provider failed (500): Overloaded. Try again later.' });
  });

  it('connection refused → NETWORK_ERROR naming the base URL setting', async () => {
    const nowhere = await resolverFor(provider.at(`http://127.0.0.1:${await closedPort()}`));
    const failure = await failureOf('tell me a sentence', nowhere);
    expect(failure.code).toBe('NETWORK_ERROR');
    expect(failure.message).toMatch(new RegExp(`^Could not reach the LLM provider.*Check ${provider.baseUrlSetting} and that the server is reachable\\.$`));
    expect(failure.message).not.toMatch(/node_modules|\n/);
  });

  it('takes the runtime’s context system message after the client’s own (one system instruction for Gemini)', async () => {
    const resolved = resolver.resolve({ model: provider.model });
    const request = turnRequest({
      messages: [
        { id: 's1', role: 'system', content: 'You are terse.' },
        { id: 'copilot-context', role: 'system', content: 'Context: the user is in Paris.' },
        { id: 'u1', role: 'user', content: 'tell me a sentence' },
      ],
    });
    const events = await collect(engine.streamChatTurn(resolved.model, request, resolved.errorContext).events);
    expect(ofType(events, 'TEXT_MESSAGE_CONTENT').map((event: any) => event.delta).join('')).toBe(ANSWER);
    // Both instructions reach the model, in order: Gemini's joined into one, Anthropic's as two
    // system blocks (which aimock joins), Ollama's as two system messages.
    const sent = (llm.mock.getRequests().at(-1)!.body as any).messages;
    const system = sent.filter((m: any) => m.role === 'system').map((m: any) => m.content);
    expect(system.join('\n\n')).toMatch(/^You are terse\.(\n\n)?Context: the user is in Paris\.$/);
    if (provider.name === 'google-genai') expect(system).toHaveLength(1);
  });
});

describe('token usage as each provider reports it', () => {
  let ollama: Server;
  let url: string;

  beforeAll(async () => {
    // Ollama's own NDJSON stream, with the counts a real server sends in its last line (aimock's are 0).
    ollama = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const line = (message: object, extra: object = {}) =>
          `${JSON.stringify({ model: 'llama3.2', created_at: new Date().toISOString(), message, ...extra })}\n`;
        res.write(line({ role: 'assistant', content: 'Hello' }, { done: false }));
        res.write(line({ role: 'assistant', content: ' there' }, { done: false }));
        res.end(line({ role: 'assistant', content: '' }, { done: true, done_reason: 'stop', prompt_eval_count: 26, eval_count: 9 }));
      });
    });
    await new Promise<void>((resolve) => ollama.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(ollama.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => ollama.close(resolve));
  });

  it('Ollama: prompt_eval_count and eval_count of the last line', async () => {
    const resolver = await resolverFor({ ollama: { baseUrl: url } });
    const resolved = resolver.resolve({ model: 'ollama:llama3.2' });
    const stream = new LangChainChatEngine().streamChatTurn(resolved.model, turnRequest({ text: 'hi' }), resolved.errorContext);
    const events = await collect(stream.events);
    expect(ofType(events, 'TEXT_MESSAGE_CONTENT').map((event: any) => event.delta)).toEqual(['Hello', ' there']);
    expect(stream.usage()).toEqual({ inputTokens: 26, outputTokens: 9, totalTokens: 35 });
  });
});

describe('a provider that does not start answering in time', () => {
  let silent: Server;
  let url: string;
  const requests: Array<{ closed: boolean }> = [];

  beforeAll(async () => {
    // Takes every request and says nothing, like a provider that hangs (or an Ollama loading a model).
    silent = createServer((req, res) => {
      const seen = { closed: false };
      requests.push(seen);
      res.on('close', () => (seen.closed = true));
      req.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each([
    ['anthropic', { anthropic: { apiKey: 'k', maxRetries: 0, timeoutMs: 200 } }, 'anthropic:claude-haiku-4-5'],
    ['google-genai', { google: { apiKey: 'k', maxRetries: 0, timeoutMs: 200 } }, 'google-genai:gemini-2.5-flash'],
    ['ollama', { ollama: { timeoutMs: 200 } }, 'ollama:llama3.2'],
  ] as const)('%s: NETWORK_ERROR after LLM_TIMEOUT_MS, the connection closed', async (name, options, model) => {
    const key = Object.keys(options)[0] as 'anthropic' | 'google' | 'ollama';
    const resolver = await resolverFor({ [key]: { ...(options as any)[key], baseUrl: url } });
    const resolved = resolver.resolve({ model });
    const before = requests.length;
    const failure = await collect(new LangChainChatEngine().streamChatTurn(resolved.model, turnRequest({ text: 'hi' }), resolved.errorContext).events).then(
      () => new Error('expected a timeout'),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CopilotRuntimeError);
    expect(failure).toMatchObject({ code: 'NETWORK_ERROR' });
    if (name !== 'anthropic') {
      // (Under Jest's VM the Anthropic SDK cannot recognise its own timeout class and reports a
      // connection error, as the OpenAI one does: see provider-errors.spec.ts.)
      expect((failure as Error).message).toBe('The LLM provider did not answer in time: No answer within 200 ms. Try again later, or raise LLM_TIMEOUT_MS.');
    }
    expect(requests.length).toBe(before + 1);
    await waitFor(() => requests.at(-1)!.closed);
  });
});

describe('cancelling an Ollama call', () => {
  it('hangs up on Ollama at once when the run is aborted before the first chunk (a model still loading)', async () => {
    const requests: Array<{ closed: boolean }> = [];
    // An Ollama that takes the request and says nothing yet, as while it loads a model.
    const silent = createServer((req, res) => {
      const seen = { closed: false };
      requests.push(seen);
      res.on('close', () => (seen.closed = true));
      req.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const resolver = await resolverFor({ ollama: { baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` } });
      const resolved = resolver.resolve({ model: 'ollama:llama3.2' });
      const abort = new AbortController();
      const stream = new LangChainChatEngine().streamChatTurn(resolved.model, turnRequest({ text: 'hi', signal: abort.signal }), resolved.errorContext);
      const events = collect(stream.events);
      await waitFor(() => requests.length === 1);
      abort.abort();
      // The iteration ends quietly (an abort is not a failure) and the connection is closed.
      await expect(events).resolves.toEqual([]);
      await waitFor(() => requests[0]!.closed);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
