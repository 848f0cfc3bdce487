import { Inject, Injectable, Logger } from '@nestjs/common';
import { resolveAgentLimits } from '../agents/agent-limits.js';
import { CopilotAgentSource, type AgentLookup, type AgentSource } from '../agents/agent-source.js';
import type { RegisteredAgent } from '../agents/agent-registry.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import type { RemoteEndpoint } from './remote-endpoint-config.js';
import { RemoteAgent } from './remote-agent.js';
import { RemoteDiscovery } from './remote-discovery.js';
import { RemoteHttpClient } from './remote-http-client.js';
import type { RemoteAgentInfo } from './remote-info.js';

/**
 * The agents of every remote endpoint that answers, for the AgentRegistry. One RemoteAgent per
 * endpoint and agent is kept while the endpoint keeps announcing it (so a shadowed-agent warning
 * is logged once). Two endpoints announcing the same agent: the first endpoint's is served.
 */
@Injectable()
@CopilotAgentSource()
export class RemoteAgentSource implements AgentSource {
  readonly name = 'remote endpoints';
  private readonly logger = new Logger('RemoteEndpoints');
  private readonly instances = new Map<string, RemoteAgent>();
  private readonly clashesLogged = new Set<string>();

  constructor(
    private readonly discovery: RemoteDiscovery,
    private readonly http: RemoteHttpClient,
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
  ) {}

  async agents(lookup: AgentLookup): Promise<RegisteredAgent[]> {
    const served = new Map<string, RemoteAgent>();
    for (const { endpoint, info } of await this.discovery.discover(lookup)) {
      for (const agent of info.agents) {
        const previous = served.get(agent.name);
        if (previous) {
          this.logClash(agent.name, previous, endpoint);
          continue;
        }
        served.set(agent.name, this.instance(endpoint, agent));
      }
    }
    return [...served.values()];
  }

  private instance(endpoint: RemoteEndpoint, info: RemoteAgentInfo): RemoteAgent {
    const key = `${endpoint.url} ${info.name}`;
    const known = this.instances.get(key);
    if (known && known.info.description === info.description && known.info.type === info.type) return known;
    const agent = new RemoteAgent(endpoint, info, this.http, resolveAgentLimits(info.name, undefined, this.options.agentDefaults?.limits));
    this.instances.set(key, agent);
    return agent;
  }

  private logClash(name: string, served: RemoteAgent, endpoint: RemoteEndpoint): void {
    const key = `${name} ${endpoint.url}`;
    if (this.clashesLogged.has(key)) return;
    this.clashesLogged.add(key);
    this.logger.warn(`Agent '${name}' of remote endpoint ${endpoint.label} is not served: an earlier endpoint serves an agent of that name.`);
  }
}
