export * from './conversation-store.js';
export {
  CONVERSATION_WRITER_OPTIONS,
  ConversationWriter,
  type ConversationWriterOptions,
  DEFAULT_CONVERSATION_WRITER_OPTIONS,
} from './conversation-writer.js';
export { PersistenceModule, type PersistenceModuleAsyncOptions } from './persistence.module.js';
export { PostgresConversationStore } from './postgres-conversation-store.js';
