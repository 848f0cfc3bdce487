export * from '../ports/conversation-store.js';
export {
  CONVERSATION_WRITER_OPTIONS,
  ConversationWriter,
  type ConversationWriterOptions,
  DEFAULT_CONVERSATION_WRITER_OPTIONS,
} from './conversation-writer.js';
export { isRetryableDatabaseError, PermanentWriteError } from './database-errors.js';
export {
  type DurableRunPortsFactory,
  PersistenceModule,
  type PersistenceModuleAsyncOptions,
} from './persistence.module.js';
export { PostgresRunSignals, RUN_STOP_CHANNEL, THREAD_EVENTS_CHANNEL } from './postgres-run-signals.js';
export { PostgresRunStore } from './postgres-run-store.js';
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
