import { AgentStateEntity } from './agent-state.entity.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { MessageEntity } from './message.entity.js';
import { RunEventBatchEntity } from './run-event-batch.entity.js';
import { RunEntity } from './run.entity.js';
import { ThreadLockEntity } from './thread-lock.entity.js';
import { ThreadEntity } from './thread.entity.js';

export { AgentStateEntity, ApiKeyEntity, MessageEntity, RunEntity, RunEventBatchEntity, ThreadEntity, ThreadLockEntity };

/** Listed explicitly: a glob finds nothing under Jest, which loads TypeScript sources. */
export const conversationEntities = [
  ThreadEntity,
  RunEntity,
  MessageEntity,
  RunEventBatchEntity,
  ThreadLockEntity,
  AgentStateEntity,
  ApiKeyEntity,
];
