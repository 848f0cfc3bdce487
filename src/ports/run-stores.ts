import type { Message } from '@ag-ui/core';
import type { RetryableClassifier } from '../common/retry-policy.js';
import type { RunInput, RunOutcome, RunStart, RunStatus } from './conversation-store.js';
import type { LoggedEvent } from '../runs/logged-event.js';
import type { RunSignals } from './run-signals.js';

/*
 * The ports of durable runs: what the run core (runs/run-core.ts) needs from storage. PostgreSQL
 * adapters live in persistence/, in-memory ones in runs/memory/.
 */

/** The event log: append-only, per-thread sequence, idempotent on (thread, sequence). */
export abstract class EventLogStore {
  /** Appends a batch in one statement (chunked if large); rows already present are skipped. */
  abstract append(events: LoggedEvent[]): Promise<void>;
  /** Events of the thread with sequence > afterSequence, ascending, at most `limit`. */
  abstract readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]>;
  /** The thread's highest sequence, 0 when it has none. */
  abstract lastSequence(threadId: string): Promise<number>;
}

export interface ThreadLock {
  threadId: string;
  runId: string;
  /** The runtime instance holding it (RUNTIME_INSTANCE_ID). */
  holder: string;
  expiresAt: Date;
}

/** A lock as its holder knows it: which run holds which thread. */
export interface HeldLock {
  threadId: string;
  runId: string;
}

export type LockAttempt = { acquired: true } | { acquired: false; current: ThreadLock };

/**
 * One active run per thread (in PostgreSQL it holds across processes). A lock expires
 * unless renewed (heartbeat), so a crashed process never wedges a thread.
 */
export abstract class ThreadLockStore {
  /** Takes the thread's lock for `runId` unless a live (unexpired) lock exists. */
  abstract tryAcquire(threadId: string, runId: string, holder: string, ttlMs: number): Promise<LockAttempt>;
  /** Extends the lock; false when it is no longer held by this run (expired and taken, or released). */
  abstract renew(threadId: string, runId: string, ttlMs: number): Promise<boolean>;
  /**
   * Extends every given lock in one step (one statement in PostgreSQL): the heartbeat of all the
   * locks an instance holds. Answers the run ids whose locks are still held (and now extended);
   * a run missing from it lost its lock.
   */
  abstract renewAll(locks: readonly HeldLock[], ttlMs: number): Promise<ReadonlySet<string>>;
  abstract release(threadId: string, runId: string): Promise<void>;
  /** The live lock of the thread, or null. */
  abstract current(threadId: string): Promise<ThreadLock | null>;
  /** Deletes expired locks and returns them (their runs died with their process). */
  abstract reapExpired(): Promise<ThreadLock[]>;
}

/** Agent state per (thread, agent), a new version on every change a run reports. */
export interface AgentStateVersion {
  threadId: string;
  agentName: string;
  version: number;
  runId: string | null;
  state: unknown;
  createdAt: Date;
}

export abstract class AgentStateStore {
  /** Stores a new version (previous + 1) and returns it. */
  abstract record(threadId: string, agentName: string, state: unknown, runId: string | null): Promise<AgentStateVersion>;
  abstract latest(threadId: string, agentName: string): Promise<AgentStateVersion | null>;
}

export interface RunAdmissionRequest {
  threadId: string;
  runId: string;
  ownerId: string;
  /** The runtime instance that will hold the thread's lock. */
  holder: string;
  ttlMs: number;
  agentName: string | null;
  model: string | null;
  startedAt: Date;
  /** The request's messages: stored with the admission when the store can (see `inputStored`). */
  inputMessages?: readonly Message[];
  /** The request's tools and context, stored with the run row (for replays). */
  runInput?: RunInput;
  /** An agent whose last stored state on the thread the run starts from: read with the admission. */
  agentStateOf?: string;
}

/** An agent's last stored state on a thread, as the admission read it (see `agentStateOf`). */
export interface StoredAgentState {
  state: unknown;
}

