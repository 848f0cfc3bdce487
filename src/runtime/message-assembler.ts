import { EventType, type AssistantMessage, type BaseEvent, type Message } from '@ag-ui/core';

/**
 * Folds a run's events into the messages it produced, so they can be stored in one write at the
 * end of the run. Deltas are concatenated in memory: nothing here touches I/O.
 */
export class MessageAssembler {
  private readonly messages: Message[] = [];
  private readonly byId = new Map<string, Message>();
  private readonly toolCallOwner = new Map<string, AssistantMessage>();

  apply(event: BaseEvent): void {
    const e = event as BaseEvent & Record<string, any>;
    switch (event.type) {
      case EventType.TEXT_MESSAGE_START:
        this.assistant(e.messageId);
        return;
      case EventType.TEXT_MESSAGE_CONTENT: {
        const message = this.assistant(e.messageId);
        message.content = (message.content ?? '') + e.delta;
        return;
      }
      case EventType.TOOL_CALL_START: {
        const owner = this.assistant(e.parentMessageId ?? e.toolCallId);
        owner.toolCalls = [
          ...(owner.toolCalls ?? []),
          { id: e.toolCallId, type: 'function', function: { name: e.toolCallName, arguments: '' } },
        ];
        this.toolCallOwner.set(e.toolCallId, owner);
        return;
      }
      case EventType.TOOL_CALL_ARGS: {
        const call = this.toolCallOwner.get(e.toolCallId)?.toolCalls?.find((c) => c.id === e.toolCallId);
        if (call) call.function.arguments += e.delta;
        return;
      }
      case EventType.TOOL_CALL_RESULT:
        this.push({ id: e.messageId, role: 'tool', toolCallId: e.toolCallId, content: e.content });
        return;
      default:
        return;
    }
  }

  /** The messages so far, in the order they started. */
  result(): Message[] {
    return this.messages;
  }

  private assistant(id: string): AssistantMessage {
    const existing = this.byId.get(id);
    if (existing?.role === 'assistant') return existing;
    const created: AssistantMessage = { id, role: 'assistant' };
    this.push(created);
    return created;
  }

  private push(message: Message): void {
    this.messages.push(message);
    this.byId.set(message.id, message);
  }
}
