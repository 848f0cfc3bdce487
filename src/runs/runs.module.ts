import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type Provider,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  type CopilotRuntimeOptions,
  RUNTIME_OPTIONS,
  type RunsOptions,
} from '../config/runtime-options.js';
import { ConversationStore } from '../ports/conversation-store.js';
import { ConversationWriter } from '../persistence/conversation-writer.js';
import { redactDatabaseUrl } from '../persistence/redact-database-url.js';
import { RunAdmission } from '../persistence/run-admission.js';
import { AGENT_RUNNER, type AgentRunner } from './agent-runner.js';
import { InMemoryAgentRunner } from './in-memory-runner.js';
import { PostgresAgentRunner } from './postgres-runner.js';
import { PostgresRunSignals } from './postgres-run-signals.js';
import { RunEventBus } from './run-event-bus.js';
import { LocalRunSignals, RunSignals } from './run-signals.js';
import { EventLogStore, ThreadLockStore } from './run-stores.js';
import {
  newRuntimeInstanceId,
  type ResolvedRunsOptions,
  resolveRunsOptions,
  RUNS_OPTIONS,
  RUNTIME_INSTANCE_ID,
} from './runs-options.js';

/** What the runners' shutdown needs: both runners implement it. */
interface ShutdownRunner extends AgentRunner {
  shutdown(): Promise<void>;
}

/**
 * Ends in-flight runs before persistence goes: `beforeApplicationShutdown` runs before any
 * module's `onApplicationShutdown`, where PersistenceModule drains its writer and closes the pool.
 */
@Injectable()
export class RunsShutdown implements BeforeApplicationShutdown {
  constructor(
    @Inject(AGENT_RUNNER) private readonly runner: ShutdownRunner,
    private readonly signals: RunSignals,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    try {
      await this.runner.shutdown();
    } finally {
      await this.signals.close();
    }
  }
}

/**
 * Durable runs. Global (import it once, at the root): provides AGENT_RUNNER (the Postgres runner
 * by default, the in-memory one with `runs.runner: 'memory'`), the RunEventBus, RUNS_OPTIONS and
 * this process's RUNTIME_INSTANCE_ID. Imports nothing: it uses RUNTIME_OPTIONS (forRuntimeOptions)
 * and PersistenceModule's stores, both global, injected as optional so that the in-memory runner
 * also works without PersistenceModule.
 */
@Module({})
export class RunsModule {
  /** Reads `runs` from the global CopilotRuntimeOptions. */
  static forRuntimeOptions(): DynamicModule {
    return RunsModule.build({
      provide: RUNS_OPTIONS,
      useFactory: (options: CopilotRuntimeOptions) => resolveRunsOptions(options.runs),
      inject: [RUNTIME_OPTIONS],
    });
  }

  static forRoot(options: RunsOptions = {}): DynamicModule {
    return RunsModule.build({ provide: RUNS_OPTIONS, useValue: resolveRunsOptions(options) });
  }

