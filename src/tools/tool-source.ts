import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import { SetMetadata } from '@nestjs/common';
import type { AgentCall } from '../agents/agent-call.js';
import type { Identity } from '../common/request-context.js';
import type { ToolDefinition } from '../llm/chat-turn.js';

/**
 * Where a tool offered to the model comes from, in the order upstream offers them: the first tool
 * with a given name wins, so a later source cannot shadow an earlier one. A source of your own
 * takes a slot between these (e.g. 250).
 */
export const TOOL_SOURCE_ORDER = {
  serverActions: 100,
  remoteEndpoints: 200,
  agents: 300,
  mcp: 400,
  state: 450,
  frontend: 500,
} as const;

/** The run a source is asked to offer tools for. */
export interface ToolRequest {
  identity: Identity;
  /** The agent the tools are for (the built-in agent is `default`). */
  agentId: string;
  input: RunAgentInput;
  /** The request's free-form properties (v1 `properties`, v2 forwarded props). */
  properties: Readonly<Record<string, unknown>>;
  /** Whether the run offers the shared-state tools (v2's built-in agent does, as upstream). */
  stateTools: boolean;
  /** The request's inbound headers, lower-cased (MCP headers computed per request read them). */
  requestHeaders?: Readonly<Record<string, string | undefined>>;
}

/** What a server-side tool gets besides its arguments. */
export interface ToolCallContext {
  threadId: string;
  runId: string;
  toolCallId: string;
  identity: Identity;
  properties: Readonly<Record<string, unknown>>;
  /** The agent's current shared state (what the state tools change). */
  state: unknown;
  /** Aborted when the run is stopped or its caller goes away. */
  signal: AbortSignal;
}

/** A server-side tool's outcome: the result the model reads, and events to emit before it. */
export interface ToolOutcome {
  content: string;
  events?: BaseEvent[];
}

/**
 * One tool offered to the model, by who carries it out:
 * - `server`: executed here when the model's call ends; never throws (failures are results);
 * - `agent`: another agent, whose run streams into this one;
 * - `frontend`: the client executes it and sends the result with its next request.
 */
export type RuntimeTool =
  | { kind: 'server'; definition: ToolDefinition; execute(rawArguments: string, context: ToolCallContext): Promise<ToolOutcome> }
  | {
      kind: 'agent';
      definition: ToolDefinition;
      /** The agent's run, nested in the calling run (RUN_STARTED/FINISHED become markers). */
      run(toolCallId: string, caller: AgentCall, signal: AbortSignal): AsyncIterable<BaseEvent>;
    }
  | { kind: 'frontend'; definition: ToolDefinition };

/**
 * A source of tools for a run: server actions, agents, the request's frontend tools, and later
 * MCP servers and remote endpoints are each one implementation. Mark a provider of your own
 * module with `@CopilotToolSource()` and the runtime offers its tools to the built-in agent.
 */
export interface ToolSource {
  /** Named in logs. */
  readonly name: string;
  /** Its slot among the sources (TOOL_SOURCE_ORDER): lower is offered first. */
  readonly order: number;
  tools(request: ToolRequest): RuntimeTool[] | Promise<RuntimeTool[]>;
}

export const COPILOT_TOOL_SOURCE_METADATA = 'copilot-runtime:tool-source';

/** Marks a provider implementing ToolSource: discovered at boot, asked for tools on every run. */
export const CopilotToolSource = (): ClassDecorator => SetMetadata(COPILOT_TOOL_SOURCE_METADATA, true);
