import type { BaseEvent, Message } from '@ag-ui/core';
import type { ModelCallSettings } from './chat-model-provider.js';

/** A tool offered to the model: name, description and JSON-schema parameters. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** One model call: the conversation so far, the tools on offer, and how to call the model. */
export interface ChatTurnRequest {
  threadId: string;
  runId: string;
  messages: Message[];
  tools: ToolDefinition[];
  toolChoice?: ToolChoice;
  settings: ModelCallSettings;
  /** Aborting cancels the upstream HTTP request. */
  signal: AbortSignal;
}

/**
 * Streams one model call as AG-UI events: TEXT_MESSAGE_START/CONTENT/END and
 * TOOL_CALL_START/ARGS/END, in the order the model produced them, each delta as it arrives.
 * RUN_* events are the runtime's business, not the engine's. Provider failures are thrown as
 * CopilotRuntimeError with the mapped code (401 AUTHENTICATION_ERROR, other 4xx
 * CONFIGURATION_ERROR, 5xx and connection failures NETWORK_ERROR).
 */
export type ChatTurnStream = AsyncIterable<BaseEvent>;
