import { EventType, type AssistantMessage, type BaseEvent, type Message } from '@ag-ui/core';

/**
 * What one model step said, as the conversation the next step reads: one assistant message with
 * its text and every tool call (providers want a turn's tool calls together, each followed by its
 * result), then the tool results in call order.
 */
export class StepTranscript {
  private messageId: string | null = null;
  private text = '';
  private readonly calls: NonNullable<AssistantMessage['toolCalls']> = [];
  private readonly results: Message[] = [];

  apply(event: BaseEvent): void {
    const e = event as BaseEvent & Record<string, any>;
    switch (event.type) {
      case EventType.TEXT_MESSAGE_START:
        this.messageId ??= e.messageId;
        return;
      case EventType.TEXT_MESSAGE_CONTENT:
        this.text += e.delta;
        return;
      case EventType.TOOL_CALL_START:
        this.messageId ??= e.parentMessageId ?? e.toolCallId;
        this.calls.push({ id: e.toolCallId, type: 'function', function: { name: e.toolCallName, arguments: '' } });
        return;
      case EventType.TOOL_CALL_ARGS: {
        const call = this.calls.find((c) => c.id === e.toolCallId);
        if (call) call.function.arguments += e.delta;
        return;
      }
      case EventType.TOOL_CALL_RESULT:
        this.results.push({ id: e.messageId, role: 'tool', toolCallId: e.toolCallId, content: e.content });
        return;
      default:
        return;
    }
  }

  messages(): Message[] {
    if (this.messageId === null) return this.results;
    const assistant: AssistantMessage = { id: this.messageId, role: 'assistant' };
    if (this.text) assistant.content = this.text;
    if (this.calls.length > 0) assistant.toolCalls = this.calls;
    return [assistant, ...this.results];
  }
}