export type AdmissionResult =
  /**
   * `lastSequence`: the thread's last event-log sequence, read under the new lock (when known);
   * `inputStored`: the request's messages were stored with the admission; `agentState`: the
   * answer to `agentStateOf` (null: nothing stored), read under the new lock (absent: not read).
   */
  | { admitted: true; lastSequence?: number; inputStored?: boolean; agentState?: StoredAgentState | null }
  | { admitted: false; reason: 'busy'; current: ThreadLock }
  | { admitted: false; reason: 'forbidden' }
  /** The run id was used before (by this thread or another): ids are never reused. */
  | { admitted: false; reason: 'duplicate_run' };

/** What a run left 'running' by a dead instance is finished with. */
export const RUN_ABANDONED_ERROR = {
  code: 'RUN_ABANDONED',
  message: 'The runtime instance serving this run stopped before it finished.',
} as const;

/**
 * The run's event log writer as the run store sees it at the run's end: its final flush, either on
 * its own (`close`, retrying) or folded into the store's own write (`closeWith`).
 */
export interface FinalFlush {
  /** Set when the log could not be written (the run is then recorded as failed with it). */
  readonly failure: { code: string; message: string } | null;
  /** The highest sequence known to be in the log. */
  readonly lastWrittenSequence: number;
  close(): Promise<void>;
  closeWith(write: (events: LoggedEvent[]) => Promise<boolean>): Promise<boolean>;
}

export interface RunEndRecorded {
  /** The lock was released with the run's end; if not, the core releases it. */
  lockReleased: boolean;
  /** The log could not be written: the run was recorded failed with its error. */
  logFailed: boolean;
  /**
   * The store announced the run's end to the signals' subscribers with its record (in the same
   * statement): the core sends no notice of its own.
   */
  endAnnounced?: boolean;
}

/**
 * Runs and their threads: admission (thread ownership, the thread's lock, the run row, in one
 * step) and the run's end (one way to write it). Also what stop needs to answer about a run that
 * is not local.
 */
export abstract class RunStore {
  /** Takes the thread for the run, or says why not. A refused admission changes nothing. */
  abstract admitRun(request: RunAdmissionRequest): Promise<AdmissionResult>;
  /** Records the run's start, when the admission did not store its input. Write-behind: never throws. */
  abstract recordStart(start: RunStart): void;
  /**
   * THE way a run's end is written: the final flush of its log first (the log holds the terminal
   * event before the run says how it ended), then the run's final state and output messages, and
   * the release of its lock (all in one step where the store can). Resolves once recorded, or
   * given up (the store logs it). Never rejects.
   */
  abstract finishRun(outcome: RunOutcome, log: FinalFlush): Promise<RunEndRecorded>;
  /** Deletes expired locks and fails their runs still running (RUN_ABANDONED); returns the locks. */
  abstract reapAbandonedRuns(): Promise<{ locks: ThreadLock[]; failedRuns: number }>;
  abstract findRun(runId: string): Promise<{ threadId: string; status: RunStatus } | null>;
  abstract threadExists(threadId: string): Promise<boolean>;
}

/** The outcome recorded for a run whose log failed: failed, with the log's error. */
export function withLogFailure(outcome: RunOutcome, failure: FinalFlush['failure']): RunOutcome {
  if (!failure) return outcome;
  return { ...outcome, status: 'failed', error: { code: failure.code, message: failure.message } };
}

/** One set of adapters the run core runs on (PostgreSQL, or memory). */
export interface RunPorts {
  eventLog: EventLogStore;
  locks: ThreadLockStore;
  runs: RunStore;
  signals: RunSignals;
  /** Names the storage in error messages, e.g. `PostgreSQL at postgres://db:5432/app`. */
  storageLabel: string;
  /** Which of the storage's errors a retry may fix (the one classifier, from the adapters). */
  isRetryable: RetryableClassifier;
}

/**
 * What DURABLE_RUN_PORTS provides: builds the durable adapters, given the runs' outage budget. A
 * factory, so that what they hold open (the LISTEN connection of the run signals) is opened only
 * when runs are durable, not with `runs.runner: 'memory'`.
 */
export type DurableRunPortsFactory = (settings: { maxOutageMs: number; flushIntervalMs: number }) => Promise<RunPorts>;

/** DI token of the DurableRunPortsFactory that PersistenceModule provides (the PostgreSQL adapters). */
export const DURABLE_RUN_PORTS = Symbol('DURABLE_RUN_PORTS');
