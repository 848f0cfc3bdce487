import type { RuntimeTool, ToolCallContext, ToolOutcome } from './tool-source.js';

/**
 * Watches server-side tool calls (metrics, traces) without any source knowing: ToolSources wraps
 * each `server` tool of a run's catalog once, whatever source it came from (server actions, MCP,
 * remote endpoints, your own). Provided under TOOL_CALL_OBSERVER (observability/); absent, tools
 * are not wrapped at all.
 */
export interface ToolCallObserver {
  /**
   * Runs the call. `execute` never throws for a well-behaved tool (failures are results); the
   * observer must return its outcome unchanged and rethrow what it throws.
   */
  observe(call: ObservedToolCall, execute: () => Promise<ToolOutcome>): Promise<ToolOutcome>;
}

export interface ObservedToolCall {
  /** The ToolSource's name (`server actions`, `state`, an MCP source...). */
  source: string;
  tool: string;
  context: ToolCallContext;
}

export const TOOL_CALL_OBSERVER = Symbol('TOOL_CALL_OBSERVER');

/** A failure result in the shape the runtime's tools use: `{"error":{code,message},...}`. */
export function isFailureOutcome(outcome: ToolOutcome): boolean {
  return outcome.content.startsWith('{"error":');
}

/** The source's tools, each `server` tool's execute going through the observer. */
export function observedTools(source: string, tools: RuntimeTool[], observer: ToolCallObserver | undefined): RuntimeTool[] {
  if (!observer) return tools;
  return tools.map((tool) => {
    if (tool.kind !== 'server') return tool;
    const tool_ = tool.definition.name;
    return {
      ...tool,
      execute: (rawArguments: string, context: ToolCallContext) =>
        observer.observe({ source, tool: tool_, context }, () => tool.execute(rawArguments, context)),
    };
  });
}
