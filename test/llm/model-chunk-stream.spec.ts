import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult, type LLMResult } from '@langchain/core/outputs';
import { Runnable } from '@langchain/core/runnables';
import { Test } from '@nestjs/testing';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promiseHooks } from 'node:v8';
import type { LlmOptions } from '../../src/config/runtime-options.js';
import { withCallbacks } from '../../src/llm/chat-model-callbacks.js';
import { ChatModelResolver } from '../../src/llm/chat-model-resolver.js';
import { LangChainChatEngine } from '../../src/llm/langchain-chat-engine.js';
import { LlmModule } from '../../src/llm/llm.module.js';
import { directCallOf } from '../../src/llm/model-chunk-stream.js';
import { withTools } from '../../src/llm/tool-binding.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { ANSWER, collect, ofType, PARALLEL_WEATHER_CALLS, turnRequest, WEATHER_TOOL } from './support.js';

/**
 * The engine consumes each provider's chunk generator below `.stream()`, with the tools bound as
 * call options and LangChain's callbacks (observability's metrics and spans, a user's tracer) fed
 * as `.stream()` would: start, a token per chunk, the end with the usage, or the error.
 */

interface Recorded {
  starts: Array<{ runId: string; metadata?: Record<string, unknown>; extra?: Record<string, unknown> }>;
  tokens: Array<{ runId: string; token: string }>;
  ends: Array<{ runId: string; output: LLMResult }>;
  errors: Array<{ runId: string; error: unknown }>;
}

class RecordingHandler extends BaseCallbackHandler {
  readonly name = 'recording';
  override awaitHandlers = true;
  seen: Recorded = { starts: [], tokens: [], ends: [], errors: [] };

  override handleChatModelStart(_llm: unknown, _messages: BaseMessage[][], runId: string, _parent?: string, extra?: Record<string, unknown>, _tags?: string[], metadata?: Record<string, unknown>): void {
    this.seen.starts.push({ runId, metadata, extra });
  }
  override handleLLMNewToken(token: string, _idx: unknown, runId: string): void {
    this.seen.tokens.push({ runId, token });
  }
  override handleLLMEnd(output: LLMResult, runId: string): void {
    this.seen.ends.push({ runId, output });
  }
  override handleLLMError(error: unknown, runId: string): void {
    this.seen.errors.push({ runId, error });
  }
}

const CASES: Array<{ name: string; model: string; llm: (llm: AimockServer) => LlmOptions; usage: { input: number; output: number } }> = [
  { name: 'openai', model: 'openai:gpt-4o-mini', llm: (llm) => ({ openai: { apiKey: 'k', baseUrl: llm.baseURL, maxRetries: 0 } }), usage: { input: 11, output: 7 } },
  { name: 'anthropic', model: 'anthropic:claude-sonnet-4-5', llm: (llm) => ({ anthropic: { apiKey: 'k', baseUrl: llm.url, maxRetries: 0 } }), usage: { input: 11, output: 7 } },
  { name: 'google-genai', model: 'google-genai:gemini-2.5-flash', llm: (llm) => ({ google: { apiKey: 'k', baseUrl: llm.url, maxRetries: 0 } }), usage: { input: 11, output: 7 } },
  // aimock's Ollama always reports 0 tokens.
  { name: 'ollama', model: 'ollama:llama3.2', llm: (llm) => ({ ollama: { baseUrl: llm.url } }), usage: { input: 0, output: 0 } },
];

