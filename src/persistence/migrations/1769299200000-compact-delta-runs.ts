import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * From this version on, run_event_batches.events stores a run of consecutive deltas of one
 * message or tool call as one element (src/persistence/event-batch-codec.ts). Nothing changes on
 * the way up: rows written before read as they are. Reverting expands those elements into the
 * events they stand for, as the code before this version reads them (same order, same sequences).
 */
export class CompactDeltaRuns1769299200000 implements MigrationInterface {
  name = 'CompactDeltaRuns1769299200000';

  async up(): Promise<void> {}

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE "run_event_batches" b SET "events" = expanded.events
      FROM (
        SELECT r."thread_id", r."first_sequence", jsonb_agg(x.event ORDER BY x.position, x.item) AS events
        FROM "run_event_batches" r
        CROSS JOIN LATERAL (
          SELECT e.ordinality AS position, 0::bigint AS item, e.value AS event
          FROM jsonb_array_elements(r."events") WITH ORDINALITY AS e
          WHERE NOT (e.value ? '$deltas')
          UNION ALL
          SELECT e.ordinality, d.ordinality, jsonb_strip_nulls(jsonb_build_object(
            'type', e.value->>'$deltas',
            CASE e.value->>'$deltas' WHEN 'TOOL_CALL_ARGS' THEN 'toolCallId' ELSE 'messageId' END, e.value->'id',
            'delta', d.value,
            'timestamp', e.value->'t'->(d.ordinality::int - 1)))
          FROM jsonb_array_elements(r."events") WITH ORDINALITY AS e
          CROSS JOIN LATERAL jsonb_array_elements(e.value->'d') WITH ORDINALITY AS d
          WHERE e.value ? '$deltas'
        ) x
        WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(r."events") AS c WHERE c.value ? '$deltas')
        GROUP BY r."thread_id", r."first_sequence"
      ) expanded
      WHERE b."thread_id" = expanded."thread_id" AND b."first_sequence" = expanded."first_sequence"`);
  }
}
