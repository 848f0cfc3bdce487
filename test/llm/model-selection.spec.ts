import { describe, expect, it } from '@jest/globals';
import { ChatAnthropic } from '@langchain/anthropic';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { ChatOpenAI } from '@langchain/openai';
import { Test } from '@nestjs/testing';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { LlmOptions } from '../../src/config/runtime-options.js';
import type { ChatModelProvider } from '../../src/llm/chat-model-provider.js';
import { ChatModelResolver } from '../../src/llm/chat-model-resolver.js';
import { GeminiChatModel } from '../../src/llm/google-chat-model.provider.js';
import { LlmModule } from '../../src/llm/llm.module.js';
import { isModelAllowed, parseModelPatterns } from '../../src/llm/model-allow-list.js';
import { ModelCache } from '../../src/llm/model-cache.js';
import { BUILT_IN_PROVIDERS, parseModelSpec } from '../../src/llm/model-spec.js';
import { CancellableChatOllama } from '../../src/llm/ollama-chat-model.provider.js';

const ALL = { openai: { apiKey: 'sk-test' }, anthropic: { apiKey: 'sk-ant' }, google: { apiKey: 'g-key' }, ollama: { baseUrl: 'http://127.0.0.1:11434' } };

async function resolverFor(llm: LlmOptions): Promise<ChatModelResolver> {
  const moduleRef = await Test.createTestingModule({ imports: [LlmModule.register({ llm })] }).compile();
  return moduleRef.get(ChatModelResolver);
}

function refusal(resolve: () => unknown): CopilotRuntimeError {
  try {
    resolve();
  } catch (error) {
    expect(error).toBeInstanceOf(CopilotRuntimeError);
    return error as CopilotRuntimeError;
  }
  throw new Error('expected a refusal');
}

describe('model strings', () => {
  it('reads provider:model, splitting at the first colon, with aliases', () => {
    expect(parseModelSpec('anthropic:claude-sonnet-4-5', BUILT_IN_PROVIDERS)).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5' });
    expect(parseModelSpec('ollama:llama3.2:3b', BUILT_IN_PROVIDERS)).toEqual({ provider: 'ollama', model: 'llama3.2:3b' });
    expect(parseModelSpec('Google:gemini-2.5-flash', BUILT_IN_PROVIDERS)).toEqual({ provider: 'google-genai', model: 'gemini-2.5-flash' });
    expect(parseModelSpec('  gpt-4o-mini ', BUILT_IN_PROVIDERS)).toEqual({ model: 'gpt-4o-mini' });
  });

  it.each([
    ['', 'is empty'],
    ['mistral:large', 'names the unknown provider "mistral" (providers: openai, anthropic, google-genai, ollama; a model name containing ":" is written with its provider, e.g. openai:mistral:large)'],
    ['llama3.2:3b', 'names the unknown provider "llama3.2" (providers: openai, anthropic, google-genai, ollama; a model name containing ":" is written with its provider, e.g. openai:llama3.2:3b)'],
    ['anthropic:', 'names no model after "anthropic:"'],
    ['gpt 4o', 'contains whitespace or control characters'],
    ['x'.repeat(201), 'is longer than 200 characters'],
  ])('refuses %j: it %s', (text, message) => {
    expect(() => parseModelSpec(text, BUILT_IN_PROVIDERS)).toThrow(message);
  });
});

