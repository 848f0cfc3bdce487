import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { ON_INTERRUPT_EVENT } from '../../agents/langgraph/graph-stream-mapper.js';
import { newId } from '../../common/ids.js';
import type { MessageModel } from '../models/message.models.js';
import type { MetaEventModel } from '../models/response.models.js';
import { SUCCESS_MESSAGE } from './response-status.js';

type CustomEvent = BaseEvent & { name?: string; value?: unknown };

/** CUSTOM event names that mean "the agent is interrupted and waits for the user". */
const INTERRUPT_EVENTS = new Set([ON_INTERRUPT_EVENT, 'LangGraphInterruptEvent']);
const COPILOTKIT_INTERRUPT_EVENT = 'CopilotKitLangGraphInterruptEvent';
/** How CopilotKit's LangGraph helpers wrap an interrupt that carries messages. */
const CK_VALUE_KEY = '__copilotkit_interrupt_value__';
const CK_MESSAGES_KEY = '__copilotkit_messages__';

/**
 * A LangGraph interrupt as the v1 `metaEvents` item the client answers: `LangGraphInterruptEvent`
 * with the interrupt value as text, or `CopilotKitLangGraphInterruptEvent` when the interrupt
 * carries messages to show. Other CUSTOM events have no v1 form (the enum is closed): null.
 */
export function toMetaEvent(event: BaseEvent): MetaEventModel | null {
  if (event.type !== EventType.CUSTOM) return null;
  const { name, value } = event as CustomEvent;
  if (name === COPILOTKIT_INTERRUPT_EVENT) {
    const data = (value ?? {}) as { value?: unknown; messages?: Message[] };
    return copilotKitInterrupt(data.value, data.messages ?? []);
  }
  if (!name || !INTERRUPT_EVENTS.has(name)) return null;
  const parsed = parseIfJson(value);
  if (parsed && typeof parsed === 'object' && CK_VALUE_KEY in parsed) {
    const wrapped = parsed as Record<string, unknown>;
    return copilotKitInterrupt(wrapped[CK_VALUE_KEY], (wrapped[CK_MESSAGES_KEY] as Message[]) ?? []);
  }
  return {
    __typename: 'LangGraphInterruptEvent',
    type: 'MetaEvent',
    name: 'LangGraphInterruptEvent',
    value: asText(value),
    response: null,
  };
}

function copilotKitInterrupt(value: unknown, messages: Message[]): MetaEventModel {
  return {
    __typename: 'CopilotKitLangGraphInterruptEvent',
    type: 'MetaEvent',
    name: 'CopilotKitLangGraphInterruptEvent',
    data: { value: asText(value), messages: messages.flatMap(toOutputMessages) },
    response: null,
  };
}

/** AG-UI messages (as LangGraph helpers send them) as complete v1 output messages. */
function toOutputMessages(message: Message): MessageModel[] {
  const createdAt = new Date();
  const out: MessageModel[] = [];
  const content = typeof message.content === 'string' ? message.content : '';
  if (message.role === 'tool') {
    return [
      {
        __typename: 'ResultMessageOutput',
        id: message.id || newId('msg'),
        createdAt,
        actionExecutionId: message.toolCallId,
        actionName: '',
        result: content,
        status: SUCCESS_MESSAGE,
      },
    ];
  }
  if (content) {
    out.push({
      __typename: 'TextMessageOutput',
      id: message.id || newId('msg'),
      createdAt,
      role: message.role === 'user' ? 'user' : message.role === 'system' ? 'system' : 'assistant',
      parentMessageId: null,
      content: [content],
      status: SUCCESS_MESSAGE,
    });
  }
  if (message.role === 'assistant') {
    for (const call of message.toolCalls ?? []) {
      out.push({
        __typename: 'ActionExecutionMessageOutput',
        id: call.id,
        createdAt,
        name: call.function.name,
        parentMessageId: null,
        arguments: [call.function.arguments],
        status: SUCCESS_MESSAGE,
      });
    }
  }
  return out;
}

function parseIfJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null);
}
