export * from './agent-runner.js';
export { DEFAULT_EVENT_LOG_WRITER_OPTIONS, EventLogWriter, type EventLogWriterOptions } from './event-log-writer.js';
export { InMemoryAgentRunner, type InMemoryAgentRunnerOptions } from './in-memory-runner.js';
export type { LoggedEvent } from './logged-event.js';
export { PostgresAgentRunner, type PostgresAgentRunnerOptions } from './postgres-runner.js';
export { PostgresRunSignals, RUN_STOP_CHANNEL, THREAD_EVENTS_CHANNEL } from './postgres-run-signals.js';
export { RunEventBus } from './run-event-bus.js';
export { RUN_STOPPED_EVENT, type RunStoppedValue, type StopReason } from './run-execution.js';
export { LocalRunSignals, RunSignals } from './run-signals.js';
export * from './run-stores.js';
export { RunsModule, RunsShutdown } from './runs.module.js';
export {
  DEFAULT_RUNS_OPTIONS,
  newRuntimeInstanceId,
  type ResolvedRunsOptions,
  resolveRunsOptions,
  RUNS_OPTIONS,
  RUNTIME_INSTANCE_ID,
} from './runs-options.js';
