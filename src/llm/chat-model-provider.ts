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
 * One LLM provider: builds a LangChain chat model for a request. Implementations are collected by
 * DI under CHAT_MODEL_PROVIDERS; the first configured one serves requests.
 */
export interface ChatModelProvider {
  /** Short name for logs and run records, e.g. `openai`. */
  readonly name: string;
  isConfigured(): boolean;
  /** What an operator must set to configure this provider (shown when nothing is configured). */
  readonly configurationHint: string;
  /** Settings quoted in error messages (e.g. "Check OPENAI_API_KEY"). */
  readonly settingNames?: ProviderSettingNames;
  /** The model name a request with these settings will use, for run records. */
  modelName(settings: ModelCallSettings): string;
  createModel(settings: ModelCallSettings): BaseChatModel;
}

export const CHAT_MODEL_PROVIDERS = Symbol('CHAT_MODEL_PROVIDERS');
