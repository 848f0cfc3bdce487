import type { AbstractAgent } from '@ag-ui/client';
import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { CopilotRuntimeError } from '../common/errors.js';
import { markedProviders } from '../common/marked-providers.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import type { AgentCall, PreparedAgentRun } from './agent-call.js';
import { AGENT_RUNTIME_SERVICES, type AgentLimits, type AgentRunScope, type AgentRuntimeServices } from './agent-definition.js';
import { registerAgent, type AgentDeclaration } from './agent-registration.js';
import { COPILOT_AGENT_SOURCE_METADATA, type AgentLookup, type AgentSource } from './agent-source.js';
import { discoverDecoratedAgents } from './decorated-agents.js';

/**
 * An agent as the runtime knows it once registered: an AG-UI agent (from options or a decorated
 * provider) or the runtime's built-in LLM agent. Every run of every protocol goes through `prepare`.
 */
export interface RegisteredAgent {
  id: string;
  name: string;
  description: string;
  /** The agent's class name, for v2 `info` (`className`). */
  className: string;
  /** Effective limits (the agent's own over the runtime defaults). */
  limits: Required<AgentLimits>;
  /**
   * The runtime's own LLM agent (served as `default`): it is the model rather than a delegate, so
   * it is not listed to v1 clients, not announced as a v1 agent session and not offered as a tool.
   */
  builtIn: boolean;
  /**
   * Checks one call before anything is stored or any model is called (throws a
   * CopilotRuntimeError naming the problem) and returns its run.
   */
  prepare(call: AgentCall): Promise<PreparedAgentRun>;
  /**
   * For agents that keep their threads themselves (remote endpoints): the thread's state and
   * messages, which `loadAgentState` answers instead of what the runtime stored.
   */
  loadState?(threadId: string, lookup: AgentLookup): Promise<{ threadExists: boolean; state: unknown; messages: unknown }>;
}

/** A registered AG-UI agent: `create()` gives a fresh instance per run (nothing shared is mutated). */
export interface AgUiRegisteredAgent extends RegisteredAgent {
  /** `run`: the run the instance is for, handed to a RuntimeAwareAgent with the runtime's services. */
  create(run?: AgentRunScope): AbstractAgent;
}

/**
 * Every agent the runtime serves, by id: those of `CopilotRuntimeModule.forRoot({ agents })` first,
 * then the `@CopilotAgent()` providers of any module, in discovery order. Built once, at the
 * latest in onModuleInit, so an invalid or duplicate id stops the boot with a clear message.
 *
 * Agents discovered while serving (remote endpoints) come from AgentSources
 * (`@CopilotAgentSource()` providers): `list`, `get` and `require` know the agents registered at
 * boot; `listAvailable`, `find` and `resolve` also ask the sources (what requests use).
 */
@Injectable()
export class AgentRegistry implements OnModuleInit {
  private readonly logger = new Logger(AgentRegistry.name);
  private agents?: Map<string, RegisteredAgent>;
  private builtIn?: RegisteredAgent;
  private sources: AgentSource[] = [];
  /** Source agents already reported as shadowed (logged once per source and id). */
  private readonly shadowedLogged = new Set<string>();

  constructor(
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    @Optional() @Inject(AGENT_RUNTIME_SERVICES) private readonly services?: AgentRuntimeServices,
  ) {}

  onModuleInit(): void {
    const agents = this.registry();
    if (agents.size > 0) this.logger.log(`Agents: ${[...agents.keys()].join(', ')}`);
    for (const { instance, type } of markedProviders<AgentSource>(this.discovery, this.reflector, COPILOT_AGENT_SOURCE_METADATA)) {
      if (!instance || typeof instance.agents !== 'function') {
        throw new Error(`@CopilotAgentSource() ${type.name} must implement AgentSource (name, agents()).`);
      }
      this.sources.push(instance);
    }
  }

  /** Adds a source (sources of `@CopilotAgentSource()` providers are added at boot). */
  addSource(source: AgentSource): void {
    if (!this.sources.includes(source)) this.sources.push(source);
  }

