import type { Message } from '@ag-ui/core';
import { newId } from '../common/ids.js';

/** A message as the remote protocol carries it (CopilotKit's v1 message objects). */
export type RemoteMessage = Record<string, unknown>;

/**
 * The conversation as `/agents/execute` expects it (what upstream sends): one object per text,
 * per tool call (`ActionExecutionMessage`, arguments parsed) and per tool result.
 */
export function toRemoteMessages(messages: Message[], createdAt = new Date().toISOString()): RemoteMessage[] {
  const out: RemoteMessage[] = [];
  for (const message of messages) {
    if (message.role === 'tool') {
      out.push({
        id: message.id,
        createdAt,
        type: 'ResultMessage',
        actionExecutionId: message.toolCallId,
        actionName: toolNameOf(messages, message.toolCallId),
        result: message.content,
      });
      continue;
    }
    const content = textOf(message.content);
    if (content !== '' || message.role !== 'assistant' || !message.toolCalls?.length) {
      out.push({ id: message.id, createdAt, type: 'TextMessage', content, role: message.role === 'developer' ? 'system' : message.role });
    }
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) {
        out.push({
          id: call.id,
          createdAt,
          type: 'ActionExecutionMessage',
          name: call.function.name,
          arguments: parseArguments(call.function.arguments),
          parentMessageId: message.id,
        });
      }
    }
  }
  return out;
}

/**
 * Messages an endpoint sends with an interrupt, in whichever form it uses (CopilotKit's message
 * objects, or AG-UI/LangChain-like `{role, content, tool_calls}`), as AG-UI messages.
 */
export function fromRemoteMessages(list: unknown): Message[] {
  if (!Array.isArray(list)) return [];
  const out: Message[] = [];
  for (const raw of list) {
    if (typeof raw !== 'object' || raw === null) continue;
    const entry = raw as Record<string, any>;
    const id = typeof entry.id === 'string' && entry.id !== '' ? entry.id : newId('msg');
    if (typeof entry.actionExecutionId === 'string' || entry.type === 'ResultMessage' || entry.role === 'tool') {
      const toolCallId = entry.actionExecutionId ?? entry.toolCallId ?? entry.tool_call_id;
      out.push({ id, role: 'tool', toolCallId: String(toolCallId ?? ''), content: asText(entry.result ?? entry.content) });
      continue;
    }
    if (typeof entry.name === 'string' && ('arguments' in entry || entry.type === 'ActionExecutionMessage')) {
      const args = typeof entry.arguments === 'string' ? entry.arguments : JSON.stringify(entry.arguments ?? {});
      // The call's own message: the id is the call's, so the owner needs one of its own.
      const owner = typeof entry.parentMessageId === 'string' && entry.parentMessageId !== '' ? entry.parentMessageId : newId('msg');
      out.push({ id: owner, role: 'assistant', toolCalls: [{ id, type: 'function', function: { name: entry.name, arguments: args } }] });
      continue;
    }
    const role = ['user', 'system', 'developer', 'assistant'].includes(entry.role) ? entry.role : 'assistant';
    const toolCalls = Array.isArray(entry.toolCalls ?? entry.tool_calls) ? (entry.toolCalls ?? entry.tool_calls) : [];
    const message: Record<string, unknown> = { id, role, content: asText(entry.content ?? '') };
    if (role === 'assistant' && toolCalls.length > 0) {
      message.toolCalls = toolCalls.map((call: Record<string, any>) => ({
        id: String(call.id ?? newId('call')),
        type: 'function',
        function: {
          name: String(call.function?.name ?? call.name ?? ''),
          arguments: asText(call.function?.arguments ?? call.args ?? call.arguments ?? {}),
        },
      }));
    }
    out.push(message as unknown as Message);
  }
  return out;
}

function toolNameOf(messages: Message[], toolCallId: string): string {
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    const call = message.toolCalls?.find((candidate) => candidate.id === toolCallId);
    if (call) return call.function.name;
  }
  return '';
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && (part as { type?: unknown }).type === 'text' ? String((part as { text?: unknown }).text ?? '') : ''))
      .join('');
  }
  return '';
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}
