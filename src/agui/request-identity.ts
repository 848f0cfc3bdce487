import type { IncomingMessage } from 'node:http';
import type { IdentityResolver } from '../auth/identity-resolver.js';
import { CopilotRuntimeError } from '../common/errors.js';
import type { Identity } from '../common/request-context.js';
import type { IdentifiedRequest } from '../graphql/transport/identity.middleware.js';

/**
 * The caller's identity for a v2 request, resolved by the same IdentityResolver as GraphQL and
 * kept where `requestContextFor` reads it, so a thread belongs to its creator across protocols.
 * Throws AUTHENTICATION_ERROR (answered 401 in the v2 shape, where GraphQL answers 200 + errors).
 */
export async function identify(req: IncomingMessage, identities: IdentityResolver): Promise<Identity> {
  const request = req as IdentifiedRequest;
  if (request.copilotIdentity) return request.copilotIdentity;
  try {
    request.copilotIdentity = await identities.resolve(req.headers);
  } catch (error) {
    if (error instanceof CopilotRuntimeError) throw error;
    throw new CopilotRuntimeError('AUTHENTICATION_ERROR', 'Authentication failed.', { cause: error });
  }
  return request.copilotIdentity;
}
