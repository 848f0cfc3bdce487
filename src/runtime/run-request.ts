import type { RunAgentInput } from '@ag-ui/core';
import type { AgentBehaviour, ForwardedParameters } from '../agents/agent-call.js';
import type { CloudSettings, RunProtocol } from './run-policy.js';

export type { ForwardedParameters } from '../agents/agent-call.js';

/**
 * Every run, whatever brought it: "agent X runs on thread T with input I". Each transport (v1
 * GraphQL over HTTP or graphql-ws, v2 AG-UI) converts its own input into this shape; the built-in
 * LLM agent is the agent `default`.
 */
export interface RunRequest {
  agentId: string;
  /** AG-UI's input: threadId, runId, messages, the request's (frontend) tools, context, state. */
  input: RunAgentInput;
  /** Free-form request properties (v1 `properties`, v2 forwarded props), handed to server tools. */
  properties: Record<string, unknown>;
  /** v1 `forwardedParameters` (the model call's settings); v2 carries them in `forwardedProps`. */
  forwardedParameters?: ForwardedParameters;
  /** Inbound headers the forwarding policy lets through to HTTP agents (server-set headers win). */
  forwardedHeaders?: Record<string, string>;
  /** The page the request came from (v1 `data.frontend.url`), or the request URL (v2): for middleware. */
  url?: string;
  /** Copilot Cloud settings (v1 `data.cloud`, v2 `forwardedProps.cloud`): read by the guardrails. */
  cloud?: CloudSettings | null;
}

/** How the protocol that brought a run wants it run: options, not separate code paths. */
export interface RunOptions {
  protocol: RunProtocol;
  behaviour: AgentBehaviour;
  /** 'abort': the caller's going away stops the run. 'continue': it runs on in the background. */
  onCallerGone: 'abort' | 'continue';
}

/** v1: the client sends the follow-up after server-side results, as upstream's v1 runtime expects. */
export function v1RunOptions(onCallerGone: 'abort' | 'continue'): RunOptions {
  return { protocol: 'v1', behaviour: { serverToolResults: 'client', stateTools: false }, onCallerGone };
}

/** v2: the built-in agent answers after its server-side tools and may update the shared state. */
export function v2RunOptions(): RunOptions {
  return { protocol: 'v2', behaviour: { serverToolResults: 'model', stateTools: true }, onCallerGone: 'continue' };
}
