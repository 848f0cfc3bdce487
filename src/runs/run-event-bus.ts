import { Injectable, Logger } from '@nestjs/common';
import type { LoggedEvent } from './logged-event.js';

export type LoggedEventListener = (event: LoggedEvent) => void;
/** Receives one batch: consecutive events of one run, in sequence order, never empty. */
export type LoggedBatchListener = (events: readonly LoggedEvent[]) => void;

/**
 * In-process fan-out of a thread's events to its subscribers (the caller of a run, connected
 * clients). Synchronous and free of I/O: `publish` returns once every listener has been called, so
 * a subscriber that joined before an event was published cannot miss it. Cross-process delivery is
 * the run core's business (through RunSignals: on PostgreSQL, it reads the log on NOTIFY).
 *
 * A run publishes what its body had ready in one turn as one batch (`publishBatch`): a batch
 * listener gets the array, a per-event listener each event. The listeners of a thread are kept in
 * an array replaced on every (un)subscribe, so a publish iterates a snapshot without copying it:
 * a listener removed mid-publish still gets the batch being published, one added does not.
 */
@Injectable()
export class RunEventBus {
  private readonly logger = new Logger(RunEventBus.name);
  private readonly listeners = new Map<string, readonly LoggedBatchListener[]>();

  /**
   * Per event; returns the unsubscribe function (calling it twice is harmless). A listener that
   * unsubscribes in the middle of a batch gets none of the batch's later events.
   */
  subscribe(threadId: string, listener: LoggedEventListener): () => void {
    let active = true;
    const unsubscribe = this.subscribeBatches(threadId, (events) => {
      for (const event of events) {
        if (!active) return;
        try {
          listener(event);
        } catch (error) {
          this.reportThrow(event, error);
        }
      }
    });
    return () => {
      active = false;
      unsubscribe();
    };
  }

  /** Per batch; returns the unsubscribe function (calling it twice is harmless). */
  subscribeBatches(threadId: string, listener: LoggedBatchListener): () => void {
    // Wrapped, so the same function subscribed twice is two subscriptions.
    const entry: LoggedBatchListener = (events) => listener(events);
    this.listeners.set(threadId, [...(this.listeners.get(threadId) ?? []), entry]);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const rest = (this.listeners.get(threadId) ?? []).filter((other) => other !== entry);
      if (rest.length === 0) this.listeners.delete(threadId);
      else this.listeners.set(threadId, rest);
    };
  }

  publish(event: LoggedEvent): void {
    this.publishBatch([event]);
  }

  /** Publishes consecutive events of one thread (one run's batch) to every subscriber. */
  publishBatch(events: readonly LoggedEvent[]): void {
    if (events.length === 0) return;
    const listeners = this.listeners.get(events[0]!.threadId);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener(events);
      } catch (error) {
        // One broken subscriber must not break the run or the other subscribers.
        this.reportThrow(events[0]!, error);
      }
    }
  }

  subscriberCount(threadId: string): number {
    return this.listeners.get(threadId)?.length ?? 0;
  }

  private reportThrow(event: LoggedEvent, error: unknown): void {
    this.logger.error(`A subscriber of thread ${event.threadId} threw on event ${event.sequence}: ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
