import {
  EventType,
  type BaseEvent,
  type TextMessageContentEvent,
  type TextMessageEndEvent,
  type TextMessageStartEvent,
  type ToolCallArgsEvent,
  type ToolCallEndEvent,
  type ToolCallStartEvent,
} from '@ag-ui/core';
import type { AIMessageChunk, ToolCallChunk } from '@langchain/core/messages';
import { newId } from '../common/ids.js';
import type { UsageReporting } from './chat-model-provider.js';
import type { TokenUsage } from './chat-turn.js';

interface TrackedToolCall {
  id?: string;
  /** The id the provider gave it, if any (`id` may be generated). */
  providerId?: string;
  name?: string;
  /** Argument fragments that arrived before the call's name (START needs the name). */
  pendingArgs: string;
  state: 'pending' | 'open' | 'ended';
}

/**
 * Turns the AIMessageChunks of one model call into AG-UI events, synchronously, chunk by chunk.
 *
 * - Text and tool calls alternate: at most one text message or one tool call is open at a time,
 *   and opening one ends the other. Tool calls name the assistant message as their parent. A
 *   text segment after a tool call or after other text is a new text message with its own id:
 *   AG-UI clients would otherwise see one message id started twice.
 * - Tool call fragments are tracked by `index` (later fragments usually carry no id). A call
 *   starts once its name is known; fragments that came earlier are sent as one ARGS then.
 *   Providers that interleave the argument fragments of parallel calls are not supported
 *   (OpenAI and Anthropic stream calls one after the other): a fragment for an ended call is dropped.
 * - The assistant message id is the provider's (OpenAI: `chatcmpl-...`), else a generated one.
 */
export class ChunkEventMapper {
  private messageId?: string;
  /** Only the first text segment, and only before any tool call, takes the assistant message id. */
  private assistantIdTaken = false;
  private openTextId?: string;
  private openToolCall?: TrackedToolCall;
  private lastToolCallKey?: string;
  private readonly toolCalls = new Map<string, TrackedToolCall>();
  /** Which call an index currently means (see keyOf). */
  private readonly keyByIndex = new Map<number, string>();
  private usage: TokenUsage | null = null;
  /** The time stamped on the events of the chunk being mapped. */
  private now = 0;

  /**
   * @param fallbackMessageId the assistant message id when the first chunk has none (before a
   *   generated one): LangChain's `.stream()` names such messages `run-<callback run id>`.
   */
  constructor(
    private readonly generateId: (prefix?: string) => string = newId,
    private readonly usageReporting: UsageReporting = 'deltas',
    private readonly fallbackMessageId?: string,
  ) {}

  map(chunk: AIMessageChunk): BaseEvent[] {
    const events: BaseEvent[] = [];
    this.mapInto(chunk, events);
    return events;
  }

  /**
   * Appends the chunk's events to `events` (a caller may reuse one array for every chunk): one
   * object per delta, and nothing else allocated for a plain text token. The events of one chunk
   * share its arrival time.
   */
  mapInto(chunk: AIMessageChunk, events: BaseEvent[]): void {
    if (this.messageId === undefined) this.messageId = chunk.id || this.fallbackMessageId;
    if (chunk.usage_metadata) this.addUsage(chunk.usage_metadata);
    this.now = Date.now();
    const text = textOf(chunk.content);
    if (text) this.appendText(text, events);
    const fragments = chunk.tool_call_chunks;
    if (fragments) for (let i = 0; i < fragments.length; i++) this.appendToolCallFragment(fragments[i]!, events);
  }

  /** Ends whatever is still open. Calls whose name never arrived cannot be executed: dropped. */
  finish(): BaseEvent[] {
    const events: BaseEvent[] = [];
    this.now = Date.now();
    this.endOpen(events);
    return events;
  }

  /** The assistant message's id: the provider's, else the fallback, else generated (once known). */
  assistantId(): string | undefined {
    return this.messageId;
  }

  tokenUsage(): TokenUsage | null {
    return this.usage;
  }

  private appendText(delta: string, events: BaseEvent[]): void {
    if (this.openTextId === undefined) {
      this.endOpen(events);
      this.openTextId = this.assistantIdTaken ? this.generateId() : this.assistantMessageId();
      this.assistantIdTaken = true;
      events.push({
        type: EventType.TEXT_MESSAGE_START,
        messageId: this.openTextId,
        role: 'assistant',
        timestamp: this.now,
      } satisfies TextMessageStartEvent);
    }
    events.push({
      type: EventType.TEXT_MESSAGE_CONTENT,
      messageId: this.openTextId,
      delta,
      timestamp: this.now,
    } satisfies TextMessageContentEvent);
  }

