import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CopilotRuntimeError } from '../../common/errors.js';
import { RequestContexts } from '../../http/request-contexts.js';
import { sendGraphQLError } from './graphql-error-response.js';

/**
 * Resolves the caller's identity once per request, before any GraphQL work; a failure is
 * answered as a GraphQL error (HTTP 200, like every request error the v1 client must show).
 */
@Injectable()
export class IdentityMiddleware implements NestMiddleware {
  constructor(private readonly contexts: RequestContexts) {}

  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    if (req.method === 'OPTIONS') return next();
    this.contexts.identifyRequest(req).then(
      () => next(),
      (error: unknown) => {
        const known = error instanceof CopilotRuntimeError ? error : null;
        sendGraphQLError(res, known?.code ?? 'AUTHENTICATION_ERROR', known?.message ?? 'Authentication failed.', {
          errorId: known?.errorId,
        });
      },
    );
  }
}