describe('allow-list patterns', () => {
  const patterns = parseModelPatterns('anthropic:*, openai:gpt-4o*,ollama:llama3.2:*,gemini-*', BUILT_IN_PROVIDERS, 'openai');

  it('matches provider and model glob', () => {
    expect(isModelAllowed(patterns, 'anthropic', 'claude-haiku-4-5')).toBe(true);
    expect(isModelAllowed(patterns, 'openai', 'gpt-4o-mini')).toBe(true);
    expect(isModelAllowed(patterns, 'openai', 'gpt-4.1')).toBe(false);
    expect(isModelAllowed(patterns, 'ollama', 'llama3.2:3b')).toBe(true);
    expect(isModelAllowed(patterns, 'ollama', 'llama3.2')).toBe(false);
    // A bare pattern is for bare model names' provider; dots are literal.
    expect(isModelAllowed(patterns, 'openai', 'gemini-x')).toBe(true);
    expect(isModelAllowed(patterns, 'google-genai', 'gemini-x')).toBe(false);
    expect(isModelAllowed(parseModelPatterns('openai:gpt-4.1', BUILT_IN_PROVIDERS, 'openai'), 'openai', 'gpt-4x1')).toBe(false);
    expect(isModelAllowed(parseModelPatterns('*:*', BUILT_IN_PROVIDERS, 'openai'), 'ollama', 'anything')).toBe(true);
  });

  it.each([
    ['', 'lists no pattern'],
    ['anthropic:*,,openai:*', 'entry 2 is empty'],
    ['mistral:*', 'entry 1 "mistral:*" names the unknown provider "mistral" (providers: openai, anthropic, google-genai, ollama)'],
    ['anthropic:', 'entry 1 "anthropic:" has no model after "anthropic:" (use anthropic:* for all its models)'],
  ])('refuses %j: %s', (source, message) => {
    expect(() => parseModelPatterns(source, BUILT_IN_PROVIDERS, 'openai')).toThrow(message);
  });
});

