import type { Provider } from '@nestjs/common';
import { ChatModelResolver } from '../llm/chat-model-resolver.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CopilotCloudGuardrails } from './copilot-cloud-guardrails.js';
import { COPILOT_CLOUD_DEFAULT_BASE_URL, GUARDRAILS_DEFAULTS, type GuardrailsOptions } from './guardrails-options.js';
import type { GuardrailsStrategy } from './guardrails-strategy.js';
import { SelfHostedGuardrails } from './self-hosted-guardrails.js';
import { VerdictCache } from './verdict-cache.js';

/** The configured GuardrailsStrategy, or null (`off`). */
export const GUARDRAILS_STRATEGY = Symbol('GUARDRAILS_STRATEGY');

export const guardrailsStrategyProvider: Provider = {
  provide: GUARDRAILS_STRATEGY,
  inject: [RUNTIME_OPTIONS, ChatModelResolver],
  useFactory: (options: CopilotRuntimeOptions, models: ChatModelResolver) => createStrategy(options.guardrails ?? {}, models),
};

export function createStrategy(options: GuardrailsOptions, models: ChatModelResolver): GuardrailsStrategy | null {
  const selfHosted = options.selfHosted ?? {};
  const hasLists = !!(selfHosted.allowTopics?.length || selfHosted.denyTopics?.length || selfHosted.denyPatterns?.length);
  const strategy = options.strategy ?? (hasLists ? 'self-hosted' : 'cloud');
  if (typeof strategy === 'object') return strategy;
  switch (strategy) {
    case 'off':
      return null;
    case 'cloud':
      return new CopilotCloudGuardrails(options.cloudBaseUrl ?? COPILOT_CLOUD_DEFAULT_BASE_URL);
    case 'self-hosted': {
      if (!hasLists) {
        throw new Error('guardrails: the self-hosted strategy needs allowTopics, denyTopics or denyPatterns (GUARDRAILS_ALLOW_TOPICS, GUARDRAILS_DENY_TOPICS, GUARDRAILS_DENY_PATTERNS).');
      }
      let judge = selfHosted.chatModel;
      return new SelfHostedGuardrails({
        allowTopics: selfHosted.allowTopics ?? [],
        denyTopics: selfHosted.denyTopics ?? [],
        denyPatterns: (selfHosted.denyPatterns ?? []).map(compilePattern),
        judge: () => (judge ??= models.resolve({ model: selfHosted.model, temperature: 0 }).model),
        cache: new VerdictCache(
          selfHosted.cacheTtlMs ?? GUARDRAILS_DEFAULTS.cacheTtlMs,
          selfHosted.cacheMaxEntries ?? GUARDRAILS_DEFAULTS.cacheMaxEntries,
        ),
      });
    }
    default:
      throw new Error(`guardrails: unknown strategy "${String(strategy)}" (cloud, self-hosted or off).`);
  }
}

function compilePattern(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  try {
    return new RegExp(pattern, 'i');
  } catch (error) {
    throw new Error(`guardrails: deny pattern ${JSON.stringify(pattern)} is not a valid regular expression (${(error as Error).message}).`);
  }
}
