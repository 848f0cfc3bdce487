import { Logger, type FactoryProvider } from '@nestjs/common';
import { McpToolkit } from '../../mcp/mcp-toolkit.js';
import { LangGraphCheckpointerSource } from '../../ports/langgraph-checkpointer.js';
import { AGENT_RUNTIME_SERVICES, type AgentRuntimeServices } from '../agent-definition.js';

const logger = new Logger('LangGraph');

/**
 * Provides AGENT_RUNTIME_SERVICES `{ checkpointer }` (opened once, at boot) to the agent registry:
 * add it to a module's `providers` and `exports`. The checkpointer comes from PersistenceModule
 * (on the runtime's database); without it (an app or test without PersistenceModule) there is no
 * checkpointer, and graphs keep what they were compiled with. With MCP configured (McpModule), also
 * `{ mcp }`: the MCP tools a graph gets through `mcpTools(config)`.
 */
export const langGraphCheckpointerProvider: FactoryProvider<AgentRuntimeServices> = {
  provide: AGENT_RUNTIME_SERVICES,
  inject: [
    { token: LangGraphCheckpointerSource, optional: true },
    { token: McpToolkit, optional: true },
  ],
  useFactory: async (source?: LangGraphCheckpointerSource, toolkit?: McpToolkit): Promise<AgentRuntimeServices> => {
    const mcp = toolkit?.enabled ? { mcp: toolkit } : {};
    if (!source) {
      logger.warn('No database: LangGraph graphs compiled without a checkpointer will not remember threads.');
      return mcp;
    }
    return { checkpointer: await source.open(), ...mcp };
  },
};
