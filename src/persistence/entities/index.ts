import { MessageEntity } from './message.entity.js';
import { RunEntity } from './run.entity.js';
import { ThreadEntity } from './thread.entity.js';

export { MessageEntity, RunEntity, ThreadEntity };

/** Listed explicitly: a glob finds nothing under Jest, which loads TypeScript sources. */
export const conversationEntities = [ThreadEntity, RunEntity, MessageEntity];
