import type { ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { wireExtensions, type ErrorCode } from '../../common/errors.js';
import { newId } from '../../common/ids.js';
import { requestLogContext } from '../../observability/logging/log-context.js';

const logger = new Logger('GraphQLErrors');

/**
 * Answers a request that never reached GraphQL execution (bad body, too large) in the GraphQL
 * error shape, as HTTP 200 so the CopilotKit client shows the message instead of a generic
 * "endpoint not found". Only a wrong HTTP method is answered with its own status (405).
 */
export function sendGraphQLError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  http: { status?: number; headers?: Record<string, string>; errorId?: string } = {},
): void {
  // An error logged already (a security event) keeps its id: the log line and the wire agree.
  const errorId = http.errorId ?? newId('err');
  if (!http.errorId) logger.warn(`[${errorId}] ${code}: ${message}`, requestLogContext(res.req));
  const body = JSON.stringify({ errors: [{ message, extensions: wireExtensions(code, errorId) }] });
  res.statusCode = http.status ?? 200;
  for (const [name, value] of Object.entries(http.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
