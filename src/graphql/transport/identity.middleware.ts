import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IdentityResolver } from '../../auth/identity-resolver.js';
import { CopilotRuntimeError } from '../../common/errors.js';
import type { Identity } from '../../common/request-context.js';
import { sendGraphQLError } from './graphql-error-response.js';

export type IdentifiedRequest = IncomingMessage & { copilotIdentity?: Identity };

/** Resolves the caller's identity once per request, before any GraphQL work. */
@Injectable()
export class IdentityMiddleware implements NestMiddleware {
  constructor(private readonly identities: IdentityResolver) {}

  use(req: IdentifiedRequest, res: ServerResponse, next: () => void): void {
    if (req.method === 'OPTIONS') return next();
    this.identities.resolve(req.headers).then(
      (identity) => {
        req.copilotIdentity = identity;
        next();
      },
      (error: unknown) => {
        const known = error instanceof CopilotRuntimeError ? error : null;
        sendGraphQLError(res, known?.code ?? 'AUTHENTICATION_ERROR', known?.message ?? 'Authentication failed.');
      },
    );
  }
}
