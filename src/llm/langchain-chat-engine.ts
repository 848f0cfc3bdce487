import type { BaseEvent } from '@ag-ui/core';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Injectable } from '@nestjs/common';
import type { ChatTurnContext, ChatTurnRequest, ChatTurnStream, TokenUsage } from './chat-turn.js';
import { ChunkEventMapper } from './chunk-event-mapper.js';
import { toLangChainMessages } from './message-conversion.js';
import { toCopilotRuntimeError } from './provider-errors.js';
import { withTools } from './tool-binding.js';

/**
 * Runs one model call through LangChain and streams it as AG-UI events (see ChatTurnStream for
 * the contract: lazy, iterate once, errors as CopilotRuntimeError, abort ends quietly, usage
 * after the end).
 */
@Injectable()
export class LangChainChatEngine {
  /**
   * @param errorContext names the settings quoted in error messages and says how the provider
   *   reports usage (pass the resolved model's: `engine.streamChatTurn(resolved.model, request, resolved.errorContext)`).
   */
  streamChatTurn(model: BaseChatModel, request: ChatTurnRequest, errorContext?: ChatTurnContext): ChatTurnStream {
    return new LangChainChatTurn(model, request, errorContext);
  }
}

class LangChainChatTurn implements ChatTurnStream {
  private started = false;
  private reportedUsage: TokenUsage | null = null;

  constructor(
    private readonly model: BaseChatModel,
    private readonly request: ChatTurnRequest,
    private readonly errorContext?: ChatTurnContext,
  ) {}

  readonly events: AsyncIterable<BaseEvent> = {
    [Symbol.asyncIterator]: () => {
      // A second iteration would silently call (and bill) the model again.
      if (this.started) throw new Error('The events of a chat turn can be iterated only once.');
      this.started = true;
      return this.run();
    },
  };

  usage(): TokenUsage | null {
    return this.reportedUsage;
  }

  private async *run(): AsyncGenerator<BaseEvent> {
    const { signal, settings } = this.request;
    if (signal.aborted) return;
    const mapper = new ChunkEventMapper(undefined, this.errorContext?.usageReporting);
    // Also cancels the upstream request when the consumer stops iterating early (break, throw).
    const stopUpstream = new AbortController();
    try {
      const runnable = withTools(this.model, this.request.tools, this.request.toolChoice);
      const chunks = await runnable.stream(toLangChainMessages(this.request.messages), {
        signal: AbortSignal.any([signal, stopUpstream.signal]),
        ...(settings.stop?.length ? { stop: settings.stop } : {}),
      });
      for await (const chunk of chunks) {
        for (const event of mapper.map(chunk)) {
          if (signal.aborted) return;
          yield event;
        }
      }
      if (signal.aborted) return;
      yield* mapper.finish();
    } catch (error) {
      if (signal.aborted) return;
      throw toCopilotRuntimeError(error, this.errorContext);
    } finally {
      this.reportedUsage = mapper.tokenUsage();
      stopUpstream.abort();
    }
  }
}
