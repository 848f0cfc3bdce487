import type { Message, RunAgentInput } from '@ag-ui/core';
import { SetMetadata } from '@nestjs/common';
import type { RequestContext } from '../common/request-context.js';
import type { TokenUsage } from '../ports/conversation-store.js';

/** Which wire brought the run. */
export type RunProtocol = 'v1' | 'v2';

/**
 * One run as the policy stages see it, before anything is stored and before any model or agent
 * is called. `properties` and `forwardedHeaders` may be changed by a before stage; the rest is
 * the request as understood.
 */
export interface RunScope {
  readonly ctx: RequestContext;
  readonly protocol: RunProtocol;
  readonly agentId: string;
  readonly threadId: string;
  readonly runId: string;
  readonly input: Readonly<RunAgentInput>;
  properties: Record<string, unknown>;
  forwardedHeaders: Record<string, string>;
}

/** How a run ended, for the after stages. */
export interface RunEnd {
  status: 'succeeded' | 'failed' | 'stopped';
  error: { code: string; message: string } | null;
  outputMessages: Message[];
  usage: TokenUsage | null;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * A step of run policy (middleware, guardrails, rate limits, audit): one class, one concern.
 * - `beforeRun` runs in order after the request is understood and before anything is stored or
 *   any token is spent; throwing a CopilotRuntimeError refuses the run with that error (any other
 *   error refuses it as UNKNOWN, logged with an errorId).
 * - `afterRun` runs once the run has ended and is recorded, whatever the ending; `onRunError`
 *   when it failed, or when it could not start after the before stages let it through.
 *   Their errors are logged and swallowed: they never delay or change the stream.
 * Mark a provider with `@CopilotRunPolicy()` or list it in the module option `runPolicies`.
 */
export interface RunPolicyStage {
  /** Named in logs and errors. */
  readonly name: string;
  /** Lower runs first; default 0. Stages of one order keep their registration order. */
  readonly order?: number;
  beforeRun?(run: RunScope): void | Promise<void>;
  afterRun?(run: RunScope, end: RunEnd): void | Promise<void>;
  onRunError?(run: RunScope, error: { code: string; message: string }): void | Promise<void>;
  /** A before step (`stage`, this one or another) refused the run; errors logged and swallowed. */
  onRunRefused?(run: RunScope, refusal: { stage: string; code: string; message: string }): void | Promise<void>;
}

export const COPILOT_RUN_POLICY_METADATA = 'copilot-runtime:run-policy';

/** Marks a provider implementing RunPolicyStage: discovered at boot, applied to every run. */
export const CopilotRunPolicy = (): ClassDecorator => SetMetadata(COPILOT_RUN_POLICY_METADATA, true);
