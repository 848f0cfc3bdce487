import { canonicalProvider, formatModelSpec } from './model-spec.js';

/**
 * Which `provider:model` a request may choose (`LLM_ALLOWED_MODELS`, `llm.allowedModels`), so that
 * a client cannot spend on a model the operator did not allow. Patterns are `provider:glob`
 * (`anthropic:*`, `openai:gpt-4o*`, `ollama:llama3.2:*`) where `*` matches any run of characters
 * and the provider may be `*` (any configured provider); matching is case-sensitive on the model
 * (provider names are case-insensitive). A bare pattern (`gpt-4o*`) is for the provider of bare
 * model names (the OpenAI-compatible one, or the custom model), like a bare model name.
 */
export interface ModelPattern {
  /** Canonical provider name, or `*`. */
  provider: string;
  /** The model glob as written, e.g. `gpt-4o*`. */
  model: string;
  /** The pattern as written, for messages. */
  text: string;
  matcher: RegExp;
}

export class ModelPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelPatternError';
  }
}

/**
 * Reads comma-separated patterns (or a list). Throws ModelPatternError naming the bad entry:
 * empty entries, unknown providers, a provider with no model glob, whitespace inside an entry.
 */
export function parseModelPatterns(
  source: string | readonly string[],
  knownProviders: readonly string[],
  bareProvider: string,
): ModelPattern[] {
  const entries = typeof source === 'string' ? source.split(',') : [...source];
  if (entries.every((entry) => entry.trim() === '')) throw new ModelPatternError('lists no pattern');
  return entries.map((raw, index) => {
    const text = raw.trim();
    const where = `entry ${index + 1}${text ? ` "${text}"` : ''}`;
    if (text === '') throw new ModelPatternError(`${where} is empty`);
    if (/\s/.test(text)) throw new ModelPatternError(`${where} contains whitespace`);
    const colon = text.indexOf(':');
    if (colon === -1) return pattern(text === '*' ? '*' : bareProvider, text, text);
    const prefix = text.slice(0, colon);
    const provider = prefix === '*' ? '*' : canonicalProvider(prefix);
    if (provider !== '*' && !knownProviders.includes(provider)) {
      throw new ModelPatternError(`${where} names the unknown provider "${prefix}" (providers: ${knownProviders.join(', ')})`);
    }
    const model = text.slice(colon + 1);
    if (model === '') throw new ModelPatternError(`${where} has no model after "${prefix}:" (use ${prefix}:* for all its models)`);
    return pattern(provider, model, text);
  });
}

/** True when `provider:model` matches one of the patterns. */
export function isModelAllowed(patterns: readonly ModelPattern[], provider: string, model: string): boolean {
  return patterns.some((p) => (p.provider === '*' || p.provider === provider) && p.matcher.test(model));
}

/** Patterns as quoted in messages: `anthropic:*, openai:gpt-4o*`. */
export function describePatterns(patterns: readonly ModelPattern[]): string {
  return patterns.map((p) => (p.provider === '*' ? p.text : formatModelSpec(p.provider, p.model))).join(', ');
}

function pattern(provider: string, model: string, text: string): ModelPattern {
  const body = model
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return { provider, model, text, matcher: new RegExp(`^${body}$`, 's') };
}
