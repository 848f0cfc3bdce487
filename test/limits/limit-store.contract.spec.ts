import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { LimitStore, type EffectiveLimits } from '../../src/limits/limit-store.js';
import { effectiveLimits, subjectOf } from '../../src/limits/limits.policy.js';
import { MemoryLimitStore } from '../../src/limits/memory-limit-store.js';
import { RedisLimitStore } from '../../src/limits/redis-limit-store.js';

/**
 * One contract, two storages: the memory store and the Redis store (a real Redis on 127.0.0.1:6379,
 * a unique key prefix) give the same answers.
 */
const NONE: EffectiveLimits = { runsPerMinute: null, tokensPerHour: null, concurrentRuns: null };
const prefix = `crn:test:store:${process.pid}:${randomBytes(4).toString('hex')}:`;
const stores: Array<{ close(): unknown }> = [];

afterAll(async () => {
  for (const store of stores) await store.close();
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const storages: Array<[string, () => Promise<LimitStore>]> = [
  ['memory', async () => {
    const store = new MemoryLimitStore();
    stores.push(store);
    return store;
  }],
  ['redis', async () => {
    const store = new RedisLimitStore({ url: 'redis://127.0.0.1:6379', keyPrefix: `${prefix}${randomBytes(3).toString('hex')}:` });
    stores.push(store);
    await store.ready();
    return store;
  }],
];

describe.each(storages)('LimitStore contract: %s', (_name, make) => {
  it('counts runs in a window and refuses past the limit with the time left in it', async () => {
    const store = await make();
    const limits = { ...NONE, runsPerMinute: 2 };
    expect(await store.admit('a', limits, 'r1')).toEqual({ admitted: true });
    expect(await store.admit('a', limits, 'r2')).toEqual({ admitted: true });
    const refused = await store.admit('a', limits, 'r3');
    expect(refused).toMatchObject({ admitted: false, limit: 'runs_per_minute', max: 2, used: 2 });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await store.admit('b', limits, 'r4')).toEqual({ admitted: true });
  });

  it('a refused run is not counted, and takes no slot', async () => {
    const store = await make();
    const limits = { runsPerMinute: 5, tokensPerHour: null, concurrentRuns: 1 };
    expect(await store.admit('a', limits, 'r1')).toEqual({ admitted: true });
    for (const id of ['r2', 'r3', 'r4', 'r5']) expect(await store.admit('a', limits, id)).toMatchObject({ admitted: false, limit: 'concurrent_runs' });
    await store.release('a', 'r1');
    // Only r1 was counted: four more runs fit the window of five.
    for (const id of ['r6', 'r7', 'r8', 'r9']) {
      expect(await store.admit('a', limits, id)).toEqual({ admitted: true });
      await store.release('a', id);
    }
    expect(await store.admit('a', limits, 'r10')).toMatchObject({ admitted: false, limit: 'runs_per_minute' });
  });

  it('charges tokens after the fact and refuses once the budget is spent; a limit of 0 refuses everything', async () => {
    const store = await make();
    const limits = { ...NONE, tokensPerHour: 100 };
    expect(await store.admit('a', limits, 'r1')).toEqual({ admitted: true });
    await store.charge('a', 60);
    expect(await store.admit('a', limits, 'r2')).toEqual({ admitted: true });
    await store.charge('a', 60);
    expect(await store.admit('a', limits, 'r3')).toMatchObject({ admitted: false, limit: 'tokens_per_hour', max: 100, used: 120 });
    const zero = await store.admit('z', { ...NONE, runsPerMinute: 0 }, 'r4');
    expect(zero).toMatchObject({ admitted: false, limit: 'runs_per_minute', max: 0, retryAfterMs: 60_000 });
  });
});

describe('whose limits', () => {
  it('an API key is counted apart from its owner, with its own limits over the defaults', () => {
    const defaults = { runsPerMinute: 10, tokensPerHour: 1000, concurrentRuns: 2 };
    const viaKey = { id: 'user:alice', anonymous: false, apiKey: { id: 'key-1', name: 'ci' }, limits: { runsPerMinute: 1, concurrentRuns: null } };
    expect(subjectOf(viaKey)).toBe('key:key-1');
    expect(subjectOf({ id: 'user:alice', anonymous: false })).toBe('id:user:alice');
    expect(effectiveLimits(defaults, viaKey)).toEqual({ runsPerMinute: 1, tokensPerHour: 1000, concurrentRuns: null });
  });
});
