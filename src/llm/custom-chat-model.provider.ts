import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions, type LlmOptions } from '../config/runtime-options.js';
import type { ChatModelProvider, ModelCallSettings } from './chat-model-provider.js';

/**
 * "Bring your own LangChain model" (`llm.chatModel`): any BaseChatModel (Anthropic, Google,
 * Bedrock, Ollama, a fake in tests, ...), or a factory that builds one per request.
 *
 * - Factory form `(settings) => BaseChatModel`: receives model, temperature, maxTokens and stop,
 *   and decides which to honour.
 * - Instance form: the one instance serves every request, so only `stop` (a call option, applied
 *   by the engine) reaches it; the request's model, temperature and maxTokens cannot be applied
 *   and are ignored. Use the factory form when clients choose the model or its settings.
 *
 * Tools are bound per request with `bindTools`, which returns a new runnable: sharing the
 * instance across concurrent requests is safe.
 */
@Injectable()
export class CustomChatModelProvider implements ChatModelProvider {
  readonly name = 'custom';
  readonly configurationHint =
    'pass llm.chatModel (a LangChain BaseChatModel, or a function (settings) => BaseChatModel) to the runtime module options';
  private readonly chatModel: LlmOptions['chatModel'];

  constructor(@Inject(RUNTIME_OPTIONS) runtimeOptions: CopilotRuntimeOptions) {
    this.chatModel = runtimeOptions.llm?.chatModel;
  }

  isConfigured(): boolean {
    return this.chatModel !== undefined;
  }

  modelName(settings: ModelCallSettings): string {
    if (typeof this.chatModel === 'function') return settings.model || 'custom';
    return this.chatModel ? describeModel(this.chatModel) : 'custom';
  }

  createModel(settings: ModelCallSettings): BaseChatModel {
    if (this.chatModel === undefined) throw new Error('No custom chat model is configured.');
    return typeof this.chatModel === 'function' ? this.chatModel(settings) : this.chatModel;
  }
}

/** Most LangChain chat models keep their model name in `model` or `modelName`. */
function describeModel(model: BaseChatModel): string {
  const named = model as unknown as { model?: unknown; modelName?: unknown };
  if (typeof named.model === 'string' && named.model) return named.model;
  if (typeof named.modelName === 'string' && named.modelName) return named.modelName;
  return model._llmType();
}
