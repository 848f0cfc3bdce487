import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { RetryPolicy, type RetryAttempts } from '../common/retry-policy.js';
import { DispatchingRunSignals, type StopRequestNotice, type ThreadEventsNotice } from '../ports/run-signals.js';
import type { StopReason } from '../runs/run-execution.js';
import { redactDatabaseUrl } from './redact-database-url.js';

export const THREAD_EVENTS_CHANNEL = 'crn_thread_events';
export const RUN_STOP_CHANNEL = 'crn_run_stop';

/**
 * Progress notices go out at most this often, every thread's in one statement (a thread's latest
 * one wins): the next event-log append's, else one of their own; a run's end goes out with the
 * statement that records it, else at the next turn of the event loop. A follower on another
 * instance reads the log when notified, so this bounds its lag while saving a statement per event
 * batch on a fast stream.
 */
export const THREAD_EVENTS_NOTIFY_INTERVAL_MS = 50;

/** A notice a statement sends (`pg_notify(channel, payload)`), delivered when it commits. */
export interface InStatementNotice {
  channel: string;
  payload: string;
  /** The statement committed: the notice is out. */
  committed(): void;
}

/**
 * The progress notices that are due, handed to a statement about to run (the shared event-log
 * append) to send on its commit, instead of a NOTIFY statement of their own.
 */
export interface RidingNotices {
  channel: string;
  payloads: string[];
  /** The statement failed: the notices go back to the outbox (unless newer ones replaced them). */
  failed(): void;
}

/** The LISTEN connection is reconnected for as long as the app runs: no outage budget. */
const RECONNECT = new RetryPolicy({ initialDelayMs: 250, maxDelayMs: 5_000, maxOutageMs: Infinity }, () => true);

/**
 * RunSignals over PostgreSQL LISTEN/NOTIFY. NOTIFY goes through the app's pool (one statement,
 * fire and forget); LISTEN needs a connection of its own for as long as the app runs, so this
 * opens a dedicated `pg` Client on the same URL and reconnects it with backoff when it drops
 * (notifications sent meanwhile are lost: subscribers poll as a fallback).
 */
