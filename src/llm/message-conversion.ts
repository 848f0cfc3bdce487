import type { AssistantMessage, InputContent, Message, ToolCall, ToolMessage as AgUiToolMessage } from '@ag-ui/core';
import {
  AIMessage,
  HumanMessage,
  SystemMessage,
  ToolMessage,
  type BaseMessage,
  type MessageContent,
} from '@langchain/core/messages';

/**
 * AG-UI messages → LangChain messages, shaped so that OpenAI-style APIs accept them.
 *
 * OpenAI answers 400 unless every assistant `tool_call` is followed, before any other kind of
 * message, by a `tool` message with its id, and every `tool` message answers a call of the
 * assistant message just before it. Conversations coming from clients do not always obey that
 * (a frontend action without a handler never gets a result; results arrive out of order or twice),
 * so the conversion:
 * - moves each tool result right after the assistant message that made the call;
 * - drops tool results that answer no earlier call (orphans) and repeated results for one call;
 * - drops tool calls that have no result, and an assistant message left with neither text nor
 *   calls. Nothing is synthesised: the model never sees a result nobody produced.
 *
 * Developer messages become system messages; reasoning and activity messages are UI-only and are
 * not sent. User content parts: text and images are sent; audio, video and documents are dropped
 * (the chat completions API cannot take most of them, and the v1 protocol never sends them).
 */
export function toLangChainMessages(messages: readonly Message[]): BaseMessage[] {
  const results = resultsOfEarlierCalls(messages);
  const answeredCallIds = new Set<string>();
  const converted: BaseMessage[] = [];

  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        converted.push(new SystemMessage({ content: message.content, id: message.id }));
        break;
      case 'user':
        converted.push(new HumanMessage({ content: toUserContent(message.content), id: message.id }));
        break;
      case 'assistant': {
        const calls = answerableCalls(message, results, answeredCallIds);
        if (!message.content && calls.length === 0) break;
        converted.push(toAIMessage(message, calls));
        for (const call of calls) {
          answeredCallIds.add(call.id);
          converted.push(toToolMessage(results.get(call.id)!));
        }
        break;
      }
      case 'tool':
        // Already placed right after its call, or an orphan.
        break;
      default:
        // reasoning, activity: for the UI, not for the model.
        break;
    }
  }
  return converted;
}

/** Parses tool-call arguments; anything that is not a JSON object becomes `{}`. */
export function parseToolArguments(json: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** The first result for each call id, counting only results that come after their call. */
function resultsOfEarlierCalls(messages: readonly Message[]): Map<string, AgUiToolMessage> {
  const calledIds = new Set<string>();
  const results = new Map<string, AgUiToolMessage>();
  for (const message of messages) {
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) calledIds.add(call.id);
    } else if (message.role === 'tool' && calledIds.has(message.toolCallId) && !results.has(message.toolCallId)) {
      results.set(message.toolCallId, message);
    }
  }
  return results;
}

/** Calls that have a result and were not already sent (ids repeated across messages count once). */
function answerableCalls(
  message: AssistantMessage,
  results: ReadonlyMap<string, AgUiToolMessage>,
  answeredCallIds: ReadonlySet<string>,
): ToolCall[] {
  const seen = new Set<string>();
  return (message.toolCalls ?? []).filter((call) => {
    const keep = results.has(call.id) && !answeredCallIds.has(call.id) && !seen.has(call.id);
    seen.add(call.id);
    return keep;
  });
}

function toAIMessage(message: AssistantMessage, calls: ToolCall[]): AIMessage {
  return new AIMessage({
    content: message.content ?? '',
    id: message.id,
    tool_calls: calls.map((call) => ({
      id: call.id,
      name: call.function.name,
      args: parseToolArguments(call.function.arguments),
      type: 'tool_call' as const,
    })),
  });
}

function toToolMessage(result: AgUiToolMessage): ToolMessage {
  const content = result.content || (result.error ? `Error: ${result.error}` : '');
  return new ToolMessage({ content, tool_call_id: result.toolCallId, id: result.id });
}

function toUserContent(content: string | InputContent[]): MessageContent {
  if (typeof content === 'string') return content;
  const parts = content.flatMap(toContentPart);
  // A lone text part is sent as plain text, which every provider accepts.
  if (parts.length === 1 && parts[0]!.type === 'text') return parts[0]!.text;
  return parts;
}

type UserContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

function toContentPart(part: InputContent): UserContentPart[] {
  switch (part.type) {
    case 'text':
      return [{ type: 'text', text: part.text }];
    case 'image': {
      const { source } = part;
      const url = source.type === 'url' ? source.value : `data:${source.mimeType};base64,${source.value}`;
      return [{ type: 'image_url', image_url: { url } }];
    }
    case 'binary': {
      // The older AG-UI shape for attachments; only images are sent.
      if (!part.mimeType.startsWith('image/')) return [];
      const url = part.url ?? (part.data ? `data:${part.mimeType};base64,${part.data}` : undefined);
      return url ? [{ type: 'image_url', image_url: { url } }] : [];
    }
    default:
      return [];
  }
}
