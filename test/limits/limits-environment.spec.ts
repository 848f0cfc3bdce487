import { describe, expect, it } from '@jest/globals';
import { InvalidEnvironmentError, parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';

describe('identity and limits configuration from the environment', () => {
  it('defaults: no per-caller limits, 100 runs per instance, counters in memory, fail open', () => {
    const options = optionsFromEnvironment(parseEnvironment({}));
    expect(options.limits).toEqual({
      runsPerMinute: undefined,
      tokensPerHour: undefined,
      concurrentRuns: undefined,
      maxConcurrentRuns: 100,
      redis: undefined,
      onStoreFailure: 'open',
    });
    expect(options.database?.acquireTimeoutMs).toBe(5_000);
    expect(options.auth).toBeUndefined();
  });

  it('every variable reaches the module options', () => {
    const options = optionsFromEnvironment(
      parseEnvironment({
        RATE_LIMIT_RUNS_PER_MINUTE: '20',
        RATE_LIMIT_TOKENS_PER_HOUR: '100000',
        RATE_LIMIT_CONCURRENT_RUNS: '2',
        MAX_CONCURRENT_RUNS: '0',
        REDIS_URL: 'redis://cache:6379/2',
        RATE_LIMIT_REDIS_PREFIX: 'acme:',
        RATE_LIMIT_REDIS_FAILURE: 'closed',
        DATABASE_ACQUIRE_TIMEOUT_MS: '750',
        AUTH_JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
        AUTH_JWT_ISSUER: 'https://idp.example.com/',
      }),
    );
    expect(options.limits).toEqual({
      runsPerMinute: 20,
      tokensPerHour: 100_000,
      concurrentRuns: 2,
      maxConcurrentRuns: 0,
      redis: { url: 'redis://cache:6379/2', keyPrefix: 'acme:' },
      onStoreFailure: 'closed',
    });
    expect(options.database?.acquireTimeoutMs).toBe(750);
    expect(options.auth?.jwt).toMatchObject({ jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/' });
  });

  it('a wrong value stops the boot, naming the variable; an empty one is unset', () => {
    for (const [name, value] of [
      ['RATE_LIMIT_RUNS_PER_MINUTE', '-1'],
      ['RATE_LIMIT_TOKENS_PER_HOUR', 'lots'],
      ['RATE_LIMIT_CONCURRENT_RUNS', '1.5'],
      ['MAX_CONCURRENT_RUNS', '-3'],
      ['REDIS_URL', 'http://cache:6379'],
      ['RATE_LIMIT_REDIS_FAILURE', 'maybe'],
      ['AUTH_JWT_JWKS_URL', 'idp.example.com/jwks'],
      ['DATABASE_ACQUIRE_TIMEOUT_MS', '0'],
    ]) {
      expect(() => parseEnvironment({ [name!]: value })).toThrow(InvalidEnvironmentError);
      expect(() => parseEnvironment({ [name!]: value })).toThrow(new RegExp(name!));
    }
    expect(optionsFromEnvironment(parseEnvironment({ RATE_LIMIT_RUNS_PER_MINUTE: ' ', REDIS_URL: '' })).limits).toMatchObject({
      runsPerMinute: undefined,
      redis: undefined,
    });
  });
});
