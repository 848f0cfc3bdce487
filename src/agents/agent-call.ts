import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import type { Identity, LogContext } from '../common/request-context.js';
import type { TokenUsage } from '../llm/chat-turn.js';

/** Model-call parameters a client may forward (v1 `forwardedParameters`, v2 `forwardedProps` keys). */
export interface ForwardedParameters {
  model?: string;
  temperature?: number;
  maxTokens?: number;
  stop?: string[];
  toolChoice?: string;
  toolChoiceFunctionName?: string;
}

/**
 * How the built-in agent treats what its tools return; the protocols differ, the code path does not.
 * - `serverToolResults: 'client'` (v1): the run ends after the server-side results, and the
 *   client sends the follow-up request with them (as upstream's v1 runtime).
 * - `'model'` (v2): the results go back to the model until it answers, up to the agent's maxSteps
 *   (today's chat sends no follow-up for server-side tools).
 * - `stateTools`: offer the model the shared-state tools (AGUISendStateSnapshot/Delta), as
 *   upstream's v2 built-in agent does.
 */
export interface AgentBehaviour {
  serverToolResults: 'client' | 'model';
  stateTools: boolean;
}

/** One run of one agent, as every agent receives it whatever the protocol. */
export interface AgentCall {
  identity: Identity;
  /**
   * AG-UI's input: thread, run, conversation, the request's tools and context. Its `state` is the
   * request's; the state the run starts from is given to `events` (it may come from storage).
   */
  input: RunAgentInput;
  /** Free-form request properties (v1 `properties`, v2 forwarded props), handed to server tools. */
  properties: Readonly<Record<string, unknown>>;
  /** The request's inbound headers, lower-cased (for tools whose headers are computed per request). */
  requestHeaders?: Readonly<Record<string, string | undefined>>;
  /** Inbound headers the forwarding policy lets through to HTTP agents (server-set headers win). */
  forwardedHeaders?: Record<string, string>;
  /** v1 `forwardedParameters`; on v2 the built-in agent reads them from `input.forwardedProps`. */
  forwardedParameters?: ForwardedParameters;
  behaviour: AgentBehaviour;
  /** Where an agent that calls a model reports the tokens it used (recorded with the run). */
  reportUsage(usage: TokenUsage | null): void;
  /** The run's log fields (request, identity, thread, run): `logger.warn(message, call.log)`. */
  log?: LogContext;
}

/** A call checked and ready to run: the events it produces once the runner starts it. */
export interface PreparedAgentRun {
  /** The model the run uses, when the agent knows it (recorded with the run). */
  model?: string | null;
  /**
   * The run's AG-UI events from `state`, RUN_STARTED first and one terminal event last; honours
   * `signal` (stop, a caller gone, a lost lock) by ending quietly.
   */
  events(signal: AbortSignal, state: unknown): AsyncIterable<BaseEvent>;
}
