import { describe, expect, it } from '@jest/globals';
import { parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';
import { CopilotCloudGuardrails } from '../../src/guardrails/copilot-cloud-guardrails.js';
import { parseVerdict } from '../../src/guardrails/guardrails-strategy.js';
import { createStrategy } from '../../src/guardrails/guardrails-strategy.provider.js';
import { SelfHostedGuardrails } from '../../src/guardrails/self-hosted-guardrails.js';
import { VerdictCache } from '../../src/guardrails/verdict-cache.js';
import type { ChatModelResolver } from '../../src/llm/chat-model-resolver.js';

const noModels = { resolve: () => { throw new Error('no model in this test'); } } as unknown as ChatModelResolver;

describe('VerdictCache', () => {
  it('keeps a verdict for its time to live, then forgets it', () => {
    let now = 1_000;
    const cache = new VerdictCache(500, 10, () => now);
    cache.set('a', { status: 'allowed' });
    now += 499;
    expect(cache.get('a')).toEqual({ status: 'allowed' });
    now += 1;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('is bounded: past maxEntries the least recently used goes first', () => {
    const cache = new VerdictCache(60_000, 2);
    cache.set('a', { status: 'allowed' });
    cache.set('b', { status: 'denied', reason: 'b' });
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('c', { status: 'allowed' });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.size).toBe(2);
  });

  it('a TTL of 0 caches nothing', () => {
    const cache = new VerdictCache(0, 10);
    cache.set('a', { status: 'allowed' });
    expect(cache.get('a')).toBeUndefined();
  });
});

describe('parseVerdict', () => {
  it.each([
    [{ status: 'allowed' }, { status: 'allowed' }],
    [{ status: 'denied', reason: 'no' }, { status: 'denied', reason: 'no' }],
    [{ status: 'denied' }, { status: 'denied', reason: 'The message is not allowed.' }],
    [{ status: 'maybe' }, null],
    [{ status: 'denied', reason: 42 }, null],
    ['allowed', null],
    [null, null],
  ])('%j → %j', (input, expected) => expect(parseVerdict(input)).toEqual(expected));
});

describe('strategy chosen by configuration', () => {
  it('cloud by default; self-hosted when the operator set a list; off; or your own', () => {
    expect(createStrategy({}, noModels)).toBeInstanceOf(CopilotCloudGuardrails);
    expect(createStrategy({ selfHosted: { denyTopics: ['x'] } }, noModels)).toBeInstanceOf(SelfHostedGuardrails);
    expect(createStrategy({ strategy: 'off', selfHosted: { denyTopics: ['x'] } }, noModels)).toBeNull();
    const own = { name: 'own', check: async () => null };
    expect(createStrategy({ strategy: own }, noModels)).toBe(own);
  });

  it('refuses to boot with a self-hosted strategy and nothing to check, or a broken pattern', () => {
    expect(() => createStrategy({ strategy: 'self-hosted' }, noModels)).toThrow(/needs allowTopics, denyTopics or denyPatterns/);
    expect(() => createStrategy({ selfHosted: { denyPatterns: ['(unclosed'] } }, noModels)).toThrow(/not a valid regular expression/);
  });

  it('the environment: GUARDRAILS_* and MIDDLEWARE_TIMEOUT_MS reach the module options; a wrong value names the variable', () => {
    const options = optionsFromEnvironment(
      parseEnvironment({
        GUARDRAILS_ALLOW_TOPICS: 'cooking, baking',
        GUARDRAILS_DENY_TOPICS: 'weapons',
        GUARDRAILS_DENY_PATTERNS: '\\bssn\\b\n^secret',
        GUARDRAILS_MODEL: 'gpt-4o-mini',
        GUARDRAILS_URL: 'http://guard.local:8080',
        COPILOT_CLOUD_BASE_URL: 'http://ignored.local',
        GUARDRAILS_ON_FAILURE: 'open',
        MIDDLEWARE_TIMEOUT_MS: '2500',
      }),
    );
    expect(options.middlewareTimeoutMs).toBe(2500);
    expect(options.guardrails).toMatchObject({
      cloudBaseUrl: 'http://guard.local:8080',
      onFailure: 'open',
      timeoutMs: 10_000,
      selfHosted: { allowTopics: ['cooking', 'baking'], denyTopics: ['weapons'], denyPatterns: ['\\bssn\\b', '^secret'], model: 'gpt-4o-mini' },
    });
    expect(() => parseEnvironment({ GUARDRAILS_STRATEGY: 'sometimes' })).toThrow(/GUARDRAILS_STRATEGY/);
    expect(() => parseEnvironment({ GUARDRAILS_URL: 'not a url' })).toThrow(/GUARDRAILS_URL/);
    expect(optionsFromEnvironment(parseEnvironment({ COPILOT_CLOUD_BASE_URL: 'http://cloud.local' })).guardrails?.cloudBaseUrl).toBe('http://cloud.local');
  });
});
