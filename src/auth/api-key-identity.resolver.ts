import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../common/request-context.js';
import type { ApiKeys } from './api-keys.service.js';
import { presentedCredential } from './credentials.js';
import { IdentityResolver } from './identity-resolver.js';

/**
 * API keys first, then the configured resolver: a request presenting an API key (`X-API-Key`, or
 * `Authorization: Bearer ck_...`) is its owner's, whatever else is configured (JWT, JWKS, your
 * resolver, or none); any other request goes to the configured resolver as before.
 */
export class ApiKeyIdentityResolver extends IdentityResolver {
  constructor(
    private readonly keys: ApiKeys,
    private readonly fallback: IdentityResolver,
  ) {
    super();
  }

  resolve(headers: IncomingHttpHeaders): Promise<Identity> {
    const credential = presentedCredential(headers);
    if (credential.kind === 'api_key') return this.keys.verify(credential.key);
    return this.fallback.resolve(headers);
  }
}
