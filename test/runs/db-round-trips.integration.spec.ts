import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import pg from 'pg';
import { PersistenceModule } from '../../src/persistence/persistence.module.js';
import { THREAD_EVENTS_CHANNEL } from '../../src/persistence/postgres-run-signals.js';
import { DURABLE_RUN_PORTS, type DurableRunPortsFactory, type RunPorts } from '../../src/ports/run-stores.js';
import { RunCore } from '../../src/runs/run-core.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';
import { testDatabaseOptions, type TestDatabase, usesRealPostgres } from '../support/database.js';
import { collect, expectContiguous, runRequest, types, until } from './run-fakes.js';

/*
 * Database round trips grow with time, not with the number of runs: N runs streaming at once on a
 * pool of 2 connections send about as many lock-renewal and event-append statements as one run
 * does over the same stream. Statements are counted at the driver (every query of every pooled
 * client), not timed.
 */

jest.setTimeout(120_000);

const describeWithPostgres = usesRealPostgres() ? describe : describe.skip;

interface StatementCounts {
  /** The heartbeat's renewal of every lock (UPDATE ... FROM unnest). */
  batchRenewals: number;
  /** A renewal of one run's lock. */
  singleRenewals: number;
  /** Event-log appends (not the run-end statement, which carries each run's last events once). */
  appends: number;
  /** Run-end statements (one per run). */
  finishes: number;
  /** Notices of runs' ends sent by statements of their own (the outbox's NOTIFY). */
  separateEndNotices: number;
  /** Progress notices sent by statements of their own (the outbox's NOTIFY). */
  separateProgressNotices: number;
  /** Progress notices sent by event-log appends. */
  ridingProgressNotices: number;
}

/** How many notices of each kind the statement's parameters carry. */
function noticesIn(values: unknown[]): { ends: number; progress: number } {
  const text = JSON.stringify(values);
  const all = text.split('\\"threadId\\"').length - 1;
  const ends = text.split('\\"ended\\":true').length - 1;
  return { ends, progress: all - ends };
}

