import type { StopReason } from '../runs/run-execution.js';

/** "The log of `threadId` now reaches `lastSequence`"; `ended`: its run released the lock. */
export interface ThreadEventsNotice {
  threadId: string;
  lastSequence: number;
  ended?: boolean;
}

export interface StopRequestNotice {
  runId: string;
  reason: StopReason;
}

/**
 * Signals between runtime instances sharing a database: new events in a thread's log, and stop
 * requests for a run another instance holds. Best effort: a lost signal costs latency, never
 * correctness (subscribers also poll the lock and the log). PostgresRunSignals uses LISTEN/NOTIFY.
 */
export abstract class RunSignals {
  /** Starts listening (a no-op in one process). Never rejects. */
  async start(): Promise<void> {}
  /** Fire and forget. */
  abstract publishThreadEvents(notice: ThreadEventsNotice): void;
  abstract requestStop(notice: StopRequestNotice): Promise<void>;
  /** Returns the unsubscribe function. */
  abstract onThreadEvents(threadId: string, handler: (notice: ThreadEventsNotice) => void): () => void;
  abstract onStopRequest(handler: (notice: StopRequestNotice) => void): () => void;
  abstract close(): Promise<void>;
}

/** Dispatch shared by implementations: per-thread handlers and stop handlers. */
export abstract class DispatchingRunSignals extends RunSignals {
  private readonly threadHandlers = new Map<string, Set<(notice: ThreadEventsNotice) => void>>();
  private readonly stopHandlers = new Set<(notice: StopRequestNotice) => void>();

  onThreadEvents(threadId: string, handler: (notice: ThreadEventsNotice) => void): () => void {
    let set = this.threadHandlers.get(threadId);
    if (!set) {
      set = new Set();
      this.threadHandlers.set(threadId, set);
    }
    const entry = (notice: ThreadEventsNotice) => handler(notice);
    set.add(entry);
    return () => {
      const current = this.threadHandlers.get(threadId);
      if (!current?.delete(entry)) return;
      if (current.size === 0) this.threadHandlers.delete(threadId);
    };
  }

  onStopRequest(handler: (notice: StopRequestNotice) => void): () => void {
    const entry = (notice: StopRequestNotice) => handler(notice);
    this.stopHandlers.add(entry);
    return () => this.stopHandlers.delete(entry);
  }

  protected dispatchThreadEvents(notice: ThreadEventsNotice): void {
    for (const handler of [...(this.threadHandlers.get(notice.threadId) ?? [])]) {
      try {
        handler(notice);
      } catch {
        // A subscriber's problem, not the dispatcher's.
      }
    }
  }

  protected dispatchStopRequest(notice: StopRequestNotice): void {
    for (const handler of [...this.stopHandlers]) {
      try {
        handler(notice);
      } catch {
        // idem
      }
    }
  }

  protected hasThreadSubscribers(threadId: string): boolean {
    return this.threadHandlers.has(threadId);
  }
}

/** Signals within one process (tests, and instances sharing a process). */
export class LocalRunSignals extends DispatchingRunSignals {
  publishThreadEvents(notice: ThreadEventsNotice): void {
    queueMicrotask(() => this.dispatchThreadEvents(notice));
  }

  async requestStop(notice: StopRequestNotice): Promise<void> {
    queueMicrotask(() => this.dispatchStopRequest(notice));
  }

  async close(): Promise<void> {}
}

/** Several LocalRunSignals connected to one another, as instances on one database would be. */
export class LocalSignalHub {
  private readonly members = new Set<HubMember>();

  join(): RunSignals {
    const member = new HubMember(this.members);
    this.members.add(member);
    return member;
  }
}

class HubMember extends DispatchingRunSignals {
  constructor(private readonly members: Set<HubMember>) {
    super();
  }

  publishThreadEvents(notice: ThreadEventsNotice): void {
    for (const member of this.members) queueMicrotask(() => member.dispatchThreadEvents(notice));
  }

  async requestStop(notice: StopRequestNotice): Promise<void> {
    for (const member of this.members) queueMicrotask(() => member.dispatchStopRequest(notice));
  }

  async close(): Promise<void> {
    this.members.delete(this);
  }
}
