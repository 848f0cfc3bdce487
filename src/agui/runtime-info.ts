import type { RegisteredAgent } from '../agents/agent-registry.js';
import { COMPATIBLE_COPILOTKIT_VERSION } from '../http/runtime-version.js';

export interface AgentInfo {
  name: string;
  description: string;
  className: string;
}

/**
 * `GET /info` (and the envelope's `info`): the agents by id and what this runtime serves.
 * Deliberately the fields of upstream's SSE runtime that we honour and no more: `suggestions`,
 * `threadEndpoints` or `a2uiEnabled: true` would send the frontend to endpoints we do not serve.
 */
export function runtimeInfo(agents: RegisteredAgent[]): Record<string, unknown> {
  const byId: Record<string, AgentInfo> = {};
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
