import type { Clock } from '../../common/clock.js';
import type { RunStatus } from '../../ports/conversation-store.js';
import type { ThreadLock } from '../../ports/run-stores.js';
import type { LoggedEvent } from '../logged-event.js';

export interface MemoryBounds {
  /** Threads kept; idle ones beyond it are evicted, least recently used first. */
  maxThreads: number;
  /** Runs whose events are kept per thread (the oldest go first). */
  maxRunsPerThread: number;
  /** Approximate JSON size of all events kept. */
  maxBytes: number;
}

export interface MemoryRun {
  runId: string;
  status: RunStatus;
  /** In sequence order. */
  events: LoggedEvent[];
  bytes: number;
}

export interface MemoryThread {
  threadId: string;
  ownerId: string;
  /** Oldest first. */
  runs: MemoryRun[];
  /** The thread's highest sequence; kept when old runs go, so numbering never repeats. */
  lastSequence: number;
  bytes: number;
}

/** Per event, beyond its JSON: the LoggedEvent wrapper and array slot. */
const EVENT_OVERHEAD_BYTES = 64;

/**
 * What the in-memory adapters share, the way PostgreSQL adapters share a database: threads (with
 * their owner, runs and events) and thread locks. Memory is bounded: threads (LRU), runs per
 * thread and an approximate byte budget. Eviction never touches a thread whose lock is held
 * (a running run): while every thread runs, the bounds are exceeded until runs end. A thread
 * evicted entirely starts again from sequence 1 (and is anyone's).
 */
export class MemoryRunState {
  /** In LRU order: the first entry is the least recently used. */
  readonly threads = new Map<string, MemoryThread>();
  readonly runs = new Map<string, { thread: MemoryThread; run: MemoryRun }>();
  readonly locks = new Map<string, ThreadLock>();
  private totalBytes = 0;

  constructor(
    readonly bounds: MemoryBounds,
    readonly clock: Clock,
  ) {}

  /** Memory held, for tests and metrics. */
  get usage(): { threads: number; bytes: number } {
    return { threads: this.threads.size, bytes: this.totalBytes };
  }

  hasThread(threadId: string): boolean {
    return this.threads.has(threadId);
  }

  /** The thread, created if new, moved to the most recently used end. */
  touch(threadId: string, ownerId: string): MemoryThread {
    let thread = this.threads.get(threadId);
    if (thread) this.threads.delete(threadId);
    else thread = { threadId, ownerId, runs: [], lastSequence: 0, bytes: 0 };
    this.threads.set(threadId, thread);
    return thread;
  }

  /** A new run of the thread; old runs and idle threads beyond the bounds go. */
  addRun(thread: MemoryThread, runId: string): MemoryRun {
    const run: MemoryRun = { runId, status: 'running', events: [], bytes: 0 };
    thread.runs.push(run);
    this.runs.set(runId, { thread, run });
    this.trimRuns(thread);
    this.evictThreads(thread);
    return run;
  }

  /** Stores events (idempotent on sequence); past the byte budget, the oldest idle data goes. */
  append(events: LoggedEvent[]): void {
    let keep: MemoryThread | null = null;
    for (const event of events) {
      const entry = this.runs.get(event.runId);
      if (!entry || event.sequence <= entry.thread.lastSequence) continue;
      const size = approximateSize(event);
      entry.run.events.push(event);
      entry.run.bytes += size;
      entry.thread.bytes += size;
      entry.thread.lastSequence = event.sequence;
      this.totalBytes += size;
      keep = entry.thread;
    }
    if (this.totalBytes > this.bounds.maxBytes) this.evictBytes(keep);
  }

  /** A run ended: its thread is idle now, and the bounds may apply to it again. */
  runEnded(): void {
    this.evictThreads(null);
    if (this.totalBytes > this.bounds.maxBytes) this.evictBytes(null);
  }

  private isBusy(thread: MemoryThread): boolean {
    return this.locks.has(thread.threadId);
  }

  /** Keeps the last maxRunsPerThread runs of the thread (never a running one). */
  private trimRuns(thread: MemoryThread): void {
    while (thread.runs.length > this.bounds.maxRunsPerThread) {
      if (thread.runs[0]!.status === 'running') return;
      this.dropRun(thread, 0);
    }
  }

  private dropRun(thread: MemoryThread, index: number): void {
    const [run] = thread.runs.splice(index, 1);
    if (!run) return;
    thread.bytes -= run.bytes;
    this.totalBytes -= run.bytes;
    this.runs.delete(run.runId);
  }

  /** Evicts idle threads, least recently used first, until within maxThreads. */
  private evictThreads(keep: MemoryThread | null): void {
    if (this.threads.size <= this.bounds.maxThreads) return;
    for (const thread of [...this.threads.values()]) {
      if (this.threads.size <= this.bounds.maxThreads) return;
      if (thread === keep || this.isBusy(thread)) continue;
      this.evictThread(thread);
    }
  }

  /** Over the byte budget: idle threads go first (LRU), then old runs of busy threads. */
  private evictBytes(keep: MemoryThread | null): void {
    for (const thread of [...this.threads.values()]) {
      if (this.totalBytes <= this.bounds.maxBytes) return;
      if (thread === keep || this.isBusy(thread)) continue;
      this.evictThread(thread);
    }
    for (const thread of [...this.threads.values()]) {
      for (let i = 0; i < thread.runs.length && this.totalBytes > this.bounds.maxBytes; ) {
        if (thread.runs[i]!.status === 'running') i++;
        else this.dropRun(thread, i);
      }
      if (this.totalBytes <= this.bounds.maxBytes) return;
    }
  }

  private evictThread(thread: MemoryThread): void {
    while (thread.runs.length > 0) this.dropRun(thread, 0);
    this.threads.delete(thread.threadId);
  }
}

function approximateSize(event: LoggedEvent): number {
  try {
    return JSON.stringify(event.event).length + EVENT_OVERHEAD_BYTES;
  } catch {
    return EVENT_OVERHEAD_BYTES;
  }
}
