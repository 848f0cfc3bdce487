import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { AuthenticationFailure } from '../../src/auth/authentication-failure.js';
import { presentedCredential } from '../../src/auth/credentials.js';
import { JwtIdentityResolver } from '../../src/auth/jwt-identity.resolver.js';

const SECRET = 'credentials-spec-secret-0123456789abcdef';

async function token(claims: { sub?: string; exp?: number } = {}): Promise<string> {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' });
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

async function failureOf(promise: Promise<unknown>): Promise<{ kind: string; message: string }> {
  const error = await promise.then(() => null, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(AuthenticationFailure);
  return { kind: (error as AuthenticationFailure).kind, message: (error as AuthenticationFailure).message };
}

describe('presentedCredential', () => {
  it('tells API keys, JWTs, nothing and unreadable headers apart', () => {
    expect(presentedCredential({})).toEqual({ kind: 'none' });
    expect(presentedCredential({ authorization: 'Bearer ck_abc' })).toEqual({ kind: 'api_key', key: 'ck_abc' });
    expect(presentedCredential({ 'x-api-key': ' ck_abc ' })).toEqual({ kind: 'api_key', key: 'ck_abc' });
    expect(presentedCredential({ authorization: 'bearer eyJ.x.y' })).toEqual({ kind: 'bearer', token: 'eyJ.x.y' });
    expect(presentedCredential({ authorization: 'Basic dXNlcjpwYXNz' })).toMatchObject({ kind: 'malformed' });
    expect(presentedCredential({ 'x-api-key': 'sk-other' })).toMatchObject({ kind: 'malformed' });
    expect(presentedCredential({ authorization: 'Bearer ck_a', 'x-api-key': 'ck_b' })).toMatchObject({ kind: 'malformed' });
  });
});

describe('JwtIdentityResolver failures: three kinds, the cause only in the detail', () => {
  const resolver = new JwtIdentityResolver({ secret: SECRET });

  it('missing, rejected (bad signature, no sub, garbage, an API key where a JWT is expected), expired', async () => {
    expect(await failureOf(resolver.resolve({}))).toEqual({ kind: 'missing', message: 'Authentication required: send "Authorization: Bearer <token>".' });
    const forged = (await token({ sub: 'alice' })).slice(0, -3) + 'AAA';
    for (const authorization of [`Bearer ${forged}`, `Bearer ${await token()}`, 'Bearer not-a-jwt', 'Token abc', 'Bearer ck_unknown']) {
      expect(await failureOf(resolver.resolve({ authorization }))).toEqual({ kind: 'rejected', message: 'The credentials were rejected.' });
    }
    const expired = await token({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await failureOf(resolver.resolve({ authorization: `Bearer ${expired}` }))).toEqual({ kind: 'expired', message: 'The credentials have expired.' });
  });

  it('a valid token is user:<sub>, lapsing at its exp', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    expect(await resolver.resolve({ authorization: `Bearer ${await token({ sub: 'alice', exp })}` })).toEqual({
      id: 'user:alice',
      anonymous: false,
      expiresAt: exp * 1000,
    });
  });
});

describe('API keys whose store does not answer', () => {
  it('are not "rejected": a retryable PERSISTENCE_UNAVAILABLE, on every transport through RequestContexts', async () => {
    const { ApiKeys } = await import('../../src/auth/api-keys.service.js');
    const { ApiKeyStore } = await import('../../src/ports/api-key-store.js');
    const { identityResolverFor } = await import('../../src/auth/auth.module.js');
    const { RequestContexts } = await import('../../src/http/request-contexts.js');
    const { Logger } = await import('@nestjs/common');
    class DownStore extends ApiKeyStore {
      insert = async () => undefined;
      findByHash = async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.7:5432');
      };
      list = async () => [];
      revoke = async () => null;
    }
    const contexts = new RequestContexts(identityResolverFor({}, new ApiKeys(new DownStore())));
    const warn = Logger.prototype.warn;
    Logger.prototype.warn = () => undefined;
    try {
      const error = await contexts.identify({ 'x-api-key': 'ck_whatever' }).then(() => null, (thrown: unknown) => thrown as { code: string; message: string; retryAfter: number });
      expect(error).toMatchObject({ code: 'PERSISTENCE_UNAVAILABLE', message: 'Credentials cannot be checked right now; try again in a moment.', retryAfter: 5 });
      expect(error!.message).not.toContain('10.0.0.7');
    } finally {
      Logger.prototype.warn = warn;
    }
  });
});
