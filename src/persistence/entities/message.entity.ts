import type { Message } from '@ag-ui/core';
import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
} from 'typeorm';
import { ThreadEntity } from './thread.entity.js';

/**
 * A message of a thread, stored whole as its AG-UI payload. `seq` is the thread's order: the
 * order in which messages were first seen, which client-supplied ids cannot give.
 */
@Entity({ name: 'messages' })
@Unique('uq_messages_thread_id_message_id', ['threadId', 'messageId'])
@Index('ix_messages_thread_id_seq', ['threadId', 'seq'])
export class MessageEntity {
  /** bigint: the pg driver returns it as a string so that no precision is lost. */
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'pk_messages',
  })
  seq!: string;

  @Column({ name: 'thread_id', type: 'text' })
  threadId!: string;

  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_messages_thread_id' })
  thread?: Relation<ThreadEntity>;

  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  /** The run that first stored the message (a resent history keeps its first run). */
  @Column({ name: 'run_id', type: 'text', nullable: true })
  runId!: string | null;

  @Column({ type: 'text' })
  role!: Message['role'];

  @Column({ type: 'jsonb' })
  payload!: Message;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
