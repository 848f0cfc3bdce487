export * from '../ports/conversation-store.js';
export {
  CONVERSATION_WRITER_OPTIONS,
  ConversationWriter,
  type ConversationWriterOptions,
  DEFAULT_CONVERSATION_WRITER_OPTIONS,
} from './conversation-writer.js';
export { PersistenceModule, type PersistenceModuleAsyncOptions } from './persistence.module.js';
export { PostgresConversationStore } from './postgres-conversation-store.js';
export { PostgresAgentStateStore } from './postgres-agent-state-store.js';
export { PostgresEventLogStore } from './postgres-event-log-store.js';
export { InvalidThreadCursorError } from '../ports/thread-catalog.js';
export { PostgresThreadCatalog } from './postgres-thread-catalog.js';
export { PostgresThreadLockStore } from './postgres-thread-lock-store.js';
export {
  type AdmissionResult,
  RUN_ABANDONED_ERROR,
  RunAdmission,
  type RunAdmissionRequest,
} from './run-admission.js';
