import type { ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { wireExtensions, type ErrorCode } from '../../common/errors.js';
import { newId } from '../../common/ids.js';

const logger = new Logger('GraphQLErrors');

/**
 * Answers a request that never reached GraphQL execution (bad body, too large) in the GraphQL
 * error shape, as HTTP 200 so the CopilotKit client shows the message instead of a generic
 * "endpoint not found".
 */
export function sendGraphQLError(res: ServerResponse, code: ErrorCode, message: string): void {
  const errorId = newId('err');
  logger.warn(`[${errorId}] ${code}: ${message}`);
  const body = JSON.stringify({ errors: [{ message, extensions: wireExtensions(code, errorId) }] });
  res.statusCode = 200;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
