import { Injectable } from '@nestjs/common';
import { AgentInvoker } from '../runtime/agent-invoker.js';
import { TOOL_SOURCE_ORDER, type RuntimeTool, type ToolRequest, type ToolSource } from '../tools/tool-source.js';
import { AgentRegistry, type RegisteredAgent } from './agent-registry.js';

/**
 * Registered agents as tools: the model hands the conversation to one, whose run streams into the
 * model's. Neither the agent being run nor the built-in agent (it is the model) is offered.
 */
@Injectable()
export class AgentToolSource implements ToolSource {
  readonly name = 'agents';
  readonly order = TOOL_SOURCE_ORDER.agents;

  constructor(
    private readonly agents: AgentRegistry,
    private readonly invoker: AgentInvoker,
  ) {}

  async tools(request: ToolRequest): Promise<RuntimeTool[]> {
    const agents = await this.agents.listAvailable({ identity: request.identity, properties: request.properties });
    return agents
      .filter((agent) => !agent.builtIn && agent.id !== request.agentId)
      .map((agent) => ({
        kind: 'agent',
        definition: { name: agent.id, description: agentToolDescription(agent), parameters: { type: 'object', properties: {} } },
        run: (toolCallId, caller, signal) => this.invoker.asTool(agent, toolCallId, caller, signal),
      }));
  }
}

function agentToolDescription(agent: RegisteredAgent): string {
  const what = agent.description || agent.name;
  return `Hand the conversation to the agent "${agent.name}": ${what}`;
}
