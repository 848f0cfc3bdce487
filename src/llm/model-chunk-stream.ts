import { CallbackManager, type CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { BaseChatModel, type BaseChatModelCallOptions } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk, BaseMessage, BaseMessageChunk } from '@langchain/core/messages';
import type { ChatGenerationChunk, LLMResult } from '@langchain/core/outputs';
import { ensureConfig, mergeConfigs, RunnableBinding, type RunnableConfig } from '@langchain/core/runnables';
import { BaseChatOpenAI } from '@langchain/openai';
import type { ChatRunnable } from './tool-binding.js';

/** The options the engine gives a model call: the caller's signal and stop sequences. */
export type ModelCallOptions = Partial<BaseChatModelCallOptions>;

/** A chunk as the chat model yields it (a ChatGenerationChunk): for a chat model, an AIMessageChunk inside. */
export interface ModelChunk {
  message: BaseMessageChunk;
  generationInfo?: Record<string, unknown>;
}

/**
 * One model call's chunks, and the hooks that tell LangChain's callback handlers how it ended.
 * `observed` is false when no handler listens: the caller then builds no result for `end`.
 */
export interface ModelChunkStream {
  /** The provider's chunks (a ChatGenerationChunk, or a message wrapped like one), unwrapped by nobody in between. */
  readonly chunks: AsyncIterable<ModelChunk>;
  readonly observed: boolean;
  /** When observed: records what the end report needs from a chunk (its response metadata). */
  note(chunk: ModelChunk): void;
  /** The callbacks' run id (`.stream()` names id-less messages `run-<id>` with it). */
  readonly runId?: string;
  /** The response metadata seen (finish reason, model name, ...), when observed. */
  responseMetadata(): Record<string, unknown>;
  /** Reports the end (once; later calls of end or fail are ignored). */
  end(result: () => LLMResult): Promise<void>;
  /** Reports a failure, an abort or an early stop (once). */
  fail(error: unknown): Promise<void>;
}

/**
 * Starts a model call on LangChain's cheapest path that keeps every feature: the chat model's own
 * chunk generator (`_streamResponseChunks`, which calls the provider SDK and reports each token to
 * the callbacks), below `.stream()`. `.stream()` adds, per token, a web stream, an
 * AsyncLocalStorage context around every `next()`, a copy of the chunk's metadata and a merge of
 * every chunk into one message for the end callback; here the call is set up once, the way
 * `BaseChatModel._streamIterator` does it (@langchain/core 1.2), and the end is reported with a
 * result the caller builds once.
 *
 * The tools bound by `bindTools` become call options exactly as `.stream()` would pass them: a
 * RunnableBinding's config and kwargs are merged around the caller's options, and ChatOpenAI
 * (whose `bindTools` returns a copy of the model with default options) gets its defaults the way
 * its own `stream()` adds them. Any other shape (a model without a chunk generator, one that
 * overrides `stream` or `_streamIterator`, `disableStreaming`, other runnables) goes through
 * `.stream()` as before.
 */
export async function startModelChunkStream(
  runnable: ChatRunnable,
  messages: BaseMessage[],
  options: ModelCallOptions,
): Promise<ModelChunkStream> {
  const direct = directCallOf(runnable, options);
  if (direct === null) return new RunnableChunkStream(await runnable.stream(messages, options));
  const { model, config } = direct;
  const internals = model as unknown as ChatModelInternals;
  const [runnableConfig, callOptions] = internals._separateRunnableConfigFromCallOptionsCompat(ensureConfig(config));
  const invocationParams = internals._getInvocationParamsForTracing(callOptions);
  const manager = CallbackManager.configure(
    runnableConfig.callbacks,
    model.callbacks,
    runnableConfig.tags,
    model.tags,
    { ...runnableConfig.metadata, ...model.getLsParamsWithDefaults(callOptions) },
    model.metadata,
    { verbose: model.verbose, tracerInheritableMetadata: internals._filterInvocationParamsForTracing(invocationParams) },
  );
  if (manager === undefined) return new DirectChunkStream(model, messages, callOptions, undefined);
  const extra = {
    options: internals._getCallOptionsForTracing(callOptions, invocationParams),
    invocation_params: invocationParams,
    batch_size: 1,
  };
  const runManagers = await manager.handleChatModelStart(
    model.toJSON(),
    [messages],
    runnableConfig.runId,
    undefined,
    extra,
    undefined,
    undefined,
    runnableConfig.runName,
  );
  return new DirectChunkStream(model, messages, callOptions, runManagers[0]);
}

