import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { ServerActionToolSource } from '../actions/server-action-tool-source.js';
import { AgentToolSource } from '../agents/agent-tool-source.js';
import { markedProviders } from '../common/marked-providers.js';
import { FrontendToolSource } from './frontend-tool-source.js';
import { StateToolSource } from './state-tool-source.js';
import { ToolCatalog } from './tool-catalog.js';
import { observedTools, TOOL_CALL_OBSERVER, type ToolCallObserver } from './tool-call-observer.js';
import { COPILOT_TOOL_SOURCE_METADATA, type ToolRequest, type ToolSource } from './tool-source.js';

/**
 * Every tool source, in order: the runtime's own (server actions, agents, shared state, frontend
 * tools) and the `@CopilotToolSource()` providers of any module. Asked together for one run's
 * catalog; a source that fails is logged and skipped, so one broken source never costs the run.
 */
@Injectable()
export class ToolSources implements OnModuleInit {
  private readonly logger = new Logger(ToolSources.name);
  private sources: ToolSource[] = [];
  /** Metrics and traces of server tool calls (observability/), when enabled. */
  @Optional() @Inject(TOOL_CALL_OBSERVER) private readonly observer?: ToolCallObserver;

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
          return observedTools(source.name, await source.tools(request), this.observer);
        } catch (error) {
          this.logger.warn(`Tool source "${source.name}" failed; its tools are not offered: ${(error as Error).message}`);
          return [];
        }
      }),
    );
    return new ToolCatalog(lists.flat());
  }
}
