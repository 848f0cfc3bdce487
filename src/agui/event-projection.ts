import { EventType, type BaseEvent, type Message, type RunAgentInput } from '@ag-ui/core';
import { mapBatches, type BatchedIterable } from '../common/batched-iterable.js';
import type { LoggedEvent } from '../runs/logged-event.js';
import { RUN_STOPPED_EVENT } from '../runs/run-execution.js';
import { isAgentRunMarker } from '../runtime/agent-run-markers.js';
import { isRunDenied } from '../runtime/run-denial.js';

/**
 * One logged event as an AG-UI client must see it, or null when it has no place on the v2 wire:
 * - our CUSTOM `run_stopped` (the marker v1 turns into a stopped status) is dropped: upstream
 *   ends a stopped run with a plain RUN_FINISHED, which follows it in the log;
 * - so are the agent run markers (which agent the following state belongs to, for v1's
 *   AgentStateMessages) and a denied run's `run_denied` (v1's shape of a denial): bookkeeping,
 *   not something an agent said; a v2 client reads a denial from its assistant message and
 *   RUN_ERROR's code;
 * - RUN_STARTED and RUN_FINISHED carry the run's threadId and runId. The client's schema
 *   requires both on RUN_FINISHED (upstream's bare one fails its validation), and an agent
 *   behind us may use ids of its own: the ones the client sent are the ones it knows.
 */
export function toClientEvent(logged: LoggedEvent): BaseEvent | null {
  const event = logged.event as BaseEvent & Record<string, unknown>;
  if (event.type === EventType.CUSTOM && (event.name === RUN_STOPPED_EVENT || isAgentRunMarker(event) || isRunDenied(event))) {
    return null;
  }
  if (event.type === EventType.RUN_STARTED || event.type === EventType.RUN_FINISHED) {
    return { ...event, threadId: logged.threadId, runId: logged.runId } as BaseEvent;
  }
  return event;
}

/**
 * RUN_STARTED with its `input`, as upstream sends it: on a replay the client rebuilds the
 * conversation's user and tool-result messages from it (they are in no other event). An input
 * the agent already put on its own RUN_STARTED is kept; `messages` overrides its messages.
 */
export function withRunInput(
  event: BaseEvent,
  input: Partial<RunAgentInput> & { threadId: string; runId: string },
  messages?: Message[],
): BaseEvent {
  const own = (event as { input?: Partial<RunAgentInput> }).input;
  const base = own ?? input;
  return {
    ...event,
    input: {
      ...base,
      threadId: input.threadId,
      runId: input.runId,
      messages: messages ?? base.messages ?? [],
      // The agent's own, else what the run was given (recorded with the run for replays).
      tools: base.tools ?? input.tools ?? [],
      context: base.context ?? input.context ?? [],
    },
  } as BaseEvent;
}

/** The live events of a run started by this request, for its own stream, in the run's batches. */
export function liveRunEvents(events: AsyncIterable<LoggedEvent>, input: RunAgentInput): BatchedIterable<BaseEvent> {
  return mapBatches(events, (batch) => {
    const out: BaseEvent[] = [];
    for (const logged of batch) {
      const event = toClientEvent(logged);
      if (event) out.push(event.type === EventType.RUN_STARTED ? withRunInput(event, input) : event);
    }
    return out;
  });
}
