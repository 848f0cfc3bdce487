import type { IncomingHttpHeaders } from 'node:http';
import { CopilotRuntimeError } from '../common/errors.js';
import type { Identity } from '../common/request-context.js';
import { AuthenticationFailure } from './authentication-failure.js';
import { IdentityResolver } from './identity-resolver.js';

export type ResolveIdentityFn = (headers: IncomingHttpHeaders) => Identity | null | Promise<Identity | null>;

/**
 * The application decides (its own sessions, ...); null means "not authenticated". A
 * CopilotRuntimeError it throws reaches the caller as it is (the application chose its message);
 * anything else is "rejected", its message only in the security log.
 */
export class CustomIdentityResolver extends IdentityResolver {
  constructor(private readonly resolveFn: ResolveIdentityFn) {
    super();
  }

  async resolve(headers: IncomingHttpHeaders): Promise<Identity> {
    let identity: Identity | null;
    try {
      identity = await this.resolveFn(headers);
    } catch (error) {
      if (error instanceof CopilotRuntimeError) throw error;
      throw new AuthenticationFailure('rejected', `resolveIdentity threw: ${(error as Error)?.message ?? String(error)}`);
    }
    if (!identity) throw new AuthenticationFailure('missing', 'resolveIdentity returned no identity');
    return identity;
  }
}
