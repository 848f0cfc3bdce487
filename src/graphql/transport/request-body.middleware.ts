import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { declaresJson, UNSUPPORTED_MEDIA_TYPE_MESSAGE } from '../../edges/content-type.js';
import { JsonBodyReader, type BodyRead } from '../../http/json-body.js';
import { GraphQLLimits } from '../limits/graphql-limits.js';
import { sendGraphQLError } from './graphql-error-response.js';

type ParsedRequest = IncomingMessage & { body?: unknown; originalUrl?: string };

const ALLOWED_METHODS = 'GET, POST';
const SEARCH_PARAMS = ['query', 'operationName', 'variables', 'extensions'] as const;
const JSON_SEARCH_PARAMS = new Set<string>(['variables', 'extensions']);

/**
 * Checks the HTTP side of GraphQL requests before Apollo sees them: the method, the JSON body
 * (read with the configured size limit by the edge's JsonBodyReader, which the edge's dispatch
 * already used to tell GraphQL from AG-UI: the same read) or the GET search parameters.
 * Malformed requests get a precise GraphQL error as HTTP 200 instead of Apollo's bare 400s, which
 * the CopilotKit client would turn into a generic "endpoint not found"; a wrong method gets 405
 * with `Allow`. (When the host app already parsed the body with its own parser, that parser's
 * limit applies: the README explains.)
 */
@Injectable()
export class RequestBodyMiddleware implements NestMiddleware {
  constructor(
    private readonly bodies: JsonBodyReader,
    private readonly limits: GraphQLLimits,
  ) {}

  use(req: ParsedRequest, res: ServerResponse, next: (error?: unknown) => void): void {
    if (req.method === 'GET') return this.checkSearchParams(req, res, next);
    if (req.method !== 'POST') {
      return sendGraphQLError(
        res,
        'METHOD_NOT_ALLOWED',
        `HTTP method ${req.method} is not allowed here: send GraphQL requests with POST (or queries with GET).`,
        { status: 405, headers: { allow: ALLOWED_METHODS } },
      );
    }
    if (!declaresJson(req)) {
      return sendGraphQLError(res, 'UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED_MEDIA_TYPE_MESSAGE, { status: 415 });
    }
    void this.bodies.read(req, res).then((read) => (read.ok ? this.checkShape(req, res, next) : this.reject(res, read)));
  }

  private reject(res: ServerResponse, read: BodyRead & { ok: false }): void {
    const { problem, message } = read;
    const limit = this.bodies.limit;
    if (problem === 'too_large') {
      return sendGraphQLError(res, 'PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${limit}.`);
    }
    if (problem === 'invalid_json') {
      return sendGraphQLError(res, 'BAD_REQUEST', `The request body is not valid JSON: ${message}.`);
    }
    sendGraphQLError(res, 'BAD_REQUEST', `The request body could not be read: ${message}.`);
  }

  /**
   * The few shape rules Apollo would otherwise answer with HTTP 400, the batch size, and each
   * document's token count (before Apollo parses it: see GraphQLLimits).
   */
  private checkShape(req: ParsedRequest, res: ServerResponse, next: () => void): void {
    const body = req.body;
    if (Array.isArray(body)) {
      const max = this.limits.limits.maxBatchSize;
      if (max === 0) {
        return sendGraphQLError(res, 'GRAPHQL_LIMIT_EXCEEDED', 'Batched requests are disabled: send one operation per request (GRAPHQL_MAX_BATCH_SIZE).');
      }
      if (body.length === 0 || body.length > max) {
        return sendGraphQLError(res, 'GRAPHQL_LIMIT_EXCEEDED', `A batch must have between 1 and ${max} operations; this one has ${body.length} (GRAPHQL_MAX_BATCH_SIZE).`);
      }
    }
    for (const operation of Array.isArray(body) ? body : [body]) {
      const problem = this.operationProblem(operation);
      if (problem) return sendGraphQLError(res, problem.code, problem.message);
    }
    next();
  }

  private operationProblem(operation: unknown): { code: 'BAD_REQUEST' | 'GRAPHQL_LIMIT_EXCEEDED'; message: string } | null {
    if (typeof operation !== 'object' || operation === null || Array.isArray(operation)) {
      return { code: 'BAD_REQUEST', message: 'The request body must be a JSON object with a "query" string.' };
    }
    const { query, variables, operationName, extensions } = operation as Record<string, unknown>;
    if (typeof query !== 'string' || query.trim() === '') {
      return { code: 'BAD_REQUEST', message: 'The request body must have a non-empty "query" string.' };
    }
    if (!isOptionalObject(variables)) return { code: 'BAD_REQUEST', message: '"variables" must be a JSON object.' };
    if (!isOptionalObject(extensions)) return { code: 'BAD_REQUEST', message: '"extensions" must be a JSON object.' };
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
      return { code: 'BAD_REQUEST', message: '"operationName" must be a string.' };
    }
    const tooLong = this.limits.checkTokens(query);
    return tooLong ? { code: 'GRAPHQL_LIMIT_EXCEEDED', message: tooLong.message } : null;
  }

  /** GET: the same rules for the search parameters (Apollo would answer them with HTTP 400). */
  private checkSearchParams(req: ParsedRequest, res: ServerResponse, next: () => void): void {
    const search = new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost').searchParams;
    for (const name of SEARCH_PARAMS) {
      const values = search.getAll(name);
      if (values.length > 1) {
        return sendGraphQLError(res, 'BAD_REQUEST', `The "${name}" search parameter may be given only once.`);
      }
      if (values.length === 1 && JSON_SEARCH_PARAMS.has(name) && !isJsonObjectText(values[0])) {
        return sendGraphQLError(res, 'BAD_REQUEST', `The "${name}" search parameter must be a JSON object.`);
      }
    }
    const query = search.get('query');
    const tooLong = query ? this.limits.checkTokens(query) : null;
    if (tooLong) return sendGraphQLError(res, 'GRAPHQL_LIMIT_EXCEEDED', tooLong.message);
    next();
  }
}

function isOptionalObject(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value));
}

function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
