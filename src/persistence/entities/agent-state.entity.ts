import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { ThreadEntity } from './thread.entity.js';

/** One version of an agent's state in a thread; versions count from 1 per (thread, agent). */
@Entity({ name: 'agent_states' })
export class AgentStateEntity {
  @PrimaryColumn({ name: 'thread_id', type: 'text', primaryKeyConstraintName: 'pk_agent_states' })
  threadId!: string;

  @PrimaryColumn({ name: 'agent_name', type: 'text', primaryKeyConstraintName: 'pk_agent_states' })
  agentName!: string;

  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'pk_agent_states' })
  version!: number;

  @ManyToOne(() => ThreadEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'thread_id', foreignKeyConstraintName: 'fk_agent_states_thread_id' })
  thread?: Relation<ThreadEntity>;

  @Column({ name: 'run_id', type: 'text', nullable: true })
  runId!: string | null;

  /** JSON null when the agent reported no state. */
  @Column({ type: 'jsonb' })
  state!: unknown;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
