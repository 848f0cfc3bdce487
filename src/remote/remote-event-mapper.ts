import { EventType, type BaseEvent, type CustomEvent } from '@ag-ui/core';
import { AIMessageChunk, type ToolCallChunk } from '@langchain/core/messages';
import { CopilotRuntimeError, type ErrorCode } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { ON_INTERRUPT_EVENT } from '../agents/langgraph/graph-stream-mapper.js';
import { ChunkEventMapper } from '../llm/chunk-event-mapper.js';
import { oneLine } from './remote-errors.js';
import { fromRemoteMessages } from './remote-messages.js';

/** How CopilotKit's LangGraph helpers wrap an interrupt that carries messages (see meta-event-projection). */
const CK_VALUE_KEY = '__copilotkit_interrupt_value__';
const CK_MESSAGES_KEY = '__copilotkit_messages__';
/** LangGraph's pseudo-node a finished graph is in: not a step of its own. */
const END_NODE = '__end__';
const AG_UI_TYPES = new Set<string>(Object.values(EventType));
/** AG-UI lifecycle events the agent wrapper emits itself. */
const LIFECYCLE_TYPES = new Set<string>([EventType.RUN_STARTED, EventType.RUN_FINISHED, EventType.RUN_ERROR]);

type Line = Record<string, any>;

/** The remote agent reported an error (`on_copilotkit_error`): the run fails with `code`. */
export class RemoteAgentError extends CopilotRuntimeError {}

/**
 * Turns the JSON lines of a remote `/agents/execute` answer into AG-UI events, the same events
 * the runtime's LangGraph JS agents produce, so both protocols project them alike:
 * - LangGraph `astream_events` lines: `on_chat_model_stream` chunks (text and tool-call chunks,
 *   unless the node's metadata turns them off) become TEXT_MESSAGE_* / TOOL_CALL_*, ended by
 *   `on_chat_model_end` or the next message; `on_custom_event` CopilotKit helpers emit whole
 *   messages, tool calls or intermediate state; other custom events stay CUSTOM;
 * - `on_copilotkit_state_sync`: the node as a step (STEP_STARTED / STEP_FINISHED when it changes;
 *   `__end__` only closes the step) and the state as STATE_SNAPSHOT;
 * - `on_interrupt` and `on_copilotkit_interrupt`: the CUSTOM `on_interrupt` event (the latter
 *   wrapped with its messages, as CopilotKit's helpers do), which v1 projects to its metaEvents;
 * - `on_copilotkit_error`: throws RemoteAgentError (the run fails with the mapped code);
 * - CrewAI agents' runtime-event lines (`{"type":"TextMessageStart",...}`) and AG-UI events.
 * Lines of no interest (chain and tool callbacks) give nothing.
 */
export class RemoteEventMapper {
  private openMessage?: { key: string; mapper: ChunkEventMapper };
  private step?: string;

  constructor(private readonly agentName: string) {}

  map(line: unknown): BaseEvent[] {
    if (typeof line !== 'object' || line === null || Array.isArray(line)) return [];
    const event = line as Line;
    if (typeof event.event === 'string') return this.langGraphEvent(event);
    if (typeof event.type === 'string') return this.typedEvent(event);
    return [];
  }

  /** Ends what is still open (a message, a step). */
  finish(): BaseEvent[] {
    const events = this.endMessage();
    if (this.step) events.push({ type: EventType.STEP_FINISHED, stepName: this.step } as BaseEvent);
    this.step = undefined;
    return events;
  }

  private langGraphEvent(line: Line): BaseEvent[] {
    switch (line.event) {
      case 'on_chat_model_stream':
        return this.modelChunk(line);
      case 'on_chat_model_end':
        return this.endMessage();
      case 'on_copilotkit_state_sync':
        return this.stateSync(line);
      case 'on_interrupt':
        return [...this.endMessage(), interrupt(asText(line.value ?? line.data?.value))];
      case 'on_copilotkit_interrupt': {
        const data = (line.data ?? {}) as Line;
        const wrapped = { [CK_VALUE_KEY]: data.value ?? null, [CK_MESSAGES_KEY]: fromRemoteMessages(data.messages) };
        return [...this.endMessage(), interrupt(JSON.stringify(wrapped))];
      }
      case 'on_copilotkit_error':
        throw this.reportedError(line);
      case 'on_custom_event':
        return this.customEvent(line);
      default:
        return [];
    }
  }

