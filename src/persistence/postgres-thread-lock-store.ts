import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { queryPrepared } from './prepared-query.js';
import { type HeldLock, type LockAttempt, type ThreadLock, ThreadLockStore } from '../ports/run-stores.js';

/*
 * Every time comparison uses the database's clock (now()), never the app's: the instances of a
 * deployment agree on one clock that way, whatever their own drift.
 */

/**
 * Takes the lock when there is none or it has expired. Atomic across processes: a concurrent
 * insert of the same thread waits for the other transaction, then re-checks the WHERE against the
 * row that won. The same run taking its own lock again (a retry after an ambiguous failure) just
 * renews it.
 */
/** The lock row becomes the new run's (the ON CONFLICT update of every lock taking). */
export const TAKE_OVER_LOCK = `
    run_id = EXCLUDED.run_id,
    holder = EXCLUDED.holder,
    acquired_at = EXCLUDED.acquired_at,
    expires_at = EXCLUDED.expires_at`;

const ACQUIRE = `
  INSERT INTO thread_locks (thread_id, run_id, holder, acquired_at, expires_at)
  VALUES ($1, $2, $3, now(), now() + $4::double precision * interval '1 millisecond')
  ON CONFLICT (thread_id) DO UPDATE SET ${TAKE_OVER_LOCK}
  WHERE thread_locks.expires_at <= now() OR thread_locks.run_id = EXCLUDED.run_id
  RETURNING run_id`;

/** Every lock of the heartbeat in one statement: the pairs come as two parallel arrays. */
const RENEW_ALL = `
  UPDATE thread_locks SET expires_at = now() + $3::double precision * interval '1 millisecond'
  FROM unnest($1::text[], $2::text[]) AS held(thread_id, run_id)
  WHERE thread_locks.thread_id = held.thread_id AND thread_locks.run_id = held.run_id
  RETURNING thread_locks.run_id`;

const CURRENT = `
  SELECT thread_id, run_id, holder, expires_at FROM thread_locks
  WHERE thread_id = $1 AND expires_at > now()`;

export interface ThreadLockRow {
  thread_id: string;
  run_id: string;
  holder: string;
  expires_at: Date;
}

export function toThreadLock(row: ThreadLockRow): ThreadLock {
  return { threadId: row.thread_id, runId: row.run_id, holder: row.holder, expiresAt: row.expires_at };
}

/** Where both the lock store and RunAdmission (inside its transaction) take a lock. */
export async function acquireThreadLock(
  manager: EntityManager,
  threadId: string,
  runId: string,
  holder: string,
  ttlMs: number,
): Promise<LockAttempt> {
  // A lock seen as live by the insert may be gone by the read (released meanwhile): try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const acquired: { run_id: string }[] = await manager.query(ACQUIRE, [
      threadId,
      runId,
      holder,
      ttlMs,
    ]);
    if (acquired[0]?.run_id === runId) return { acquired: true };
    const current: ThreadLockRow[] = await manager.query(CURRENT, [threadId]);
    if (current[0]) return { acquired: false, current: toThreadLock(current[0]) };
  }
  throw new Error(`The lock of thread ${threadId} kept changing hands; try again`);
}

/**
 * One active run per thread, in `thread_locks`. A lock references its thread, whose row must
 * exist (RunAdmission creates both in one transaction).
 */
@Injectable()
export class PostgresThreadLockStore extends ThreadLockStore {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  tryAcquire(threadId: string, runId: string, holder: string, ttlMs: number): Promise<LockAttempt> {
    return acquireThreadLock(this.dataSource.manager, threadId, runId, holder, ttlMs);
  }

  async renew(threadId: string, runId: string, ttlMs: number): Promise<boolean> {
    const [, renewed] = (await this.dataSource.query(
      `UPDATE thread_locks SET expires_at = now() + $3::double precision * interval '1 millisecond'
       WHERE thread_id = $1 AND run_id = $2`,
      [threadId, runId, ttlMs],
    )) as [unknown, number];
    return renewed > 0;
  }

  async renewAll(locks: readonly HeldLock[], ttlMs: number): Promise<ReadonlySet<string>> {
    if (locks.length === 0) return new Set();
    const rows = await queryPrepared<{ run_id: string }>(this.dataSource, 'crn_renew_locks', RENEW_ALL, [
      locks.map((lock) => lock.threadId),
      locks.map((lock) => lock.runId),
      ttlMs,
    ]);
    return new Set(rows.map((row) => row.run_id));
  }

  async release(threadId: string, runId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM thread_locks WHERE thread_id = $1 AND run_id = $2`, [
      threadId,
      runId,
    ]);
  }

  async current(threadId: string): Promise<ThreadLock | null> {
    const rows: ThreadLockRow[] = await this.dataSource.query(CURRENT, [threadId]);
    return rows[0] ? toThreadLock(rows[0]) : null;
  }

  async reapExpired(): Promise<ThreadLock[]> {
    const [rows] = (await this.dataSource.query(
      `DELETE FROM thread_locks WHERE expires_at <= now()
       RETURNING thread_id, run_id, holder, expires_at`,
    )) as [ThreadLockRow[], number];
    return rows.map(toThreadLock);
  }
}
