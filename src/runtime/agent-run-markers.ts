import { EventType, type BaseEvent } from '@ag-ui/core';

/**
 * An agent run nested in another run (an agent the model called as a tool) cannot keep its own
 * RUN_STARTED / RUN_FINISHED: a run has exactly one of each. They become these CUSTOM events, so
 * projections still know which agent the following state and step events belong to.
 */
export const AGENT_RUN_STARTED_EVENT = 'copilot_runtime.agent_run_started';
export const AGENT_RUN_FINISHED_EVENT = 'copilot_runtime.agent_run_finished';

export interface AgentRunMarkerValue {
  agentName: string;
  runId: string;
  /** On the start marker: the state the agent starts from. */
  initialState?: unknown;
}

export function agentRunMarker(name: string, value: AgentRunMarkerValue): BaseEvent {
  return { type: EventType.CUSTOM, name, value, timestamp: Date.now() } as BaseEvent;
}

/** CUSTOM events that are the runtime's own bookkeeping rather than an agent's. */
export function isAgentRunMarker(event: BaseEvent): boolean {
  const name = (event as BaseEvent & { name?: string }).name;
  return event.type === EventType.CUSTOM && (name === AGENT_RUN_STARTED_EVENT || name === AGENT_RUN_FINISHED_EVENT);
}
