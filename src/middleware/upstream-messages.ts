import type { Message } from '@ag-ui/core';

/**
 * Messages in the shape upstream's v1 hooks received them (`@copilotkit/runtime` 1.10's message
 * classes, as `middleware.jsonl` shows them): `{id, createdAt, type: 'TextMessage', content, role}`,
 * `{type: 'ActionExecutionMessage', name, arguments, parentMessageId}`,
 * `{type: 'ResultMessage', actionExecutionId, actionName, result}`, `{type: 'ImageMessage', format, bytes, role}`.
 * Input tool calls carry parsed arguments, output ones the JSON text (as upstream).
 */
export type UpstreamMessage = Record<string, unknown> & { id: string; createdAt: Date; type: string };

export function toUpstreamMessages(messages: readonly Message[], argumentsAs: 'object' | 'text'): UpstreamMessage[] {
  const createdAt = new Date();
  const toolNames = new Map<string, string>();
  const out: UpstreamMessage[] = [];
  for (const message of messages) {
    const m = message as Message & Record<string, any>;
    if (m.role === 'tool') {
      out.push({
        id: m.id,
        createdAt,
        type: 'ResultMessage',
        actionExecutionId: m.toolCallId,
        actionName: toolNames.get(m.toolCallId) ?? '',
        result: m.content,
      });
      continue;
    }
    if (Array.isArray(m.content)) {
      for (const part of m.content) {
        if (part?.type === 'text') out.push({ id: m.id, createdAt, type: 'TextMessage', content: part.text, role: m.role });
        else if (part?.type === 'binary') {
          out.push({ id: m.id, createdAt, type: 'ImageMessage', format: String(part.mimeType ?? '').replace(/^image\//, ''), bytes: part.data, role: m.role });
        }
      }
    } else if (typeof m.content === 'string' && (m.content !== '' || !m.toolCalls?.length)) {
      out.push({ id: m.id, createdAt, type: 'TextMessage', content: m.content, role: m.role });
    }
    for (const call of (m.toolCalls ?? []) as Array<{ id: string; function: { name: string; arguments: string } }>) {
      toolNames.set(call.id, call.function.name);
      out.push({
        id: call.id,
        createdAt,
        type: 'ActionExecutionMessage',
        name: call.function.name,
        arguments: argumentsAs === 'object' ? parseArguments(call.function.arguments) : call.function.arguments,
        parentMessageId: m.id,
      });
    }
  }
  return out;
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
