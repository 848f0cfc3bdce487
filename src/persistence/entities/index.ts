import { AgentStateEntity } from './agent-state.entity.js';
import { MessageEntity } from './message.entity.js';
import { RunEventEntity } from './run-event.entity.js';
import { RunEntity } from './run.entity.js';
import { ThreadLockEntity } from './thread-lock.entity.js';
import { ThreadEntity } from './thread.entity.js';

export { AgentStateEntity, MessageEntity, RunEntity, RunEventEntity, ThreadEntity, ThreadLockEntity };

/** Listed explicitly: a glob finds nothing under Jest, which loads TypeScript sources. */
export const conversationEntities = [
  ThreadEntity,
  RunEntity,
  MessageEntity,
  RunEventEntity,
  ThreadLockEntity,
  AgentStateEntity,
];
