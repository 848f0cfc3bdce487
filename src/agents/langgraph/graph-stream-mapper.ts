import {
  EventType,
  type BaseEvent,
  type CustomEvent,
  type StateSnapshotEvent,
  type StepFinishedEvent,
  type StepStartedEvent,
  type ToolCallResultEvent,
} from '@ag-ui/core';
import { AIMessage, AIMessageChunk, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { ChunkEventMapper } from '../../llm/chunk-event-mapper.js';
import type { PendingInterrupt } from './graph-input.js';

/**
 * The stream modes a run asks for, and what each gives:
 * - `tasks`: a node starting and finishing (STEP_STARTED / STEP_FINISHED, named after the node);
 * - `messages`: chat-model tokens inside nodes, and messages nodes return whole (TEXT_MESSAGE_*,
 *   TOOL_CALL_*, TOOL_CALL_RESULT), tagged with the node that produced them;
 * - `values`: the whole state after each step (STATE_SNAPSHOT, without `messages`);
 * - `updates`: where `interrupt()` shows up (`__interrupt__`).
 * One `graph.stream` call with these modes gives all of it in order; `streamEvents` would need the
 * node names guessed from nested runnable events and reports interrupts less directly.
 */
export const GRAPH_STREAM_MODES = ['tasks', 'messages', 'updates', 'values'] as const;

/** The CUSTOM event name CopilotKit clients (v1 LangGraphInterruptEvent, v2 useLangGraphInterrupt) watch. */
export const ON_INTERRUPT_EVENT = 'on_interrupt';

const INTERRUPT_KEY = '__interrupt__';

interface OpenMessage {
  node?: string;
  mapper: ChunkEventMapper;
}

/**
 * Turns the chunks of one `graph.stream(input, { streamMode: GRAPH_STREAM_MODES })` into AG-UI
 * events, keeping the event grammar valid:
 * - a step is open while any task of its node runs (Send can run one node several times at once,
 *   and a step name may be open only once);
 * - a streamed message stays open until its node's task finishes (a node may stream several
 *   model calls, possibly in parallel), then ends; `finish()` ends whatever is still open;
 * - interrupts are reported by `finish()`, after everything else, as `on_interrupt` events.
 */
export class GraphStreamMapper {
  private readonly activeSteps = new Map<string, number>();
  private readonly openMessages = new Map<string, OpenMessage>();
  /** Ids of messages already streamed and ended: a message is never started twice. */
  private readonly endedMessages = new Set<string>();
  private readonly interrupts = new Map<string, PendingInterrupt>();

  map(chunk: unknown): BaseEvent[] {
    if (!Array.isArray(chunk) || chunk.length !== 2) return [];
    const [mode, data] = chunk as [string, unknown];
    switch (mode) {
      case 'tasks':
        return this.onTask(data as TaskChunk);
      case 'messages':
        return this.onMessage(...(data as [BaseMessage, Record<string, unknown> | undefined]));
      case 'values':
        return this.onValues(data);
      case 'updates':
        this.collectInterrupts(data);
        return [];
      default:
        return [];
    }
  }

  /** Ends open messages and steps, then reports the interrupts the run stopped on. */
  finish(): BaseEvent[] {
    const events: BaseEvent[] = [];
    for (const id of [...this.openMessages.keys()]) this.endMessage(id, events);
    for (const name of [...this.activeSteps.keys()]) {
      this.activeSteps.delete(name);
      events.push(stepFinished(name));
    }
    for (const interrupt of this.interrupts.values()) events.push(interruptEvent(interrupt));
    return events;
  }

  private onTask(task: TaskChunk): BaseEvent[] {
    if (typeof task?.name !== 'string') return [];
    const running = this.activeSteps.get(task.name) ?? 0;
    if ('input' in task) {
      this.activeSteps.set(task.name, running + 1);
      return running === 0 ? [stepStarted(task.name)] : [];
    }
    // A result (or an error): the task is done.
    this.addInterrupts(task.interrupts);
    if (running === 0) return [];
    if (running > 1) {
      this.activeSteps.set(task.name, running - 1);
      return [];
    }
    const events: BaseEvent[] = [];
    for (const [id, open] of [...this.openMessages]) if (open.node === task.name) this.endMessage(id, events);
    this.activeSteps.delete(task.name);
    events.push(stepFinished(task.name));
    return events;
  }

  private onMessage(message: BaseMessage, metadata: Record<string, unknown> | undefined): BaseEvent[] {
    const node = typeof metadata?.langgraph_node === 'string' ? metadata.langgraph_node : undefined;
    if (AIMessageChunk.isInstance(message)) return this.streamChunk(message, node);
    if (AIMessage.isInstance(message)) return this.wholeMessage(message);
    if (ToolMessage.isInstance(message)) return [toolResult(message)];
    // Human and system messages a node returns are not the assistant's output.
    return [];
  }

  private streamChunk(chunk: AIMessageChunk, node: string | undefined): BaseEvent[] {
    const id = chunk.id;
    if (id !== undefined && this.endedMessages.has(id)) return [];
    const key = id ?? `anonymous:${node ?? ''}`;
    let open = this.openMessages.get(key);
    if (open === undefined) {
      open = { node, mapper: new ChunkEventMapper() };
      this.openMessages.set(key, open);
    }
    return open.mapper.map(chunk);
  }

  /** A message a node returned without streaming it (not from a chat model, or a model that did not stream). */
  private wholeMessage(message: AIMessage): BaseEvent[] {
    if (message.id !== undefined && (this.endedMessages.has(message.id) || this.openMessages.has(message.id))) return [];
    const mapper = new ChunkEventMapper();
    const events = mapper.map(
      new AIMessageChunk({
        id: message.id,
        content: message.content,
        tool_call_chunks: (message.tool_calls ?? []).map((call, index) => ({
          type: 'tool_call_chunk' as const,
          id: call.id,
          name: call.name,
          args: JSON.stringify(call.args ?? {}),
          index,
        })),
      }),
    );
    events.push(...mapper.finish());
    if (message.id !== undefined) this.endedMessages.add(message.id);
    return events;
  }

  private endMessage(key: string, events: BaseEvent[]): void {
    const open = this.openMessages.get(key);
    if (open === undefined) return;
    this.openMessages.delete(key);
    this.endedMessages.add(key);
    events.push(...open.mapper.finish());
  }

  private onValues(values: unknown): BaseEvent[] {
    if (!isRecord(values)) return [];
    // LangGraph also reports an interrupt through `values`: that is not state.
    if (INTERRUPT_KEY in values) {
      this.collectInterrupts(values);
      return [];
    }
    const { messages: _messages, ...state } = values;
    return [
      {
        type: EventType.STATE_SNAPSHOT,
        // JSON in, JSON out: state may hold class instances (Dates, messages) the wire cannot carry as such.
        snapshot: JSON.parse(JSON.stringify(state)),
        timestamp: Date.now(),
      } satisfies StateSnapshotEvent,
    ];
  }

  private collectInterrupts(update: unknown): void {
    if (isRecord(update)) this.addInterrupts(update[INTERRUPT_KEY]);
  }

  private addInterrupts(interrupts: unknown): void {
    if (!Array.isArray(interrupts)) return;
    for (const interrupt of interrupts as PendingInterrupt[]) {
      // The same interrupt arrives through `updates`, `values` and `tasks`; ids tell them apart.
      const key = interrupt.id ?? `index:${this.interrupts.size}:${JSON.stringify(interrupt.value)}`;
      if (!this.interrupts.has(key)) this.interrupts.set(key, interrupt);
    }
  }
}

/**
 * An interrupt as CopilotKit clients expect it: `value` is the interrupt's value as JSON text
 * (a string value as it is, as upstream's LangGraph integration sends it), the raw interrupt
 * (with its id) in `rawEvent`.
 */
export function interruptEvent(interrupt: PendingInterrupt): CustomEvent {
  return {
    type: EventType.CUSTOM,
    name: ON_INTERRUPT_EVENT,
    value: typeof interrupt.value === 'string' ? interrupt.value : JSON.stringify(interrupt.value ?? null),
    rawEvent: { id: interrupt.id, value: interrupt.value },
    timestamp: Date.now(),
  };
}

interface TaskChunk {
  id?: string;
  name?: string;
  input?: unknown;
  result?: unknown;
  interrupts?: unknown;
}

function stepStarted(stepName: string): StepStartedEvent {
  return { type: EventType.STEP_STARTED, stepName, timestamp: Date.now() };
}

function stepFinished(stepName: string): StepFinishedEvent {
  return { type: EventType.STEP_FINISHED, stepName, timestamp: Date.now() };
}

function toolResult(message: ToolMessage): ToolCallResultEvent {
  return {
    type: EventType.TOOL_CALL_RESULT,
    messageId: message.id ?? `result-${message.tool_call_id}`,
    toolCallId: message.tool_call_id,
    content: typeof message.content === 'string' ? message.content : JSON.stringify(message.content),
    role: 'tool',
    timestamp: Date.now(),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