  private appendToolCallFragment(fragment: ToolCallChunk, events: BaseEvent[]): void {
    const key = this.keyOf(fragment);
    let call = this.toolCalls.get(key);
    if (call === undefined) {
      call = { pendingArgs: '', state: 'pending' };
      this.toolCalls.set(key, call);
    }
    this.lastToolCallKey = key;
    call.providerId ??= fragment.id || undefined;
    call.id ??= fragment.id || undefined;
    call.name ??= fragment.name || undefined;
    const args = fragment.args ?? '';

    if (call.state === 'ended') return;
    if (call.state === 'pending') {
      call.pendingArgs += args;
      if (call.name !== undefined) this.startToolCall(call, events);
      return;
    }
    if (args) this.pushArgs(call, args, events);
  }

  private startToolCall(call: TrackedToolCall, events: BaseEvent[]): void {
    this.endOpen(events);
    call.id ??= this.generateId('call');
    call.state = 'open';
    this.assistantIdTaken = true;
    this.openToolCall = call;
    events.push({
      type: EventType.TOOL_CALL_START,
      toolCallId: call.id,
      toolCallName: call.name!,
      parentMessageId: this.assistantMessageId(),
      timestamp: this.now,
    } satisfies ToolCallStartEvent);
    if (call.pendingArgs) this.pushArgs(call, call.pendingArgs, events);
    call.pendingArgs = '';
  }

  private pushArgs(call: TrackedToolCall, delta: string, events: BaseEvent[]): void {
    events.push({
      type: EventType.TOOL_CALL_ARGS,
      toolCallId: call.id!,
      delta,
      timestamp: this.now,
    } satisfies ToolCallArgsEvent);
  }

  private endOpen(events: BaseEvent[]): void {
    if (this.openTextId !== undefined) {
      events.push({
        type: EventType.TEXT_MESSAGE_END,
        messageId: this.openTextId,
        timestamp: this.now,
      } satisfies TextMessageEndEvent);
      this.openTextId = undefined;
    }
    if (this.openToolCall !== undefined) {
      events.push({
        type: EventType.TOOL_CALL_END,
        toolCallId: this.openToolCall.id!,
        timestamp: this.now,
      } satisfies ToolCallEndEvent);
      this.openToolCall.state = 'ended';
      this.openToolCall = undefined;
    }
  }

  /**
   * By index; a fragment without one belongs to the call with its id, else to the last call. A
   * new id at an index already used starts a new call there (Ollama numbers every call of a
   * message 0, each with its own id); later fragments without an id at that index belong to it.
   */
  private keyOf(fragment: ToolCallChunk): string {
    if (typeof fragment.index === 'number') {
      const current = this.keyByIndex.get(fragment.index);
      const providerId = current === undefined ? undefined : this.toolCalls.get(current)?.providerId;
      if (current !== undefined && !(fragment.id && providerId && providerId !== fragment.id)) return current;
      const key = current === undefined ? `index:${fragment.index}` : `id:${fragment.id}`;
      this.keyByIndex.set(fragment.index, key);
      return key;
    }
    if (fragment.id) return `id:${fragment.id}`;
    return this.lastToolCallKey ?? 'index:0';
  }

  private assistantMessageId(): string {
    this.messageId ??= this.generateId();
    return this.messageId;
  }

  /**
   * Summed: some providers report input tokens first and output tokens at the end. Anthropic's
   * output counts are running totals (`cumulative-output`): the largest is the answer's.
   */
  private addUsage(reported: NonNullable<AIMessageChunk['usage_metadata']>): void {
    const previous = this.usage ?? { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
    const inputTokens = previous.inputTokens + (reported.input_tokens ?? 0);
    if (this.usageReporting === 'cumulative-output') {
      const outputTokens = Math.max(previous.outputTokens, reported.output_tokens ?? 0);
      this.usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
      return;
    }
    this.usage = {
      inputTokens,
      outputTokens: previous.outputTokens + (reported.output_tokens ?? 0),
      totalTokens: previous.totalTokens + (reported.total_tokens ?? 0),
    };
  }
}

/** Chunk content is a string (OpenAI) or content blocks (Anthropic and others): keep the text. */
function textOf(content: AIMessageChunk['content']): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const block of content) {
    if (typeof block === 'object' && block !== null && (block.type === 'text' || block.type === 'text_delta')) {
      if (typeof block.text === 'string') text += block.text;
    }
  }
  return text;
}
