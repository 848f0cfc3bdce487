import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions, type LlmOptions } from '../config/runtime-options.js';
import type { ChatModelProvider, ModelCallSettings } from './chat-model-provider.js';
import { DEFAULT_LLM_MAX_RETRIES, DEFAULT_LLM_TIMEOUT_MS } from './openai-chat-model.provider.js';
import type { ProviderSettingNames } from './provider-errors.js';

export const DEFAULT_ANTHROPIC_MODEL = 'claude-sonnet-4-5';
export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

type AnthropicOptions = NonNullable<LlmOptions['anthropic']>;

/**
 * Anthropic's Messages API through LangChain's ChatAnthropic (`anthropic:<model>`). Configured by
 * an API key. Key and base URL are always passed, so ChatAnthropic's own fallbacks to
 * ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL / a LangSmith gateway in the environment never apply
 * behind the configuration's back. LangChain retries (the SDK's own retries are off in
 * ChatAnthropic): 408/409/429/5xx and connection errors, not other 4xx.
 */
@Injectable()
export class AnthropicChatModelProvider implements ChatModelProvider {
  readonly name = 'anthropic';
  readonly configurationHint = 'set ANTHROPIC_API_KEY (and optionally ANTHROPIC_BASE_URL) for anthropic:<model>';
  readonly settingNames: ProviderSettingNames = {
    apiKey: 'ANTHROPIC_API_KEY',
    model: 'the model name',
    baseUrl: 'ANTHROPIC_BASE_URL',
    timeout: 'LLM_TIMEOUT_MS',
  };
  /** message_start reports the input tokens, every message_delta the output tokens so far. */
  readonly usageReporting = 'cumulative-output' as const;
  readonly cacheable = true;
  private readonly options: AnthropicOptions;

  constructor(@Inject(RUNTIME_OPTIONS) runtimeOptions: CopilotRuntimeOptions) {
    this.options = runtimeOptions.llm?.anthropic ?? {};
  }

  isConfigured(): boolean {
    return Boolean(this.options.apiKey?.trim());
  }

  modelName(settings: ModelCallSettings): string {
    return settings.model || this.options.model || DEFAULT_ANTHROPIC_MODEL;
  }

  createModel(settings: ModelCallSettings): BaseChatModel {
    return new ChatAnthropic({
      apiKey: this.options.apiKey,
      anthropicApiUrl: this.options.baseUrl ?? DEFAULT_ANTHROPIC_BASE_URL,
      model: this.modelName(settings),
      temperature: settings.temperature,
      // Anthropic requires max_tokens; ChatAnthropic picks the model's maximum when unset.
      maxTokens: settings.maxTokens,
      maxRetries: this.options.maxRetries ?? DEFAULT_LLM_MAX_RETRIES,
      clientOptions: { timeout: this.options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS },
      streaming: true,
      streamUsage: true,
    });
  }
}
