import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
} from 'typeorm';
import type { RunRecord, RunStatus, TokenUsage } from '../../ports/conversation-store.js';
import { ThreadEntity } from './thread.entity.js';

/** One request served in a thread: who served it, how it ended, what it cost. */
@Entity({ name: 'runs' })
@Index('ix_runs_thread_id_started_at', ['threadId', 'startedAt'])
@Check('ck_runs_status', `"status" IN ('running', 'succeeded', 'failed', 'stopped')`)
export class RunEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_runs' })
  id!: string;

  @Column({ name: 'thread_id', type: 'text' })
  threadId!: string;

  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_runs_thread_id' })
  thread?: Relation<ThreadEntity>;

  @Column({ type: 'text' })
  status!: RunStatus;

  @Column({ name: 'agent_name', type: 'text', nullable: true })
  agentName!: string | null;

  @Column({ type: 'text', nullable: true })
  model!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'jsonb', nullable: true })
  error!: { code: string; message: string } | null;

  @Column({ type: 'jsonb', nullable: true })
  usage!: TokenUsage | null;

  /** The request's (frontend) tools, as AG-UI sent them; null for runs recorded before they were kept. */
  @Column({ type: 'jsonb', nullable: true })
  tools!: unknown[] | null;

  /** The request's context items, as AG-UI sent them; null as `tools`. */
  @Column({ type: 'jsonb', nullable: true })
  context!: unknown[] | null;
}

/** The run as the rest of the runtime sees it. */
export function toRunRecord(run: RunEntity): RunRecord {
  return {
    id: run.id,
    threadId: run.threadId,
    status: run.status,
    agentName: run.agentName,
    model: run.model,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    error: run.error,
    usage: run.usage,
    input: run.tools === null && run.context === null ? null : { tools: run.tools ?? [], context: run.context ?? [] },
  };
}
