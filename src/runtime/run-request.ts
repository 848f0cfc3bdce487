import type { Message, RunAgentInput } from '@ag-ui/core';
import type { ToolDefinition } from '../llm/chat-turn.js';

/** Model-call parameters a client may forward (v1 `forwardedParameters`). */
export interface ForwardedParameters {
  model?: string;
  temperature?: number;
  maxTokens?: number;
  stop?: string[];
  toolChoice?: string;
  toolChoiceFunctionName?: string;
}

export interface ContextItem {
  description: string;
  value: string;
}

/**
 * A protocol-neutral request for one run. Each transport (v1 GraphQL, later AG-UI) converts its
 * own input into this shape; the runtime knows nothing of either wire format.
 */
export interface RunRequest {
  threadId: string;
  runId: string;
  /** The conversation as the client sees it, in AG-UI's message shape. */
  messages: Message[];
  /** Tools the client executes itself (enabled frontend actions). */
  frontendTools: ToolDefinition[];
  context: ContextItem[];
  forwardedParameters: ForwardedParameters;
  /** Free-form request properties (v1 `properties`), handed to actions. */
  properties: Record<string, unknown>;
}

/**
 * A request for one run of a named agent, in AG-UI's own input shape (v2 routes use it as is;
 * v1 `agentSession` requests are converted to it). The built-in `default` agent is the LLM path.
 */
export interface AgentRunRequest {
  agentId: string;
  input: RunAgentInput;
  /** Free-form request properties handed to server actions (v1 `properties`). */
  properties: Record<string, unknown>;
  /** Inbound headers the forwarding policy lets through to HTTP agents (server-set headers win). */
  forwardedHeaders?: Record<string, string>;
}
