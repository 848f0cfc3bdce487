import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../../config/runtime-options.js';
import { sendGraphQLError } from './graphql-error-response.js';

type ParsedRequest = IncomingMessage & { body?: unknown; _body?: boolean; method?: string };

/**
 * Parses the JSON body of GraphQL requests with the configured size limit and rejects malformed
 * ones with a precise GraphQL error before Apollo sees them. (When the host app already parsed
 * the body with its own parser, that parser's limit applies: the README explains.)
 */
@Injectable()
export class RequestBodyMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<typeof express.json>;
  private readonly limit: string | number;

  constructor(@Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions) {
    this.limit = options.bodyLimit ?? '2mb';
    this.parse = express.json({ limit: this.limit, type: () => true, strict: false });
  }

  use(req: ParsedRequest, res: ServerResponse, next: (error?: unknown) => void): void {
    if (req.method !== 'POST') return next();
    if (req._body) return this.checkShape(req, res, next);
    this.parse(req as express.Request, res as express.Response, (error?: unknown) => {
      if (error) return this.reject(res, error as { type?: string; message?: string });
      this.checkShape(req, res, next);
    });
  }

  private reject(res: ServerResponse, error: { type?: string; message?: string }): void {
    if (error.type === 'entity.too.large') {
      return sendGraphQLError(res, 'PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${this.limit}.`);
    }
    if (error.type === 'entity.parse.failed') {
      return sendGraphQLError(res, 'BAD_REQUEST', `The request body is not valid JSON: ${error.message ?? 'parse error'}.`);
    }
    sendGraphQLError(res, 'BAD_REQUEST', `The request body could not be read: ${error.message ?? error.type ?? 'unknown error'}.`);
  }

  /** The few shape rules Apollo would otherwise answer with HTTP 400. */
  private checkShape(req: ParsedRequest, res: ServerResponse, next: () => void): void {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return sendGraphQLError(res, 'BAD_REQUEST', 'The request body must be a JSON object with a "query" string.');
    }
    const { query, variables, operationName } = body as Record<string, unknown>;
    if (typeof query !== 'string' || query.trim() === '') {
      return sendGraphQLError(res, 'BAD_REQUEST', 'The request body must have a non-empty "query" string.');
    }
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
      return sendGraphQLError(res, 'BAD_REQUEST', '"variables" must be a JSON object.');
    }
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
      return sendGraphQLError(res, 'BAD_REQUEST', '"operationName" must be a string.');
    }
    next();
  }
}
