import type { IncomingHttpHeaders } from 'node:http';
import { CopilotRuntimeError } from '../common/errors.js';
import type { Identity } from '../common/request-context.js';
import { IdentityResolver } from './identity-resolver.js';

export type ResolveIdentityFn = (headers: IncomingHttpHeaders) => Identity | null | Promise<Identity | null>;

/** The application decides (its own sessions, API keys, …); null means "not authenticated". */
export class CustomIdentityResolver extends IdentityResolver {
  constructor(private readonly resolveFn: ResolveIdentityFn) {
    super();
  }

  async resolve(headers: IncomingHttpHeaders): Promise<Identity> {
    let identity: Identity | null;
    try {
      identity = await this.resolveFn(headers);
    } catch (error) {
      throw new CopilotRuntimeError('AUTHENTICATION_ERROR', `Authentication failed: ${(error as Error).message}`);
    }
    if (!identity) throw new CopilotRuntimeError('AUTHENTICATION_ERROR', 'Authentication required.');
    return identity;
  }
}
