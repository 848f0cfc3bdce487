import type { AbstractAgent } from '@ag-ui/client';
import type { AgentLimits } from './agent-definition.js';

/** An agent as the runtime knows it once registered (from options or from a decorated provider). */
export interface RegisteredAgent {
  id: string;
  name: string;
  description: string;
  /** The agent's class name, for v2 `info` (`className`). */
  className: string;
  /** Effective limits (the agent's own over the runtime defaults). */
  limits: Required<AgentLimits>;
  /** A fresh instance for one run: nothing shared is mutated per request. */
  create(): AbstractAgent;
}

import { Inject, Injectable } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';

/**
 * Every agent the runtime serves, by id. SKELETON: options only; decorated providers, validation
 * of ids and default limits are still to come.
 */
@Injectable()
export class AgentRegistry {
  private readonly agents = new Map<string, RegisteredAgent>();

  constructor(@Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions) {
    for (const definition of options.agents ?? []) {
      const prototype = typeof definition.agent === 'function' ? undefined : definition.agent;
      const create = typeof definition.agent === 'function' ? definition.agent : () => prototype!.clone();
      this.agents.set(definition.id, {
        id: definition.id,
        name: definition.name ?? definition.id,
        description: definition.description ?? '',
        className: (prototype ?? create()).constructor.name,
        limits: { firstEventTimeoutMs: 0, idleTimeoutMs: 0, totalTimeoutMs: 0, ...definition.limits },
        create,
      });
    }
  }

  list(): RegisteredAgent[] {
    return [...this.agents.values()];
  }

  get(id: string): RegisteredAgent | undefined {
    return this.agents.get(id);
  }

  /** The agent, or AGENT_NOT_FOUND naming the agents there are. */
  require(id: string): RegisteredAgent {
    const agent = this.agents.get(id);
    if (agent) return agent;
    const known = this.list().map((a) => a.id);
    throw new CopilotRuntimeError(
      'AGENT_NOT_FOUND',
      `Agent '${id}' was not found. ` + (known.length ? `Available agents: ${known.join(', ')}.` : 'No agents are registered.'),
    );
  }
}
