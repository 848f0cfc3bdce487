import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A deleted thread takes its LangGraph JS checkpoints with it (schema `langgraph`, created by the
 * checkpointer at boot, so possibly absent): whichever path deletes the thread (the threads API,
 * retention, a cascade), the graph's memory of it goes too. A trigger, because those tables are
 * not ours to reference with foreign keys.
 */
export class ThreadDeletionClearsCheckpoints1768521600000 implements MigrationInterface {
  name = 'ThreadDeletionClearsCheckpoints1768521600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "crn_delete_thread_checkpoints"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF to_regclass('langgraph.checkpoints') IS NOT NULL THEN
          DELETE FROM langgraph.checkpoint_writes WHERE thread_id = OLD.id;
          DELETE FROM langgraph.checkpoint_blobs WHERE thread_id = OLD.id;
          DELETE FROM langgraph.checkpoints WHERE thread_id = OLD.id;
        END IF;
        RETURN OLD;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "tr_threads_delete_checkpoints" AFTER DELETE ON "threads"
      FOR EACH ROW EXECUTE FUNCTION "crn_delete_thread_checkpoints"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "tr_threads_delete_checkpoints" ON "threads"`);
    await queryRunner.query(`DROP FUNCTION "crn_delete_thread_checkpoints"()`);
  }
}
