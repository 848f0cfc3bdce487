import { describe, expect, it } from '@jest/globals';
import { REDACTED, SecretScrubber, secretsOf } from '../../../src/observability/logging/secret-scrubber.js';

describe('SecretScrubber', () => {
  it('finds the secret values of an environment, passwords inside URLs included', () => {
    const secrets = secretsOf({
      OPENAI_API_KEY: 'sk-live-abc',
      AUTH_JWT_SECRET: 'jwt-secret',
      METRICS_TOKEN: 'metrics-token',
      DATABASE_URL: 'postgres://app:p%40ss-word@db:5432/app',
      REDIS_URL: 'redis://:redis-pw@redis:6379',
      LLM_MODEL: 'gpt-4o-mini',
      PORT: '4000',
    });
    expect(secrets.sort()).toEqual(['jwt-secret', 'metrics-token', 'p@ss-word', 'redis-pw', 'sk-live-abc'].sort());
  });

  it('replaces them, bearer tokens, sk- keys and URL passwords wherever they appear', () => {
    const scrubber = new SecretScrubber(['jwt-secret', 'p@ss-word']);
    const text =
      'jwt-secret failed; Authorization: Bearer eyJhbGciOi.J9x.yz; key sk-proj-0123456789abc; ' +
      'at postgres://app:p@ss-word@db/app and redis://:other-pass@host:6379';
    const scrubbed = scrubber.scrub(text);
    for (const secret of ['jwt-secret', 'eyJhbGciOi', 'sk-proj-0123456789abc', 'p@ss-word', 'other-pass']) expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain(`Bearer ${REDACTED}`);
    expect(scrubbed).toContain('redis://:[REDACTED]@host:6379');
  });

  it('leaves ordinary text and short values alone', () => {
    const scrubber = new SecretScrubber(['abc']);
    expect(scrubber.scrub('abc run r-1 finished in 12 ms')).toBe('abc run r-1 finished in 12 ms');
  });
});
