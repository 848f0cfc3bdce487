import { EventType, type BaseEvent } from '@ag-ui/core';
import { AIMessageChunk, type ToolCallChunk } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import type { TokenUsage } from './chat-turn.js';

/**
 * What a model call answered, for the callbacks' end report (observability, a user's tracer): the
 * text, the tool calls, the usage and the response metadata, gathered from the AG-UI events the
 * call produced, then built into one message. `.stream()` instead merges every chunk into a new
 * message per token. Used only when a handler listens.
 */
export class GenerationRecord {
  private text = '';
  private readonly toolCalls: ToolCallChunk[] = [];
  private readonly toolCallById = new Map<string, ToolCallChunk>();

  add(event: BaseEvent): void {
    const e = event as BaseEvent & { delta?: string; toolCallId?: string; toolCallName?: string };
    switch (e.type) {
      case EventType.TEXT_MESSAGE_CONTENT:
        this.text += e.delta ?? '';
        break;
      case EventType.TOOL_CALL_START: {
        const call: ToolCallChunk = { type: 'tool_call_chunk', id: e.toolCallId, name: e.toolCallName, args: '', index: this.toolCalls.length };
        this.toolCalls.push(call);
        this.toolCallById.set(e.toolCallId!, call);
        break;
      }
      case EventType.TOOL_CALL_ARGS: {
        const call = this.toolCallById.get(e.toolCallId!);
        if (call) call.args = (call.args ?? '') + (e.delta ?? '');
        break;
      }
    }
  }

  result(messageId: string | undefined, usage: TokenUsage | null, metadata: Record<string, unknown>): LLMResult {
    const message = new AIMessageChunk({
      id: messageId,
      content: this.text,
      tool_call_chunks: this.toolCalls,
      response_metadata: metadata,
      ...(usage
        ? { usage_metadata: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, total_tokens: usage.totalTokens } }
        : {}),
    });
    const generation = { text: this.text, message, generationInfo: metadata };
    return {
      generations: [[generation]],
      llmOutput: usage
        ? { tokenUsage: { promptTokens: usage.inputTokens, completionTokens: usage.outputTokens, totalTokens: usage.totalTokens } }
        : undefined,
    };
  }
}
