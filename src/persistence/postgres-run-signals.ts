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
 * Progress notices of one thread go out at most this often (the latest one wins); a run's end goes
 * out at once. A follower on another instance reads the log when notified, so this bounds its lag
 * while saving a statement per event batch on a fast stream.
 */
export const THREAD_EVENTS_NOTIFY_INTERVAL_MS = 50;

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
  /** Per thread: when its last notice went out, and the one waiting for the interval to pass. */
  private readonly throttled = new Map<string, { sentAt: number; pending: ThreadEventsNotice | null; timer: NodeJS.Timeout | null }>();

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

  publishThreadEvents(notice: ThreadEventsNotice): void {
    const now = Date.now();
    const state = this.throttled.get(notice.threadId);
    if (notice.ended) {
      if (state?.timer) clearTimeout(state.timer);
      this.throttled.delete(notice.threadId);
      this.sendThreadEvents(notice);
      return;
    }
    if (!state || now - state.sentAt >= THREAD_EVENTS_NOTIFY_INTERVAL_MS) {
      this.throttled.set(notice.threadId, { sentAt: now, pending: null, timer: null });
      this.sendThreadEvents(notice);
      return;
    }
    state.pending = notice;
    state.timer ??= setTimeout(() => {
      const current = this.throttled.get(notice.threadId);
      if (!current?.pending) return;
      const pending = current.pending;
      this.throttled.set(notice.threadId, { sentAt: Date.now(), pending: null, timer: null });
      this.sendThreadEvents(pending);
    }, THREAD_EVENTS_NOTIFY_INTERVAL_MS - (now - state.sentAt));
    state.timer.unref?.();
  }

  private sendThreadEvents(notice: ThreadEventsNotice): void {
    this.notify(THREAD_EVENTS_CHANNEL, notice).catch((error: unknown) =>
      this.logger.debug(`NOTIFY ${THREAD_EVENTS_CHANNEL} failed: ${describe(error)}`),
    );
  }

  async requestStop(notice: StopRequestNotice): Promise<void> {
    await this.notify(RUN_STOP_CHANNEL, notice);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.throttled.values()) if (state.timer) clearTimeout(state.timer);
    this.throttled.clear();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    this.listening = false;
    await client?.end().catch(() => undefined);
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
