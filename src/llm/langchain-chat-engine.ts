import type { BaseEvent } from '@ag-ui/core';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import { Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RUN_ID_METADATA_KEY, type ChatTurnContext, type ChatTurnRequest, type ChatTurnStream, type TokenUsage } from './chat-turn.js';
import { ChunkEventMapper } from './chunk-event-mapper.js';
import { toLangChainMessages } from './message-conversion.js';
import { toCopilotRuntimeError } from './provider-errors.js';
import { GenerationRecord } from './generation-record.js';
import { startModelChunkStream, type ModelChunkStream } from './model-chunk-stream.js';
import { withTools } from './tool-binding.js';

/**
 * A provider's burst (hundreds of tokens in one network read) would otherwise go through the whole
 * pipeline in one unbroken chain of microtasks: other streams wait for all of it, and what is
 * flushed once per event-loop turn (a lone first token) waits too. So the event loop gets a turn
 * after the first chunk that has events and then after every CHUNKS_PER_TURN such chunks: a counter
 * per chunk, no clock; when tokens arrive one read at a time, one extra hop per CHUNKS_PER_TURN tokens.
 * Measured (v1, 20 streams of 1,000-token bursts): 32 keeps the added time to first token where the
 * 4 ms time slices had it, for roughly half the CPU they cost; 64, or no yield at all, cost less CPU
 * but delayed first tokens.
 */
const CHUNKS_PER_TURN = 48;

/** The reason a whole answer's upstream signal is aborted with (see the end of run()). */
const CALL_ENDED = new Error('The model call ended.');

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
    let mapper: ChunkEventMapper | undefined;
    // Also cancels the upstream request when the consumer stops iterating early (break, throw).
    const stopUpstream = new AbortController();
    let call: ModelChunkStream | undefined;
    let record: GenerationRecord | undefined;
    let ended = false;
    try {
      call = await startModelChunkStream(
        withTools(this.model, this.request.tools, this.request.toolChoice),
        toLangChainMessages(this.request.messages),
        {
          signal: AbortSignal.any([signal, stopUpstream.signal]),
          metadata: { [RUN_ID_METADATA_KEY]: this.request.runId },
          ...(settings.stop?.length ? { stop: settings.stop } : {}),
        },
      );
      // `.stream()` names a message without an id after the callbacks' run: so does the mapper.
      const events = new ChunkEventMapper(undefined, this.errorContext?.usageReporting, call.runId && `run-${call.runId}`);
      mapper = events;
      if (call.observed) record = new GenerationRecord();
      // One array for the events of every chunk (usually one event: a text or argument delta).
      const batch: BaseEvent[] = [];
      // The first chunk with something to say (a lone first token) gets a turn of its own: see CHUNKS_PER_TURN.
      let untilTurn = 1;
      for await (const chunk of call.chunks) {
        if (signal.aborted) break;
        if (record !== undefined) call.note(chunk);
        events.mapInto(chunk.message as AIMessageChunk, batch);
        if (batch.length === 0) continue; // e.g. OpenAI's first chunk, the role alone
        for (let i = 0; i < batch.length; i++) {
          const event = batch[i]!;
          record?.add(event);
          yield event;
          if (signal.aborted) break;
        }
        batch.length = 0;
        if (signal.aborted) break;
        if (--untilTurn === 0) {
          untilTurn = CHUNKS_PER_TURN;
          await nextTurn();
        }
      }
      if (signal.aborted) {
        await call.fail(abortReason(signal));
        return;
      }
      for (const event of events.finish()) yield event;
      ended = true;
      const done = call;
      await done.end(() => record!.result(events.assistantId(), events.tokenUsage(), done.responseMetadata()));
    } catch (error) {
      await call?.fail(error);
      if (signal.aborted) return;
      throw toCopilotRuntimeError(error, this.errorContext);
    } finally {
      this.reportedUsage = mapper?.tokenUsage() ?? null;
      if (ended) {
        // Nothing is left to cancel, but the abort still matters: it releases every signal derived
        // from this one (the AbortSignal.any above, the providers' own). Node 20 keeps a derived
        // signal that has abort listeners alive until it aborts, and the SDKs leave theirs on it:
        // without this abort each call left ~2 KB behind (bench: the in-memory runner's heap grew
        // 2 KB per run). The shared reason spares a DOMException and its stack trace per call.
        stopUpstream.abort(CALL_ENDED);
      } else {
        stopUpstream.abort();
        // The consumer stopped early (return from a yield): the call did not end, it was cut short.
        await call?.fail(new Error('The model call was stopped before its end.'));
      }
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('Aborted');
}
