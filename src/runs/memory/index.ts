import { type Clock, systemClock } from '../../common/clock.js';
import type { RunPorts } from '../../ports/run-stores.js';
import { LocalRunSignals, type RunSignals } from '../../ports/run-signals.js';
import { MemoryEventLogStore } from './memory-event-log-store.js';
import { type MemoryBounds, MemoryRunState } from './memory-run-state.js';
import { MemoryRunStore, type RunRecorder } from './memory-run-store.js';
import { MemoryThreadLockStore } from './memory-thread-lock-store.js';

export { MemoryEventLogStore } from './memory-event-log-store.js';
export { type MemoryBounds, MemoryRunState } from './memory-run-state.js';
export { MemoryRunStore, type RunRecorder } from './memory-run-store.js';
export { MemoryThreadLockStore } from './memory-thread-lock-store.js';

export interface MemoryRunPorts extends RunPorts {
  /** The shared state, for its memory usage. */
  state: MemoryRunState;
}

/**
 * The in-memory adapters of the run core: one process, nothing survives a restart, memory bounded.
 * `signals`: LocalRunSignals by default (a LocalSignalHub member lets several cores on one state
 * behave like instances on one database).
 */
export function createMemoryRunPorts(
  bounds: MemoryBounds,
  options: { recorder?: RunRecorder | null; clock?: Clock; signals?: RunSignals; state?: MemoryRunState } = {},
): MemoryRunPorts {
  const state = options.state ?? new MemoryRunState(bounds, options.clock ?? systemClock);
  const locks = new MemoryThreadLockStore(state);
  return {
    state,
    eventLog: new MemoryEventLogStore(state),
    locks,
    runs: new MemoryRunStore(state, locks, options.recorder ?? null),
    signals: options.signals ?? new LocalRunSignals(),
    storageLabel: 'memory',
    // Memory does not fail; what throws here is a bug, and retrying would not fix it.
    isRetryable: () => false,
  };
}
