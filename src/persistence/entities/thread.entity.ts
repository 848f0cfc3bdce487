import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A conversation. Its id comes from the client, so it is free text rather than a uuid. */
@Entity({ name: 'threads' })
@Index('ix_threads_owner_id_updated_at', ['ownerId', 'updatedAt'])
export class ThreadEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_threads' })
  id!: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ type: 'text', nullable: true })
  title!: string | null;

  /** When the thread was archived (hidden from v2's thread list unless asked for); null when not. */
  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;

  /** Provenance of a fork, not a reference: it outlives the deletion of the source thread. */
  @Column({ name: 'forked_from_thread_id', type: 'text', nullable: true })
  forkedFromThreadId!: string | null;

  @Column({ name: 'forked_from_message_id', type: 'text', nullable: true })
  forkedFromMessageId!: string | null;
}
