import type { RunRecord, RunStatus } from './conversation-store.js';

export interface ThreadSummary {
  id: string;
  ownerId: string;
  title: string | null;
  /** The agent of the thread's latest run, null for the plain LLM path. */
  agentName: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastRunStatus: RunStatus | null;
  messageCount: number;
  /** Set on forks: where the thread was forked from. */
  forkedFrom: { threadId: string; messageId: string } | null;
  /** Archived threads are left out of lists unless asked for. */
  archived: boolean;
}

/** One page of an owner's threads. */
export interface ThreadListQuery {
  first: number;
  /** A cursor from a previous page's `nextCursor`. */
  after?: string;
  /**
   * Only threads with a run of this agent; `null`: with a run of no agent (the built-in model's
   * chats, recorded without an agent name). Undefined: every thread.
   */
  agentName?: string | null;
  /** Archived threads too (by default they are left out). */
  includeArchived?: boolean;
}

export interface ThreadPage {
  threads: ThreadSummary[];
  /** Opaque cursor of the next page, null on the last page. */
  nextCursor: string | null;
}

/** Outcome of a change that may be refused. */
export type ThreadChange<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'not_found' | 'running' | 'message_not_found'; message: string };

/** A cursor that the catalog did not issue (or that was tampered with): `list` throws it. */
export class InvalidThreadCursorError extends Error {
  override readonly name = 'InvalidThreadCursorError';
}

/**
 * Threads as a first-class API. Every call is scoped to an owner: a thread of another owner is
 * reported exactly like a missing one, so ids of other people's threads leak nothing.
 */
export abstract class ThreadCatalog {
  /**
   * Newest first (updated_at desc), optionally only threads whose runs used `agentName`.
   * @throws InvalidThreadCursorError when `after` is not a cursor this catalog issued.
   */
  abstract list(ownerId: string, page: ThreadListQuery): Promise<ThreadPage>;
  abstract get(ownerId: string, threadId: string): Promise<ThreadSummary | null>;
  /** The thread's runs, oldest first. */
  abstract runs(ownerId: string, threadId: string): Promise<RunRecord[] | null>;
  abstract rename(ownerId: string, threadId: string, title: string): Promise<ThreadChange<ThreadSummary>>;
  /** Archives or unarchives; the thread's activity time (its place in lists) does not move. */
  abstract setArchived(ownerId: string, threadId: string, archived: boolean): Promise<ThreadChange<ThreadSummary>>;
  /** Deletes the thread with its messages, runs, events, agent states. Refused while a run is active. */
  abstract delete(ownerId: string, threadId: string): Promise<ThreadChange<true>>;
  /** A new thread holding the messages up to and including `messageId`, and the agent states. */
  abstract fork(ownerId: string, threadId: string, messageId: string, newThreadId: string): Promise<ThreadChange<ThreadSummary>>;
  /** Retention: deletes threads older than maxAgeMs and beyond the newest maxThreads, never running ones. */
  abstract deleteExpired(rules: { maxAgeMs?: number; maxThreads?: number }): Promise<number>;
}
