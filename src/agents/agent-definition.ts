import type { AbstractAgent } from '@ag-ui/client';

/**
 * Per-agent limits. Each one, when exceeded, fails the run with AGENT_TIMEOUT and a message naming
 * the agent and the limit. Unset means `agentDefaults.limits`, else the built-in defaults
 * (DEFAULT_AGENT_LIMITS: 60 s to the first event, 120 s idle, 600 s in all); 0 disables that limit.
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
 * factory's fresh instance), so no request mutates what another request sees. A factory is also
 * called once at boot, to check that it returns an AbstractAgent.
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
  /** Model calls of one run for agents that loop over tools (the built-in agent). Default 10. */
  maxSteps?: number;
}

/**
 * Services of the runtime an agent may use (a LangGraph JS graph's checkpointer on the runtime's
 * database). Provided under AGENT_RUNTIME_SERVICES; the registry hands them to every instance it
 * creates that implements RuntimeAwareAgent.
 */
export interface AgentRuntimeServices {
  checkpointer?: import('@langchain/langgraph-checkpoint').BaseCheckpointSaver;
  /** The MCP servers' tools of a run (what `mcpTools(config)` hands a LangGraph graph). */
  mcp?: { tools(scope: AgentRunScope): Promise<import('../mcp/mcp-toolkit.js').McpTool[]> };
  /** The run this instance was created for (given per run; absent on instances made outside a run). */
  run?: AgentRunScope;
}

/** Who a run is for: the caller, the request's inbound headers (lower-cased) and its properties. */
export type AgentRunScope = import('../mcp/mcp-server-config.js').McpRequestScope;

export const AGENT_RUNTIME_SERVICES = Symbol('AGENT_RUNTIME_SERVICES');

export interface RuntimeAwareAgent {
  attachRuntime(services: AgentRuntimeServices): void;
}

export function isRuntimeAware(agent: unknown): agent is RuntimeAwareAgent {
  return typeof (agent as Partial<RuntimeAwareAgent> | null)?.attachRuntime === 'function';
}
