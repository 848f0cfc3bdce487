import type { LoggedEvent } from './logged-event.js';

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

export type LockAttempt = { acquired: true } | { acquired: false; current: ThreadLock };

/**
 * One active run per thread, enforced in PostgreSQL so it holds across processes. A lock expires
 * unless renewed (heartbeat), so a crashed process never wedges a thread.
 */
export abstract class ThreadLockStore {
  /** Takes the thread's lock for `runId` unless a live (unexpired) lock exists. */
  abstract tryAcquire(threadId: string, runId: string, holder: string, ttlMs: number): Promise<LockAttempt>;
  /** Extends the lock; false when it is no longer held by this run (expired and taken, or released). */
  abstract renew(threadId: string, runId: string, ttlMs: number): Promise<boolean>;
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
