import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { CHAT_MODEL_CALLBACKS, type ChatModelCallbacks, withCallbacks } from './chat-model-callbacks.js';
import { CHAT_MODEL_PROVIDERS, type ChatModelProvider, type ModelCallSettings } from './chat-model-provider.js';
import type { ProviderErrorContext } from './provider-errors.js';

/** The model that serves one request, and what to record about it. */
export interface ResolvedChatModel {
  model: BaseChatModel;
  /** Provider name, e.g. `openai` or `custom`. */
  provider: string;
  modelName: string;
  /** Pass to LangChainChatEngine.streamChatTurn so error messages name the right settings. */
  errorContext: ProviderErrorContext;
}

/** Picks the first configured provider, in the order of CHAT_MODEL_PROVIDERS. */
@Injectable()
export class ChatModelResolver implements OnApplicationBootstrap {
  private readonly logger = new Logger(ChatModelResolver.name);
  /** Metrics and traces of model calls (observability/), when enabled. */
  @Optional() @Inject(CHAT_MODEL_CALLBACKS) private readonly callbacks?: ChatModelCallbacks;

  constructor(@Inject(CHAT_MODEL_PROVIDERS) private readonly providers: readonly ChatModelProvider[]) {}

  /** Booting without an LLM is allowed (agents need none), but worth a line in the log. */
  onApplicationBootstrap(): void {
    if (!this.providers.some((provider) => provider.isConfigured())) {
      this.logger.warn(`${this.notConfiguredMessage()} Requests that need the LLM will fail.`);
    }
  }

  resolve(settings: ModelCallSettings): ResolvedChatModel {
    const provider = this.providers.find((candidate) => candidate.isConfigured());
    if (!provider) throw new CopilotRuntimeError('CONFIGURATION_ERROR', this.notConfiguredMessage());
    return {
      model: withCallbacks(provider.createModel(settings), this.callbacks),
      provider: provider.name,
      modelName: provider.modelName(settings),
      errorContext: { provider: provider.name, settingNames: provider.settingNames },
    };
  }

  private notConfiguredMessage(): string {
    // Last provider first: the environment-configured fallback (OpenAI) is what most operators set.
    const hints = this.providers.map((provider) => provider.configurationHint).reverse();
    return `No LLM is configured: ${hints.join('; or ')}.`;
  }
}
