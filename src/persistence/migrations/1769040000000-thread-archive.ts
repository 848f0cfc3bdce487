import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Threads can be archived (v2's thread list hides them unless asked): when, or null. A timestamp
 * rather than a flag, for the same price, says when it happened. Listing filters on it within an
 * owner's threads, which the (owner_id, updated_at) index already narrows.
 */
export class ThreadArchive1769040000000 implements MigrationInterface {
  name = 'ThreadArchive1769040000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "threads" ADD COLUMN "archived_at" timestamptz NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "threads" DROP COLUMN "archived_at"`);
  }
}
