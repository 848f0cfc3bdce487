import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../common/request-context.js';
import { AuthenticationFailure } from './authentication-failure.js';
import { presentedCredential } from './credentials.js';
import { IdentityResolver } from './identity-resolver.js';

export interface JwtAuthOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM (SPKI) public key of an identity provider, with `algorithm` (default RS256). */
  publicKey?: string;
  algorithm?: string;
  /**
   * The identity provider's JSON Web Key Set URL (Auth0, Okta, Keycloak, Entra ID publish one):
   * keys are fetched on first use, cached, and fetched again when a token names a key id (`kid`)
   * the cache does not have, so a rotation is picked up without a restart.
   */
  jwksUrl?: string;
  /** Tuning of the JWKS cache (jose's createRemoteJWKSet). */
  jwks?: {
    /** Least time between two fetches of the set (an unknown `kid` triggers one). Default 30000 ms. */
    cooldownMs?: number;
    /** Age after which the cached set is fetched again. Default 600000 ms. */
    cacheMaxAgeMs?: number;
    /** Timeout of one fetch. Default 5000 ms. */
    timeoutMs?: number;
  };
  issuer?: string;
  audience?: string;
}

type VerificationKey = Uint8Array | CryptoKey | JWTVerifyGetKey;

/**
 * `Authorization: Bearer <JWT>`; the identity is `user:<sub>` and lapses at the token's `exp`.
 * Verification by `jose` against a secret, a PEM public key or a remote JWKS. Every failure is an
 * AuthenticationFailure: `expired` for an expired token, `rejected` for anything else (its exact
 * cause only in the security log).
 */
export class JwtIdentityResolver extends IdentityResolver {
  private readonly key: Promise<VerificationKey>;

  constructor(private readonly options: JwtAuthOptions) {
    super();
    if (options.jwksUrl) {
      const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
        cooldownDuration: options.jwks?.cooldownMs ?? 30_000,
        cacheMaxAge: options.jwks?.cacheMaxAgeMs ?? 600_000,
        timeoutDuration: options.jwks?.timeoutMs ?? 5_000,
      });
      this.key = Promise.resolve(jwks);
    } else if (options.secret) this.key = Promise.resolve(new TextEncoder().encode(options.secret));
    else if (options.publicKey) this.key = importSPKI(options.publicKey, options.algorithm ?? 'RS256');
    else throw new Error('JWT authentication needs a secret, a public key or a JWKS URL.');
    this.key.catch(() => undefined); // a bad PEM fails each verification, reported there
  }

  async resolve(headers: IncomingHttpHeaders): Promise<Identity> {
    const credential = presentedCredential(headers);
    if (credential.kind === 'none') throw new AuthenticationFailure('missing', 'no credentials');
    if (credential.kind === 'malformed') throw new AuthenticationFailure('rejected', credential.detail);
    if (credential.kind !== 'bearer') throw new AuthenticationFailure('rejected', 'not a JWT');
    let payload: { sub?: unknown; exp?: unknown };
    try {
      const key = await this.key;
      const verified = await jwtVerify(credential.token, key as Parameters<typeof jwtVerify>[1], {
        issuer: this.options.issuer,
        audience: this.options.audience,
      });
      payload = verified.payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AuthenticationFailure('expired', `JWT expired: ${error.message}`);
      throw new AuthenticationFailure('rejected', `JWT rejected: ${(error as Error).message}`);
    }
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject === '') throw new AuthenticationFailure('rejected', 'JWT has no "sub" claim');
    const identity: Identity = { id: `user:${subject}`, anonymous: false };
    if (typeof payload.exp === 'number') identity.expiresAt = payload.exp * 1000;
    return identity;
  }
}
