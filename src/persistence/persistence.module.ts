import {
  type DynamicModule,
  Global,
  type InjectionToken,
  Module,
  type ModuleMetadata,
} from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  type CopilotRuntimeOptions,
  type DatabaseOptions,
  RUNTIME_OPTIONS,
} from '../config/runtime-options.js';
import { RETRYABLE_ERROR } from '../common/retry-policy.js';
import {
  AgentStateStore,
  DURABLE_RUN_PORTS,
  type DurableRunPortsFactory,
  EventLogStore,
  ThreadLockStore,
} from '../ports/run-stores.js';
import { ThreadCatalog } from '../ports/thread-catalog.js';
import { ConversationStore } from '../ports/conversation-store.js';
import { ApiKeyStore } from '../ports/api-key-store.js';
import { LangGraphCheckpointerSource } from '../ports/langgraph-checkpointer.js';
import {
  CONVERSATION_WRITER_OPTIONS,
  ConversationWriter,
  type ConversationWriterOptions,
} from './conversation-writer.js';
import { DatabaseEndpoint } from './database-endpoint.js';
import { isRetryableDatabaseError } from './database-errors.js';
import { postgresDataSourceOptions } from './data-source-options.js';
import { PersistenceShutdown } from './persistence-shutdown.js';
import { PostgresAgentStateStore } from './postgres-agent-state-store.js';
import { PostgresApiKeyStore } from './postgres-api-key-store.js';
import { PostgresConversationStore } from './postgres-conversation-store.js';
import { PostgresLangGraphCheckpointerSource } from './postgres-langgraph-checkpointer.js';
import { PostgresEventLogStore } from './postgres-event-log-store.js';
import { PostgresThreadCatalog } from './postgres-thread-catalog.js';
import { PostgresRunSignals } from './postgres-run-signals.js';
import { PostgresRunStore } from './postgres-run-store.js';
import { PostgresThreadLockStore } from './postgres-thread-lock-store.js';
import { redactDatabaseUrl } from './redact-database-url.js';
import { RunAdmission } from './run-admission.js';
import { AdmissionQueue, admissionConcurrency } from './admission-queue.js';

export type { DurableRunPortsFactory } from '../ports/run-stores.js';

const DATABASE_OPTIONS = Symbol('DATABASE_OPTIONS');

export interface PersistenceModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Tokens passed to `useFactory`; `imports` must make them resolvable. */
  inject?: InjectionToken[];
  useFactory: (...args: any[]) => DatabaseOptions | Promise<DatabaseOptions>;
  /** Retry and shutdown tuning of the ConversationWriter. */
  writer?: Partial<ConversationWriterOptions>;
}

/** Resolves the database options and opens the endpoint (starting PGlite when there is no URL). */
@Module({})
class DatabaseEndpointModule {}

/** The stores, the writer and the shutdown sequence. Not global: see PersistenceModule. */
@Module({})
class ConversationPersistenceModule {}

