import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { McpModule } from '../mcp/mcp.module.js';
import { AgentRegistry } from './agent-registry.js';
import { langGraphCheckpointerProvider } from './langgraph/langgraph-checkpointer.provider.js';

/**
 * Registered agents (options and `@CopilotAgent()` providers, found with DiscoveryService like
 * actions are: hence DiscoveryModule) and how a run of one is streamed (`streamAgentRun`).
 */
@Module({
  imports: [DiscoveryModule, McpModule],
  providers: [AgentRegistry, langGraphCheckpointerProvider],
  exports: [AgentRegistry, langGraphCheckpointerProvider],
})
export class AgentsModule {}
