import { describe, expect, it } from '@jest/globals';
import { InvalidEnvironmentError, parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';

/** The boot-time reading of the provider and model variables. */
function issuesOf(env: Record<string, string>): string[] {
  try {
    parseEnvironment(env);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return (error as InvalidEnvironmentError).issues;
  }
  return [];
}

describe('provider and model environment', () => {
  it('configures every provider from its variables, with LLM_MODEL as the default model and the allow-list', () => {
    const env = parseEnvironment({
      OPENAI_API_KEY: 'sk-openai',
      ANTHROPIC_API_KEY: 'sk-ant',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:8080',
      GOOGLE_API_KEY: 'g-key',
      GOOGLE_BASE_URL: 'https://gemini.example.com',
      OLLAMA_BASE_URL: 'http://ollama:11434',
      LLM_MODEL: 'anthropic:claude-sonnet-4-5',
      LLM_ALLOWED_MODELS: 'anthropic:*, openai:gpt-4o*',
      LLM_MAX_RETRIES: '1',
      LLM_TIMEOUT_MS: '30000',
    });
    expect(optionsFromEnvironment(env).llm).toEqual({
      model: 'anthropic:claude-sonnet-4-5',
      allowedModels: ['anthropic:*', 'openai:gpt-4o*'],
      modelCacheSize: 64,
      openai: { apiKey: 'sk-openai', baseUrl: undefined, maxRetries: 1, timeoutMs: 30000 },
      anthropic: { apiKey: 'sk-ant', baseUrl: 'http://127.0.0.1:8080', maxRetries: 1, timeoutMs: 30000 },
      google: { apiKey: 'g-key', baseUrl: 'https://gemini.example.com', maxRetries: 1, timeoutMs: 30000 },
      ollama: { baseUrl: 'http://ollama:11434', timeoutMs: 30000 },
    });
  });

  it('keeps today’s defaults: no LLM_MODEL (the first configured provider’s default), no allow-list', () => {
    const { llm } = optionsFromEnvironment(parseEnvironment({ OPENAI_API_KEY: 'sk' }));
    expect(llm).toMatchObject({ model: undefined, allowedModels: undefined });
    // A bare LLM_MODEL without any LLM is today's "no LLM configured": the server starts.
    expect(issuesOf({ LLM_MODEL: 'gpt-4o-mini' })).toEqual([]);
    expect(issuesOf({ LLM_MODEL: '  ' })).toEqual([]);
    expect(issuesOf({ OLLAMA_BASE_URL: 'http://127.0.0.1:11434', LLM_MODEL: 'ollama:llama3.2:3b' })).toEqual([]);
  });

  it.each([
    [{ LLM_MODEL: 'mistral:large', OPENAI_API_KEY: 'sk' }, 'LLM_MODEL: "mistral:large" names the unknown provider "mistral" (providers: openai, anthropic, google-genai, ollama; a model name containing ":" is written with its provider, e.g. openai:mistral:large)'],
    [{ LLM_MODEL: 'anthropic:', ANTHROPIC_API_KEY: 'k' }, 'LLM_MODEL: "anthropic:" names no model after "anthropic:"'],
    [{ LLM_MODEL: 'anthropic:claude-sonnet-4-5', OPENAI_API_KEY: 'sk' }, 'LLM_MODEL: "anthropic:claude-sonnet-4-5" is a model of anthropic and needs ANTHROPIC_API_KEY, which is not set'],
    [{ LLM_MODEL: 'ollama:llama3.2' }, 'LLM_MODEL: "ollama:llama3.2" is a model of ollama and needs OLLAMA_BASE_URL, which is not set'],
    [
      { LLM_MODEL: 'gpt-4o', GOOGLE_API_KEY: 'g' },
      'LLM_MODEL: "gpt-4o" has no provider prefix, so it is an OpenAI-compatible model and needs OPENAI_API_KEY, which is not set; name a configured provider instead, e.g. google-genai:<model>',
    ],
    [{ LLM_ALLOWED_MODELS: 'anthropic:*,bedrock:*', ANTHROPIC_API_KEY: 'k' }, 'LLM_ALLOWED_MODELS: entry 2 "bedrock:*" names the unknown provider "bedrock" (providers: openai, anthropic, google-genai, ollama) (expected comma-separated provider:model patterns, e.g. anthropic:*,openai:gpt-4o*)'],
    [{ LLM_ALLOWED_MODELS: 'anthropic:*,', ANTHROPIC_API_KEY: 'k' }, 'LLM_ALLOWED_MODELS: entry 2 is empty (expected comma-separated provider:model patterns, e.g. anthropic:*,openai:gpt-4o*)'],
    [{ ANTHROPIC_BASE_URL: 'api.anthropic.com' }, 'ANTHROPIC_BASE_URL: must be an http(s) URL, e.g. https://api.anthropic.com; got "api.anthropic.com"'],
    [{ OLLAMA_BASE_URL: 'ftp://host' }, 'OLLAMA_BASE_URL: must be an http(s) URL, e.g. http://127.0.0.1:11434; got "ftp://host"'],
    [{ LLM_MODEL_CACHE_SIZE: '-1' }, 'LLM_MODEL_CACHE_SIZE: Too small: expected number to be >=0'],
  ])('stops the boot naming the variable: %j', (env, issue) => {
    expect(issuesOf(env as Record<string, string>)).toEqual([issue]);
  });
});
