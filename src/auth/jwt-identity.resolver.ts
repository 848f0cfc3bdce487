import { importSPKI, jwtVerify } from 'jose';
import type { IncomingHttpHeaders } from 'node:http';
import { CopilotRuntimeError } from '../common/errors.js';
import type { Identity } from '../common/request-context.js';
import { IdentityResolver } from './identity-resolver.js';

export interface JwtAuthOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM (SPKI) public key of an identity provider, with `algorithm` (default RS256). */
  publicKey?: string;
  algorithm?: string;
  issuer?: string;
  audience?: string;
}

const BEARER = /^Bearer\s+(\S+)$/i;

/** `Authorization: Bearer <JWT>`; the identity is the token's `sub`. Verification by `jose`. */
export class JwtIdentityResolver extends IdentityResolver {
  private readonly key: Promise<Uint8Array | CryptoKey>;

  constructor(private readonly options: JwtAuthOptions) {
    super();
    if (options.secret) this.key = Promise.resolve(new TextEncoder().encode(options.secret));
    else if (options.publicKey) this.key = importSPKI(options.publicKey, options.algorithm ?? 'RS256');
    else throw new Error('JWT authentication needs a secret or a public key.');
  }

  async resolve(headers: IncomingHttpHeaders): Promise<Identity> {
    const match = BEARER.exec(headers.authorization ?? '');
    if (!match) {
      throw new CopilotRuntimeError('AUTHENTICATION_ERROR', 'Authentication required: send "Authorization: Bearer <token>".');
    }
    let subject: unknown;
    try {
      const { payload } = await jwtVerify(match[1], await this.key, {
        issuer: this.options.issuer,
        audience: this.options.audience,
      });
      subject = payload.sub;
    } catch (error) {
      throw new CopilotRuntimeError('AUTHENTICATION_ERROR', `The bearer token was rejected: ${(error as Error).message}.`);
    }
    if (typeof subject !== 'string' || subject === '') {
      throw new CopilotRuntimeError('AUTHENTICATION_ERROR', 'The bearer token has no "sub" claim.');
    }
    return { id: `user:${subject}`, anonymous: false };
  }
}
