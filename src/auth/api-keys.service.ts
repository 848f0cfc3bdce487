import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { Identity, IdentityLimits } from '../common/request-context.js';
import { ApiKeyStore, type ApiKeyRecord } from '../ports/api-key-store.js';
import { AuthenticationFailure } from './authentication-failure.js';
import { API_KEY_PREFIX } from './credentials.js';

export interface NewApiKey {
  /** The identity the key acts as, exactly as the runtime names it (`user:<sub>` for a JWT user). */
  ownerId: string;
  name: string;
  expiresAt?: Date | null;
  limits?: IdentityLimits | null;
}

/** How long a verified key is trusted without asking the database again (revocation delay on other instances). */
export const API_KEY_CACHE_MS = 5_000;
const CACHE_MAX_ENTRIES = 10_000;
/** 32 random bytes: 256 bits, so a plain SHA-256 (no salt, no slow hash) is enough to store it. */
const KEY_BYTES = 32;

/**
 * API keys for server-to-server callers: created (the key is shown once), listed, revoked, and
 * verified on each request by the SHA-256 of the presented key (a lookup on a unique index: no
 * constant-time comparison is needed, the hash is the lookup key). Verified keys are cached for
 * API_KEY_CACHE_MS, so a revocation reaches other instances within that time (at once on this one).
 */
@Injectable()
export class ApiKeys {
  private readonly cache = new Map<string, { record: ApiKeyRecord; until: number }>();

  constructor(private readonly store: ApiKeyStore) {}

  async create(input: NewApiKey, now = new Date()): Promise<{ key: string; record: ApiKeyRecord }> {
    const ownerId = input.ownerId.trim();
    const name = input.name.trim();
    if (ownerId === '') throw new Error('An API key needs an owner identity.');
    if (name === '' || name.length > 200) throw new Error('An API key needs a name of 1 to 200 characters.');
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw new Error('The expiry must be in the future.');
    const key = `${API_KEY_PREFIX}${randomBytes(KEY_BYTES).toString('base64url')}`;
    const record: ApiKeyRecord = {
      id: newId('key'),
      ownerId,
      name,
      prefix: key.slice(0, API_KEY_PREFIX.length + 6),
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      limits: normalizeLimits(input.limits),
    };
    await this.store.insert(record, hashOf(key));
    return { key, record };
  }

  list(ownerId?: string): Promise<ApiKeyRecord[]> {
    return this.store.list(ownerId === undefined ? {} : { ownerId });
  }

  async revoke(id: string, now = new Date()): Promise<ApiKeyRecord | null> {
    const record = await this.store.revoke(id, now);
    for (const [hash, entry] of this.cache) if (entry.record.id === id) this.cache.delete(hash);
    return record;
  }

  /** The identity a presented key proves; an AuthenticationFailure when it proves none. */
  async verify(key: string, now = Date.now()): Promise<Identity> {
    const hash = hashOf(key);
    let record = this.cached(hash, now);
    if (!record) {
      const stored = await this.store.findByHash(hash).catch((error: unknown) => {
        // Not the caller's fault: a retryable answer, not "rejected" (the cause is in the log).
        throw new CopilotRuntimeError('PERSISTENCE_UNAVAILABLE', 'Credentials cannot be checked right now; try again in a moment.', {
          cause: error,
          retryAfter: 5,
        });
      });
      if (!stored) throw new AuthenticationFailure('rejected', 'unknown API key');
      this.remember(hash, stored, now);
      record = stored;
    }
    if (record.revokedAt) throw new AuthenticationFailure('rejected', `API key ${record.id} is revoked`);
    if (record.expiresAt && record.expiresAt.getTime() <= now) {
      throw new AuthenticationFailure('expired', `API key ${record.id} expired at ${record.expiresAt.toISOString()}`);
    }
    const identity: Identity = { id: record.ownerId, anonymous: false, apiKey: { id: record.id, name: record.name } };
    if (record.expiresAt) identity.expiresAt = record.expiresAt.getTime();
    if (record.limits) identity.limits = { ...record.limits };
    return identity;
  }

  private cached(hash: string, now: number): ApiKeyRecord | undefined {
    const entry = this.cache.get(hash);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.cache.delete(hash);
      return undefined;
    }
    return entry.record;
  }

  private remember(hash: string, record: ApiKeyRecord, now: number): void {
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, { record, until: now + API_KEY_CACHE_MS });
  }
}

export function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function normalizeLimits(limits: IdentityLimits | null | undefined): IdentityLimits | null {
  if (!limits) return null;
  const result: IdentityLimits = {};
  for (const name of ['runsPerMinute', 'tokensPerHour', 'concurrentRuns'] as const) {
    const value = limits[name];
    if (value === undefined) continue;
    if (value !== null && (!Number.isInteger(value) || value < 0)) throw new Error(`${name} must be a whole number >= 0.`);
    result[name] = value;
  }
  return Object.keys(result).length > 0 ? result : null;
}