/**
 * Threads, runs and messages in PostgreSQL: exports `ConversationStore`, `ConversationWriter`, the
 * durable-run stores (`EventLogStore`, `ThreadLockStore`, `AgentStateStore`, `RunAdmission`), the
 * run core's PostgreSQL adapters (`DURABLE_RUN_PORTS`), the one retryable-error classifier
 * (`RETRYABLE_ERROR`), the `ThreadCatalog`, the `LangGraphCheckpointerSource` and TypeORM's `DataSource` to the whole app (global).
 *
 * A dynamic module, configured by its importer, because a module cannot see its importer's
 * providers. From CopilotRuntimeModule: `PersistenceModule.forRuntimeOptions([optionsModule])`,
 * where `optionsModule` provides and exports RUNTIME_OPTIONS (no argument when RUNTIME_OPTIONS is
 * global). Elsewhere: `forRoot({ url })` or `forRootAsync({ imports, inject, useFactory })`.
 *
 * Shutdown order matters (writes, then the pool, then the embedded server). Nest shuts global
 * modules down last, and TypeOrmModule's core module (global) before this one, since it was
 * discovered later; so the sequence lives in a non-global inner module, whose hooks run first.
 */
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(
    database: DatabaseOptions = {},
    writer?: Partial<ConversationWriterOptions>,
  ): DynamicModule {
    return PersistenceModule.forRootAsync({ useFactory: () => database, writer });
  }

  /** Reads `database` from the CopilotRuntimeOptions that `imports` (or a global module) provide. */
  static forRuntimeOptions(imports: ModuleMetadata['imports'] = []): DynamicModule {
    return PersistenceModule.forRootAsync({
      imports,
      inject: [RUNTIME_OPTIONS],
      useFactory: (options: CopilotRuntimeOptions) => options.database ?? {},
    });
  }

  static forRootAsync(options: PersistenceModuleAsyncOptions): DynamicModule {
    const endpointModule: DynamicModule = {
      module: DatabaseEndpointModule,
      imports: options.imports ?? [],
      providers: [
        { provide: DATABASE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        {
          provide: DatabaseEndpoint,
          useFactory: (database: DatabaseOptions) => DatabaseEndpoint.open(database),
          inject: [DATABASE_OPTIONS],
        },
      ],
      exports: [DatabaseEndpoint],
    };
    const typeOrmModule = TypeOrmModule.forRootAsync({
      imports: [endpointModule],
      inject: [DatabaseEndpoint],
      useFactory: (endpoint: DatabaseEndpoint) =>
        postgresDataSourceOptions({
          url: endpoint.url,
          poolSize: endpoint.poolSize,
          // The embedded database's single connection is shared: queueing for it is normal under load.
          connectionTimeoutMs: endpoint.isEmbedded ? 60_000 : (endpoint.acquireTimeoutMs ?? 5_000),
        }),
    });
    const conversationModule: DynamicModule = {
      module: ConversationPersistenceModule,
      imports: [endpointModule],
      providers: [
        { provide: ConversationStore, useClass: PostgresConversationStore },
        { provide: CONVERSATION_WRITER_OPTIONS, useValue: options.writer ?? {} },
        ConversationWriter,
        PersistenceShutdown,
        PostgresEventLogStore,
        { provide: EventLogStore, useExisting: PostgresEventLogStore },
        { provide: ThreadLockStore, useClass: PostgresThreadLockStore },
        { provide: AgentStateStore, useClass: PostgresAgentStateStore },
        { provide: ThreadCatalog, useClass: PostgresThreadCatalog },
        { provide: ApiKeyStore, useClass: PostgresApiKeyStore },
        {
          provide: AdmissionQueue,
          inject: [DatabaseEndpoint],
          useFactory: (endpoint: DatabaseEndpoint) =>
            new AdmissionQueue({
              concurrency: admissionConcurrency(endpoint.poolSize),
              maxQueued: endpoint.admission.maxQueued,
              maxWaitMs: endpoint.admission.maxWaitMs,
            }),
        },
        RunAdmission,
        { provide: LangGraphCheckpointerSource, useClass: PostgresLangGraphCheckpointerSource },
        { provide: RETRYABLE_ERROR, useValue: isRetryableDatabaseError },
        {
          provide: DURABLE_RUN_PORTS,
          inject: [DataSource, DatabaseEndpoint, PostgresEventLogStore, ThreadLockStore, RunAdmission, ConversationWriter, ConversationStore],
          useFactory:
            (
              dataSource: DataSource,
              endpoint: DatabaseEndpoint,
              eventLog: PostgresEventLogStore,
              locks: ThreadLockStore,
              admission: RunAdmission,
              writer: ConversationWriter,
              conversations: ConversationStore,
            ): DurableRunPortsFactory =>
            async ({ maxOutageMs, flushIntervalMs }) => {
              const signals = new PostgresRunSignals(dataSource, endpoint.url);
              await signals.start();
              // Streaming runs' progress notices ride on the event log's appends.
              eventLog.carryNoticesOf(signals);
              signals.carryProgressOnAppends(flushIntervalMs);
              return {
                eventLog,
                locks,
                runs: new PostgresRunStore(admission, writer, conversations, maxOutageMs, signals),
                signals,
                storageLabel: `PostgreSQL at ${redactDatabaseUrl(endpoint.url)}`,
                isRetryable: isRetryableDatabaseError,
              };
            },
        },
      ],
      exports: [
        RETRYABLE_ERROR,
        DURABLE_RUN_PORTS,
        ConversationStore,
        ConversationWriter,
        EventLogStore,
        ThreadLockStore,
        AgentStateStore,
        ThreadCatalog,
        ApiKeyStore,
        RunAdmission,
        LangGraphCheckpointerSource,
      ],
    };
    return {
      module: PersistenceModule,
      global: true,
      imports: [typeOrmModule, conversationModule],
      // DataSource needs no export: TypeOrmModule's core module already provides it globally.
      exports: [conversationModule],
    };
  }
}
