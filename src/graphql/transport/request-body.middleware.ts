import { Inject, Injectable, Optional, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonBodyReader, type BodyRead } from '../../common/json-body.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../../config/runtime-options.js';
import { sendGraphQLError } from './graphql-error-response.js';

type ParsedRequest = IncomingMessage & { body?: unknown; originalUrl?: string };

const ALLOWED_METHODS = 'GET, POST';
const SEARCH_PARAMS = ['query', 'operationName', 'variables', 'extensions'] as const;
const JSON_SEARCH_PARAMS = new Set<string>(['variables', 'extensions']);

/**
 * Another protocol POSTing JSON to the same path (the AG-UI single-route envelope
 * `{method, params, body}`). The body is parsed once, here; a body the handler claims is handed
 * over instead of going to GraphQL.
 */
export abstract class SharedPathBodyHandler {
  /** True when the parsed body is this protocol's, not a GraphQL request. */
  abstract claims(body: unknown): boolean;
  abstract serve(req: IncomingMessage, res: ServerResponse, body: unknown): void;
  /** A body that could not be read and that does not come from a GraphQL client: answered in this protocol's shape. */
  abstract reject(req: IncomingMessage, res: ServerResponse, problem: { kind: 'too_large' | 'invalid_json'; limit: string | number }): void;
}

/**
 * Whether an unreadable body came from a GraphQL client, which must get a GraphQL error: the
 * CopilotKit v1 client always sends its version header, GraphQL clients accept a GraphQL media
 * type or multipart. The v2 frontend sends neither.
 */
function fromGraphQLClient(req: IncomingMessage): boolean {
  if (req.headers['x-copilotkit-runtime-client-gql-version'] !== undefined) return true;
  return /graphql|multipart\/mixed/i.test(`${req.headers.accept ?? ''} ${req.headers['content-type'] ?? ''}`);
}

/**
 * Checks the HTTP side of GraphQL requests before Apollo sees them: the method, the JSON body
 * (parsed here with the configured size limit) or the GET search parameters. Malformed requests
 * get a precise GraphQL error as HTTP 200 instead of Apollo's bare 400s, which the CopilotKit
 * client would turn into a generic "endpoint not found"; a wrong method gets 405 with `Allow`.
 * (When the host app already parsed the body with its own parser, that parser's limit applies:
 * the README explains.)
 */
@Injectable()
export class RequestBodyMiddleware implements NestMiddleware {
  private readonly bodies: JsonBodyReader;

  constructor(
    @Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions,
    @Optional() private readonly shared?: SharedPathBodyHandler,
  ) {
    this.bodies = new JsonBodyReader(options.bodyLimit ?? '2mb');
  }

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
    void this.bodies.read(req, res).then((read) => (read.ok ? this.dispatch(req, res, next) : this.reject(req, res, read)));
  }

  private dispatch(req: ParsedRequest, res: ServerResponse, next: () => void): void {
    if (this.shared?.claims(req.body)) return this.shared.serve(req, res, req.body);
    this.checkShape(req, res, next);
  }

  private reject(req: ParsedRequest, res: ServerResponse, read: BodyRead & { ok: false }): void {
    const { problem, message } = read;
    const limit = this.bodies.limit;
    if (this.shared && problem !== 'unreadable' && !fromGraphQLClient(req)) {
      return this.shared.reject(req, res, { kind: problem, limit });
    }
    if (problem === 'too_large') {
      return sendGraphQLError(res, 'PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${limit}.`);
    }
    if (problem === 'invalid_json') {
      return sendGraphQLError(res, 'BAD_REQUEST', `The request body is not valid JSON: ${message}.`);
    }
    sendGraphQLError(res, 'BAD_REQUEST', `The request body could not be read: ${message}.`);
  }

  /** The few shape rules Apollo would otherwise answer with HTTP 400. */
  private checkShape(req: ParsedRequest, res: ServerResponse, next: () => void): void {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return sendGraphQLError(res, 'BAD_REQUEST', 'The request body must be a JSON object with a "query" string.');
    }
    const { query, variables, operationName, extensions } = body as Record<string, unknown>;
    if (typeof query !== 'string' || query.trim() === '') {
      return sendGraphQLError(res, 'BAD_REQUEST', 'The request body must have a non-empty "query" string.');
    }
    if (!isOptionalObject(variables)) {
      return sendGraphQLError(res, 'BAD_REQUEST', '"variables" must be a JSON object.');
    }
    if (!isOptionalObject(extensions)) {
      return sendGraphQLError(res, 'BAD_REQUEST', '"extensions" must be a JSON object.');
    }
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
      return sendGraphQLError(res, 'BAD_REQUEST', '"operationName" must be a string.');
    }
    next();
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
