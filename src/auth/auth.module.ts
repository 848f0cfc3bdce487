import { Module } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { ApiKeyStore } from '../ports/api-key-store.js';
import { AnonymousIdentityResolver } from './anonymous-identity.resolver.js';
import { ApiKeyIdentityResolver } from './api-key-identity.resolver.js';
import { ApiKeys } from './api-keys.service.js';
import { CustomIdentityResolver } from './custom-identity.resolver.js';
import { IdentityResolver } from './identity-resolver.js';
import { JwtIdentityResolver } from './jwt-identity.resolver.js';

/**
 * Picks the identity strategy from the options: a custom function, JWT (secret, PEM or JWKS), or
 * anonymous; with API keys (when a key store is there) checked before it.
 */
export function identityResolverFor(options: CopilotRuntimeOptions, apiKeys?: ApiKeys | null): IdentityResolver {
  const configured = configuredResolver(options);
  return apiKeys ? new ApiKeyIdentityResolver(apiKeys, configured) : configured;
}

function configuredResolver(options: CopilotRuntimeOptions): IdentityResolver {
  const auth = options.auth;
  if (auth?.resolveIdentity) return new CustomIdentityResolver(auth.resolveIdentity);
  if (auth?.jwt && (auth.jwt.secret || auth.jwt.publicKey || auth.jwt.jwksUrl)) return new JwtIdentityResolver(auth.jwt);
  return new AnonymousIdentityResolver();
}

@Module({
  providers: [
    {
      provide: ApiKeys,
      inject: [{ token: ApiKeyStore, optional: true }],
      useFactory: (store: ApiKeyStore | undefined) => (store ? new ApiKeys(store) : null),
    },
    { provide: IdentityResolver, inject: [RUNTIME_OPTIONS, ApiKeys], useFactory: identityResolverFor },
  ],
  exports: [IdentityResolver, ApiKeys],
})
export class AuthModule {}
