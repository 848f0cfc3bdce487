import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOpenAI } from '@langchain/openai';
import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions, type LlmOptions } from '../config/runtime-options.js';
import type { ChatModelProvider, ModelCallSettings } from './chat-model-provider.js';
import { dispatcherFetch } from './dispatcher-fetch.js';
import type { ProviderSettingNames } from './provider-errors.js';

export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_LLM_MAX_RETRIES = 2;
export const DEFAULT_LLM_TIMEOUT_MS = 120_000;

type OpenAIOptions = NonNullable<LlmOptions['openai']>;

/**
 * OpenAI, or any OpenAI-compatible server (vLLM, Ollama, LiteLLM, ...), through LangChain's
 * ChatOpenAI. A server without authentication still needs some API key: any value does.
 *
 * A ChatOpenAI is built per (model, temperature, max tokens) so that request settings apply, and
 * kept in the resolver's bounded cache; building one is cheap anyway (about 60 µs, no I/O: the
 * HTTP client is created on first call, and connections are pooled process-wide by fetch). Everything comes from the options: the base URL
 * is always passed so that ChatOpenAI's own fallbacks to OPENAI_BASE_URL / LANGSMITH_GATEWAY in
 * the environment never apply behind the configuration's back.
 */
@Injectable()
export class OpenAIChatModelProvider implements ChatModelProvider {
  readonly name = 'openai';
  readonly configurationHint =
    'set OPENAI_API_KEY (and optionally OPENAI_BASE_URL for an OpenAI-compatible server, and LLM_MODEL)';
  readonly settingNames: ProviderSettingNames = {
    apiKey: 'OPENAI_API_KEY',
    model: 'LLM_MODEL',
    baseUrl: 'OPENAI_BASE_URL',
    timeout: 'LLM_TIMEOUT_MS',
  };
  readonly cacheable = true;
  private readonly options: OpenAIOptions;

  constructor(@Inject(RUNTIME_OPTIONS) runtimeOptions: CopilotRuntimeOptions) {
    this.options = runtimeOptions.llm?.openai ?? {};
  }

  isConfigured(): boolean {
    return Boolean(this.options.apiKey?.trim());
  }

  /** The request's model wins over the configured one (upstream CopilotKit ignores it). */
  modelName(settings: ModelCallSettings): string {
    return settings.model || this.options.model || DEFAULT_OPENAI_MODEL;
  }

  createModel(settings: ModelCallSettings): BaseChatModel {
    return new ChatOpenAI({
      apiKey: this.options.apiKey,
      model: this.modelName(settings),
      temperature: settings.temperature,
      maxTokens: settings.maxTokens,
      // LangChain retries (with backoff) on 408/409/429/5xx and connection errors, not on 4xx.
      maxRetries: this.options.maxRetries ?? DEFAULT_LLM_MAX_RETRIES,
      timeout: this.options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
      streaming: true,
      // Asks for `stream_options.include_usage`: token usage arrives in a last chunk.
      streamUsage: true,
      configuration: { baseURL: this.options.baseUrl ?? DEFAULT_OPENAI_BASE_URL, fetch: dispatcherFetch },
    });
  }
}
