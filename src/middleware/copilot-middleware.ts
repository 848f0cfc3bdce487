import type { Context, Message } from '@ag-ui/core';
import { SetMetadata } from '@nestjs/common';
import { CopilotRuntimeError, type ErrorCode } from '../common/errors.js';
import type { Identity } from '../common/request-context.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import type { RunProtocol } from '../runtime/run-policy.js';

/**
 * A request as middleware sees it, before anything is stored and before any model or agent is
 * called. Only `properties`, `forwardedHeaders` and `context` may be changed (in place or by
 * assigning a new value); everything else is what the request says.
 */
export interface MiddlewareRequest {
  readonly protocol: RunProtocol;
  readonly requestId: string;
  readonly identity: Identity;
  readonly agentId: string;
  readonly threadId: string;
  readonly runId: string;
  /** The conversation the request sends (AG-UI messages). */
  readonly inputMessages: readonly Message[];
  /** v1: the page (`data.frontend.url`); v2: the request URL. */
  readonly url?: string;
  /** The inbound request headers, lower-cased (over graphql-ws: the upgrade request's). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Request properties: what server actions and tools receive (v2: `forwardedProps`). */
  properties: Record<string, unknown>;
  /** Headers sent on to HTTP agents (after the forwarding policy). */
  forwardedHeaders: Record<string, string>;
  /** The application's context items, which the built-in agent gives the model. */
  context: Context[];
  /** Fires when the hook's time is up (`middlewareTimeoutMs`) or the client went away: stop waiting for what you called. */
  readonly signal: AbortSignal;
}

/** How the run ended, for after, stop and error hooks (once it has ended and is recorded). */
export interface MiddlewareOutcome extends Omit<MiddlewareRequest, 'signal'> {
  readonly status: 'succeeded' | 'failed' | 'stopped';
  /** A stopped run: `stop` (asked to), `caller_gone` (the client went away), `superseded`. */
  readonly stopReason: string | null;
  /** A failed run's error (GUARDRAILS_VALIDATION_FAILED for a denied one). */
  readonly error: { code: string; message: string } | null;
  readonly outputMessages: readonly Message[];
  /** Tokens the model used, when the agent reported them. */
  readonly usage: TokenUsage | null;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly durationMs: number;
  /** Fires when the hook's time is up. */
  readonly signal: AbortSignal;
}

/**
 * Request middleware: one provider marked `@CopilotMiddleware()` (or listed in the module option
 * `middlewares`), run for every run of every protocol (v1 HTTP, graphql-ws, v2).
 * - `beforeRequest` may change `properties`, `forwardedHeaders` and `context`, or refuse the request
 *   by throwing a RequestRejectedError, a CopilotRuntimeError, or (as upstream's v2) a `Response`.
 *   Anything else it throws, or not answering within the timeout, refuses the request too
 *   (MIDDLEWARE_FAILED, with an errorId): middleware fails closed.
 * - `afterRequest` hears every ending; `onStop` a stopped run; `onError` a failed one (or one
 *   that could not start). They run after the run is recorded, off the stream's path; their
 *   errors and timeouts are logged with an errorId and swallowed.
 */
export interface CopilotRequestMiddleware {
  /** Named in logs and errors (default: the class name). */
  readonly name?: string;
  beforeRequest?(request: MiddlewareRequest): void | Promise<void>;
  afterRequest?(outcome: MiddlewareOutcome): void | Promise<void>;
  onStop?(outcome: MiddlewareOutcome): void | Promise<void>;
  onError?(outcome: MiddlewareOutcome): void | Promise<void>;
}

export const COPILOT_MIDDLEWARE_METADATA = 'copilot-runtime:middleware';

/** Marks a provider implementing CopilotRequestMiddleware: discovered at boot, run for every request. */
export const CopilotMiddleware = (): ClassDecorator => SetMetadata(COPILOT_MIDDLEWARE_METADATA, true);

/**
 * A middleware's refusal with an HTTP status: v2 answers with that status (and `body` as JSON
 * when given, else `{error, code, message, errorId}`); v1 gets a GraphQL error (HTTP 200) with
 * the code AUTHENTICATION_ERROR for 401, REQUEST_REJECTED otherwise; graphql-ws an error message.
 */
export class RequestRejectedError extends CopilotRuntimeError {
  constructor(status: number, message: string, body?: Record<string, unknown>) {
    super(codeForStatus(status), message, {
      httpStatus: status,
      httpBody: body ? { text: JSON.stringify(body), contentType: 'application/json' } : undefined,
    });
    this.name = 'RequestRejectedError';
  }
}

export function codeForStatus(status: number): ErrorCode {
  return status === 401 ? 'AUTHENTICATION_ERROR' : 'REQUEST_REJECTED';
}