/** The protected parts of BaseChatModel that `_streamIterator` uses (same class, same version). */
interface ChatModelInternals {
  _separateRunnableConfigFromCallOptionsCompat(options: RunnableConfig): [RunnableConfig, BaseChatModelCallOptions];
  _getInvocationParamsForTracing(options: BaseChatModelCallOptions): Record<string, unknown>;
  _filterInvocationParamsForTracing(params: Record<string, unknown>): Record<string, unknown>;
  _getCallOptionsForTracing(options: BaseChatModelCallOptions, params: Record<string, unknown>): unknown;
  _streamResponseChunks(
    messages: BaseMessage[],
    options: BaseChatModelCallOptions,
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk>;
}

interface DirectCall {
  model: BaseChatModel;
  /** The options `.stream()` would reach `_streamIterator` with (before ensureConfig). */
  config: RunnableConfig & Record<string, unknown>;
}

/** The chat model under the runnable, and its options, if `.stream()` would only reach its chunk generator. */
export function directCallOf(runnable: ChatRunnable, options: ModelCallOptions): DirectCall | null {
  let current: unknown = runnable;
  let config = options as RunnableConfig & Record<string, unknown>;
  // RunnableBinding.stream: bound.stream(input, mergeConfigs(this.config, options, this.kwargs)).
  while (current instanceof RunnableBinding) {
    // Subclasses (RunnableRetry, ...) and config factories do more than merge options.
    if (current.constructor !== RunnableBinding || (current.configFactories?.length ?? 0) > 0) return null;
    config = mergeConfigs(current.config, config, current.kwargs as RunnableConfig);
    current = current.bound;
  }
  if (!(current instanceof BaseChatModel) || !streamsItsChunks(current)) return null;
  if (current.stream === BaseChatModel.prototype.stream) return { model: current, config };
  // ChatOpenAI.stream(input, options) = super.stream(input, this._combineCallOptions(options)).
  if (current instanceof BaseChatOpenAI && current.stream === BaseChatOpenAI.prototype.stream) {
    const combine = (current as unknown as { _combineCallOptions(o: unknown): RunnableConfig & Record<string, unknown> })
      ._combineCallOptions;
    return { model: current, config: combine.call(current, config) };
  }
  return null;
}

/** True when `_streamIterator` would stream the model's chunk generator (not invoke it once). */
function streamsItsChunks(model: BaseChatModel): boolean {
  return (
    !model.disableStreaming &&
    model._streamResponseChunks !== BaseChatModel.prototype._streamResponseChunks &&
    model._streamIterator === BaseChatModel.prototype._streamIterator
  );
}

/** A call on the model's chunk generator, reporting to its run's callbacks (if any listen). */
class DirectChunkStream implements ModelChunkStream {
  readonly observed: boolean;
  readonly runId?: string;
  /** Response metadata (finish reason, model name, ...), last value wins; recorded only when observed. */
  private readonly metadata: Record<string, unknown> = {};
  private reported = false;

  constructor(
    private readonly model: BaseChatModel,
    private readonly messages: BaseMessage[],
    private readonly callOptions: BaseChatModelCallOptions,
    private readonly runManager: CallbackManagerForLLMRun | undefined,
  ) {
    this.observed = runManager !== undefined;
    this.runId = runManager?.runId;
  }

  /** Iterated directly: no generator of ours between the provider's and the engine (one async hop less per token). */
  get chunks(): AsyncIterable<ChatGenerationChunk> {
    const model = this.model as unknown as ChatModelInternals;
    return { [Symbol.asyncIterator]: () => model._streamResponseChunks(this.messages, this.callOptions, this.runManager) };
  }

  note(chunk: ChatGenerationChunk): void {
    copyDefined(chunk.generationInfo, this.metadata);
    copyDefined(chunk.message.response_metadata, this.metadata);
  }

  responseMetadata(): Record<string, unknown> {
    return this.metadata;
  }

  async end(result: () => LLMResult): Promise<void> {
    if (this.reported || this.runManager === undefined) return;
    this.reported = true;
    await this.runManager.handleLLMEnd(result());
  }

  async fail(error: unknown): Promise<void> {
    if (this.reported || this.runManager === undefined) return;
    this.reported = true;
    await this.runManager.handleLLMError(error);
  }
}

/** `.stream()`: it reports to the callbacks itself. */
class RunnableChunkStream implements ModelChunkStream {
  readonly observed = false;
  constructor(private readonly messages: AsyncIterable<AIMessageChunk>) {}
  get chunks(): AsyncIterable<ModelChunk> {
    const messages = this.messages;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const message of messages) yield { message };
      },
    };
  }
  note(): void {}
  responseMetadata(): Record<string, unknown> {
    return {};
  }
  async end(): Promise<void> {}
  async fail(): Promise<void> {}
}

function copyDefined(from: Record<string, unknown> | undefined, to: Record<string, unknown>): void {
  if (!from) return;
  for (const key in from) {
    const value = from[key];
    if (value !== undefined && value !== null) to[key] = value;
  }
}
