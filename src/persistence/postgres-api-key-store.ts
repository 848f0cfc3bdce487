import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type Repository } from 'typeorm';
import { ApiKeyStore, type ApiKeyRecord } from '../ports/api-key-store.js';
import { ApiKeyEntity } from './entities/api-key.entity.js';

/** API keys in the `api_keys` table; a lookup is one query on the unique hash index. */
@Injectable()
export class PostgresApiKeyStore extends ApiKeyStore {
  private readonly keys: Repository<ApiKeyEntity>;

  constructor(dataSource: DataSource) {
    super();
    this.keys = dataSource.getRepository(ApiKeyEntity);
  }

  async insert(record: ApiKeyRecord, hash: string): Promise<void> {
    await this.keys.insert({ ...record, keyHash: hash });
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const row = await this.keys.findOne({ where: { keyHash: hash } });
    return row ? toRecord(row) : null;
  }

  async list(filter: { ownerId?: string } = {}): Promise<ApiKeyRecord[]> {
    const rows = await this.keys.find({
      where: filter.ownerId === undefined ? {} : { ownerId: filter.ownerId },
      order: { createdAt: 'DESC', id: 'ASC' },
    });
    return rows.map(toRecord);
  }

  async revoke(id: string, at: Date): Promise<ApiKeyRecord | null> {
    await this.keys.update({ id, revokedAt: IsNull() }, { revokedAt: at });
    const row = await this.keys.findOne({ where: { id } });
    return row ? toRecord(row) : null;
  }
}

function toRecord(row: ApiKeyEntity): ApiKeyRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    limits: row.limits,
  };
}
