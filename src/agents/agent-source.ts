import { SetMetadata } from '@nestjs/common';
import type { Identity } from '../common/request-context.js';
import type { RegisteredAgent } from './agent-registry.js';

/** Who asks for agents: sources that call out (remote endpoints) pass it on to their hooks. */
export interface AgentLookup {
  /** Absent outside a request. */
  identity?: Identity;
  /** The request's free-form properties (v1 `properties`, v2 forwarded props); `{}` if none. */
  properties: Readonly<Record<string, unknown>>;
}

/**
 * Agents the registry does not know at boot: they are discovered while serving (a remote
 * endpoint's `/info`), may come and go, and are asked for on every lookup (a source caches as it
 * sees fit). The registry's own agents win over a source's agent of the same id (logged once);
 * among sources, the first (in discovery order) wins. A source that fails is logged and skipped:
 * its agents are left out, the others are served. Mark a provider with `@CopilotAgentSource()`.
 */
export interface AgentSource {
  /** Named in logs. */
  readonly name: string;
  agents(lookup: AgentLookup): Promise<RegisteredAgent[]>;
}

export const COPILOT_AGENT_SOURCE_METADATA = 'copilot-runtime:agent-source';

/** Marks a provider implementing AgentSource: consulted by the AgentRegistry on every lookup. */
export const CopilotAgentSource = (): ClassDecorator => SetMetadata(COPILOT_AGENT_SOURCE_METADATA, true);
