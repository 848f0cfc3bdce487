import type { RegisteredAgent } from '../agents/agent-registry.js';
import { COMPATIBLE_COPILOTKIT_VERSION } from '../http/runtime-version.js';
import { THREAD_ENDPOINTS } from './thread-endpoints.js';

export interface AgentInfo {
  name: string;
  description: string;
  className: string;
}

/** What this runtime serves beyond the agents, as `info` advertises it. */
export interface RuntimeFeatures {
  /** A transcription service is configured (`POST /transcribe` answers with text, not 503). */
  transcription: boolean;
}

/**
 * `GET /info` (and the envelope's `info`): the agents by id and what this runtime serves, no
 * more (a flag would send the frontend to an endpoint we do not serve):
 * - `threadEndpoints` (REST) and `singleRoute.threadEndpoints` (through the envelope's
 *   `resource/request`): the thread list, its mutations and messages; no realtime socket;
 * - `suggestions`: `POST /agent/:id/suggest`, stateless suggestion runs;
 * - `audioFileTranscriptionEnabled`: when a transcription service is configured;
 * - `a2uiEnabled: false`: no A2UI.
 * The client reads `threadEndpoints` on the REST transport and `singleRoute` on the single route.
 */
export function runtimeInfo(agents: RegisteredAgent[], features: RuntimeFeatures): Record<string, unknown> {
  const byId: Record<string, AgentInfo> = {};
  for (const agent of agents) {
    byId[agent.id] = { name: agent.name, description: agent.description, className: agent.className };
  }
  return {
    version: COMPATIBLE_COPILOTKIT_VERSION,
    agents: byId,
    audioFileTranscriptionEnabled: features.transcription,
    mode: 'sse',
    threadEndpoints: { ...THREAD_ENDPOINTS },
    singleRoute: { resourceOperations: true, threadEndpoints: { ...THREAD_ENDPOINTS } },
    suggestions: true,
    a2uiEnabled: false,
  };
}
