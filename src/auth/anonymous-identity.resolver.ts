import { ANONYMOUS_IDENTITY, type Identity } from '../common/request-context.js';
import { IdentityResolver } from './identity-resolver.js';

/** No authentication configured: every caller is the same anonymous identity. */
export class AnonymousIdentityResolver extends IdentityResolver {
  async resolve(): Promise<Identity> {
    return ANONYMOUS_IDENTITY;
  }
}