  /** Every agent a request may use now: the registered ones, then the sources' (first id wins). */
  async listAvailable(lookup: AgentLookup): Promise<RegisteredAgent[]> {
    const agents = new Map(this.registry());
    for (const [source, found] of await this.fromSources(lookup)) {
      for (const agent of found) {
        if (!agents.has(agent.id)) {
          agents.set(agent.id, agent);
          continue;
        }
        const key = `${source.name}\u0000${agent.id}`;
        if (agents.get(agent.id) !== agent && !this.shadowedLogged.has(key)) {
          this.shadowedLogged.add(key);
          this.logger.warn(`Agent '${agent.id}' of ${source.name} is not served: an agent with that id is registered first.`);
        }
      }
    }
    return [...agents.values()];
  }

  /** The agent of that id, registered or from a source; undefined if none has it. */
  async find(id: string, lookup: AgentLookup): Promise<RegisteredAgent | undefined> {
    const registered = this.get(id);
    if (registered || this.sources.length === 0) return registered;
    return (await this.listAvailable(lookup)).find((agent) => agent.id === id);
  }

  /** Like `require`, with the sources' agents: the agent, or AGENT_NOT_FOUND naming those there are. */
  async resolve(id: string, lookup: AgentLookup): Promise<RegisteredAgent> {
    const registered = this.get(id);
    if (registered || this.sources.length === 0) return this.require(id);
    const available = await this.listAvailable(lookup);
    const agent = available.find((candidate) => candidate.id === id);
    if (agent) return agent;
    throw notFound(id, available.map((a) => a.id));
  }

  /**
   * Serves the runtime's built-in agent under its id unless an agent of that id is registered
   * (users replace the built-in `default` by registering their own).
   */
  useBuiltIn(agent: RegisteredAgent): void {
    if (this.agents) throw new Error('The built-in agent must be given before the registry is first used.');
    this.builtIn = agent;
  }

  list(): RegisteredAgent[] {
    return [...this.registry().values()];
  }

  get(id: string): RegisteredAgent | undefined {
    return this.registry().get(id);
  }

  /** The agent, or AGENT_NOT_FOUND naming the agents there are. */
  require(id: string): RegisteredAgent {
    const agent = this.get(id);
    if (agent) return agent;
    throw notFound(id, this.list().map((a) => a.id));
  }

  private async fromSources(lookup: AgentLookup): Promise<Array<[AgentSource, RegisteredAgent[]]>> {
    return Promise.all(
      this.sources.map(async (source): Promise<[AgentSource, RegisteredAgent[]]> => {
        try {
          return [source, await source.agents(lookup)];
        } catch (error) {
          this.logger.warn(`Agent source "${source.name}" failed; its agents are not served: ${(error as Error).message}`);
          return [source, []];
        }
      }),
    );
  }

  /**
   * Built on first use rather than in the constructor: decorated providers of other modules
   * only exist once Nest has instantiated every module (before any onModuleInit runs).
   */
  private registry(): Map<string, RegisteredAgent> {
    if (this.agents) return this.agents;
    const declarations: AgentDeclaration[] = [
      ...(this.options.agents ?? []).map((definition, index) => ({
        ...definition,
        origin: `module options (agents[${index}])`,
      })),
      ...discoverDecoratedAgents(this.discovery, this.reflector),
    ];
    const context = { defaults: this.options.agentDefaults?.limits, services: this.services };
    const agents = new Map<string, RegisteredAgent>();
    const origins = new Map<string, string>();
    for (const declaration of declarations) {
      const agent = registerAgent(declaration, context);
      const previous = origins.get(agent.id);
      if (previous !== undefined) {
        throw new Error(
          `Duplicate agent id '${agent.id}': declared in ${previous} and in ${declaration.origin}. Agent ids must be unique.`,
        );
      }
      origins.set(agent.id, declaration.origin);
      agents.set(agent.id, agent);
    }
    // The built-in agent first, as v2 `info` has always listed it, unless an agent replaces it.
    this.agents = this.builtIn && !agents.has(this.builtIn.id) ? new Map([[this.builtIn.id, this.builtIn], ...agents]) : agents;
    return this.agents;
  }
}

function notFound(id: string, known: string[]): CopilotRuntimeError {
  return new CopilotRuntimeError(
    'AGENT_NOT_FOUND',
    `Agent '${id}' was not found. ` + (known.length ? `Available agents: ${known.join(', ')}.` : 'No agents are registered.'),
  );
}
