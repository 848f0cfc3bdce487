import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line of a request carries (pino's mixin reads it): the request id from the edge,
 * then the identity, thread and run once the run pipeline knows them. One mutable object per
 * request, so a field added deep in the pipeline shows on every later line of that request.
 */
export interface LogContext {
  requestId?: string;
  identity?: string;
  threadId?: string;
  runId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Adds fields to the current request's context; outside one (a graphql-ws operation, a timer),
 * starts a context for the rest of this asynchronous execution.
 */
export function annotateLogContext(fields: LogContext): void {
  const current = storage.getStore();
  if (current) Object.assign(current, fields);
  else storage.enterWith({ ...fields });
}
