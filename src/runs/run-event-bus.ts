import { Injectable, Logger } from '@nestjs/common';
import type { LoggedEvent } from './logged-event.js';

export type LoggedEventListener = (event: LoggedEvent) => void;

/**
 * In-process fan-out of a thread's events to its subscribers (the caller of a run, connected
 * clients). Synchronous and free of I/O: `publish` returns once every listener has been called, so
 * a subscriber that joined before an event was published cannot miss it. Cross-process delivery is
 * the run core's business (through RunSignals: on PostgreSQL, it reads the log on NOTIFY).
 */
@Injectable()
export class RunEventBus {
  private readonly logger = new Logger(RunEventBus.name);
  private readonly listeners = new Map<string, Set<LoggedEventListener>>();

  /** Returns the unsubscribe function; calling it twice is harmless. */
  subscribe(threadId: string, listener: LoggedEventListener): () => void {
    let set = this.listeners.get(threadId);
    if (!set) {
      set = new Set();
      this.listeners.set(threadId, set);
    }
    // Wrapped, so the same function subscribed twice is two subscriptions.
    const entry: LoggedEventListener = (event) => listener(event);
    set.add(entry);
    return () => {
      const current = this.listeners.get(threadId);
      if (!current?.delete(entry)) return;
      if (current.size === 0) this.listeners.delete(threadId);
    };
  }

  publish(event: LoggedEvent): void {
    const set = this.listeners.get(event.threadId);
    if (!set) return;
    // A copy: a listener may unsubscribe (itself or another) while we iterate.
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        // One broken subscriber must not break the run or the other subscribers.
        this.logger.error(
          `A subscriber of thread ${event.threadId} threw on event ${event.sequence}: ${describe(error)}`,
        );
      }
    }
  }

  subscriberCount(threadId: string): number {
    return this.listeners.get(threadId)?.size ?? 0;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