  private static build(optionsProvider: Provider): DynamicModule {
    return {
      module: RunsModule,
      // Global, like PersistenceModule: RuntimeModule and the transports inject AGENT_RUNNER
      // without importing this module (a second import would build a second runner).
      global: true,
      providers: [
        optionsProvider,
        { provide: RUNTIME_INSTANCE_ID, useFactory: newRuntimeInstanceId },
        RunEventBus,
        {
          provide: RunSignals,
          inject: [RUNS_OPTIONS, { token: DataSource, optional: true }],
          useFactory: async (options: ResolvedRunsOptions, dataSource: DataSource | undefined) => {
            if (options.runner === 'memory') return new LocalRunSignals();
            const signals = new PostgresRunSignals(required(dataSource, 'DataSource'), databaseUrl(dataSource!));
            await signals.start();
            return signals;
          },
        },
        {
          provide: AGENT_RUNNER,
          // Optional, so that the in-memory runner also works without PersistenceModule; declared
          // (not looked up) so that they are built before the runner.
          inject: [
            RUNS_OPTIONS,
            RUNTIME_INSTANCE_ID,
            RunEventBus,
            RunSignals,
            { token: DataSource, optional: true },
            { token: EventLogStore, optional: true },
            { token: ThreadLockStore, optional: true },
            { token: RunAdmission, optional: true },
            { token: ConversationStore, optional: true },
            { token: ConversationWriter, optional: true },
          ],
          useFactory: (
            options: ResolvedRunsOptions,
            instanceId: string,
            bus: RunEventBus,
            signals: RunSignals,
            dataSource?: DataSource,
            eventLog?: EventLogStore,
            locks?: ThreadLockStore,
            admission?: RunAdmission,
            conversations?: ConversationStore,
            writer?: ConversationWriter,
          ): AgentRunner =>
            createRunner(options, instanceId, bus, signals, {
              dataSource,
              eventLog,
              locks,
              admission,
              conversations,
              writer,
            }),
        },
        RunsShutdown,
      ],
      exports: [AGENT_RUNNER, RunEventBus, RUNTIME_INSTANCE_ID, RUNS_OPTIONS],
    };
  }
}

interface PersistenceProviders {
  dataSource?: DataSource;
  eventLog?: EventLogStore;
  locks?: ThreadLockStore;
  admission?: RunAdmission;
  conversations?: ConversationStore;
  writer?: ConversationWriter;
}

function createRunner(
  options: ResolvedRunsOptions,
  instanceId: string,
  bus: RunEventBus,
  signals: RunSignals,
  persistence: PersistenceProviders,
): AgentRunner {
  const logger = new Logger(RunsModule.name);
  if (options.runner === 'memory') {
    logger.log('Runs are kept in memory (runs.runner: memory): one process, nothing survives a restart');
    return new InMemoryAgentRunner(
      { bus, writer: persistence.writer ?? null },
      {
        busyThreadPolicy: options.busyThreadPolicy,
        queueTimeoutMs: options.queueTimeoutMs,
        shutdownTimeoutMs: options.shutdownTimeoutMs,
        ...options.memory,
      },
    );
  }
  const dataSource = required(persistence.dataSource, 'DataSource');
  const runner = new PostgresAgentRunner(
    {
      bus,
      signals,
      eventLog: required(persistence.eventLog, 'EventLogStore'),
      locks: required(persistence.locks, 'ThreadLockStore'),
      admission: required(persistence.admission, 'RunAdmission'),
      conversations: required(persistence.conversations, 'ConversationStore'),
      writer: required(persistence.writer, 'ConversationWriter'),
    },
    {
      instanceId,
      busyThreadPolicy: options.busyThreadPolicy,
      queueTimeoutMs: options.queueTimeoutMs,
      lockTtlMs: options.lockTtlMs,
      maxOutageMs: options.maxOutageMs,
      flushBatchSize: options.flushBatchSize,
      flushIntervalMs: options.flushIntervalMs,
      shutdownTimeoutMs: options.shutdownTimeoutMs,
      databaseLabel: `PostgreSQL at ${redactDatabaseUrl(databaseUrl(dataSource))}`,
    },
  );
  runner.start();
  logger.log(`Runs are durable in PostgreSQL (instance ${instanceId})`);
  return runner;
}

function required<T>(value: T | undefined | null, name: string): T {
  if (value === undefined || value === null) {
    throw new Error(
      `runs.runner 'postgres' needs ${name} from PersistenceModule: import PersistenceModule (or ` +
        `CopilotRuntimeModule), or set runs.runner to 'memory'`,
    );
  }
  return value;
}

/** The URL PersistenceModule resolved (the configured server, or the embedded one). */
function databaseUrl(dataSource: DataSource): string {
  const url = (dataSource.options as { url?: string }).url;
  if (!url) throw new Error('runs.runner postgres needs the DataSource of PersistenceModule, built from a URL');
  return url;
}