describe.each(CASES)('$name: the chunk generator, with callbacks', (provider) => {
  const engine = new LangChainChatEngine();
  let llm: AimockServer;
  let resolver: ChatModelResolver;
  // One handler: the resolver keeps one model instance per settings, and callbacks are attached once per instance.
  const handler = new RecordingHandler();

  beforeEach(() => {
    handler.seen = { starts: [], tokens: [], ends: [], errors: [] };
  });

  beforeAll(async () => {
    llm = await startAimock();
    const usage = { input_tokens: 11, output_tokens: 7 };
    llm.mock.onMessage('tell me a sentence', { content: ANSWER, usage } as any, { chunkSize: 6 });
    llm.mock.onMessage('weather in Paris and Berlin', {
      toolCalls: PARALLEL_WEATHER_CALLS,
      usage,
    } as any);
    // Paced: the consumer stops (and the engine cuts the request) long before the last chunk.
    llm.mock.onMessage('tell me a long story', { content: ANSWER.repeat(4), usage } as any, { chunkSize: 6, latency: 5 });
    llm.mock.onMessage('server down', { error: { message: 'Overloaded', type: 'overloaded_error' }, status: 500 });
    const moduleRef = await Test.createTestingModule({ imports: [LlmModule.register({ llm: provider.llm(llm) })] }).compile();
    resolver = moduleRef.get(ChatModelResolver);
  });

  afterAll(async () => {
    await llm.stop();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function observed(): { model: BaseChatModel; handler: RecordingHandler; errorContext: ReturnType<ChatModelResolver['resolve']>['errorContext'] } {
    const resolved = resolver.resolve({ model: provider.model });
    return { model: withCallbacks(resolved.model, [handler]), handler, errorContext: resolved.errorContext };
  }

  it('is reached below .stream(), with the tools and the forced choice as call options', () => {
    const { model } = observed();
    const bound = withTools(model, [WEATHER_TOOL], 'required');
    const direct = directCallOf(bound, { stop: ['END'] });
    expect(direct).not.toBeNull();
    expect(direct!.config).toMatchObject({ tools: [expect.anything()], tool_choice: 'any', stop: ['END'] });
    expect(directCallOf(model, {})).not.toBeNull();
  });

  it('streams a text answer without .stream(): a token callback per chunk, the end with the usage', async () => {
    const streamSpy = jest.spyOn(Runnable.prototype, 'stream');
    const { model, handler, errorContext } = observed();
    const turn = engine.streamChatTurn(model, turnRequest({ text: 'tell me a sentence', tools: [WEATHER_TOOL] }), errorContext);
    const events = await collect(turn.events);
    expect(streamSpy).not.toHaveBeenCalled();

    const deltas = ofType(events, 'TEXT_MESSAGE_CONTENT').map((event: any) => event.delta as string);
    expect(deltas.join('')).toBe(ANSWER);
    const { starts, tokens, ends, errors } = handler.seen;
    expect(starts).toHaveLength(1);
    const runId = starts[0]!.runId;
    expect(starts[0]!.metadata).toMatchObject({ ls_model_type: 'chat' });
    // Every delta the client got was reported as a token of this run, in order.
    const reported = tokens.filter((token) => token.runId === runId && token.token !== '').map((token) => token.token);
    expect(reported).toEqual(deltas);
    expect(errors).toEqual([]);
    expect(ends).toHaveLength(1);
    const [end] = ends;
    expect(end!.runId).toBe(runId);
    const message = (end!.output.generations[0]![0] as any).message;
    expect(message.content).toBe(ANSWER);
    expect(message.usage_metadata).toMatchObject({ input_tokens: provider.usage.input, output_tokens: provider.usage.output });
    expect(turn.usage()).toMatchObject({ inputTokens: provider.usage.input, outputTokens: provider.usage.output });
  });

  it('reports parallel tool calls in the end callback', async () => {
    const { model, handler, errorContext } = observed();
    const events = await collect(engine.streamChatTurn(model, turnRequest({ text: 'weather in Paris and Berlin', tools: [WEATHER_TOOL] }), errorContext).events);
    expect(ofType(events, 'TOOL_CALL_START')).toHaveLength(2);
    const message = (handler.seen.ends[0]!.output.generations[0]![0] as any).message;
    expect(message.tool_calls.map((call: any) => call.args)).toEqual([{ city: 'Paris' }, { city: 'Berlin' }]);
  });

  it('reports a failure to the error callback, and throws the mapped error', async () => {
    const { model, handler, errorContext } = observed();
    await expect(collect(engine.streamChatTurn(model, turnRequest({ text: 'server down' }), errorContext).events)).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
    });
    expect(handler.seen.ends).toEqual([]);
    expect(handler.seen.errors).toHaveLength(1);
  });

  it('reports a consumer that stops early as an error (no call is left open, no rejection left unhandled)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { model, handler, errorContext } = observed();
      // Google's SDK fails its unread aggregate of the answer when the request is cut (see GeminiChatModel).
      const aggregate = provider.name === 'google-genai' ? whenGoogleAggregateSettles(model) : undefined;
      for await (const _event of engine.streamChatTurn(model, turnRequest({ text: 'tell me a long story' }), errorContext).events) break;
      expect(handler.seen.ends).toEqual([]);
      expect(handler.seen.errors).toHaveLength(1);
      if (aggregate) {
        const { response } = await aggregate;
        // Node reports a rejection as unhandled once the microtasks of its tick have run: one turn later.
        await nextTurn();
        expect(unhandled).toEqual([]);
        // The case was the one that used to crash: the request was cut, the aggregate failed.
        await expect(response).rejects.toThrow(/stream/);
      }
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/**
 * Resolves once the `response` promise (the SDK's aggregate of the streamed answer) of the model's
 * next Gemini call has settled, with that promise boxed: nothing here attaches a handler to it
 * before it settles (a V8 promise hook sees the settlement), so an unhandled rejection would show.
 */
function whenGoogleAggregateSettles(model: BaseChatModel): Promise<{ response: Promise<unknown> }> {
  // ChatGoogleGenerativeAI's SDK client (a private field in its typings).
  const client = (model as unknown as { client: { generateContentStream(...args: unknown[]): Promise<{ response: Promise<unknown> }> } }).client;
  const generateContentStream = client.generateContentStream;
  return new Promise((resolve) => {
    jest.spyOn(client, 'generateContentStream').mockImplementationOnce(async (...args: unknown[]) => {
      const result = await generateContentStream.apply(client, args);
      const response = result.response;
      const stop = promiseHooks.onSettled((promise) => {
        if (promise !== response) return;
        // Out of the hook before touching promises or hooks again.
        queueMicrotask(() => {
          stop();
          resolve({ response });
        });
      });
      return result;
    });
  });
}

/** A model with no chunk generator of its own: `.stream()` invokes it once. */
class WholeAnswerModel extends BaseChatModel {
  _llmType(): string {
    return 'whole-answer';
  }
  async _generate(): Promise<ChatResult> {
    return { generations: [{ text: 'All at once.', message: new AIMessage('All at once.') }] };
  }
}

describe('a chat model without a chunk generator', () => {
  it('goes through .stream(), which reports to the callbacks itself', async () => {
    const handler = new RecordingHandler();
    const model = withCallbacks(new WholeAnswerModel({}), [handler]);
    expect(directCallOf(model, {})).toBeNull();
    const events = await collect(new LangChainChatEngine().streamChatTurn(model, turnRequest()).events);
    expect(ofType(events, 'TEXT_MESSAGE_CONTENT').map((event: any) => event.delta)).toEqual(['All at once.']);
    expect(handler.seen.starts).toHaveLength(1);
    expect(handler.seen.ends).toHaveLength(1);
  });
});

/** A model whose whole answer is ready at once, as a burst read from the network is. */
class BurstModel extends BaseChatModel {
  constructor(private readonly tokens: number) {
    super({});
  }
  _llmType(): string {
    return 'burst';
  }
  async _generate(): Promise<ChatResult> {
    throw new Error('streams only');
  }
  override async *_streamResponseChunks(): AsyncGenerator<ChatGenerationChunk> {
    for (let i = 0; i < this.tokens; i++) {
      yield new ChatGenerationChunk({ text: `t${i} `, message: new AIMessageChunk({ content: `t${i} ` }) });
    }
  }
}

describe('a burst of chunks ready at once', () => {
  it('lets the event loop turn after the first chunk, then now and then, not once per token', async () => {
    const turnsSeen: number[] = [];
    let deltas = 0;
    let turns = 0;
    // Counts event-loop turns (check phase) while the burst is consumed.
    const tick = (): void => {
      turns++;
      if (deltas < 300) setImmediate(tick);
    };
    setImmediate(tick);
    for await (const event of new LangChainChatEngine().streamChatTurn(new BurstModel(300), turnRequest()).events) {
      if (event.type !== 'TEXT_MESSAGE_CONTENT') continue;
      deltas++;
      turnsSeen.push(turns);
    }
    // The first token did not wait for the rest: a turn came between it and the second one.
    expect(turnsSeen[1]).toBeGreaterThan(turnsSeen[0]!);
    // A few turns for 300 tokens, not one per token.
    const turnsDuring = turnsSeen.at(-1)! - turnsSeen[0]!;
    expect(turnsDuring).toBeGreaterThan(1);
    expect(turnsDuring).toBeLessThan(30);
  });
});
