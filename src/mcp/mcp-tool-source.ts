import { Injectable } from '@nestjs/common';
import { parseToolArguments } from '../tools/tool-arguments.js';
import { CopilotToolSource, TOOL_SOURCE_ORDER, type RuntimeTool, type ToolRequest, type ToolSource } from '../tools/tool-source.js';
import { failureResult } from './mcp-tool-result.js';
import { McpToolkit } from './mcp-toolkit.js';

/**
 * The MCP servers' tools, offered to the built-in agent after server actions, remote endpoints
 * and agents (a name they already use keeps theirs). They run on their server when the model's
 * call ends: v1 ends the run with their results, v2 hands them back to the model.
 */
@Injectable()
@CopilotToolSource()
export class McpToolSource implements ToolSource {
  readonly name = 'mcp';
  readonly order = TOOL_SOURCE_ORDER.mcp;

  constructor(private readonly toolkit: McpToolkit) {}

  async tools(request: ToolRequest): Promise<RuntimeTool[]> {
    const tools = await this.toolkit.tools({
      identity: request.identity,
      requestHeaders: request.requestHeaders ?? {},
      properties: request.properties,
    });
    return tools.map((tool) => ({
      kind: 'server',
      definition: tool.definition,
      execute: async (raw, context) => {
        const parsed = parseToolArguments(raw);
        if (!parsed.ok) return { content: failureResult('MCP_CALL_FAILED', `The arguments are not valid JSON: ${parsed.reason}`) };
        const args = parsed.value;
        if (typeof args !== 'object' || args === null || Array.isArray(args)) {
          return { content: failureResult('MCP_CALL_FAILED', 'The arguments must be a JSON object.') };
        }
        return { content: await tool.call(args as Record<string, unknown>, context.signal) };
      },
    }));
  }
}
