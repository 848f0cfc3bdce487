import type { IdentityLimits } from '../common/request-context.js';

/** An API key as stored: never the key itself, only its SHA-256. */
export interface ApiKeyRecord {
  /** Public id (`key-...`): what `list` shows and `revoke` takes. */
  id: string;
  /** The identity the key acts as (e.g. `user:alice`): its threads are this identity's. */
  ownerId: string;
  name: string;
  /** The key's first characters, to recognise it in a list. */
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** The key's own limits over the global ones; null: the global ones. */
  limits: IdentityLimits | null;
}

/** Storage of API keys (PostgreSQL: persistence/postgres-api-key-store.ts). */
export abstract class ApiKeyStore {
  abstract insert(record: ApiKeyRecord, hash: string): Promise<void>;
  /** The key with this SHA-256 (hex), revoked and expired ones included; null when none. */
  abstract findByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Every key (of one owner, when given), newest first. */
  abstract list(filter?: { ownerId?: string }): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked (once: a second revoke keeps the first time); null when there is no such key. */
  abstract revoke(id: string, at: Date): Promise<ApiKeyRecord | null>;
}
