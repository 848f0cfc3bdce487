import type { AbstractAgent } from '@ag-ui/client';
import type { DiscoveryService, Reflector } from '@nestjs/core';
import type { AgentDeclaration } from './agent-registration.js';
import { isAgentLike } from './agent-registration.js';
import { COPILOT_AGENT_METADATA, type CopilotAgentOptions } from './copilot-agent.decorator.js';

/** A provider that builds the agent for each run itself. */
export interface AgentFactoryProvider {
  createAgent(): AbstractAgent;
}

/**
 * The `@CopilotAgent()` providers of every module, as declarations: a provider that is an agent
 * becomes the prototype cloned per run, one with `createAgent()` becomes the factory.
 */
export function* discoverDecoratedAgents(discovery: DiscoveryService, reflector: Reflector): Generator<AgentDeclaration> {
  // The same instance can be reachable through several wrappers (a re-exported useValue): once is enough.
  const seen = new Set<object>();
  for (const wrapper of discovery.getProviders()) {
    // Class providers carry the metadata on their class; values and factories on the instance's class.
    const instance = wrapper.instance as object | undefined;
    const type = !wrapper.isNotMetatype ? wrapper.metatype : instance?.constructor;
    if (typeof type !== 'function') continue;
    const meta = reflector.get<CopilotAgentOptions | undefined>(COPILOT_AGENT_METADATA, type);
    if (!meta) continue;
    const origin = `@CopilotAgent() ${type.name}`;
    if (!wrapper.isDependencyTreeStatic()) {
      throw new Error(
        `${origin} (agent '${meta.id}') must be a singleton provider (no request or transient scope): the runtime already creates a fresh agent for every run.`,
      );
    }
    if (!instance || seen.has(instance)) continue;
    seen.add(instance);
    yield { ...meta, agent: agentSourceOf(instance, origin, meta.id), origin };
  }
}

function agentSourceOf(instance: object, origin: string, id: unknown): AgentDeclaration['agent'] {
  if (isAgentLike(instance)) return instance;
  const factory = (instance as Partial<AgentFactoryProvider>).createAgent;
  if (typeof factory === 'function') return () => factory.call(instance);
  throw new Error(
    `${origin} (agent '${String(id)}') must extend AbstractAgent (@ag-ui/client) or have a method createAgent(): AbstractAgent.`,
  );
}
