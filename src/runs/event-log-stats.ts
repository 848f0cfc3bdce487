/**
 * Process-wide figures of the event-log writers, for metrics (observability/ reads them; the
 * writers only add to them): the latency of each successful append and the events still queued
 * in memory across all runs. Free on the hot path: an append reports one number, and the queue
 * depth is summed over the live writers only when someone asks (a metrics scrape).
 */
export interface EventLogAppendObserver {
  (seconds: number, events: number): void;
}

interface QueuedEvents {
  readonly queuedEventCount: number;
}

class EventLogStats {
  private readonly live = new Set<QueuedEvents>();
  private observer: EventLogAppendObserver | null = null;

  /** One observer per process (the metrics module); null removes it. */
  observeAppends(observer: EventLogAppendObserver | null): void {
    this.observer = observer;
  }

  /** Replaces the observer only if `current` is still the one set (two apps in one process). */
  observeAppendsIfCurrent(current: EventLogAppendObserver, next: EventLogAppendObserver | null): void {
    if (this.observer === current) this.observer = next;
  }

  appended(seconds: number, events: number): void {
    this.observer?.(seconds, events);
  }

  opened(writer: QueuedEvents): void {
    this.live.add(writer);
  }

  closed(writer: QueuedEvents): void {
    this.live.delete(writer);
  }

  /** Events queued in memory, not yet in the log, over every writer of this process. */
  queueDepth(): number {
    let depth = 0;
    for (const writer of this.live) depth += writer.queuedEventCount;
    return depth;
  }

  /** Writers of runs not yet closed. */
  get liveWriters(): number {
    return this.live.size;
  }
}

export const eventLogStats = new EventLogStats();
