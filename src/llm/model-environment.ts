import { ModelPatternError, parseModelPatterns } from './model-allow-list.js';
import { BUILT_IN_PROVIDERS, ModelSpecError, parseModelSpec, type BuiltInProvider } from './model-spec.js';

/** The LLM variables of the environment, as the schema reads them (blank = unset). */
export interface ModelEnvironment {
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  GOOGLE_API_KEY?: string;
  GOOGLE_BASE_URL?: string;
  OLLAMA_BASE_URL?: string;
  LLM_MODEL?: string;
  LLM_ALLOWED_MODELS?: string;
}

export interface EnvironmentIssue {
  variable: string;
  message: string;
}

/** What configures each provider from the environment: a key, or Ollama's base URL. */
export const PROVIDER_ENVIRONMENT: Record<BuiltInProvider, { configuredBy: keyof ModelEnvironment; baseUrl: keyof ModelEnvironment }> = {
  openai: { configuredBy: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
  anthropic: { configuredBy: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
  'google-genai': { configuredBy: 'GOOGLE_API_KEY', baseUrl: 'GOOGLE_BASE_URL' },
  ollama: { configuredBy: 'OLLAMA_BASE_URL', baseUrl: 'OLLAMA_BASE_URL' },
};

/**
 * The boot-time checks of the model configuration, each naming its variable: base URLs are
 * http(s) URLs, LLM_MODEL and LLM_ALLOWED_MODELS are well-formed and name known providers, and
 * LLM_MODEL's provider is configured. (A bare LLM_MODEL with no provider configured at all is
 * today's "no LLM": the server starts and says so.)
 */
export function checkModelEnvironment(env: ModelEnvironment): EnvironmentIssue[] {
  const issues: EnvironmentIssue[] = [];
  for (const provider of BUILT_IN_PROVIDERS) {
    const variable = PROVIDER_ENVIRONMENT[provider].baseUrl;
    const value = env[variable];
    if (value !== undefined && !isHttpUrl(value)) {
      issues.push({ variable, message: `must be an http(s) URL, e.g. ${exampleUrl(provider)}; got "${value}"` });
    }
  }
  const configured = BUILT_IN_PROVIDERS.filter((provider) => env[PROVIDER_ENVIRONMENT[provider].configuredBy] !== undefined);

  if (env.LLM_MODEL !== undefined) {
    try {
      const spec = parseModelSpec(env.LLM_MODEL, BUILT_IN_PROVIDERS);
      const provider = (spec.provider ?? 'openai') as BuiltInProvider;
      const bareWithoutAnyLlm = spec.provider === undefined && configured.length === 0;
      if (!configured.includes(provider) && !bareWithoutAnyLlm) {
        const needs = PROVIDER_ENVIRONMENT[provider].configuredBy;
        const message =
          spec.provider === undefined
            ? `"${env.LLM_MODEL}" has no provider prefix, so it is an OpenAI-compatible model and needs ${needs}, which is not set; ` +
              `name a configured provider instead, e.g. ${configured[0]}:<model>`
            : `"${env.LLM_MODEL}" is a model of ${provider} and needs ${needs}, which is not set`;
        issues.push({ variable: 'LLM_MODEL', message });
      }
    } catch (error) {
      if (!(error instanceof ModelSpecError)) throw error;
      issues.push({ variable: 'LLM_MODEL', message: `"${env.LLM_MODEL}" ${error.message}` });
    }
  }

  if (env.LLM_ALLOWED_MODELS !== undefined) {
    try {
      parseModelPatterns(env.LLM_ALLOWED_MODELS, BUILT_IN_PROVIDERS, 'openai');
    } catch (error) {
      if (!(error instanceof ModelPatternError)) throw error;
      issues.push({ variable: 'LLM_ALLOWED_MODELS', message: `${error.message} (expected comma-separated provider:model patterns, e.g. anthropic:*,openai:gpt-4o*)` });
    }
  }
  return issues;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function exampleUrl(provider: BuiltInProvider): string {
  switch (provider) {
    case 'openai':
      return 'https://api.openai.com/v1';
    case 'anthropic':
      return 'https://api.anthropic.com';
    case 'google-genai':
      return 'https://generativelanguage.googleapis.com';
    case 'ollama':
      return 'http://127.0.0.1:11434';
  }
}