describeWithPostgres('database round trips of many runs on one instance (pool of 2)', () => {
  let database: TestDatabase;
  let moduleRef: TestingModule;
  let ports: RunPorts;
  let counts: StatementCounts;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    moduleRef = await Test.createTestingModule({
      imports: [PersistenceModule.forRoot({ ...database.options, poolSize: 2 })],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    ports = await moduleRef.get<DurableRunPortsFactory>(DURABLE_RUN_PORTS)({ maxOutageMs: 30_000, flushIntervalMs: 25 });
  });

  afterAll(async () => {
    await ports?.signals.close();
    await moduleRef?.close();
    await database?.cleanup();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function countStatements(): void {
    counts = {
      batchRenewals: 0,
      singleRenewals: 0,
      appends: 0,
      finishes: 0,
      separateEndNotices: 0,
      separateProgressNotices: 0,
      ridingProgressNotices: 0,
    };
    jest.restoreAllMocks();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const config = args[0];
      const text = typeof config === 'string' ? config : ((config as { text?: string } | undefined)?.text ?? '');
      const values = (Array.isArray(args[1]) ? args[1] : (config as { values?: unknown[] } | undefined)?.values) ?? [];
      if (/UPDATE thread_locks SET expires_at/.test(text)) {
        if (/unnest/.test(text)) counts.batchRenewals += 1;
        else counts.singleRenewals += 1;
      } else if (/WITH finished AS/.test(text)) counts.finishes += 1;
      else if (/INSERT INTO run_event_batches/.test(text)) {
        counts.appends += 1;
        if (/pg_notify/.test(text)) counts.ridingProgressNotices += noticesIn(values.slice(1)).progress;
      } else if (/pg_notify/.test(text)) {
        const notices = noticesIn(values);
        counts.separateEndNotices += notices.ends;
        counts.separateProgressNotices += notices.progress;
      }
      return query.apply(this, args);
    } as never);
  }

  /** Runs `runs` paced streams at once (40 deltas, 5 ms apart), to their end. */
  async function streams(runs: number, label: string): Promise<StatementCounts> {
    const core = new RunCore(
      { ports, bus: new RunEventBus() },
      {
        instanceId: 'round-trips',
        busyThreadPolicy: 'fail',
        queueTimeoutMs: 10_000,
        lockTtlMs: 300,
        maxOutageMs: 30_000,
        flushBatchSize: 1_000,
        flushIntervalMs: 25,
        shutdownTimeoutMs: 5_000,
        reapIntervalMs: 0,
      },
    );
    core.start();
    countStatements();
    try {
      const sessions = await Promise.all(
        Array.from({ length: runs }, (_, i) =>
          core.run(runRequest(`${label}-${process.pid}-${i}`, `${label}-${process.pid}-${i}-r1`, { deltas: 40, delayMs: 5 })),
        ),
      );
      const ended = await Promise.all(sessions.map((session) => collect(session.events)));
      for (const events of ended) {
        expect(types(events).at(-1)).toBe('RUN_FINISHED');
        expectContiguous(events, 1);
      }
      for (let i = 0; i < runs; i++) {
        const thread = `${label}-${process.pid}-${i}`;
        expect(await ports.eventLog.readAfter(thread, 0, 1_000)).toHaveLength(ended[i]!.length);
      }
      return { ...counts };
    } finally {
      await core.shutdown();
    }
  }

  it('N concurrent runs: lock renewals and appends per interval do not grow with N', async () => {
    const one = await streams(1, 'one');
    const many = await streams(30, 'many');
    // Every run renews through the instance's one statement, never its own.
    expect(one.singleRenewals).toBe(0);
    expect(many.singleRenewals).toBe(0);
    // One run's end each: per run, but once per run, not per interval.
    expect(one.finishes).toBe(1);
    expect(many.finishes).toBe(30);
    // A statement per run per interval would be about 30 times one run's (seen: 6 appends and 3
    // renewals for one run, 21 and 10 for 30 runs, which take longer to admit on 2 connections).
    // The bound leaves room for a slow machine, and still fails for statements per run.
    expect(many.appends).toBeLessThan(10 * one.appends);
    expect(many.batchRenewals).toBeLessThan(10 * Math.max(1, one.batchRenewals));
  });

  it("a run's end is announced by the statement that records it: a listener hears it once, with the log's last sequence", async () => {
    const listener = new pg.Client({ connectionString: database.options.url });
    await listener.connect();
    const heard: Array<{ threadId: string; lastSequence: number; ended?: boolean }> = [];
    listener.on('notification', (message) => heard.push(JSON.parse(message.payload ?? '{}')));
    await listener.query(`LISTEN ${THREAD_EVENTS_CHANNEL}`);
    try {
      const label = 'announced';
      const result = await streams(3, label);
      expect(result.finishes).toBe(3);
      expect(result.separateEndNotices).toBe(0);
      for (let i = 0; i < 3; i++) {
        const threadId = `${label}-${process.pid}-${i}`;
        const logged = await ports.eventLog.readAfter(threadId, 0, 1_000);
        // NOTIFY is delivered on commit, and the run's end was committed before its stream ended.
        await until(() => heard.some((notice) => notice.threadId === threadId && notice.ended));
        const ends = heard.filter((notice) => notice.threadId === threadId && notice.ended);
        expect(ends).toEqual([{ threadId, lastSequence: logged.at(-1)!.sequence, ended: true }]);
      }
    } finally {
      await listener.end();
    }
  });

  it("streaming runs' progress notices ride on the event log's appends: a listener hears them, none needs a statement of its own", async () => {
    const listener = new pg.Client({ connectionString: database.options.url });
    await listener.connect();
    const heard: Array<{ threadId: string; lastSequence: number; ended?: boolean }> = [];
    listener.on('notification', (message) => heard.push(JSON.parse(message.payload ?? '{}')));
    await listener.query(`LISTEN ${THREAD_EVENTS_CHANNEL}`);
    try {
      const label = 'riding';
      // 3 runs of 40 deltas 5 ms apart: ~200 ms each, so several 50 ms notice intervals.
      const result = await streams(3, label);
      expect(result.ridingProgressNotices).toBeGreaterThan(0);
      // The appends come every 25 ms while events flow: the outbox never has to send progress itself.
      expect(result.separateProgressNotices).toBe(0);
      for (let i = 0; i < 3; i++) {
        const threadId = `${label}-${process.pid}-${i}`;
        const logged = await ports.eventLog.readAfter(threadId, 0, 1_000);
        await until(() => heard.some((notice) => notice.threadId === threadId && notice.ended));
        const progress = heard.filter((notice) => notice.threadId === threadId && !notice.ended);
        expect(progress.length).toBeGreaterThan(0);
        // Each announces a sequence the log holds, in order.
        const sequences = progress.map((notice) => notice.lastSequence);
        expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
        for (const sequence of sequences) expect(logged.some((event) => event.sequence === sequence)).toBe(true);
      }
    } finally {
      await listener.end();
    }
  });
});
