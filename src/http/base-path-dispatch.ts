import { Inject, Injectable, Optional, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BasePath } from './base-path.js';
import { JsonBodyReader } from './json-body.js';

type RoutedRequest = IncomingMessage & { originalUrl?: string };

/** Why a base-path body could not be read, for the protocol that answers it. */
export interface UnreadableBody {
  kind: 'too_large' | 'invalid_json';
  limit: string | number;
}

/**
 * The AG-UI transport as the edge sees it: agui/ provides it (the edge never imports agui/, and
 * GraphQL never sees AG-UI requests). Absent, everything on the base path is GraphQL's.
 */
export abstract class AgUiEndpoint {
  /** A request under the base path; `remainder` is the path after it (`/info`, `/agent/x/run`, ...). */
  abstract serveRoute(req: IncomingMessage, res: ServerResponse, remainder: string): void;
  /** The single-route envelope `{method, params, body}` POSTed to the base path, parsed. */
  abstract serveEnvelope(req: IncomingMessage, res: ServerResponse, body: unknown): void;
  /** A base-path body that could not be read and does not come from a GraphQL client. */
  abstract rejectBody(req: IncomingMessage, res: ServerResponse, problem: UnreadableBody): void;
}

/**
 * Whose a parsed base-path body is: the single-route envelope has a `method` and never a
 * `query`; everything else (a GraphQL request, or something malformed) goes to GraphQL, which
 * answers it as a GraphQL error.
 */
export function isAgUiEnvelope(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    && Object.hasOwn(body, 'method') && !Object.hasOwn(body, 'query');
}

/**
 * Whether an unreadable body came from a GraphQL client, which must get a GraphQL error: the
 * CopilotKit v1 client always sends its version header, GraphQL clients accept a GraphQL media
 * type or multipart. The v2 frontend sends neither.
 */
export function fromGraphQLClient(req: IncomingMessage): boolean {
  if (req.headers['x-copilotkit-runtime-client-gql-version'] !== undefined) return true;
  return /graphql|multipart\/mixed/i.test(`${req.headers.accept ?? ''} ${req.headers['content-type'] ?? ''}`);
}

/**
 * Sends each request on the base path to its protocol:
 * - under the base path (`<base>/info`, `<base>/agent/:id/run|connect|stop/:threadId`, ...):
 *   AG-UI's REST routes. Everything under the base path is AG-UI's (an unknown path is its 404),
 *   except preflights, which belong to the host app's CORS set-up;
 * - a POST to the base path: its body is read here, once (GraphQL's middleware gets the same
 *   read), and an AG-UI envelope goes to AG-UI. So does an unreadable body that no GraphQL client
 *   sent, answered in AG-UI's shape;
 * - everything else continues to GraphQL's middleware and Apollo.
 */
@Injectable()
export class BasePathDispatchMiddleware implements NestMiddleware {
  constructor(
    private readonly base: BasePath,
    private readonly bodies: JsonBodyReader,
    @Optional() @Inject(AgUiEndpoint) private readonly agui?: AgUiEndpoint,
  ) {}

  use(req: RoutedRequest, res: ServerResponse, next: () => void): void {
    if (!this.agui) return next();
    const agui = this.agui;
    const remainder = this.base.remainderOf(req.originalUrl ?? req.url ?? '/');
    if (remainder !== null) {
      if (req.method === 'OPTIONS') return next();
      return agui.serveRoute(req, res, remainder);
    }
    if (req.method !== 'POST') return next();
    void this.bodies.read(req, res).then((read) => {
      if (read.ok) return isAgUiEnvelope(read.body) ? agui.serveEnvelope(req, res, read.body) : next();
      if (read.problem !== 'unreadable' && !fromGraphQLClient(req)) {
        return agui.rejectBody(req, res, { kind: read.problem, limit: this.bodies.limit });
      }
      next();
    });
  }
}