  private modelChunk(line: Line): BaseEvent[] {
    const chunk = (line.data?.chunk ?? {}) as Line;
    const fields = (chunk.kwargs ?? chunk) as Line;
    const metadata = (line.metadata ?? {}) as Line;
    const emitText = metadata['copilotkit:emit-messages'] !== false;
    const emitTools = metadata['copilotkit:emit-tool-calls'] !== false;
    const content = emitText ? fields.content : '';
    const toolCallChunks = emitTools && Array.isArray(fields.tool_call_chunks) ? (fields.tool_call_chunks as ToolCallChunk[]) : [];
    const hasText = typeof content === 'string' ? content !== '' : Array.isArray(content) && content.length > 0;
    if (!hasText && toolCallChunks.length === 0) return [];
    const id = typeof fields.id === 'string' && fields.id !== '' ? fields.id : undefined;
    const key = id ?? `run:${line.run_id ?? ''}`;
    const events = this.openMessage && this.openMessage.key !== key ? this.endMessage() : [];
    this.openMessage ??= { key, mapper: new ChunkEventMapper() };
    const normalizedChunks = toolCallChunks.map((fragment, index) => ({
      type: 'tool_call_chunk' as const,
      id: fragment.id ?? undefined,
      name: fragment.name ?? undefined,
      args: typeof fragment.args === 'string' ? fragment.args : fragment.args == null ? '' : JSON.stringify(fragment.args),
      index: typeof fragment.index === 'number' ? fragment.index : index,
    }));
    events.push(...this.openMessage.mapper.map(new AIMessageChunk({ id, content: hasText ? content : '', tool_call_chunks: normalizedChunks })));
    return events;
  }

  private endMessage(): BaseEvent[] {
    const open = this.openMessage;
    this.openMessage = undefined;
    return open ? open.mapper.finish() : [];
  }

  private stateSync(line: Line): BaseEvent[] {
    const events = this.endMessage();
    const node = typeof line.node_name === 'string' ? line.node_name : undefined;
    if (node !== undefined && node !== this.step) {
      if (this.step) events.push({ type: EventType.STEP_FINISHED, stepName: this.step } as BaseEvent);
      this.step = undefined;
      if (node !== END_NODE && node !== '' && line.active !== false) {
        events.push({ type: EventType.STEP_STARTED, stepName: node } as BaseEvent);
        this.step = node;
      }
    }
    const state = typeof line.state === 'string' ? parseJson(line.state) : line.state;
    if (state !== undefined && state !== null && typeof state === 'object') {
      events.push({ type: EventType.STATE_SNAPSHOT, snapshot: state } as BaseEvent);
    }
    if (line.active === false && this.step === node && node !== undefined) {
      events.push({ type: EventType.STEP_FINISHED, stepName: node } as BaseEvent);
      this.step = undefined;
    }
    return events;
  }

