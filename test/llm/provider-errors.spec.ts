import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { LangChainChatEngine } from '../../src/llm/langchain-chat-engine.js';
import { OpenAIChatModelProvider } from '../../src/llm/openai-chat-model.provider.js';
import { isAbortError, toCopilotRuntimeError } from '../../src/llm/provider-errors.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { closedPort } from './connection-probe.js';
import { collect, openAIModel, turnRequest } from './support.js';

const openAIErrorContext = { provider: 'openai', settingNames: new OpenAIChatModelProvider({}).settingNames };

describe('provider failures through the engine (real ChatOpenAI, aimock)', () => {
  const engine = new LangChainChatEngine();
  let llm: AimockServer;

  beforeAll(async () => {
    llm = await startAimock();
    const { mock } = llm;
    mock.onMessage('bad key', {
      error: { message: 'Incorrect API key provided: sk-bad.', type: 'invalid_request_error', code: 'invalid_api_key' },
      status: 401,
    });
    mock.onMessage('bad request', {
      error: { message: "Unsupported value: 'temperature' does not support 0.2 with this model.", type: 'invalid_request_error' },
      status: 400,
    });
    mock.onMessage('server down', { error: { message: 'The server had an error while processing your request.', type: 'server_error' }, status: 500 });
    mock.onMessage('too many', { error: { message: 'Rate limit reached for gpt-4o-mini.', type: 'rate_limit_error' }, status: 429 });
    mock.onMessage('slow start', { content: 'late' }, { streamingProfile: { ttft: 1500 } });
    mock.onMessage('hang up', { content: 'word '.repeat(100) }, { chunkSize: 5, latency: 20, disconnectAfterMs: 100 });
  });

  afterAll(async () => {
    await llm.stop();
  });

  async function failureOf(text: string, baseURL = llm.baseURL, timeoutMs?: number): Promise<CopilotRuntimeError> {
    const model = openAIModel(baseURL, {}, timeoutMs ? { timeoutMs } : {});
    const failure = await collect(engine.streamChatTurn(model, turnRequest({ text }), openAIErrorContext).events).then(
      () => {
        throw new Error('expected the turn to fail');
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CopilotRuntimeError);
    return failure as CopilotRuntimeError;
  }

  it('401 → AUTHENTICATION_ERROR naming the setting to fix', async () => {
    const failure = await failureOf('bad key');
    expect(failure.code).toBe('AUTHENTICATION_ERROR');
    expect(failure.message).toBe(
      'The LLM provider rejected the API key (401): Incorrect API key provided: sk-bad. Check OPENAI_API_KEY.',
    );
  });

  it('400 → CONFIGURATION_ERROR with the provider’s words', async () => {
    const failure = await failureOf('bad request');
    expect(failure.code).toBe('CONFIGURATION_ERROR');
    expect(failure.message).toContain("(400): Unsupported value: 'temperature' does not support 0.2 with this model.");
  });

  it('404 (unknown model or endpoint) → CONFIGURATION_ERROR naming LLM_MODEL and OPENAI_BASE_URL', async () => {
    const failure = await failureOf('matches no fixture');
    expect(failure.code).toBe('CONFIGURATION_ERROR');
    expect(failure.message).toMatch(/\(404\).*Check LLM_MODEL and OPENAI_BASE_URL\.$/);
    expect(failure.message).not.toContain('Troubleshooting URL');
  });

  it('429 → CONFIGURATION_ERROR about rate limits and quota', async () => {
    const failure = await failureOf('too many');
    expect(failure.code).toBe('CONFIGURATION_ERROR');
    expect(failure.message).toContain('rate limiting or out of quota (429): Rate limit reached for gpt-4o-mini.');
  });

  it('500 → NETWORK_ERROR', async () => {
    const failure = await failureOf('server down');
    expect(failure.code).toBe('NETWORK_ERROR');
    expect(failure.message).toBe(
      'The LLM provider failed (500): The server had an error while processing your request. Try again later.',
    );
  });

  it('connection refused → NETWORK_ERROR naming the base URL setting', async () => {
    const failure = await failureOf('hello', `http://127.0.0.1:${await closedPort()}/v1`);
    expect(failure.code).toBe('NETWORK_ERROR');
    expect(failure.message).toMatch(/^Could not reach the LLM provider: connect ECONNREFUSED 127\.0\.0\.1:\d+\. Check OPENAI_BASE_URL/);
  });

  it('no answer within the timeout → NETWORK_ERROR', async () => {
    // The answer would come after 1.5 s and succeed: a failure at all means the 200 ms timeout fired.
    const failure = await failureOf('slow start', llm.baseURL, 200);
    expect(failure.code).toBe('NETWORK_ERROR');
    // Under Jest's VM the OpenAI SDK cannot recognise its own timeout (cross-realm instanceof) and
    // reports a connection error; plain Node gives the TimeoutError tested below.
    expect(failure.message).not.toContain('{}');
  });

  it('a stream cut off mid-answer → NETWORK_ERROR', async () => {
    const failure = await failureOf('hang up');
    expect(failure.code).toBe('NETWORK_ERROR');
    expect(failure.message).toMatch(/^The connection to the LLM provider broke off/);
  });
});

describe('toCopilotRuntimeError', () => {
  it('keeps CopilotRuntimeErrors as they are', () => {
    const original = new CopilotRuntimeError('BAD_USER_INPUT', 'nope');
    expect(toCopilotRuntimeError(original)).toBe(original);
  });

  it('speaks of the configured chat model when the provider names no settings', () => {
    const failure = toCopilotRuntimeError(Object.assign(new Error('401 invalid x-api-key'), { status: 401 }));
    expect(failure.message).toBe(
      'The LLM provider rejected the API key (401): invalid x-api-key. Check the API key of the configured chat model.',
    );
  });

  it('reads statuses from response.status and LangChain error codes too', () => {
    expect(toCopilotRuntimeError({ message: 'x', response: { status: 503 } }).code).toBe('NETWORK_ERROR');
    expect(toCopilotRuntimeError(Object.assign(new Error('denied'), { lc_error_code: 'MODEL_AUTHENTICATION' })).code).toBe(
      'AUTHENTICATION_ERROR',
    );
  });

  it('never echoes stack frames or local paths', () => {
    const error = Object.assign(
      new Error('400 Bad thing in /home/app/node_modules/lib/index.js\n    at foo (/home/app/x.js:1:1)\n    at bar'),
      { status: 400 },
    );
    const failure = toCopilotRuntimeError(error);
    expect(failure.message).toBe(
      'The LLM provider rejected the request (400): Bad thing in <path>. Check the model settings (model, temperature, max tokens, tools).',
    );
    expect(toCopilotRuntimeError(Object.assign(new Error('see https://platform.openai.com/account/api-keys'), { status: 401 })).message).toContain(
      'https://platform.openai.com/account/api-keys',
    );
  });

  it('recognises the timeout ChatOpenAI reports (LangChain renames the SDK error TimeoutError)', () => {
    const timeout = Object.assign(new Error('Request timed out.'), { name: 'TimeoutError' });
    const failure = toCopilotRuntimeError(timeout, { settingNames: { timeout: 'LLM_TIMEOUT_MS' } });
    expect(failure.code).toBe('NETWORK_ERROR');
    expect(failure.message).toBe('The LLM provider did not answer in time: Request timed out. Try again later, or raise LLM_TIMEOUT_MS.');
  });

  it('makes errors that do not come from the provider call UNKNOWN', () => {
    const failure = toCopilotRuntimeError(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(failure.code).toBe('UNKNOWN');
    expect(failure.message).toBe("The LLM call failed: Cannot read properties of undefined (reading 'x').");
  });
});

describe('isAbortError', () => {
  it('recognises aborts, not failures', () => {
    expect(isAbortError(new DOMException('This operation was aborted', 'AbortError'))).toBe(true);
    expect(isAbortError(new Error('boom'), AbortSignal.abort())).toBe(true);
    expect(isAbortError(new Error('boom'))).toBe(false);
  });
});
