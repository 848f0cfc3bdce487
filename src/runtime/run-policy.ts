import type { Context, Message, RunAgentInput } from '@ag-ui/core';
import { SetMetadata } from '@nestjs/common';
import type { ErrorCode } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import type { TokenUsage } from '../ports/conversation-store.js';

/** Which wire brought the run. */
export type RunProtocol = 'v1' | 'v2';

/**
 * Copilot Cloud settings a request may carry (v1 `data.cloud`, v2 `forwardedProps.cloud`):
 * today only guardrails' topic lists.
 */
export interface CloudSettings {
  guardrails?: { inputValidationRules?: { allowList?: string[] | null; denyList?: string[] | null } | null } | null;
}

/**
 * Where policy stages sit, lower first (stages of one order keep their registration order).
 * Cheap refusals (identity, limits) belong before the middleware, guardrails (a network or model
 * round trip) after it, so a refused request never pays for a guardrails check.
 */
export const RUN_POLICY_ORDER = {
  /** Rate limits, quotas, identity checks. */
  limits: 50,
  /** User middleware (`@CopilotMiddleware()`, `middleware`, `beforeRequestMiddleware`). */
  middleware: 100,
  /** The guardrails check of the user's last message. */
  guardrails: 200,
} as const;

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
  /** The page the request came from (v1 `data.frontend.url`), or the request URL (v2). */
  readonly url?: string;
  /** Copilot Cloud settings the request carries (guardrails), if any. */
  readonly cloud?: CloudSettings | null;
  properties: Record<string, unknown>;
  forwardedHeaders: Record<string, string>;
  /** The application's context items (`input.context`); a before stage may add, change or remove them. */
  context: Context[];
}

/** How a run ended, for the after stages. */
export interface RunEnd {
  status: 'succeeded' | 'failed' | 'stopped';
  /** Why a stopped run stopped: `stop` (asked to), `caller_gone` (the client went away), `superseded`. */
  stopReason?: string | null;
  error: { code: string; message: string } | null;
  outputMessages: Message[];
  usage: TokenUsage | null;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * Thrown by a before stage to deny a run rather than refuse it: the run is recorded (its input
 * messages and the denial), no agent or model is called, and it ends with the denial as its
 * answer on every wire (v1: a failed status with `reason` and the denial's message on a failed
 * text message; v2: an assistant message with `message`, then RUN_ERROR with `code`).
 * A refusal (a CopilotRuntimeError) stores nothing and is an error answer instead.
 */
export class RunDenial extends Error {
  constructor(
    /** The error the run is recorded with (and RUN_ERROR's `code`). */
    readonly code: ErrorCode,
    /** The short reason (v1 `details.guardrailsReason`). */
    readonly reason: string,
    /** What the user reads (the assistant message's text; v1 the failed message status's reason). */
    readonly userMessage: string,
  ) {
    super(userMessage);
    this.name = 'RunDenial';
  }
}

/**
 * A step of run policy (middleware, guardrails, rate limits, audit): one class, one concern.
 * - `beforeRun` runs in order after the request is understood and before anything is stored or
 *   any token is spent; throwing a CopilotRuntimeError refuses the run with that error (any other
 *   error refuses it as UNKNOWN, logged with an errorId).
 * - `afterRun` runs once the run has ended and is recorded, whatever the ending; `onRunError`
 *   when it failed, or when it could not start after this stage let it through (a later stage
 *   refused it, the agent refused its input, the thread was busy...).
 *   Their errors are logged and swallowed: they never delay or change the stream.
 * Mark a provider with `@CopilotRunPolicy()` or list it in the module option `runPolicies`.
 */
export interface RunPolicyStage {
  // beforeRun may also throw a RunDenial: see there.
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
