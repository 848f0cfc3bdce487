import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import type { AgentLimits } from './agent-definition.js';

export const COPILOT_AGENT_METADATA = 'copilot-runtime:agent';

export interface CopilotAgentOptions {
  /** Stable id: `availableAgents[].id`, v1 `agentSession.agentName`, v2 `/agent/:id`. Unique. */
  id: string;
  /** Display name. Default: the id. */
  name?: string;
  description?: string;
  /** This agent's limits, over `agentDefaults.limits`. */
  limits?: AgentLimits;
}

/**
 * Registers a provider of your own module as an agent the runtime serves. The provider either IS
 * an AbstractAgent (`@ag-ui/client`; each run uses a `clone()` of it) or has a method
 * `createAgent(): AbstractAgent` (called for each run). Either way the provider can inject what
 * it needs; it must be a singleton (default scope).
 *
 * ```ts
 * @CopilotAgent({ id: 'research', description: 'Researches a topic' })
 * export class ResearchAgent {
 *   constructor(private readonly config: ConfigService) {}
 *   createAgent() {
 *     return new HttpAgent({ url: this.config.get('RESEARCH_AGENT_URL'), headers: { Authorization: `Bearer ${this.config.get('RESEARCH_TOKEN')}` } });
 *   }
 * }
 *
 * @Module({ providers: [ResearchAgent] })
 * export class AgentsOfMineModule {}
 * ```
 *
 * Includes `@Injectable()`, so the provider's constructor can take injected services.
 */
export const CopilotAgent = (options: CopilotAgentOptions): ClassDecorator =>
  applyDecorators(Injectable(), SetMetadata(COPILOT_AGENT_METADATA, options));
