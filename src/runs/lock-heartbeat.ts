import { Logger } from '@nestjs/common';
import type { HeldLock, ThreadLockStore } from '../ports/run-stores.js';

interface HeldEntry extends HeldLock {
  /** Called once the storage says the run no longer holds its lock. */
  onLost: () => void;
}

/**
 * The heartbeat of every thread lock one instance holds: ONE timer, and every `lockTtlMs / 3` ONE
 * renewal of all the held locks (ThreadLockStore.renewAll), so that the database sees a statement
 * per interval however many runs are in flight. A run whose lock the storage no longer has (expired
 * and taken, reaped, released by someone else) hears it through its `onLost`; the others are
 * untouched. A renewal that fails (an outage) is only logged: the locks outlive a short outage by
 * their TTL, a long one ends in a lost lock or a reaped one.
 */
export class LockHeartbeat {
  private readonly logger = new Logger(LockHeartbeat.name);
  /** By run id. */
  private readonly held = new Map<string, HeldEntry>();
  private timer: NodeJS.Timeout | null = null;
  /** A renewal in flight: the next tick does not pile another on it. */
  private beating: Promise<void> | null = null;
  private beatStartedAt = 0;

  constructor(
    private readonly locks: ThreadLockStore,
    private readonly ttlMs: number,
  ) {}

  /** How many locks the heartbeat keeps alive. */
  get size(): number {
    return this.held.size;
  }

  /** Keeps the run's lock alive until the returned function is called (the run has ended). */
  hold(threadId: string, runId: string, onLost: () => void): () => void {
    const entry: HeldEntry = { threadId, runId, onLost };
    this.held.set(runId, entry);
    if (!this.timer) {
      this.timer = setInterval(() => void this.beat(), this.ttlMs / 3);
      this.timer.unref();
    }
    return () => {
      if (this.held.get(runId) === entry) this.held.delete(runId);
      if (this.held.size === 0) this.stopTimer();
    };
  }

  /** One renewal of every held lock (the timer's tick; tests call it directly). Never rejects. */
  beat(): Promise<void> {
    // One renewal at a time, unless the one in flight hangs (a dead connection) past a tick more:
    // the locks must not expire behind it.
    if (this.beating && Date.now() - this.beatStartedAt < (2 * this.ttlMs) / 3) return this.beating;
    this.beatStartedAt = Date.now();
    const beating: Promise<void> = this.renewAll().finally(() => {
      if (this.beating === beating) this.beating = null;
    });
    this.beating = beating;
    return beating;
  }

  /** Stops the timer (shutdown); held locks then simply expire. */
  stop(): void {
    this.stopTimer();
  }

  private async renewAll(): Promise<void> {
    const entries = [...this.held.values()];
    if (entries.length === 0) return;
    let stillHeld: ReadonlySet<string>;
    try {
      stillHeld = await this.locks.renewAll(
        entries.map(({ threadId, runId }) => ({ threadId, runId })),
        this.ttlMs,
      );
    } catch (error) {
      this.logger.warn(
        `Renewing the locks of ${entries.length} run(s) failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    for (const entry of entries) {
      // Ended while the renewal was in flight: its end released the lock, nothing was lost.
      if (stillHeld.has(entry.runId) || this.held.get(entry.runId) !== entry) continue;
      this.held.delete(entry.runId);
      entry.onLost();
    }
    if (this.held.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
