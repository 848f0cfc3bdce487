import type { RunnableConfig } from '@langchain/core/runnables';
import { DynamicStructuredTool } from '@langchain/core/tools';
import { copilotkitConfigurable } from './copilotkit-configurable.js';

/**
 * The MCP servers' tools of the run, as LangChain tools a graph binds and executes like its own:
 *
 *   async function chat(state, config) {
 *     const tools = await mcpTools(config);
 *     const model = chatModel.bindTools([...tools, ...copilotkitTools(config)]);
 *     return { messages: [await model.invoke(state.messages, config)] };
 *   }
 *   // and a ToolNode(tools) (or your own node) to run the calls of them.
 *
 * The same servers, names (`<server>__<tool>`), schemas (the server's `inputSchema` unchanged,
 * but for `$schema`) and allow/deny lists as the built-in agent's; per-request headers are
 * computed for the request that started the run. A call's outcome is always a string: an error
 * of the server (or a timeout, or a server gone) is an error result the model reads. The list is
 * taken once per run. Empty when the runtime has no MCP servers or the graph runs outside it.
 */
export async function mcpTools(config: RunnableConfig | undefined): Promise<DynamicStructuredTool[]> {
  const list = copilotkitConfigurable(config).mcp;
  if (!list) return [];
  const tools = await list();
  return tools.map(
    (tool) =>
      new DynamicStructuredTool({
        name: tool.name,
        description: tool.definition.description,
        schema: tool.definition.parameters,
        func: async (args: Record<string, unknown>, _runManager, toolConfig) =>
          tool.call(args, toolConfig?.signal ?? config?.signal ?? new AbortController().signal),
      }),
  );
}
