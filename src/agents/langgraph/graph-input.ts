import { isDeepStrictEqual } from 'node:util';
import type { RunAgentInput } from '@ag-ui/core';
import type { BaseMessage } from '@langchain/core/messages';
import { Command, type StateSnapshot } from '@langchain/langgraph';
import { toLangChainMessages } from '../../llm/message-conversion.js';

/** An `interrupt()` the graph is waiting on. */
export interface PendingInterrupt {
  id?: string;
  value: unknown;
}

export type RunPlan =
  /** The thread waits on interrupts and the request does not answer them: show them again. */
  | { kind: 'surface-interrupts'; interrupts: PendingInterrupt[] }
  /** Stream the graph with this input (a state update, or a `Command` that resumes). */
  | { kind: 'stream'; input: unknown };

/**
 * What to send the graph for one request, given the thread's checkpoint (`undefined` when the
 * graph has no checkpointer).
 *
 * Messages: with a checkpointer the thread's memory is authoritative, and the client's history is
 * only a view of it (its assistant messages and tool calls carry the ids the graph gave them, since
 * the events we stream use those ids). Only messages whose id the checkpoint does not hold yet are
 * sent: the new user message, a frontend tool's result. Re-sending the whole history would append
 * every message again through the `messages` reducer. Messages the client dropped are not removed
 * from the thread (there is no way to tell a deliberate edit from a client that only keeps part of
 * the history). The whole history is converted first and filtered after, so a tool result whose
 * call is already in the checkpoint still finds its call and is not dropped as an orphan. Without
 * a checkpointer the graph has no memory and gets the whole history.
 *
 * State: `input.state` (minus `messages`) is merged into the input, but only keys whose value
 * differs from the checkpoint's: clients echo back the snapshots we streamed, and re-sending an
 * unchanged value would run it through the key's reducer again (an appending reducer would
 * duplicate it). Keys the graph's state does not declare are ignored by LangGraph.
 *
 * Resume: `forwardedProps.command.resume` answers the pending interrupt(s) with
 * `new Command({ resume })`; new messages and state changes ride along as the command's `update`.
 * A resume for a thread with nothing pending is ignored (LangGraph would run nothing), and a
 * request without one on a thread that waits re-surfaces the interrupts instead of starting over,
 * as the LangGraph Platform integration does.
 */
export function planRun(input: RunAgentInput, snapshot: StateSnapshot | undefined): RunPlan {
  const values = isRecord(snapshot?.values) ? snapshot.values : {};
  const known = new Set(messagesOf(values).map((message) => message.id));
  const messages = toLangChainMessages(input.messages).filter((message) => !message.id || !known.has(message.id));
  const state = changedState(input.state, snapshot ? values : undefined);

  const pending = (snapshot?.tasks ?? []).flatMap((task) => (task.interrupts ?? []) as PendingInterrupt[]);
  if (pending.length > 0) {
    const resume = resumeOf(input);
    if (resume === undefined) return { kind: 'surface-interrupts', interrupts: pending };
    const update = messages.length > 0 ? { ...state, messages } : state;
    return {
      kind: 'stream',
      input: new Command(Object.keys(update).length > 0 ? { resume, update } : { resume }),
    };
  }
  return { kind: 'stream', input: { ...state, messages } };
}

/** `forwardedProps.command.resume` (how CopilotKit clients answer `on_interrupt`). */
export function resumeOf(input: RunAgentInput): unknown {
  const command = (input.forwardedProps as { command?: { resume?: unknown } } | undefined)?.command;
  return command?.resume;
}

function changedState(clientState: unknown, checkpoint: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!isRecord(clientState)) return {};
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(clientState)) {
    if (key === 'messages' || value === undefined) continue;
    if (checkpoint && key in checkpoint && isDeepStrictEqual(asJson(checkpoint[key]), value)) continue;
    changed[key] = value;
  }
  return changed;
}

function messagesOf(values: Record<string, unknown>): BaseMessage[] {
  return Array.isArray(values.messages) ? (values.messages as BaseMessage[]) : [];
}

/** What the client saw of a value: our snapshots are JSON. */
function asJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
