/**
 * Model strings: `provider:model` (`anthropic:claude-sonnet-4-5`, `ollama:llama3.2:3b`) or a bare
 * model name (`gpt-4o-mini`), which means the default provider for bare names (the custom model
 * when `llm.chatModel` is set, else the OpenAI-compatible one: what a bare name always meant).
 *
 * Everything before the first colon is the provider, so a model name that contains a colon is
 * written with its provider (`openai:ft:gpt-4o-mini:acme::abc123`, `openai:llama3.2:3b` for an
 * OpenAI-compatible server): a bare `llama3.2:3b` names the unknown provider `llama3.2` and is
 * refused rather than guessed at.
 */

/** Providers built in, with LangChain's names for them (as `initChatModel` spells them). */
export const BUILT_IN_PROVIDERS = ['openai', 'anthropic', 'google-genai', 'ollama'] as const;
export type BuiltInProvider = (typeof BUILT_IN_PROVIDERS)[number];

/** The provider of `llm.chatModel`; configurable in code only. */
export const CUSTOM_PROVIDER = 'custom';

/** Other spellings accepted in model strings and allow-list patterns. */
const PROVIDER_ALIASES: Record<string, string> = { google: 'google-genai', gemini: 'google-genai' };

/** Longer model strings are refused: they end up in cache keys, logs and run records. */
export const MAX_MODEL_STRING_LENGTH = 200;

export interface ModelSpec {
  /** Canonical provider name; undefined for a bare model name. */
  provider?: string;
  model: string;
}

/** Why a model string could not be read; `provider` is set when it names an unknown provider. */
export class ModelSpecError extends Error {
  constructor(
    message: string,
    readonly unknownProvider?: string,
  ) {
    super(message);
    this.name = 'ModelSpecError';
  }
}

export function canonicalProvider(name: string): string {
  const lower = name.trim().toLowerCase();
  return PROVIDER_ALIASES[lower] ?? lower;
}

/**
 * Reads a model string. `knownProviders` are the provider names a prefix may be (after aliases).
 * Throws ModelSpecError for an empty, too long or control-character string, an unknown provider,
 * or a provider with no model after the colon.
 */
export function parseModelSpec(text: string, knownProviders: readonly string[]): ModelSpec {
  const value = text.trim();
  if (value === '') throw new ModelSpecError('is empty');
  if (value.length > MAX_MODEL_STRING_LENGTH) {
    throw new ModelSpecError(`is longer than ${MAX_MODEL_STRING_LENGTH} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) throw new ModelSpecError('contains whitespace or control characters');
  const colon = value.indexOf(':');
  if (colon === -1) return { model: value };
  const prefix = value.slice(0, colon);
  const provider = canonicalProvider(prefix);
  if (!knownProviders.includes(provider)) {
    throw new ModelSpecError(
      `names the unknown provider "${prefix}" (providers: ${knownProviders.join(', ')}; ` +
        `a model name containing ":" is written with its provider, e.g. openai:${value})`,
      prefix,
    );
  }
  const model = value.slice(colon + 1);
  if (model === '') throw new ModelSpecError(`names no model after "${prefix}:"`);
  return { provider, model };
}

/** `provider:model`, the form quoted in messages and matched against the allow-list. */
export function formatModelSpec(provider: string, model: string): string {
  return `${provider}:${model}`;
}
