import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { CopilotRuntimeError, ERROR_CODES, type ErrorCode } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { LogContext } from '../common/request-context.js';
import { UNSUPPORTED_MEDIA_TYPE_MESSAGE } from '../edges/content-type.js';

const logger = new Logger('AgUiErrors');

/** A JSON answer of a v2 route: status, body, extra headers. */
export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Sent instead of `body` when set: an answer someone else wrote (a middleware's thrown `Response`). */
  raw?: { text: string; contentType: string };
}

/**
 * Sends a JSON answer. `application/json` without a charset, as upstream: the frontend reads
 * `content-type` with `includes("application/json")`, which a charset does not break either.
 */
export function sendJson(res: ServerResponse, answer: JsonAnswer): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const text = answer.raw?.text ?? JSON.stringify(answer.body);
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', answer.raw?.contentType ?? 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

// Upstream's exact bodies (contract/v2/wire): the frontend and hand-written clients match on them.

export const notFound = (): JsonAnswer => ({ status: 404, body: { error: 'Not found' } });

export const methodNotAllowed = (allow: string): JsonAnswer => ({
  status: 405,
  body: { error: 'Method not allowed' },
  headers: { allow },
});

export const agentNotFound = (agentId: string): JsonAnswer => ({
  status: 404,
  body: { error: 'Agent not found', message: `Agent '${agentId}' does not exist` },
});

/** `details` is the zod issue list as text, exactly as upstream sends it. */
export const invalidRequestBody = (details: string): JsonAnswer => ({
  status: 400,
  body: { error: 'Invalid request body', details },
});

/** The single-route envelope's errors (upstream `createResponseError`). */
export const invalidEnvelope = (status: number, message: string): JsonAnswer => ({
  status,
  body: { error: 'invalid_request', message },
});

export const transcriptionNotConfigured = (): JsonAnswer => ({
  status: 503,
  body: { error: 'service_not_configured', message: 'Transcription service is not configured', retryable: false },
});

// Ours, for what upstream has no answer for. Same shape: `error` a short title, `message` what to do.

export const payloadTooLarge = (limit: string | number): JsonAnswer => ({
  status: 413,
  body: { error: 'Payload too large', message: `The request body is larger than the limit of ${limit}.` },
});

export const unsupportedMediaType = (): JsonAnswer => ({
  status: 415,
  body: { error: 'Unsupported media type', code: 'UNSUPPORTED_MEDIA_TYPE', message: UNSUPPORTED_MEDIA_TYPE_MESSAGE },
});

const TITLES: Partial<Record<ErrorCode, string>> = {
  AUTHENTICATION_ERROR: 'unauthorized',
  THREAD_BUSY: 'Thread busy',
  THREAD_NOT_FOUND: 'Thread not found',
  RUN_NOT_FOUND: 'Run not found',
  BAD_USER_INPUT: 'Invalid request',
  BAD_REQUEST: 'Invalid request',
  INPUT_LIMIT_EXCEEDED: 'Invalid request',
  PERSISTENCE_UNAVAILABLE: 'Service unavailable',
  SHUTTING_DOWN: 'Service unavailable',
  RATE_LIMITED: 'Too many requests',
  OVERLOADED: 'Service unavailable',
  NETWORK_ERROR: 'Service unavailable',
  UNKNOWN: 'internal_error',
  REQUEST_REJECTED: 'Request rejected',
  MIDDLEWARE_FAILED: 'internal_error',
  GUARDRAILS_UNAVAILABLE: 'Service unavailable',
  MISSING_PUBLIC_API_KEY_ERROR: 'Missing public API key',
};

/**
 * The one place where a domain error met before a stream starts becomes a v2 HTTP answer:
 * `{error, code, message, errorId}` with the code's status (409 for a busy thread, 404 for a
 * thread the caller may not see, ...). The errorId is in the server log too; an unexpected error
 * is logged with its stack and reaches the client as a generic message. `log`: the request's
 * LogContext, for the log line.
 */
export function errorAnswer(error: unknown, log?: LogContext): JsonAnswer {
  const errorId = (error instanceof CopilotRuntimeError && error.errorId) || newId('err');
  if (!(error instanceof CopilotRuntimeError) || error.code === 'UNKNOWN') {
    const cause = error instanceof CopilotRuntimeError && error.cause instanceof Error ? error.cause : error;
    logger.error(
      `[${errorId}] Unexpected error: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause instanceof Error ? cause.stack : undefined,
      log,
    );
    return {
      status: 500,
      body: { error: 'internal_error', code: 'UNKNOWN', message: `Unexpected server error. Quote ${errorId} to the operator.`, errorId },
    };
  }
  if (!error.errorId) logger.warn(`[${errorId}] ${error.code}: ${error.message}`, log);
  const status = error.httpStatus ?? (error.code === 'AGENT_NOT_FOUND' ? 404 : ERROR_CODES[error.code].statusCode);
  const body: Record<string, unknown> = { error: TITLES[error.code] ?? error.code.toLowerCase(), code: error.code, message: error.message, errorId };
  if (error.retryAfter !== undefined) body.retryAfter = error.retryAfter;
  return { status, body, headers: errorHeaders(error), ...(error.httpBody ? { raw: error.httpBody } : {}) };
}

/**
 * `Retry-After` on a retryable refusal, the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`
 * and `RateLimit-Reset` (seconds) for the limit that refused it, and `WWW-Authenticate` on a 401.
 */
function errorHeaders(error: CopilotRuntimeError): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  // A draining server: retry soon, the load balancer sends it to another instance.
  else if (error.code === 'SHUTTING_DOWN') headers['retry-after'] = '1';
  if (error.rateLimit) {
    headers['ratelimit-limit'] = String(error.rateLimit.limit);
    headers['ratelimit-remaining'] = String(error.rateLimit.remaining);
    headers['ratelimit-reset'] = String(error.rateLimit.resetSeconds);
    headers['ratelimit-policy'] = `${error.rateLimit.limit};name="${error.rateLimit.name}"`;
  }
  if (error.code === 'AUTHENTICATION_ERROR' && error.httpStatus === undefined) headers['www-authenticate'] = 'Bearer';
  return Object.keys(headers).length > 0 ? headers : undefined;
}
