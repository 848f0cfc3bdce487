import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys of server-to-server callers (src/auth/api-keys.service.ts): hashed, owned, revocable. */
export class CreateApiKeys1769212800000 implements MigrationInterface {
  name = 'CreateApiKeys1769212800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" text NOT NULL,
        "owner_id" text NOT NULL,
        "name" text NOT NULL,
        "prefix" text NOT NULL,
        "key_hash" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "expires_at" timestamptz,
        "revoked_at" timestamptz,
        "limits" jsonb,
        CONSTRAINT "pk_api_keys" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "ux_api_keys_key_hash" ON "api_keys" ("key_hash")`);
    await queryRunner.query(`CREATE INDEX "ix_api_keys_owner_id" ON "api_keys" ("owner_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
