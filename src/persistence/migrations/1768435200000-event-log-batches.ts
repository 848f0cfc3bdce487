import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log stores one row per appended batch instead of one row per event: a 1,000-token
 * answer is a handful of rows, not a thousand, which is most of what the Postgres runner cost
 * over the in-memory one (row inserts, two index entries and a foreign-key check per token).
 * Sequence numbers stay per event: a batch holds events first_sequence..last_sequence in order.
 */
export class EventLogBatches1768435200000 implements MigrationInterface {
  name = 'EventLogBatches1768435200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "run_event_batches" (
        "thread_id" text NOT NULL,
        "first_sequence" bigint NOT NULL,
        "last_sequence" bigint NOT NULL,
        "run_id" text NOT NULL,
        "events" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_run_event_batches" PRIMARY KEY ("thread_id", "first_sequence"),
        CONSTRAINT "ck_run_event_batches_range" CHECK ("last_sequence" >= "first_sequence"),
        CONSTRAINT "fk_run_event_batches_thread_id" FOREIGN KEY ("thread_id")
          REFERENCES "threads" ("id") ON DELETE CASCADE
      )`);
    // Serves "events after sequence n" (replay and resume).
    await queryRunner.query(
      `CREATE INDEX "ix_run_event_batches_thread_id_last_sequence" ON "run_event_batches" ("thread_id", "last_sequence")`,
    );
    // Serves "the events of one run" (settling abandoned runs).
    await queryRunner.query(`CREATE INDEX "ix_run_event_batches_run_id" ON "run_event_batches" ("run_id")`);
    // Existing events become one-event batches: nothing is lost, sequences are unchanged.
    await queryRunner.query(`
      INSERT INTO "run_event_batches" ("thread_id", "first_sequence", "last_sequence", "run_id", "events", "created_at")
      SELECT "thread_id", "sequence", "sequence", "run_id", jsonb_build_array("payload"), "created_at" FROM "run_events"`);
    await queryRunner.query(`DROP TABLE "run_events"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
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
    await queryRunner.query(
      `CREATE INDEX "ix_run_events_run_id_sequence" ON "run_events" ("run_id", "sequence")`,
    );
    await queryRunner.query(`
      INSERT INTO "run_events" ("thread_id", "sequence", "run_id", "type", "payload", "created_at")
      SELECT b."thread_id", b."first_sequence" + e.ordinality - 1, b."run_id", e.value->>'type', e.value, b."created_at"
      FROM "run_event_batches" b, jsonb_array_elements(b."events") WITH ORDINALITY AS e`);
    await queryRunner.query(`DROP TABLE "run_event_batches"`);
  }
}
