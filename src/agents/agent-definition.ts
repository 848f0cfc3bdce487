import type { AbstractAgent } from '@ag-ui/client';

/**
 * Per-agent limits. Each one, when exceeded, fails the run with its own message naming the agent.
 * Unset means the runtime default (see AgentsOptions); 0 disables that limit.
 */
export interface AgentLimits {
  /** From the start of the run to the agent's first event. */
  firstEventTimeoutMs?: number;
  /** Between two consecutive events of the agent. */
  idleTimeoutMs?: number;
  /** The whole run. */
  totalTimeoutMs?: number;
}

/**
 * An agent the runtime serves. `agent` is a prototype: every run uses `agent.clone()` (or the
 * factory's fresh instance), so no request mutates what another request sees.
 */
export interface AgentDefinition {
  /** Stable id: `availableAgents[].id`, v1 `agentSession.agentName`, v2 `/agent/:id`. */
  id: string;
  /** Display name. Default: the id. */
  name?: string;
  description?: string;
  agent: AbstractAgent | (() => AbstractAgent);
  limits?: AgentLimits;
}

/** Runtime-wide agent options (CopilotRuntimeOptions.agents is the list; these are the defaults). */
export interface AgentDefaults {
  limits?: AgentLimits;
}
