import type { BaseEvent, Message } from '@ag-ui/core';
import type { ModelCallSettings, UsageReporting } from './chat-model-provider.js';
import type { ProviderErrorContext } from './provider-errors.js';

/** What the engine needs to know about the model's provider: the settings quoted in errors, how it reports usage. */
export interface ChatTurnContext extends ProviderErrorContext {
  /** Default `deltas`. */
  usageReporting?: UsageReporting;
}

/** A tool offered to the model: name, description and JSON-schema parameters. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/**
 * The key of the model call's LangChain metadata that names the copilot run it belongs to: a
 * callback handler (ModelCallSpans) finds the run from it, since contexts are passed explicitly.
 */
export const RUN_ID_METADATA_KEY = 'copilot_run_id';

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

/** Tokens the provider reported for one model call (summed when it reports in several chunks). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/**
 * One model call, streamed as AG-UI events: TEXT_MESSAGE_START/CONTENT/END and
 * TOOL_CALL_START/ARGS/END, in the order the model produced them, each delta as it arrives.
 * RUN_* events are the runtime's business, not the engine's.
 *
 * - The model is called when iteration of `events` starts; `events` can be iterated once.
 * - Provider failures are thrown from the iteration as CopilotRuntimeError with the mapped code
 *   (401 AUTHENTICATION_ERROR, other 4xx CONFIGURATION_ERROR, 5xx and connection failures
 *   NETWORK_ERROR).
 * - Aborting `request.signal` is not a failure: the upstream request is cancelled and the
 *   iteration simply ends (no END events for what was open, no error). The caller owns the signal,
 *   so it knows why the stream ended. Breaking out of the loop cancels the upstream request too.
 */
export interface ChatTurnStream {
  events: AsyncIterable<BaseEvent>;
  /**
   * Tokens the provider reported, once `events` has ended (also after a failure or an abort, if
   * the provider reported them before); null when it reported nothing.
   */
  usage(): TokenUsage | null;
}
