import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseMessage } from '@langchain/core/messages';
import type { ChatGenerationChunk } from '@langchain/core/outputs';
import { ChatOllama, type ChatOllamaInput } from '@langchain/ollama';
import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions, type LlmOptions } from '../config/runtime-options.js';
import type { ChatModelProvider, ModelCallSettings } from './chat-model-provider.js';
import { withFirstChunkTimeout } from './first-chunk-timeout.js';
import { DEFAULT_LLM_TIMEOUT_MS } from './openai-chat-model.provider.js';
import type { ProviderSettingNames } from './provider-errors.js';

export const DEFAULT_OLLAMA_MODEL = 'llama3.2';

type OllamaOptions = NonNullable<LlmOptions['ollama']>;

/**
 * Ollama's native chat API through LangChain's ChatOllama (`ollama:<model>`). Configured by its
 * base URL (Ollama has no API key; `headers` reach one behind an authenticating proxy). For
 * Ollama's OpenAI-compatible `/v1` endpoint use the openai provider instead.
 *
 * Not cached: ChatOllama cancels a request by aborting its client, which cancels every request
 * of that client at once, so each request gets its own instance (a few objects, no I/O).
 * ChatOllama does not retry (LLM_MAX_RETRIES does not apply) and has no timeout: the wait for the
 * first chunk is bounded here (`timeoutMs`, LLM_TIMEOUT_MS; it includes loading the model).
 */
@Injectable()
export class OllamaChatModelProvider implements ChatModelProvider {
  readonly name = 'ollama';
  readonly configurationHint = 'set OLLAMA_BASE_URL (e.g. http://127.0.0.1:11434) for ollama:<model>';
  readonly settingNames: ProviderSettingNames = {
    model: 'the model name (is it pulled?)',
    baseUrl: 'OLLAMA_BASE_URL',
    timeout: 'LLM_TIMEOUT_MS',
  };
  readonly cacheable = false;
  private readonly options: OllamaOptions;

  constructor(@Inject(RUNTIME_OPTIONS) runtimeOptions: CopilotRuntimeOptions) {
    this.options = runtimeOptions.llm?.ollama ?? {};
  }

  isConfigured(): boolean {
    return Boolean(this.options.baseUrl?.trim());
  }

  modelName(settings: ModelCallSettings): string {
    return settings.model || this.options.model || DEFAULT_OLLAMA_MODEL;
  }

  createModel(settings: ModelCallSettings): BaseChatModel {
    return new CancellableChatOllama({
      timeoutMs: this.options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
      baseUrl: this.options.baseUrl,
      headers: this.options.headers,
      model: this.modelName(settings),
      temperature: settings.temperature,
      numPredict: settings.maxTokens,
      streaming: true,
    });
  }
}

/**
 * ChatOllama looks at the call's abort signal only when a chunk arrives, and its client can only
 * cancel requests that already have an answer, so a model that is still loading (Ollama answers
 * nothing until it is) could not be cancelled: the connection stayed open after the run was
 * stopped. This one gives the client a fetch bound to the current call's signal. The instance
 * serves one request (it is not cached), so one current signal is enough. The wait for the first
 * chunk is bounded by `timeoutMs`.
 */
export class CancellableChatOllama extends ChatOllama {
  private readonly call: { signal?: AbortSignal };
  private readonly firstChunkTimeoutMs: number;

  constructor({ timeoutMs, ...fields }: ChatOllamaInput & { timeoutMs: number }) {
    const call: { signal?: AbortSignal } = {};
    super({
      ...fields,
      fetch: (input, init) => {
        const signals = [init?.signal, call.signal].filter((signal): signal is AbortSignal => signal != null);
        return fetch(input, { ...init, signal: signals.length > 0 ? AbortSignal.any(signals) : undefined });
      },
    });
    this.call = call;
    this.firstChunkTimeoutMs = timeoutMs;
  }

  override _streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    return withFirstChunkTimeout(
      (signal) => {
        this.call.signal = signal;
        return super._streamResponseChunks(messages, { ...options, signal }, runManager);
      },
      this.firstChunkTimeoutMs,
      options.signal,
    );
  }
}
