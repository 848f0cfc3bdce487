export * from './agent-runner.js';
export { DEFAULT_EVENT_LOG_WRITER_OPTIONS, EventLogWriter, type EventLogWriterOptions } from './event-log-writer.js';
export type { LoggedEvent } from './logged-event.js';
export { createMemoryRunPorts, type MemoryBounds, type MemoryRunPorts, MemoryRunState, type RunRecorder } from './memory/index.js';
export { RunCore, type RunCoreDeps, type RunCoreOptions } from './run-core.js';
export { RunEventBus } from './run-event-bus.js';
export { RUN_STOPPED_EVENT, type RunStoppedValue, type StopReason } from './run-execution.js';
export { LocalRunSignals, LocalSignalHub, RunSignals } from '../ports/run-signals.js';
export * from '../ports/run-stores.js';
export { RunsModule, RunsShutdown } from './runs.module.js';
export {
  DEFAULT_RUNS_OPTIONS,
  newRuntimeInstanceId,
  type ResolvedRunsOptions,
  resolveRunsOptions,
  RUNS_OPTIONS,
  RUNTIME_INSTANCE_ID,
} from './runs-options.js';
