import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '../common/redis-disconnect.js';
import { refused } from './memory-limit-store.js';
import { LimitStore, RUNS_WINDOW_MS, TOKENS_WINDOW_MS, type Admission, type EffectiveLimits, type LimitName } from './limit-store.js';

export interface RedisLimitStoreOptions {
  url: string;
  /** Prefix of every key (several deployments, or tests, on one Redis). Default `crn:limits:`. */
  keyPrefix?: string;
  /** Longest wait for one command; past it the command fails and the failure policy applies. Default 500 ms. */
  commandTimeoutMs?: number;
  /** Life of a concurrency slot without renewal (a dead instance's slots free up after it). Default 60000 ms. */
  slotLeaseMs?: number;
}

/*
 * One round trip, atomic: the tokens window, the runs window, the concurrency slots (expired
 * leases dropped first), then, only if all pass, the run counted and its slot taken. Time is the
 * Redis server's, so instances with skewed clocks agree. A limit of -1 is "none".
 * KEYS: runs, tokens, slots. ARGV: runs limit, tokens limit, concurrency limit, runs window ms,
 * slot id, slot lease ms. Returns {} when admitted, else {limit, max, used, retry after ms}.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local runsLimit, tokensLimit, slotLimit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tokensLimit >= 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= tokensLimit then return {'tokens_per_hour', tokensLimit, used, redis.call('PTTL', KEYS[2])} end
end
if runsLimit >= 0 then
  local count = tonumber(redis.call('GET', KEYS[1]) or '0')
  if count >= runsLimit then return {'runs_per_minute', runsLimit, count, redis.call('PTTL', KEYS[1])} end
end
if slotLimit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local held = redis.call('ZCARD', KEYS[3])
  if held >= slotLimit then return {'concurrent_runs', slotLimit, held, 1000} end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[5])
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
end
if runsLimit >= 0 then
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4])) end
end
return {}`;

/** KEYS: tokens. ARGV: tokens, window ms. The window starts with its first charge. */
const CHARGE = `
redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 1`;

/** KEYS: slots. ARGV: lease ms, slot ids... Pushes the leases of the slots still held. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

/**
 * The counters in Redis (REDIS_URL): every instance pointing at it shares them, so N instances
 * hold one limit. Never a hang: no offline queue (a command while disconnected fails at once),
 * a command timeout, and no retries per command; ioredis reconnects in the background. Keys carry
 * a hash tag per subject (`{subject}`), so a subject's three keys live in one Redis Cluster slot.
 */
export class RedisLimitStore extends LimitStore {
  readonly label: string;
  private readonly logger = new Logger('Limits');
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly leaseMs: number;
  /** Slots this process holds, per subject: renewed every third of the lease. */
  private readonly held = new Map<string, Set<string>>();
  private readonly renewer: NodeJS.Timeout;

  constructor(options: RedisLimitStoreOptions) {
    super();
    this.prefix = options.keyPrefix ?? 'crn:limits:';
    this.leaseMs = options.slotLeaseMs ?? 60_000;
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2_000,
      // close() during an outage must not keep the process alive (see the constant).
      disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 250, 2_000),
      lazyConnect: false,
    });
    const where = new URL(options.url);
    this.label = `Redis at ${where.hostname}:${where.port || 6379}`;
    // Without a listener an 'error' event would end the process; the outage is reported by the policy.
    this.redis.on('error', () => undefined);
    this.renewer = setInterval(() => void this.renew(), Math.max(1_000, Math.floor(this.leaseMs / 3)));
    this.renewer.unref();
  }

  /** Resolves once connected, or after `timeoutMs` (never rejects: an outage is handled per command). */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.redis.once('ready', onReady);
    });
  }

  async admit(subject: string, limits: EffectiveLimits, slotId: string): Promise<Admission> {
    const keys = this.keys(subject);
    const reply = (await this.redis.eval(
      ADMIT,
      3,
      keys.runs,
      keys.tokens,
      keys.slots,
      limits.runsPerMinute ?? -1,
      limits.tokensPerHour ?? -1,
      limits.concurrentRuns ?? -1,
      RUNS_WINDOW_MS,
      slotId,
      this.leaseMs,
    )) as [] | [LimitName, number, number, number];
    if (reply.length === 0) {
      if (limits.concurrentRuns !== null) this.hold(subject, slotId);
      return { admitted: true };
    }
    const [limit, max, used, ttl] = reply;
    const window = limit === 'tokens_per_hour' ? TOKENS_WINDOW_MS : limit === 'runs_per_minute' ? RUNS_WINDOW_MS : 1_000;
    return refused(limit, Number(max), Number(used), Number(ttl), window);
  }

  async charge(subject: string, tokens: number): Promise<void> {
    await this.redis.eval(CHARGE, 1, this.keys(subject).tokens, tokens, TOKENS_WINDOW_MS);
  }

  async release(subject: string, slotId: string): Promise<void> {
    const set = this.held.get(subject);
    set?.delete(slotId);
    if (set?.size === 0) this.held.delete(subject);
    await this.redis.zrem(this.keys(subject).slots, slotId);
  }

  async close(): Promise<void> {
    clearInterval(this.renewer);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private hold(subject: string, slotId: string): void {
    const set = this.held.get(subject) ?? new Set<string>();
    set.add(slotId);
    this.held.set(subject, set);
  }

  private async renew(): Promise<void> {
    for (const [subject, slots] of this.held) {
      if (slots.size === 0) continue;
      try {
        await this.redis.eval(RENEW, 1, this.keys(subject).slots, this.leaseMs, ...slots);
      } catch (error) {
        this.logger.warn(`Could not renew concurrency slots in ${this.label}: ${(error as Error).message}`);
        return;
      }
    }
  }

  private keys(subject: string) {
    const tag = `${this.prefix}{${encodeURIComponent(subject)}}`;
    return { runs: `${tag}:runs`, tokens: `${tag}:tokens`, slots: `${tag}:slots` };
  }
}
