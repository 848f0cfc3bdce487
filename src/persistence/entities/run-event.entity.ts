import type { BaseEvent } from '@ag-ui/core';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { ThreadEntity } from './thread.entity.js';

/** One AG-UI event of a thread's event log, stored whole; `sequence` is per thread, from 1. */
@Entity({ name: 'run_events' })
@Index('ix_run_events_run_id_sequence', ['runId', 'sequence'])
export class RunEventEntity {
  @PrimaryColumn({ name: 'thread_id', type: 'text', primaryKeyConstraintName: 'pk_run_events' })
  threadId!: string;

  /** bigint: the pg driver returns it as a string so that no precision is lost. */
  @PrimaryColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_run_events' })
  sequence!: string;

  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_run_events_thread_id' })
  thread?: Relation<ThreadEntity>;

  @Column({ name: 'run_id', type: 'text' })
  runId!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'jsonb' })
  payload!: BaseEvent;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
