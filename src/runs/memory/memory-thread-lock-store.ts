import { type HeldLock, type LockAttempt, type ThreadLock, ThreadLockStore } from '../../ports/run-stores.js';
import type { MemoryRunState } from './memory-run-state.js';

/** Thread locks in memory, expiring on the state's clock like the PostgreSQL ones on the database's. */
export class MemoryThreadLockStore extends ThreadLockStore {
  constructor(private readonly state: MemoryRunState) {
    super();
  }

  async tryAcquire(threadId: string, runId: string, holder: string, ttlMs: number): Promise<LockAttempt> {
    return this.acquire(threadId, runId, holder, ttlMs);
  }

  /** Synchronous, for the run store's admission (one step, as one statement is in PostgreSQL). */
  acquire(threadId: string, runId: string, holder: string, ttlMs: number): LockAttempt {
    const current = this.live(threadId);
    if (current && current.runId !== runId) return { acquired: false, current };
    this.state.locks.set(threadId, { threadId, runId, holder, expiresAt: this.expiry(ttlMs) });
    return { acquired: true };
  }

  async renew(threadId: string, runId: string, ttlMs: number): Promise<boolean> {
    return this.renewNow(threadId, runId, ttlMs);
  }

  /** In one step, as the one statement in PostgreSQL. */
  async renewAll(locks: readonly HeldLock[], ttlMs: number): Promise<ReadonlySet<string>> {
    const held = new Set<string>();
    for (const { threadId, runId } of locks) if (this.renewNow(threadId, runId, ttlMs)) held.add(runId);
    return held;
  }

  private renewNow(threadId: string, runId: string, ttlMs: number): boolean {
    const lock = this.live(threadId);
    if (!lock || lock.runId !== runId) return false;
    lock.expiresAt = this.expiry(ttlMs);
    return true;
  }

  async release(threadId: string, runId: string): Promise<void> {
    this.releaseNow(threadId, runId);
  }

  releaseNow(threadId: string, runId: string): void {
    if (this.state.locks.get(threadId)?.runId === runId) this.state.locks.delete(threadId);
  }

  async current(threadId: string): Promise<ThreadLock | null> {
    return this.live(threadId);
  }

  async reapExpired(): Promise<ThreadLock[]> {
    return this.reapNow();
  }

  reapNow(): ThreadLock[] {
    const now = this.state.clock.now();
    const reaped = [...this.state.locks.values()].filter((lock) => lock.expiresAt.getTime() <= now);
    for (const lock of reaped) this.state.locks.delete(lock.threadId);
    return reaped;
  }

  private live(threadId: string): ThreadLock | null {
    const lock = this.state.locks.get(threadId);
    return lock && lock.expiresAt.getTime() > this.state.clock.now() ? lock : null;
  }

  private expiry(ttlMs: number): Date {
    return new Date(this.state.clock.now() + ttlMs);
  }
}
