import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatGenerationChunk, ChatResult } from '@langchain/core/outputs';
import { ChatGoogleGenerativeAI, type GoogleGenerativeAIChatInput } from '@langchain/google-genai';
import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions, type LlmOptions } from '../config/runtime-options.js';
import type { ChatModelProvider, ModelCallSettings } from './chat-model-provider.js';
import { withFirstChunkTimeout } from './first-chunk-timeout.js';
import { DEFAULT_LLM_MAX_RETRIES, DEFAULT_LLM_TIMEOUT_MS } from './openai-chat-model.provider.js';
import type { ProviderSettingNames } from './provider-errors.js';

export const DEFAULT_GOOGLE_MODEL = 'gemini-2.5-flash';
export const DEFAULT_GOOGLE_BASE_URL = 'https://generativelanguage.googleapis.com';

type GoogleOptions = NonNullable<LlmOptions['google']>;

/**
 * The Gemini API through LangChain's ChatGoogleGenerativeAI (`google-genai:<model>`). Configured
 * by an API key. Key and base URL are always passed (no fallback to GOOGLE_API_KEY or a LangSmith
 * gateway behind the configuration's back). ChatGoogleGenerativeAI passes no timeout to its SDK:
 * the wait for the first chunk is bounded here (`timeoutMs`, LLM_TIMEOUT_MS).
 */
@Injectable()
export class GoogleChatModelProvider implements ChatModelProvider {
  readonly name = 'google-genai';
  readonly configurationHint = 'set GOOGLE_API_KEY (and optionally GOOGLE_BASE_URL) for google-genai:<model>';
  readonly settingNames: ProviderSettingNames = {
    apiKey: 'GOOGLE_API_KEY',
    model: 'the model name',
    baseUrl: 'GOOGLE_BASE_URL',
    timeout: 'LLM_TIMEOUT_MS',
  };
  readonly cacheable = true;
  private readonly options: GoogleOptions;

  constructor(@Inject(RUNTIME_OPTIONS) runtimeOptions: CopilotRuntimeOptions) {
    this.options = runtimeOptions.llm?.google ?? {};
  }

  isConfigured(): boolean {
    return Boolean(this.options.apiKey?.trim());
  }

  modelName(settings: ModelCallSettings): string {
    return settings.model || this.options.model || DEFAULT_GOOGLE_MODEL;
  }

  createModel(settings: ModelCallSettings): BaseChatModel {
    return new GeminiChatModel({
      timeoutMs: this.options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
      apiKey: this.options.apiKey,
      baseUrl: this.options.baseUrl ?? DEFAULT_GOOGLE_BASE_URL,
      model: this.modelName(settings),
      temperature: settings.temperature,
      maxOutputTokens: settings.maxTokens,
      maxRetries: this.options.maxRetries ?? DEFAULT_LLM_MAX_RETRIES,
      streaming: true,
      streamUsage: true,
    });
  }
}

/**
 * Gemini takes one system instruction, before the conversation: ChatGoogleGenerativeAI refuses
 * a second system message ("System message should be the first one"), and the runtime adds one
 * (the application's context) after the client's own. So the system messages are joined, in
 * order, into one leading message; the rest of the conversation is unchanged. The wait for the
 * first chunk is bounded by `timeoutMs`. And a stream stopped early does not leave a rejected
 * promise behind (see `withAggregateObserved`).
 */
export class GeminiChatModel extends ChatGoogleGenerativeAI {
  private readonly firstChunkTimeoutMs: number;

  constructor({ timeoutMs, ...fields }: GoogleGenerativeAIChatInput & { timeoutMs: number }) {
    super(fields);
    this.firstChunkTimeoutMs = timeoutMs;
    withAggregateObserved(clientOf(this));
  }

  /** Replaces the SDK client: the new one gets the same treatment. */
  override useCachedContent(...args: Parameters<ChatGoogleGenerativeAI['useCachedContent']>): void {
    super.useCachedContent(...args);
    withAggregateObserved(clientOf(this));
  }

  override _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    return super._generate(withOneSystemMessage(messages), options, runManager);
  }

  override _streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    return withFirstChunkTimeout(
      (signal) => super._streamResponseChunks(withOneSystemMessage(messages), { ...options, signal }, runManager),
      this.firstChunkTimeoutMs,
      options.signal,
    );
  }
}

/** The SDK's GenerativeModel (@google/generative-ai), as far as it is used here. */
interface GeminiClient {
  generateContentStream(...args: unknown[]): Promise<{ response?: Promise<unknown> }>;
}

/** ChatGoogleGenerativeAI keeps its SDK client in a field its typings declare private. */
function clientOf(model: ChatGoogleGenerativeAI): GeminiClient {
  return (model as unknown as { client: GeminiClient }).client;
}

/**
 * The SDK's `generateContentStream` (@google/generative-ai 0.24) reads the response twice, through
 * a tee: `stream`, the chunks, and `response`, a promise of the whole answer aggregated.
 * ChatGoogleGenerativeAI takes `stream` only, so nobody awaits `response`. When the call is cut
 * short (the consumer stops early and the engine aborts the request, a client's stop, the
 * first-chunk timeout), the body read fails ("Request aborted when reading from the stream",
 * "Error reading from the stream"), `response` rejects with it, and that rejection is unhandled:
 * fatal to a Node process without an `unhandledRejection` handler. The failure is the stream's
 * and reaches whoever reads the stream; the unread aggregate is observed here so that it does not
 * fail a second time, unhandled.
 */
function withAggregateObserved(client: GeminiClient): void {
  const generateContentStream = client.generateContentStream;
  client.generateContentStream = async function (this: GeminiClient, ...args: unknown[]) {
    const result = await generateContentStream.apply(this, args);
    // Optional: an SDK without the aggregate keeps working (the early-stop test would notice the change).
    result.response?.catch(() => undefined);
    return result;
  };
}

export function withOneSystemMessage(messages: BaseMessage[]): BaseMessage[] {
  const system = messages.filter((message) => message.getType() === 'system');
  if (system.length === 0 || (system.length === 1 && messages[0] === system[0])) return messages;
  const text = system.map((message) => message.text).filter((part) => part !== '').join('\n\n');
  return [new SystemMessage(text), ...messages.filter((message) => message.getType() !== 'system')];
}
