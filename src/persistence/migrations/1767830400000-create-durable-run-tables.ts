import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Durable runs: the per-thread event log, the one-active-run-per-thread lock, versioned agent
 * state, and the thread columns of the thread catalog (title, fork origin).
 */
export class CreateDurableRunTables1767830400000 implements MigrationInterface {
  // Explicit, so that a minifier renaming the class cannot change the recorded migration name.
  name = 'CreateDurableRunTables1767830400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The fork origin is provenance, not a reference: it outlives the deletion of its source.
    await queryRunner.query(`
      ALTER TABLE "threads"
        ADD COLUMN "title" text,
        ADD COLUMN "forked_from_thread_id" text,
        ADD COLUMN "forked_from_message_id" text`);

    await queryRunner.query(`
      CREATE TABLE "run_events" (
        "thread_id" text NOT NULL,
        "sequence" bigint NOT NULL,
        "run_id" text NOT NULL,
        "type" text NOT NULL,
        "payload" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_run_events" PRIMARY KEY ("thread_id", "sequence"),
        CONSTRAINT "fk_run_events_thread_id" FOREIGN KEY ("thread_id")
          REFERENCES "threads" ("id") ON DELETE CASCADE
      )`);
    // Serves "the events of one run".
    await queryRunner.query(
      `CREATE INDEX "ix_run_events_run_id_sequence" ON "run_events" ("run_id", "sequence")`,
    );

    await queryRunner.query(`
      CREATE TABLE "thread_locks" (
        "thread_id" text NOT NULL,
        "run_id" text NOT NULL,
        "holder" text NOT NULL,
        "acquired_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        CONSTRAINT "pk_thread_locks" PRIMARY KEY ("thread_id"),
        CONSTRAINT "fk_thread_locks_thread_id" FOREIGN KEY ("thread_id")
          REFERENCES "threads" ("id") ON DELETE CASCADE
      )`);
    // Serves the reaper's "expired locks".
    await queryRunner.query(
      `CREATE INDEX "ix_thread_locks_expires_at" ON "thread_locks" ("expires_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "agent_states" (
        "thread_id" text NOT NULL,
        "agent_name" text NOT NULL,
        "version" integer NOT NULL,
        "run_id" text,
        "state" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_agent_states" PRIMARY KEY ("thread_id", "agent_name", "version"),
        CONSTRAINT "fk_agent_states_thread_id" FOREIGN KEY ("thread_id")
          REFERENCES "threads" ("id") ON DELETE CASCADE
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "agent_states"`);
    await queryRunner.query(`DROP TABLE "thread_locks"`);
    await queryRunner.query(`DROP TABLE "run_events"`);
    await queryRunner.query(`
      ALTER TABLE "threads"
        DROP COLUMN "forked_from_message_id",
        DROP COLUMN "forked_from_thread_id",
        DROP COLUMN "title"`);
  }
}
