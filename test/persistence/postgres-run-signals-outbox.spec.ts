/**
 * PostgresRunSignals' outbox of thread notices, when the event log's appends carry the progress
 * notices that are due (carryProgressOnAppends / takeDueProgress): what an append takes is not sent
 * again, what a failed append took goes back unless something newer replaced it, and progress no
 * append takes is still sent by the outbox, one flush interval (+10 ms) later. Fake timers; the
 * statements are recorded, not run (the statement itself: db-round-trips.integration.spec.ts).
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { PostgresRunSignals, THREAD_EVENTS_CHANNEL, THREAD_EVENTS_NOTIFY_INTERVAL_MS } from '../../src/persistence/postgres-run-signals.js';

/** An append that writes no events (only carries the outbox's notices). */
const NONE: ReadonlyMap<string, number> = new Map();

interface Sent {
  channel: unknown;
  notices: Array<{ threadId: string; lastSequence: number; ended?: boolean }>;
}

describe('PostgresRunSignals outbox with appends carrying progress', () => {
  let sent: Sent[];
  let signals: PostgresRunSignals;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    sent = [];
    const dataSource = {
      isInitialized: true,
      query: async (_text: string, values: unknown[]) => {
        sent.push({ channel: values[0], notices: (values[1] as string[]).map((payload) => JSON.parse(payload)) });
        return [];
      },
    } as unknown as DataSource;
    signals = new PostgresRunSignals(dataSource, 'postgres://unused');
  });

  afterEach(async () => {
    await signals.close();
    jest.useRealTimers();
  });

  it('without carrying appends, the outbox sends progress itself, at most once per interval', async () => {
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 3 });
    await jest.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([{ channel: THREAD_EVENTS_CHANNEL, notices: [{ threadId: 't1', lastSequence: 3 }] }]);
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 5 });
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 8 });
    await jest.advanceTimersByTimeAsync(THREAD_EVENTS_NOTIFY_INTERVAL_MS - 1);
    expect(sent).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent[1]!.notices).toEqual([{ threadId: 't1', lastSequence: 8 }]);
  });

  it('an append takes the progress that is due, and the outbox does not send it again', async () => {
    signals.carryProgressOnAppends(25);
    expect(signals.takeDueProgress(NONE)).toBeNull();
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 3 });
    signals.publishThreadEvents({ threadId: 't2', lastSequence: 9 });
    const riding = signals.takeDueProgress(NONE);
    expect(riding?.channel).toBe(THREAD_EVENTS_CHANNEL);
    expect(riding?.payloads.map((payload) => JSON.parse(payload))).toEqual([
      { threadId: 't1', lastSequence: 3 },
      { threadId: 't2', lastSequence: 9 },
    ]);
    // Not due again before the interval has passed since this send.
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 6 });
    await jest.advanceTimersByTimeAsync(THREAD_EVENTS_NOTIFY_INTERVAL_MS - 1);
    expect(signals.takeDueProgress(NONE)).toBeNull();
    await jest.advanceTimersByTimeAsync(1);
    expect(signals.takeDueProgress(NONE)?.payloads.map((payload) => JSON.parse(payload))).toEqual([{ threadId: 't1', lastSequence: 6 }]);
    await jest.advanceTimersByTimeAsync(10 * THREAD_EVENTS_NOTIFY_INTERVAL_MS);
    expect(sent).toEqual([]);
  });

  it('progress no append takes is sent by the outbox one flush interval (+10 ms) after it is due', async () => {
    signals.carryProgressOnAppends(25);
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 3 });
    await jest.advanceTimersByTimeAsync(34);
    expect(sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([{ channel: THREAD_EVENTS_CHANNEL, notices: [{ threadId: 't1', lastSequence: 3 }] }]);
  });

  it("a failed append's notices go back to the outbox, unless newer progress or the run's end replaced them", async () => {
    signals.carryProgressOnAppends(25);
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 3 });
    signals.publishThreadEvents({ threadId: 't2', lastSequence: 4 });
    signals.publishThreadEvents({ threadId: 't3', lastSequence: 5 });
    const riding = signals.takeDueProgress(NONE)!;
    signals.publishThreadEvents({ threadId: 't2', lastSequence: 7 });
    signals.publishThreadEvents({ threadId: 't3', lastSequence: 5, ended: true });
    riding.failed();
    await jest.advanceTimersByTimeAsync(THREAD_EVENTS_NOTIFY_INTERVAL_MS + 35);
    const notices = sent.flatMap((statement) => statement.notices);
    // The end first (it went at the next turn), then the progress: t1's back, t2's newer one,
    // none of t3's (its run ended).
    expect(notices[0]).toEqual({ threadId: 't3', lastSequence: 5, ended: true });
    const progress = notices.slice(1).sort((a, b) => a.threadId.localeCompare(b.threadId));
    expect(progress).toEqual([
      { threadId: 't1', lastSequence: 3 },
      { threadId: 't2', lastSequence: 7 },
    ]);
  });

  it("an append announces its own threads' last sequences, and the progress its writer then publishes is not sent again", async () => {
    signals.carryProgressOnAppends(25);
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 3 });
    const riding = signals.takeDueProgress(
      new Map([
        ['t1', 6],
        ['t2', 2],
      ]),
    );
    expect(riding?.payloads.map((payload) => JSON.parse(payload))).toEqual([
      { threadId: 't1', lastSequence: 6 },
      { threadId: 't2', lastSequence: 2 },
    ]);
    // The append landed: its writers publish what it wrote; t2 then writes more.
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 6 });
    signals.publishThreadEvents({ threadId: 't2', lastSequence: 2 });
    signals.publishThreadEvents({ threadId: 't2', lastSequence: 4 });
    await jest.advanceTimersByTimeAsync(THREAD_EVENTS_NOTIFY_INTERVAL_MS + 35);
    expect(sent.flatMap((statement) => statement.notices)).toEqual([{ threadId: 't2', lastSequence: 4 }]);
  });

  it("a failed append's own threads are announced by the outbox once their writers publish", async () => {
    signals.carryProgressOnAppends(25);
    signals.takeDueProgress(new Map([['t1', 6]]))!.failed();
    // The writer's retry lands (through the outbox here, no append carrying it).
    signals.publishThreadEvents({ threadId: 't1', lastSequence: 6 });
    await jest.advanceTimersByTimeAsync(THREAD_EVENTS_NOTIFY_INTERVAL_MS + 35);
    expect(sent.flatMap((statement) => statement.notices)).toEqual([{ threadId: 't1', lastSequence: 6 }]);
  });
});
