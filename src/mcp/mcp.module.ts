import { Module } from '@nestjs/common';
import { McpClientServerPolicy } from './mcp-client-server-policy.js';
import { McpToolSource } from './mcp-tool-source.js';
import { McpToolkit } from './mcp-toolkit.js';

/**
 * MCP servers as tools: configured servers (module option `mcp`, env `MCP_SERVERS`) and
 * allow-listed client-named ones, pooled connections, the tool source (discovered through
 * `@CopilotToolSource()`) and the policy stage refusing servers a client may not name.
 */
@Module({
  providers: [McpToolkit, McpToolSource, McpClientServerPolicy],
  exports: [McpToolkit],
})
export class McpModule {}