describe('ChatModelResolver: which model a request gets', () => {
  it('builds each provider’s LangChain model from provider:model, and records it so', async () => {
    const resolver = await resolverFor(ALL);
    const anthropic = resolver.resolve({ model: 'anthropic:claude-haiku-4-5', temperature: 0.3, maxTokens: 50 });
    expect(anthropic).toMatchObject({ provider: 'anthropic', modelName: 'anthropic:claude-haiku-4-5' });
    expect(anthropic.model).toBeInstanceOf(ChatAnthropic);
    expect(anthropic.model).toMatchObject({ model: 'claude-haiku-4-5', temperature: 0.3, maxTokens: 50, apiUrl: 'https://api.anthropic.com' });
    expect(anthropic.errorContext).toMatchObject({ provider: 'anthropic', usageReporting: 'cumulative-output', settingNames: { apiKey: 'ANTHROPIC_API_KEY' } });

    const google = resolver.resolve({ model: 'google-genai:gemini-2.5-pro' });
    expect(google.model).toBeInstanceOf(GeminiChatModel);
    expect(google).toMatchObject({ modelName: 'google-genai:gemini-2.5-pro', errorContext: { settingNames: { apiKey: 'GOOGLE_API_KEY' } } });

    const ollama = resolver.resolve({ model: 'ollama:llama3.2:3b', maxTokens: 20 });
    expect(ollama.model).toBeInstanceOf(CancellableChatOllama);
    expect(ollama.model).toMatchObject({ model: 'llama3.2:3b', numPredict: 20, baseUrl: 'http://127.0.0.1:11434' });

    // A bare name is the OpenAI-compatible model, recorded bare as before; so is openai:<model>.
    expect(resolver.resolve({ model: 'gpt-4.1' })).toMatchObject({ provider: 'openai', modelName: 'gpt-4.1' });
    expect(resolver.resolve({ model: 'openai:ft:gpt-4o-mini:acme::x1' })).toMatchObject({ provider: 'openai', modelName: 'ft:gpt-4o-mini:acme::x1' });
    expect(resolver.resolve({ model: 'openai:gpt-4.1' }).model).toBeInstanceOf(ChatOpenAI);
  });

  it('defaults to llm.model, else to the first configured provider’s default model', async () => {
    expect((await resolverFor({ ...ALL, model: 'ollama:qwen3' })).resolve({})).toMatchObject({ provider: 'ollama', modelName: 'ollama:qwen3' });
    expect((await resolverFor({ anthropic: ALL.anthropic })).resolve({})).toMatchObject({ modelName: 'anthropic:claude-sonnet-4-5' });
    expect((await resolverFor({ google: ALL.google, ollama: ALL.ollama })).resolve({})).toMatchObject({ modelName: 'google-genai:gemini-2.5-flash' });
    expect((await resolverFor(ALL)).resolve({})).toMatchObject({ modelName: 'gpt-4o-mini' });
    expect((await resolverFor({ ...ALL, anthropic: { ...ALL.anthropic, model: 'claude-opus-4-1' }, model: 'anthropic:claude-opus-4-1' })).resolve({ model: '' })).toMatchObject({
      modelName: 'anthropic:claude-opus-4-1',
    });
  });

  it('refuses an unknown provider, a provider not configured here, and a model not allowed: BAD_USER_INPUT naming the allowed ones', async () => {
    const resolver = await resolverFor({
      openai: ALL.openai,
      anthropic: ALL.anthropic,
      model: 'openai:gpt-4o-mini',
      allowedModels: ['anthropic:claude-*', 'openai:gpt-4o*', 'ollama:*'],
    });
    const allowed =
      'Allowed models: anthropic:claude-*, openai:gpt-4o* (default: gpt-4o-mini). Write a model as provider:model, e.g. anthropic:claude-sonnet-4-5.';
    expect(refusal(() => resolver.resolve({ model: 'mistral:large' }, 'forwardedParameters.model'))).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: `forwardedParameters.model "mistral:large" names the unknown provider "mistral" (providers: custom, openai, anthropic, google-genai, ollama; a model name containing ":" is written with its provider, e.g. openai:mistral:large). ${allowed}`,
    });
    expect(refusal(() => resolver.resolve({ model: 'ollama:llama3.2' }, 'forwardedProps.model'))).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: `forwardedProps.model "ollama:llama3.2" names the provider ollama, which is not configured on this server. ${allowed}`,
    });
    expect(refusal(() => resolver.resolve({ model: 'openai:o3' }, 'forwardedProps.model'))).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: `forwardedProps.model "openai:o3" is not an allowed model. ${allowed}`,
    });
    expect(refusal(() => resolver.resolve({ model: 'gpt-5' })).message).toBe(`model "gpt-5" is not an allowed model. ${allowed}`);
    // Allowed ones and the default pass.
    expect(resolver.resolve({ model: 'anthropic:claude-haiku-4-5' }).provider).toBe('anthropic');
    expect(resolver.resolve({ model: 'gpt-4o' }).modelName).toBe('gpt-4o');
  });

  it('by default allows any model of the configured providers, and says which those are', async () => {
    const resolver = await resolverFor({ anthropic: ALL.anthropic, ollama: ALL.ollama });
    expect(resolver.resolve({ model: 'ollama:anything' }).provider).toBe('ollama');
    expect(refusal(() => resolver.resolve({ model: 'google-genai:gemini-2.5-flash' })).message).toBe(
      'model "google-genai:gemini-2.5-flash" names the provider google-genai, which is not configured on this server. ' +
        'Allowed models: any model of the configured providers (anthropic, ollama) (default: anthropic:claude-sonnet-4-5). Write a model as provider:model, e.g. anthropic:claude-sonnet-4-5.',
    );
    // A bare name is OpenAI's, which is not configured here.
    expect(refusal(() => resolver.resolve({ model: 'gpt-4o' })).message).toMatch(/^model "gpt-4o" is a model of openai \(no provider prefix\), which is not configured on this server\./);
  });

  it('without any LLM, a request naming a model fails as before (CONFIGURATION_ERROR, in the run)', async () => {
    const resolver = await resolverFor({});
    expect(refusal(() => resolver.resolve({ model: 'anthropic:claude' }))).toMatchObject({ code: 'CONFIGURATION_ERROR', message: expect.stringMatching(/^No LLM is configured: set OPENAI_API_KEY/) });
  });

  it('refuses settings a provider package rejects as BAD_USER_INPUT', async () => {
    const resolver = await resolverFor(ALL);
    expect(refusal(() => resolver.resolve({ model: 'google-genai:gemini-2.5-flash', temperature: 5 }))).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'The google-genai model "gemini-2.5-flash" refused the request\'s settings: `temperature` must be in the range of [0.0,2.0]',
    });
  });

  it('reuses built models per (provider, model, settings), within a bounded cache; Ollama’s are per request', async () => {
    const resolver = await resolverFor({ ...ALL, modelCacheSize: 3 });
    const first = resolver.resolve({ model: 'anthropic:claude-haiku-4-5', temperature: 0.1 }).model;
    expect(resolver.resolve({ model: 'anthropic:claude-haiku-4-5', temperature: 0.1 }).model).toBe(first);
    expect(resolver.resolve({ model: 'anthropic:claude-haiku-4-5', temperature: 0.2 }).model).not.toBe(first);
    // A client sending a new temperature every time cannot grow the cache.
    for (let i = 0; i < 50; i++) resolver.resolve({ model: 'gpt-4o', temperature: i / 50 });
    expect(resolver.cachedModelCount()).toBe(3);
    expect(resolver.resolve({ model: 'anthropic:claude-haiku-4-5', temperature: 0.1 }).model).not.toBe(first);
    const ollama = resolver.resolve({ model: 'ollama:llama3.2' }).model;
    expect(resolver.resolve({ model: 'ollama:llama3.2' }).model).not.toBe(ollama);
  });

  it('keeps bare names for the custom model when there is one; custom:<name> names it too', async () => {
    const seen: Array<string | undefined> = [];
    const resolver = await resolverFor({
      ...ALL,
      chatModel: (settings) => {
        seen.push(settings.model);
        return new FakeListChatModel({ responses: ['hi'] });
      },
    });
    expect(resolver.resolve({ model: 'my-model' })).toMatchObject({ provider: 'custom', modelName: 'my-model' });
    expect(resolver.resolve({ model: 'custom:other' })).toMatchObject({ provider: 'custom', modelName: 'other' });
    expect(resolver.resolve({ model: 'anthropic:claude-haiku-4-5' }).provider).toBe('anthropic');
    expect(seen).toEqual(['my-model', 'other']);
  });

  it('serves the application’s own providers (llm.providers) by name, under the same allow-list', async () => {
    const built: string[] = [];
    const mistral: ChatModelProvider = {
      name: 'mistral',
      configurationHint: 'set MISTRAL_API_KEY',
      isConfigured: () => true,
      modelName: (settings) => settings.model || 'mistral-small',
      createModel: (settings) => {
        built.push(settings.model!);
        return new FakeListChatModel({ responses: ['bonjour'] });
      },
    };
    const resolver = await resolverFor({ ...ALL, providers: [mistral], allowedModels: ['mistral:mistral-large*'] });
    expect(resolver.resolve({ model: 'mistral:mistral-large-2' })).toMatchObject({ provider: 'mistral', modelName: 'mistral:mistral-large-2' });
    expect(refusal(() => resolver.resolve({ model: 'mistral:codestral' })).message).toMatch(/^model "mistral:codestral" is not an allowed model\. Allowed models: mistral:mistral-large\*/);
    expect(built).toEqual(['mistral-large-2']);
    await expect(resolverFor({ providers: [{ ...mistral, name: 'anthropic' }] })).rejects.toThrow('Invalid llm.providers: two providers are named "anthropic".');
  });

  it.each([
    [{ ...ALL, model: 'nope:x' }, /^Invalid llm\.model "nope:x": it names the unknown provider "nope"/],
    [{ openai: ALL.openai, model: 'anthropic:claude-sonnet-4-5' }, 'Invalid llm.model "anthropic:claude-sonnet-4-5": its provider anthropic is not configured (set ANTHROPIC_API_KEY (and optionally ANTHROPIC_BASE_URL) for anthropic:<model>).'],
    [{ anthropic: ALL.anthropic, model: 'gpt-4o' }, /^Invalid llm\.model "gpt-4o": its provider openai is not configured/],
    [{ ...ALL, allowedModels: ['anthropic:*', 'mistral:*'] }, 'Invalid llm.allowedModels: entry 2 "mistral:*" names the unknown provider "mistral" (providers: custom, openai, anthropic, google-genai, ollama).'],
    [{ ...ALL, modelCacheSize: -1 }, /^Invalid model cache size: -1/],
  ] as Array<[LlmOptions, string | RegExp]>)('stops the boot on bad options: %j', async (llm, message) => {
    await expect(resolverFor(llm)).rejects.toThrow(message);
  });
});

describe('ModelCache', () => {
  it('drops the least recently used entry first; 0 keeps nothing', () => {
    const cache = new ModelCache<number>(2);
    let built = 0;
    const get = (key: string) => cache.getOrCreate(key, () => ++built);
    expect([get('a'), get('b'), get('a'), get('c')]).toEqual([1, 2, 1, 3]);
    expect(get('a')).toBe(1); // a was used after b: b went
    expect(get('b')).toBe(4);
    expect(cache.size).toBe(2);
    const none = new ModelCache<number>(0);
    expect(none.getOrCreate('a', () => 1)).toBe(1);
    expect(none.size).toBe(0);
  });
});
