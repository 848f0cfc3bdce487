import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { ProviderSettingNames } from './provider-errors.js';

/** Per-request model settings (v1 `forwardedParameters`). */
export interface ModelCallSettings {
  model?: string;
  temperature?: number;
  maxTokens?: number;
  stop?: string[];
}

/**
 * How a provider reports token usage over the chunks of one stream:
 * - `deltas`: each chunk's `usage_metadata` adds to the total (OpenAI and Ollama report once at
 *   the end; LangChain turns Gemini's running totals into deltas);
 * - `cumulative-output`: input tokens come once, and every report of output tokens is the count
 *   so far (Anthropic's `message_start` then `message_delta`), so the largest one is the total.
 */
export type UsageReporting = 'deltas' | 'cumulative-output';

/**
 * One LLM provider: builds a LangChain chat model for a request. Implementations are collected by
 * DI under CHAT_MODEL_PROVIDERS; a request's `provider:model` picks one by name, a bare model
 * name goes to the first configured of `custom` and `openai`.
 */
export interface ChatModelProvider {
  /** The provider's name in model strings, logs and run records, e.g. `openai`, `anthropic`. */
  readonly name: string;
  isConfigured(): boolean;
  /** What an operator must set to configure this provider (shown when nothing is configured). */
  readonly configurationHint: string;
  /** Settings quoted in error messages (e.g. "Check OPENAI_API_KEY"). */
  readonly settingNames?: ProviderSettingNames;
  /** The model name a request with these settings will use, for run records. */
  modelName(settings: ModelCallSettings): string;
  /** `settings.model` is the provider's own model name (no `provider:` prefix). */
  createModel(settings: ModelCallSettings): BaseChatModel;
  /** Default `deltas`. */
  readonly usageReporting?: UsageReporting;
  /**
   * True when one instance may serve concurrent requests, so the resolver keeps built instances
   * per (provider, model, settings) in its bounded cache. False when the instance holds
   * per-request state (ChatOllama cancels every request of its client at once) or is the user's.
   */
  readonly cacheable?: boolean;
}

export const CHAT_MODEL_PROVIDERS = Symbol('CHAT_MODEL_PROVIDERS');
