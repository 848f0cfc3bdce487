import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type Provider,
} from '@nestjs/common';
import { Clock, systemClock } from '../common/clock.js';
import {
  type CopilotRuntimeOptions,
  RUNTIME_OPTIONS,
  type RunsOptions,
} from '../config/runtime-options.js';
import { DURABLE_RUN_PORTS, type DurableRunPortsFactory, type RunPorts } from '../ports/run-stores.js';
import { RunSignals } from '../ports/run-signals.js';
import { ConversationWriter } from '../persistence/conversation-writer.js';
import { AGENT_RUNNER, type AgentRunner } from './agent-runner.js';
import { createMemoryRunPorts } from './memory/index.js';
import { RunCore } from './run-core.js';
import { RunEventBus } from './run-event-bus.js';
import {
  newRuntimeInstanceId,
  type ResolvedRunsOptions,
  resolveRunsOptions,
  RUNS_OPTIONS,
  RUNTIME_INSTANCE_ID,
} from './runs-options.js';

/** The adapters the runner runs on: PersistenceModule's (PostgreSQL) or memory's. */
const RUN_PORTS = Symbol('RUN_PORTS');

/** What the runner's shutdown needs. */
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
 * Durable runs. Global (import it once, at the root): provides AGENT_RUNNER (the run core on
 * PersistenceModule's PostgreSQL adapters by default, on the in-memory ones with `runs.runner:
 * 'memory'`), the RunEventBus, RUNS_OPTIONS and this process's RUNTIME_INSTANCE_ID. Imports
 * nothing: it uses RUNTIME_OPTIONS (forRuntimeOptions) and PersistenceModule's DURABLE_RUN_PORTS,
 * both global, the latter injected as optional so that the in-memory runner also works without
 * PersistenceModule.
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
          provide: RUN_PORTS,
          // Optional, so that the in-memory runner also works without PersistenceModule.
          inject: [
            RUNS_OPTIONS,
            { token: DURABLE_RUN_PORTS, optional: true },
            { token: ConversationWriter, optional: true },
            { token: Clock, optional: true },
          ],
          useFactory: async (
            options: ResolvedRunsOptions,
            durable?: DurableRunPortsFactory,
            writer?: ConversationWriter,
            clock?: Clock,
          ): Promise<RunPorts> => {
            if (options.runner === 'memory') {
              // Beside a database, runs are also recorded as threads, runs and messages.
              return createMemoryRunPorts(options.memory, { recorder: writer ?? null, clock: clock ?? systemClock });
            }
            if (!durable) {
              throw new Error(
                `runs.runner 'postgres' needs the run stores of PersistenceModule: import PersistenceModule ` +
                  `(or CopilotRuntimeModule), or set runs.runner to 'memory'`,
              );
            }
            return durable({ maxOutageMs: options.maxOutageMs, flushIntervalMs: options.flushIntervalMs });
          },
        },
        { provide: RunSignals, inject: [RUN_PORTS], useFactory: (ports: RunPorts) => ports.signals },
        {
          provide: AGENT_RUNNER,
          inject: [RUNS_OPTIONS, RUNTIME_INSTANCE_ID, RunEventBus, RUN_PORTS, { token: Clock, optional: true }],
          useFactory: (
            options: ResolvedRunsOptions,
            instanceId: string,
            bus: RunEventBus,
            ports: RunPorts,
            clock?: Clock,
          ): AgentRunner => createRunner(options, instanceId, bus, ports, clock ?? systemClock),
        },
        RunsShutdown,
      ],
      exports: [AGENT_RUNNER, RunEventBus, RUNTIME_INSTANCE_ID, RUNS_OPTIONS],
    };
  }
}

function createRunner(
  options: ResolvedRunsOptions,
  instanceId: string,
  bus: RunEventBus,
  ports: RunPorts,
  clock: Clock,
): RunCore {
  const runner = new RunCore(
    { ports, bus, clock },
    {
      instanceId,
      busyThreadPolicy: options.busyThreadPolicy,
      queueTimeoutMs: options.queueTimeoutMs,
      lockTtlMs: options.lockTtlMs,
      maxOutageMs: options.maxOutageMs,
      flushBatchSize: options.flushBatchSize,
      flushIntervalMs: options.flushIntervalMs,
      shutdownTimeoutMs: options.shutdownTimeoutMs,
    },
  );
  runner.start();
  const logger = new Logger(RunsModule.name);
  if (options.runner === 'memory') {
    logger.log('Runs are kept in memory (runs.runner: memory): one process, nothing survives a restart');
  } else {
    logger.log(`Runs are durable in ${ports.storageLabel} (instance ${instanceId})`);
  }
  return runner;
}
