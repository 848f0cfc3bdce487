import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a run was given besides messages: the request's (frontend) tools and context items, as
 * AG-UI sent them, so that a replay's RUN_STARTED.input carries them. Null for runs recorded
 * before this column existed (and replayed with empty lists, as before).
 */
export class RunInputs1769126400000 implements MigrationInterface {
  name = 'RunInputs1769126400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" ADD COLUMN "tools" jsonb NULL, ADD COLUMN "context" jsonb NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "runs" DROP COLUMN "tools", DROP COLUMN "context"`);
  }
}
