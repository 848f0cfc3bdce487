import type { RegisteredAgent } from '../agents/agent-registry.js';
import { COMPATIBLE_COPILOTKIT_VERSION } from '../http/runtime-version.js';
import { DEFAULT_AGENT_ID } from '../runtime/default-agent.js';

export interface AgentInfo {
  name: string;
  description: string;
  className: string;
}

/**
 * The built-in agent on the configured model. `BuiltInAgent` is upstream's class for the same
 * role (an LLM agent inside the runtime), so the frontend's devtools label it the same way.
 */
const DEFAULT_AGENT_INFO: AgentInfo = {
  name: DEFAULT_AGENT_ID,
  description: 'The built-in assistant on the configured model, with the frontend tools and server actions.',
  className: 'BuiltInAgent',
};

/**
 * `GET /info` (and the envelope's `info`): the agents by id and what this runtime serves.
 * Deliberately the fields of upstream's SSE runtime that we honour and no more: `suggestions`,
 * `threadEndpoints` or `a2uiEnabled: true` would send the frontend to endpoints we do not serve.
 */
export function runtimeInfo(agents: RegisteredAgent[]): Record<string, unknown> {
  const byId: Record<string, AgentInfo> = {};
  if (!agents.some((agent) => agent.id === DEFAULT_AGENT_ID)) byId[DEFAULT_AGENT_ID] = DEFAULT_AGENT_INFO;
  for (const agent of agents) {
    byId[agent.id] = { name: agent.name, description: agent.description, className: agent.className };
  }
  return {
    version: COMPATIBLE_COPILOTKIT_VERSION,
    agents: byId,
    audioFileTranscriptionEnabled: false,
    mode: 'sse',
    a2uiEnabled: false,
  };
}
