export { LangGraphAgent, type LangGraphAgentConfig } from './langgraph-agent.js';
export {
  COPILOTKIT_CONFIGURABLE_KEY,
  copilotkitConfigurable,
  copilotkitTools,
  type CopilotKitConfigurable,
  type FunctionToolDefinition,
} from './copilotkit-configurable.js';
export { mcpTools } from './mcp-tools.js';
export { ON_INTERRUPT_EVENT } from './graph-stream-mapper.js';
export { AGENT_FAILED } from './graph-run.js';
export type { CompiledLangGraph, LangGraphBuilder, LangGraphSource } from './graph-source.js';
export { langGraphCheckpointerProvider } from './langgraph-checkpointer.provider.js';