export class PostgresRunSignals extends DispatchingRunSignals {
  private readonly logger = new Logger(PostgresRunSignals.name);
  /** The latest LISTEN client, connecting or connected; errors of older ones are ignored. */
  private client: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** The failures since the connection was last up. */
  private reconnects: RetryAttempts = RECONNECT.start();
  private listening = false;
  /** Thread notices waiting for the outbox: runs' ends in order, and each thread's latest progress. */
  private ends: ThreadEventsNotice[] = [];
  private readonly progress = new Map<string, ThreadEventsNotice>();
  private outboxTimer: NodeJS.Timeout | null = null;
  private outboxDueSoon = false;
  private outboxSentAt = 0;
  /**
   * How much longer due progress waits in the outbox for an event-log append to carry it
   * (carryProgressOnAppends); 0 when appends don't.
   */
  private carryGraceMs = 0;
  /**
   * Per thread, the last sequence an append about to commit (or committed) announced: the progress
   * its writer publishes after it lands is not sent again. An entry lives until the thread's next
   * notice.
   */
  private readonly announcedByAppend = new Map<string, number>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly url: string,
  ) {
    super();
  }

  /** True while the LISTEN connection is up. */
  get isListening(): boolean {
    return this.listening;
  }

  /** Connects the LISTEN client; on failure keeps retrying in the background. Never rejects. */
  override async start(): Promise<void> {
    await this.connect();
  }

  /**
   * Queued in the instance's outbox, sent with every other thread's in ONE statement: at most
   * every THREAD_EVENTS_NOTIFY_INTERVAL_MS (a thread's latest progress notice wins; an event-log
   * append carries them when one comes, see carryProgressOnAppends), and a run's end at the next
   * turn of the event loop. So the notices of N streaming runs cost at most a statement per
   * interval, not one per run.
   */
  publishThreadEvents(notice: ThreadEventsNotice): void {
    if (this.closed) return;
    const announced = this.announcedByAppend.get(notice.threadId);
    this.announcedByAppend.delete(notice.threadId);
    if (notice.ended) {
      // The end supersedes the thread's progress queued before it.
      this.progress.delete(notice.threadId);
      this.ends.push(notice);
    } else if (announced === undefined || notice.lastSequence > announced) {
      this.progress.set(notice.threadId, notice);
    } else {
      // The append that wrote these events announced them already.
      return;
    }
    this.scheduleOutbox(notice.ended === true);
  }

  /**
   * A run's end announced by the statement that records it (RunAdmission.finishAndRelease): the
   * notice for that statement to send, on commit, instead of a NOTIFY of its own (one round trip
   * fewer per run). `committed()` once it has: the thread's progress queued here is superseded.
   */
  runEndNotice(threadId: string, lastSequence: number): InStatementNotice {
    const notice: ThreadEventsNotice = { threadId, lastSequence, ended: true };
    return {
      channel: THREAD_EVENTS_CHANNEL,
      payload: JSON.stringify(notice),
      committed: () => {
        this.progress.delete(threadId);
        this.announcedByAppend.delete(threadId);
      },
    };
  }

  /**
   * The event log's appends carry the progress notices that are due (takeDueProgress): while runs
   * stream, an append comes every flush interval anyway, so progress costs no statement of its own.
   * Due progress waits in the outbox `flushIntervalMs` + 10 ms more for an append (the append a
   * streaming run has scheduled fires first) before the outbox sends it itself: a follower on
   * another instance hears of a run that paused at most that much later.
   */
  carryProgressOnAppends(flushIntervalMs: number): void {
    this.carryGraceMs = flushIntervalMs + 10;
  }

  /**
   * When progress notices are due (THREAD_EVENTS_NOTIFY_INTERVAL_MS since the outbox last sent), the
   * notices for an append about to run to send on its commit: the outbox's progress, and the
   * progress of the threads the append writes (`appending`: each thread's last sequence in it),
   * announced as the events become visible instead of after. Null when none is due. The progress
   * the append's own writer publishes once it has landed is then not sent again. Ends are not
   * taken: they go out with the statement that records the run's end, or at the next turn.
   */
  takeDueProgress(appending: ReadonlyMap<string, number>): RidingNotices | null {
    const now = Date.now();
    if (this.closed || now < this.outboxSentAt + THREAD_EVENTS_NOTIFY_INTERVAL_MS) return null;
    if (this.progress.size === 0 && appending.size === 0) return null;
    const pending = [...this.progress.values()];
    const byThread = new Map(pending.map((notice) => [notice.threadId, notice]));
    for (const [threadId, lastSequence] of appending) {
      if ((byThread.get(threadId)?.lastSequence ?? -1) < lastSequence) byThread.set(threadId, { threadId, lastSequence });
      this.announcedByAppend.set(threadId, lastSequence);
    }
    const notices = [...byThread.values()];
    this.progress.clear();
    this.outboxSentAt = now;
    if (this.ends.length === 0 && this.outboxTimer) {
      clearTimeout(this.outboxTimer);
      this.outboxTimer = null;
      this.outboxDueSoon = false;
    }
    return {
      channel: THREAD_EVENTS_CHANNEL,
      payloads: notices.map((notice) => JSON.stringify(notice)),
      failed: () => {
        if (this.closed) return;
        // Nothing was announced: the append's own events are announced when a retry lands.
        for (const [threadId, lastSequence] of appending) {
          if (this.announcedByAppend.get(threadId) === lastSequence) this.announcedByAppend.delete(threadId);
        }
        const ending = new Set(this.ends.map((end) => end.threadId));
        const back = pending.filter((notice) => !this.progress.has(notice.threadId) && !ending.has(notice.threadId));
        for (const notice of back) this.progress.set(notice.threadId, notice);
        if (back.length > 0) this.scheduleOutbox(false);
      },
    };
  }

  private scheduleOutbox(soon: boolean): void {
    const dueIn = soon
      ? 0
      : Math.max(0, this.outboxSentAt + THREAD_EVENTS_NOTIFY_INTERVAL_MS - Date.now()) + this.carryGraceMs;
    if (this.outboxTimer && (!soon || this.outboxDueSoon)) return;
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxDueSoon = soon;
    this.outboxTimer = setTimeout(() => this.sendOutbox(), dueIn);
    this.outboxTimer.unref?.();
  }

  private sendOutbox(): void {
    this.outboxTimer = null;
    this.outboxDueSoon = false;
    // Ends first: a progress notice after an end is of the thread's next run.
    const notices = [...this.ends, ...this.progress.values()];
    this.ends = [];
    this.progress.clear();
    if (notices.length === 0) return;
    this.outboxSentAt = Date.now();
    this.notifyAll(THREAD_EVENTS_CHANNEL, notices).catch((error: unknown) =>
      this.logger.debug(`NOTIFY ${THREAD_EVENTS_CHANNEL} failed: ${describe(error)}`),
    );
  }

  async requestStop(notice: StopRequestNotice): Promise<void> {
    await this.notify(RUN_STOP_CHANNEL, notice);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
    this.ends = [];
    this.progress.clear();
    this.announcedByAppend.clear();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }

  /** One statement, one notification per payload (in order). */
  private async notifyAll(channel: string, payloads: object[]): Promise<void> {
    if (this.closed || !this.dataSource.isInitialized) return;
    await this.dataSource.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY n', [
      channel,
      payloads.map((payload) => JSON.stringify(payload)),
    ]);
  }

  private async notify(channel: string, payload: object): Promise<void> {
    if (this.closed || !this.dataSource.isInitialized) return;
    await this.dataSource.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(payload)]);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'copilot-runtime-listen' });
    // Registered first and kept: an unhandled 'error' event would end the process.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (message) => this.dispatch(message.channel, message.payload));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${THREAD_EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${RUN_STOP_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.closed || this.client !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listening = true;
    if (this.reconnects.count > 0) {
      this.logger.log(`Listening for run signals again on ${redactDatabaseUrl(this.url)}`);
    }
    this.reconnects.succeeded();
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    this.listening = false;
    client.end().catch(() => undefined);
    if (this.reconnects.count === 0) {
      this.logger.warn(`Lost the connection listening for run signals, reconnecting: ${describe(error)}`);
    }
    const delay = this.reconnects.nextDelay(error) ?? RECONNECT.options.maxDelayMs;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(channel: string, payload: string | undefined): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload ?? '');
    } catch {
      return;
    }
    if (!parsed || typeof parsed !== 'object') return;
    const value = parsed as Record<string, unknown>;
    if (channel === THREAD_EVENTS_CHANNEL && typeof value.threadId === 'string') {
      this.dispatchThreadEvents({
        threadId: value.threadId,
        lastSequence: typeof value.lastSequence === 'number' ? value.lastSequence : 0,
        ended: value.ended === true,
      });
    } else if (channel === RUN_STOP_CHANNEL && typeof value.runId === 'string') {
      const reason: StopReason = value.reason === 'superseded' ? 'superseded' : 'stop';
      this.dispatchStopRequest({ runId: value.runId, reason });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
