import type { ToolDefinition } from '../llm/chat-turn.js';
import type { RuntimeTool } from './tool-source.js';

/**
 * The tools offered to the model in one run, from every source in order. The first tool with a
 * given name wins, so a frontend action cannot shadow a server action or an agent.
 */
export class ToolCatalog {
  readonly definitions: ToolDefinition[];
  private readonly byName = new Map<string, RuntimeTool>();

  constructor(tools: Iterable<RuntimeTool>) {
    for (const tool of tools) {
      if (!this.byName.has(tool.definition.name)) this.byName.set(tool.definition.name, tool);
    }
    this.definitions = [...this.byName.values()].map((tool) => tool.definition);
  }

  get(name: string): RuntimeTool | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
}
