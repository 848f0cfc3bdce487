import { Module } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { AnonymousIdentityResolver } from './anonymous-identity.resolver.js';
import { CustomIdentityResolver } from './custom-identity.resolver.js';
import { IdentityResolver } from './identity-resolver.js';
import { JwtIdentityResolver } from './jwt-identity.resolver.js';

/** Picks the identity strategy from the options: a custom function, JWT, or anonymous. */
export function identityResolverFor(options: CopilotRuntimeOptions): IdentityResolver {
  const auth = options.auth;
  if (auth?.resolveIdentity) return new CustomIdentityResolver(auth.resolveIdentity);
  if (auth?.jwt && (auth.jwt.secret || auth.jwt.publicKey)) return new JwtIdentityResolver(auth.jwt);
  return new AnonymousIdentityResolver();
}

@Module({
  providers: [{ provide: IdentityResolver, inject: [RUNTIME_OPTIONS], useFactory: identityResolverFor }],
  exports: [IdentityResolver],
})
export class AuthModule {}
