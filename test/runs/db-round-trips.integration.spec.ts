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

  type Notice = { threadId: string; lastSequence: number; ended?: boolean };

  /**
   * Runs 3 streams (`streams`) while a LISTENer hears the threads' channel; per thread, its log and
   * the notices heard of it, once its end was heard (NOTIFY is delivered on commit).
   */
  async function streamsListened(label: string) {
    const listener = new pg.Client({ connectionString: database.options.url });
    await listener.connect();
    const heard: Notice[] = [];
    listener.on('notification', (message) => heard.push(JSON.parse(message.payload ?? '{}')));
    await listener.query(`LISTEN ${THREAD_EVENTS_CHANNEL}`);
    try {
      const counts = await streams(3, label);
      const threads = [];
      for (let i = 0; i < 3; i++) {
        const threadId = `${label}-${process.pid}-${i}`;
        const logged = await ports.eventLog.readAfter(threadId, 0, 1_000);
        await until(() => heard.some((notice) => notice.threadId === threadId && notice.ended));
        threads.push({ threadId, logged, heard: heard.filter((notice) => notice.threadId === threadId) });
      }
      return { counts, threads };
    } finally {
      await listener.end();
    }
  }

  it("a run's end is announced by the statement that records it: a listener hears it once, with the log's last sequence", async () => {
    const { counts, threads } = await streamsListened('announced');
    expect(counts.finishes).toBe(3);
    expect(counts.separateEndNotices).toBe(0);
    // The run's end was committed before its stream ended.
    for (const { threadId, logged, heard } of threads) {
      expect(heard.filter((notice) => notice.ended)).toEqual([{ threadId, lastSequence: logged.at(-1)!.sequence, ended: true }]);
    }
  });

  it("streaming runs' progress notices ride on the event log's appends: a listener hears them, none needs a statement of its own", async () => {
    // 3 runs of 40 deltas 5 ms apart: ~200 ms each, so several 50 ms notice intervals.
    const { counts, threads } = await streamsListened('riding');
    expect(counts.ridingProgressNotices).toBeGreaterThan(0);
    // The appends come every 25 ms while events flow, and a run's end announces its last events:
    // the outbox never has to send progress itself.
    expect(counts.separateProgressNotices).toBe(0);
    for (const { logged, heard } of threads) {
      const sequences = heard.filter((notice) => !notice.ended).map((notice) => notice.lastSequence);
      expect(sequences.length).toBeGreaterThan(0);
      // Each announces a sequence the log holds, in order.
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      for (const sequence of sequences) expect(logged.some((event) => event.sequence === sequence)).toBe(true);
    }
  });
});
