import type { IncomingMessage } from 'node:http';
import type { LogContext } from '../../common/request-context.js';

export type { LogContext };

/*
 * A request's log fields travel explicitly (RequestContext.log, handed to log calls), never through
 * AsyncLocalStorage: on Node 20 an enabled AsyncLocalStorage installs promise hooks on every
 * promise of the process, which cost 12% of the server's CPU per streamed v2 token and 28% per v1
 * token (bench:compare, 20 streams of 1,000-token answers).
 */

const REQUEST_LOG_CONTEXT = Symbol('copilot.logContext');

type WithLogContext = IncomingMessage & { [REQUEST_LOG_CONTEXT]?: LogContext };

/** The LogContext of an HTTP request: created by the edge (httpLogging), shared by everything after it. */
export function requestLogContext(req: IncomingMessage, requestId?: string): LogContext {
  const context = ((req as WithLogContext)[REQUEST_LOG_CONTEXT] ??= {});
  if (requestId !== undefined) context.requestId ??= requestId;
  return context;
}

const FIELDS = ['requestId', 'identity', 'threadId', 'runId'] as const;

/**
 * The LogContext fields among a log call's parameters (`logger.warn(message, ctx.log)`): what
 * NestPinoLogger writes as fields of the line. Only these four keys, only strings: an arbitrary
 * object given to a logger never spills into the line this way.
 */
export function logContextIn(params: readonly unknown[]): LogContext | null {
  let found: LogContext | null = null;
  for (const param of params) {
    if (typeof param !== 'object' || param === null || Array.isArray(param) || param instanceof Error) continue;
    for (const key of FIELDS) {
      const value = (param as Record<string, unknown>)[key];
      if (typeof value === 'string') (found ??= {})[key] = value;
    }
  }
  return found;
}

/** A run's log fields, whether or not the LogContextStage has put them in its request's LogContext yet. */
export function runLogContext(run: { ctx: { log: LogContext; identity: { id: string } }; threadId: string; runId: string }): LogContext {
  return { ...run.ctx.log, identity: run.ctx.identity.id, threadId: run.threadId, runId: run.runId };
}
