import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Threads, their runs and their messages. */
export class CreateConversationTables1767225600000 implements MigrationInterface {
  // Explicit, so that a minifier renaming the class cannot change the recorded migration name.
  name = 'CreateConversationTables1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "threads" (
        "id" text NOT NULL,
        "owner_id" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL,
        CONSTRAINT "pk_threads" PRIMARY KEY ("id")
      )`);
    // Serves "my threads, most recent first".
    await queryRunner.query(
      `CREATE INDEX "ix_threads_owner_id_updated_at" ON "threads" ("owner_id", "updated_at" DESC)`,
    );

    await queryRunner.query(`
      CREATE TABLE "runs" (
        "id" text NOT NULL,
        "thread_id" text NOT NULL,
        "status" text NOT NULL,
        "agent_name" text,
        "model" text,
        "started_at" timestamptz NOT NULL,
        "finished_at" timestamptz,
        "error" jsonb,
        "usage" jsonb,
        CONSTRAINT "pk_runs" PRIMARY KEY ("id"),
        CONSTRAINT "fk_runs_thread_id" FOREIGN KEY ("thread_id")
          REFERENCES "threads" ("id") ON DELETE CASCADE,
        CONSTRAINT "ck_runs_status"
          CHECK ("status" IN ('running', 'succeeded', 'failed', 'stopped'))
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_runs_thread_id_started_at" ON "runs" ("thread_id", "started_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "messages" (
        "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "thread_id" text NOT NULL,
        "message_id" text NOT NULL,
        "run_id" text,
        "role" text NOT NULL,
        "payload" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL,
        CONSTRAINT "pk_messages" PRIMARY KEY ("seq"),
        CONSTRAINT "fk_messages_thread_id" FOREIGN KEY ("thread_id")
          REFERENCES "threads" ("id") ON DELETE CASCADE,
        CONSTRAINT "uq_messages_thread_id_message_id" UNIQUE ("thread_id", "message_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_messages_thread_id_seq" ON "messages" ("thread_id", "seq")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "messages"`);
    await queryRunner.query(`DROP TABLE "runs"`);
    await queryRunner.query(`DROP TABLE "threads"`);
  }
}
