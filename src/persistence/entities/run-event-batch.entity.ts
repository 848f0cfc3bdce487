import type { BaseEvent } from '@ag-ui/core';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { ThreadEntity } from './thread.entity.js';

/**
 * One appended batch of a thread's event log: AG-UI events `firstSequence`..`lastSequence` (per
 * thread, from 1), stored whole and in order. Batches of one thread never overlap.
 */
@Entity({ name: 'run_event_batches' })
@Check('ck_run_event_batches_range', `"last_sequence" >= "first_sequence"`)
@Index('ix_run_event_batches_thread_id_last_sequence', ['threadId', 'lastSequence'])
@Index('ix_run_event_batches_run_id', ['runId'])
export class RunEventBatchEntity {
  @PrimaryColumn({ name: 'thread_id', type: 'text', primaryKeyConstraintName: 'pk_run_event_batches' })
  threadId!: string;

  /** bigint: the pg driver returns it as a string so that no precision is lost. */
  @PrimaryColumn({ name: 'first_sequence', type: 'bigint', primaryKeyConstraintName: 'pk_run_event_batches' })
  firstSequence!: string;

  @Column({ name: 'last_sequence', type: 'bigint' })
  lastSequence!: string;

  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_run_event_batches_thread_id' })
  thread?: Relation<ThreadEntity>;

  @Column({ name: 'run_id', type: 'text' })
  runId!: string;

  @Column({ type: 'jsonb' })
  events!: BaseEvent[];

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
