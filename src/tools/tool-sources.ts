import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { ServerActionToolSource } from '../actions/server-action-tool-source.js';
import { AgentToolSource } from '../agents/agent-tool-source.js';
import { markedProviders } from '../common/marked-providers.js';
import { FrontendToolSource } from './frontend-tool-source.js';
import { StateToolSource } from './state-tool-source.js';
import { ToolCatalog } from './tool-catalog.js';
import { COPILOT_TOOL_SOURCE_METADATA, TOOL_SOURCE_ORDER, type ToolRequest, type ToolSource } from './tool-source.js';

/**
 * Every tool source, in order: the runtime's own (server actions, agents, shared state, frontend
 * tools) and the `@CopilotToolSource()` providers of any module. Asked together for one run's
 * catalog; a source that fails is logged and skipped, so one broken source never costs the run.
 */
@Injectable()
export class ToolSources implements OnModuleInit {
  private readonly logger = new Logger(ToolSources.name);
  private sources: ToolSource[] = [];
  /** Name clashes between sources already logged (bounded: a clash is a configuration fact, not an event). */
  private readonly reportedClashes = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    serverActions: ServerActionToolSource,
    agents: AgentToolSource,
    state: StateToolSource,
    frontend: FrontendToolSource,
  ) {
    this.sources = [serverActions, agents, state, frontend];
  }

  onModuleInit(): void {
    const discovered: ToolSource[] = [];
    for (const { instance: source, type } of markedProviders<ToolSource>(this.discovery, this.reflector, COPILOT_TOOL_SOURCE_METADATA)) {
      if (!source || typeof source.tools !== 'function' || typeof source.order !== 'number') {
        throw new Error(`@CopilotToolSource() ${type.name} must implement ToolSource (name, order, tools()).`);
      }
      if (!this.sources.includes(source)) discovered.push(source);
    }
    // Stable: sources of one order keep the runtime's, then discovery, order.
    this.sources = [...this.sources, ...discovered].sort((a, b) => a.order - b.order);
    if (discovered.length > 0) this.logger.log(`Tool sources: ${this.sources.map((s) => s.name).join(', ')}`);
  }

  /** The run's catalog: every source's tools, in source order, the first of a name winning. */
  async catalogFor(request: ToolRequest): Promise<ToolCatalog> {
    const lists = await Promise.all(
      this.sources.map(async (source) => {
        try {
          return await source.tools(request);
        } catch (error) {
          this.logger.warn(`Tool source "${source.name}" failed; its tools are not offered: ${(error as Error).message}`);
          return [];
        }
      }),
    );
    this.reportClashes(lists);
    return new ToolCatalog(lists.flat());
  }

  /**
   * Logs once each name offered by two sources (an MCP tool named like a server action...): the
   * first source in order keeps it, as documented. Frontend tools are the client's and are not
   * reported: a client may well send a tool the server also has.
   */
  private reportClashes(lists: ReadonlyArray<readonly { definition: { name: string } }[]>): void {
    const owner = new Map<string, string>();
    lists.forEach((tools, index) => {
      const source = this.sources[index]!;
      if (source.order >= TOOL_SOURCE_ORDER.frontend) return;
      for (const tool of tools) {
        const first = owner.get(tool.definition.name);
        if (first === undefined) {
          owner.set(tool.definition.name, source.name);
          continue;
        }
        if (first === source.name) continue;
        const key = `${tool.definition.name}\u0000${first}\u0000${source.name}`;
        if (this.reportedClashes.has(key) || this.reportedClashes.size >= 1000) continue;
        this.reportedClashes.add(key);
        this.logger.warn(`Tool name clash: "${tool.definition.name}" is offered by ${first} and by ${source.name}; ${first} keeps it (first source wins).`);
      }
    });
  }
}