  private customEvent(line: Line): BaseEvent[] {
    const name = typeof line.name === 'string' ? line.name : '';
    const data = (line.data ?? {}) as Line;
    switch (name) {
      case 'copilotkit_manually_emit_message': {
        const messageId = typeof data.message_id === 'string' ? data.message_id : newId('msg');
        const text = asText(data.message ?? '');
        return [
          ...this.endMessage(),
          { type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' } as BaseEvent,
          ...(text ? [{ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: text } as BaseEvent] : []),
          { type: EventType.TEXT_MESSAGE_END, messageId } as BaseEvent,
        ];
      }
      case 'copilotkit_manually_emit_tool_call': {
        const toolCallId = typeof data.id === 'string' ? data.id : newId('call');
        const args = typeof data.args === 'string' ? data.args : JSON.stringify(data.args ?? {});
        return [
          ...this.endMessage(),
          { type: EventType.TOOL_CALL_START, toolCallId, toolCallName: String(data.name ?? '') } as BaseEvent,
          { type: EventType.TOOL_CALL_ARGS, toolCallId, delta: args } as BaseEvent,
          { type: EventType.TOOL_CALL_END, toolCallId } as BaseEvent,
        ];
      }
      case 'copilotkit_manually_emit_intermediate_state':
        return typeof data === 'object' && data !== null ? [{ type: EventType.STATE_SNAPSHOT, snapshot: data } as BaseEvent] : [];
      case 'copilotkit_exit':
        return [];
      default:
        return name ? [{ type: EventType.CUSTOM, name, value: line.data } as BaseEvent] : [];
    }
  }

  /** CrewAI agents send runtime events; AG-UI servers send AG-UI events. */
  private typedEvent(line: Line): BaseEvent[] {
    const type = line.type as string;
    if (AG_UI_TYPES.has(type)) return LIFECYCLE_TYPES.has(type) ? [] : [line as BaseEvent];
    switch (type) {
      case 'TextMessageStart':
        return [{ type: EventType.TEXT_MESSAGE_START, messageId: String(line.messageId), role: 'assistant' } as BaseEvent];
      case 'TextMessageContent':
        return [{ type: EventType.TEXT_MESSAGE_CONTENT, messageId: String(line.messageId), delta: asText(line.content) } as BaseEvent];
      case 'TextMessageEnd':
        return [{ type: EventType.TEXT_MESSAGE_END, messageId: String(line.messageId) } as BaseEvent];
      case 'ActionExecutionStart':
        return [
          {
            type: EventType.TOOL_CALL_START,
            toolCallId: String(line.actionExecutionId),
            toolCallName: String(line.actionName ?? ''),
            ...(line.parentMessageId ? { parentMessageId: String(line.parentMessageId) } : {}),
          } as BaseEvent,
        ];
      case 'ActionExecutionArgs':
        return [{ type: EventType.TOOL_CALL_ARGS, toolCallId: String(line.actionExecutionId), delta: asText(line.args) } as BaseEvent];
      case 'ActionExecutionEnd':
        return [{ type: EventType.TOOL_CALL_END, toolCallId: String(line.actionExecutionId) } as BaseEvent];
      case 'AgentStateMessage':
        return this.stateSync({ node_name: line.nodeName, active: line.active, state: line.state });
      case 'MetaEvent':
        return line.name === 'LangGraphInterruptEvent' ? [interrupt(asText(line.value))] : [];
      default:
        return [];
    }
  }

  private reportedError(line: Line): RemoteAgentError {
    const error = (line.data?.error ?? line.data ?? {}) as Line;
    const message = typeof error.message === 'string' && error.message.trim() !== '' ? oneLine(error.message) : 'no message';
    const status = typeof error.status_code === 'number' ? error.status_code : undefined;
    const type = typeof error.type === 'string' ? ` (${oneLine(error.type)})` : '';
    return new RemoteAgentError(codeOfStatus(status), `Agent '${this.agentName}' reported an error${type}: ${message}`);
  }
}

/** An agent's own error status, mapped like an endpoint's HTTP status; none means the agent failed. */
function codeOfStatus(status: number | undefined): ErrorCode {
  if (status === undefined) return 'AGENT_FAILED';
  if (status === 404) return 'REMOTE_ENDPOINT_NOT_FOUND';
  if (status === 401) return 'AUTHENTICATION_ERROR';
  if (status === 408 || status >= 500) return 'NETWORK_ERROR';
  if (status >= 400) return 'CONFIGURATION_ERROR';
  return 'AGENT_FAILED';
}

function interrupt(value: string): CustomEvent {
  return { type: EventType.CUSTOM, name: ON_INTERRUPT_EVENT, value, timestamp: Date.now() };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null);
}
