import { Injectable } from '@nestjs/common';
import { CopilotRunPolicy, type RunPolicyStage, type RunScope } from '../runtime/run-policy.js';
import { McpToolkit } from './mcp-toolkit.js';

/**
 * Refuses a run whose request names MCP servers (`properties.mcpServers` / `mcpEndpoints`) that the
 * configuration does not allow-list, before anything is stored or contacted: v1 answers with a
 * BAD_USER_INPUT GraphQL error, v2 with 400. Early among the stages: it only reads the request.
 */
@Injectable()
@CopilotRunPolicy()
export class McpClientServerPolicy implements RunPolicyStage {
  readonly name = 'mcp-client-servers';
  readonly order = -100;

  constructor(private readonly toolkit: McpToolkit) {}

  beforeRun(run: RunScope): void {
    this.toolkit.clientServers(run.properties);
  }
}
