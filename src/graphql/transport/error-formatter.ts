import { unwrapResolverError } from '@apollo/server/errors';
import { Logger } from '@nestjs/common';
import type { GraphQLFormattedError } from 'graphql';
import { CopilotRuntimeError, isErrorCode, retryExtensions, wireExtensions, type ErrorCode } from '../../common/errors.js';
import { newId } from '../../common/ids.js';
import type { LogContext } from '../../common/request-context.js';
import { logContextOfError } from './error-log-context.js';

const logger = new Logger('GraphQLErrors');

/** Apollo's own codes for request problems, mapped onto our documented set. */
const APOLLO_CODES: Record<string, ErrorCode> = {
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_REQUEST',
  OPERATION_RESOLUTION_FAILURE: 'GRAPHQL_VALIDATION_FAILED',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_REQUEST',
};

/**
 * The one boundary where errors meet the wire: every GraphQL error gets a code from the closed set
 * and an id that is also in the server log. Unexpected errors are logged with their stack and
 * reach the client as a generic message: never a stack trace or an internal path. The log line
 * carries the request's fields (`log`: over HTTP, what errorLogContextPlugin tied to the error).
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  log: LogContext | undefined = logContextOfError(error),
): GraphQLFormattedError {
  const original = limitErrorIn(error) ?? unwrapResolverError(error);
  const errorId = (original instanceof CopilotRuntimeError && original.errorId) || newId('err');
  const base = { message: withoutSuggestions(formatted.message), locations: formatted.locations, path: formatted.path };

  if (original instanceof CopilotRuntimeError) {
    if (original.code === 'UNKNOWN') {
      const cause = original.cause instanceof Error ? original.cause : original;
      logger.error(`[${errorId}] UNKNOWN: ${original.message} (${cause.message})`, cause.stack, ...withFields(log));
    } else {
      logger.warn(`[${errorId}] ${original.code}: ${original.message}`, ...withFields(log));
    }
    return {
      ...base,
      message: original.message,
      extensions: { ...wireExtensions(original.code, errorId, original.httpStatus), ...retryExtensions(original) },
    };
  }

  const code = isMethodNotAllowed(error) ? 'METHOD_NOT_ALLOWED' : apolloCodeOf(formatted);
  if (code) {
    logger.warn(`[${errorId}] ${code}: ${formatted.message}`, ...withFields(log));
    return { ...base, extensions: wireExtensions(code, errorId) };
  }

  logger.error(
    `[${errorId}] Unexpected error: ${original instanceof Error ? original.message : String(original)}`,
    original instanceof Error ? original.stack : undefined,
    ...withFields(log),
  );
  return {
    ...base,
    message: `Unexpected server error. Quote ${errorId} to the operator.`,
    extensions: wireExtensions('UNKNOWN', errorId),
  };
}

/** The log call's extra parameter when there are fields to give (Nest's console logger would print an `undefined`). */
function withFields(log: LogContext | undefined): [LogContext] | [] {
  return log ? [log] : [];
}

/**
 * The CopilotRuntimeError a validation rule reported (graphql/limits): Apollo wraps validation
 * errors and rewrites their code, so the code is taken from the original.
 */
function limitErrorIn(error: unknown): CopilotRuntimeError | undefined {
  let current = error;
  for (let depth = 0; depth < 3 && current; depth++) {
    if (current instanceof CopilotRuntimeError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * graphql-js's "Did you mean ...?" hints name fields and types a caller did not ask about: with
 * introspection off they would rebuild the schema field by field. Never on the wire, on any transport.
 */
export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '');
}

function apolloCodeOf(formatted: GraphQLFormattedError): ErrorCode | undefined {
  const code = formatted.extensions?.code;
  if (typeof code !== 'string') return undefined;
  return APOLLO_CODES[code] ?? (isErrorCode(code) ? code : undefined);
}

/** Apollo's "GET requests only support query operations" carries HTTP 405 and `Allow: POST`. */
function isMethodNotAllowed(error: unknown): boolean {
  const http = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http;
  return http?.status === 405;
}
