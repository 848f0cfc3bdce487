import type { RegisteredAction } from '../actions/action-registry.js';
import type { RegisteredAgent } from '../agents/agent-registry.js';
import type { ToolDefinition } from '../llm/chat-turn.js';

/**
 * The tools offered to the model, in upstream's order: server actions, then agents (an agent
 * called as a tool runs in the same response), then frontend actions (later: remote-endpoint
 * actions and MCP tools in between). The first tool with a given name wins, so a frontend action
 * cannot shadow a server action or an agent.
 */
export class ToolCatalog {
  readonly tools: ToolDefinition[];
  private readonly serverActions = new Map<string, RegisteredAction>();
  private readonly agents = new Map<string, RegisteredAgent>();
  private readonly seen = new Set<string>();

  constructor(serverActions: RegisteredAction[], frontendTools: ToolDefinition[], agents: RegisteredAgent[] = []) {
    const tools: ToolDefinition[] = [];
    for (const action of serverActions) {
      if (this.claim(action.name)) {
        this.serverActions.set(action.name, action);
        tools.push({ name: action.name, description: action.description, parameters: action.parameters ?? {} });
      }
    }
    for (const agent of agents) {
      if (this.claim(agent.id)) {
        this.agents.set(agent.id, agent);
        tools.push({ name: agent.id, description: agentToolDescription(agent), parameters: { type: 'object', properties: {} } });
      }
    }
    for (const tool of frontendTools) {
      if (this.claim(tool.name)) tools.push(tool);
    }
    this.tools = tools;
  }

  /** The server action behind a tool name, or undefined for a frontend tool. */
  serverAction(name: string): RegisteredAction | undefined {
    return this.serverActions.get(name);
  }

  /** The agent behind a tool name, if the model called an agent. */
  agent(name: string): RegisteredAgent | undefined {
    return this.agents.get(name);
  }

  private claim(name: string): boolean {
    if (this.seen.has(name)) return false;
    this.seen.add(name);
    return true;
  }
}

function agentToolDescription(agent: RegisteredAgent): string {
  const what = agent.description || agent.name;
  return `Hand the conversation to the agent "${agent.name}": ${what}`;
}
