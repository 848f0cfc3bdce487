import type { Context, Tool } from '@ag-ui/core';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { McpTool } from '../../mcp/mcp-toolkit.js';

/**
 * What a run hands the graph under `config.configurable.copilotkit`: the request's frontend tools
 * (AG-UI shape: `{name, description, parameters}` with a JSON schema) and its readable context.
 *
 * A graph that wants the model to call frontend actions binds them in its node:
 *
 *   async function chat(state, config) {
 *     const model = chatModel.bindTools(copilotkitTools(config));
 *     return { messages: [await model.invoke(state.messages, config)] };
 *   }
 *
 * The model's calls of those tools stream to the client as TOOL_CALL_* events; the graph should
 * then end the run (route to END) so the frontend can execute them, and the next run brings the
 * results back as tool messages.
 *
 * Config rather than state: tools and context belong to one request, and putting them in state
 * would checkpoint them into the thread's memory on every step.
 */
export interface CopilotKitConfigurable {
  tools: Tool[];
  context: Context[];
  /** The run's MCP tools, listed on demand (see `mcpTools(config)`); absent without MCP servers. */
  mcp?: () => Promise<McpTool[]>;
}

export const COPILOTKIT_CONFIGURABLE_KEY = 'copilotkit';

/** An OpenAI-format function definition, which every LangChain chat model's `bindTools` accepts. */
export interface FunctionToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** OpenAI rejects a function without a parameters schema; this one means "no arguments". */
const NO_PARAMETERS = { type: 'object', properties: {} };

/** The run's CopilotKit configurable, or empty lists when the graph runs outside the runtime. */
export function copilotkitConfigurable(config: RunnableConfig | undefined): CopilotKitConfigurable {
  const value = config?.configurable?.[COPILOTKIT_CONFIGURABLE_KEY] as Partial<CopilotKitConfigurable> | undefined;
  return { tools: value?.tools ?? [], context: value?.context ?? [], mcp: value?.mcp };
}

/** The request's frontend tools, ready for `chatModel.bindTools(...)`. */
export function copilotkitTools(config: RunnableConfig | undefined): FunctionToolDefinition[] {
  return copilotkitConfigurable(config).tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description,
      parameters: isEmptySchema(tool.parameters) ? NO_PARAMETERS : (tool.parameters as Record<string, unknown>),
    },
  }));
}

function isEmptySchema(parameters: unknown): boolean {
  return typeof parameters !== 'object' || parameters === null || Object.keys(parameters).length === 0;
}
