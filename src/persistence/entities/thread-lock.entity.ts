import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { ThreadEntity } from './thread.entity.js';

/** The active run of a thread, as a lease: it expires unless its holder renews it. */
@Entity({ name: 'thread_locks' })
@Index('ix_thread_locks_expires_at', ['expiresAt'])
export class ThreadLockEntity {
  @PrimaryColumn({ name: 'thread_id', type: 'text', primaryKeyConstraintName: 'pk_thread_locks' })
  threadId!: string;

  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_thread_locks_thread_id' })
  thread?: Relation<ThreadEntity>;

  @Column({ name: 'run_id', type: 'text' })
  runId!: string;

  /** The runtime instance holding the lock. */
  @Column({ type: 'text' })
  holder!: string;

  @Column({ name: 'acquired_at', type: 'timestamptz', default: () => 'now()' })
  acquiredAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
