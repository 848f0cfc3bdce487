import type { RegisteredAction } from '../actions/action-registry.js';
import type { ToolDefinition } from '../llm/chat-turn.js';

/**
 * The tools offered to the model, in upstream's order: server actions first, then frontend
 * actions (later: remote-endpoint actions, agents-as-tools and MCP tools between them).
 * The first tool with a given name wins, so a frontend action cannot shadow a server action.
 */
export class ToolCatalog {
  readonly tools: ToolDefinition[];
  private readonly serverActions = new Map<string, RegisteredAction>();

  constructor(serverActions: RegisteredAction[], frontendTools: ToolDefinition[]) {
    const seen = new Set<string>();
    const tools: ToolDefinition[] = [];
    for (const action of serverActions) {
      if (seen.has(action.name)) continue;
      seen.add(action.name);
      this.serverActions.set(action.name, action);
      tools.push({ name: action.name, description: action.description, parameters: action.parameters ?? {} });
    }
    for (const tool of frontendTools) {
      if (seen.has(tool.name)) continue;
      seen.add(tool.name);
      tools.push(tool);
    }
    this.tools = tools;
  }

  /** The server action behind a tool name, or undefined for a frontend tool. */
  serverAction(name: string): RegisteredAction | undefined {
    return this.serverActions.get(name);
  }
}
