import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { LogContext } from '../../common/request-context.js';
import type { GraphQLContext } from '../graphql-context.js';

/*
 * Apollo's `formatError` is handed an error, not the request it belongs to, and the log fields
 * travel explicitly (RequestContext.log, no AsyncLocalStorage). So the request's LogContext is
 * attached to each error object as Apollo reports it to the plugins, which it always does before
 * formatting it; the error boundary (error-formatter.ts) reads it back. A WeakMap: an error that
 * is never formatted holds nothing.
 */
const logContexts = new WeakMap<object, LogContext>();

/** The LogContext of the request an error was reported in (errorLogContextPlugin), if any. */
export function logContextOfError(error: unknown): LogContext | undefined {
  return typeof error === 'object' && error !== null ? logContexts.get(error) : undefined;
}

function remember(errors: readonly GraphQLError[] | undefined, log: LogContext | undefined): void {
  if (!log || !errors) return;
  for (const error of errors) logContexts.set(error, log);
}

/**
 * Ties each error of a request (parse, validation, execution, and those of later incremental
 * payloads) to the request's LogContext, so that the error's log line carries its requestId,
 * identity, threadId and runId.
 */
export function errorLogContextPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const log = contextValue?.request?.log;
      return {
        async didEncounterErrors({ errors }) {
          remember(errors, log);
        },
        async didEncounterSubsequentErrors(_requestContext, errors) {
          remember(errors, log);
        },
      };
    },
  };
}
