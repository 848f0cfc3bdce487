import type { RunSignals } from '../ports/run-signals.js';
import type { ThreadLock } from '../ports/run-stores.js';
import type { LoggedEvent } from './logged-event.js';
import type { RunEventBus } from './run-event-bus.js';
import { isTerminal } from './run-execution.js';
import { deadline } from './runner-support.js';

/** Events read from the log per page. */
export const REPLAY_PAGE_SIZE = 500;

/** A run of this instance, as a follower sees it. */
interface LocalRun {
  runId: string;
  /** Its events not yet in the log. */
  log: { unwrittenAfter(sequence: number): LoggedEvent[] };
  /** Resolves once the run is recorded and its lock released. */
  finalized: Promise<void>;
}

/** What following a thread reads from: the run core's log reads, lock reads, bus, signals and runs. */
export interface FollowSource {
  bus: RunEventBus;
  signals: RunSignals;
  /** Fallback poll for missed signals and dead holders. */
  pollIntervalMs: number;
  /** How long a follower of a local run waits for its release once its terminal event is out. */
  stopWaitMs: number;
  localRun(threadId: string): LocalRun | null;
  localRunById(runId: string): Pick<LocalRun, 'finalized'> | null;
  /** A page of the log after `after` (retrying through a blip; [] once `signal` aborts). */
  readAfter(threadId: string, after: number, signal: AbortSignal): Promise<LoggedEvent[]>;
  currentLock(threadId: string): Promise<ThreadLock | null>;
}

/**
 * connect: subscribe first (bus and signals), replay the log after `afterSequence`, then follow
 * the thread's current run. Every event is emitted once, in sequence order: the next one comes
 * from the live buffer or the local run's unwritten events when they have it, else from the log.
 */
export async function* followThread(
  source: FollowSource,
  threadId: string,
  afterSequence: number,
  signal: AbortSignal,
): AsyncGenerator<LoggedEvent> {
  let live: LoggedEvent[] = [];
  let dirty = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    dirty = true;
    const w = wake;
    wake = null;
    w?.();
  };
  let announced = 0;
  let endedAnnounced = false;
  const unsubscribeBus = source.bus.subscribe(threadId, (event) => {
    live.push(event);
    poke();
  });
  const unsubscribeSignals = source.signals.onThreadEvents(threadId, (notice) => {
    announced = Math.max(announced, notice.lastSequence);
    if (notice.ended) endedAnnounced = true;
    poke();
  });
  signal.addEventListener('abort', poke);

  let last = afterSequence;
  let following: string | null = null;
  let lastTerminalRun: string | null = null;
  const take = (event: LoggedEvent) => {
    last = event.sequence;
    if (isTerminal(event.event)) lastTerminalRun = event.runId;
  };

  async function* logTail(): AsyncGenerator<LoggedEvent> {
    for (;;) {
      const page = await source.readAfter(threadId, last, signal);
      for (const event of page) {
        if (event.sequence <= last) continue;
        take(event);
        yield event;
      }
      if (page.length < REPLAY_PAGE_SIZE || signal.aborted) return;
    }
  }

  /** Emits what memory has contiguously after `last`; true when memory is ahead of a gap. */
  async function* fromMemory(): AsyncGenerator<LoggedEvent, boolean> {
    const pool = new Map<number, LoggedEvent>();
    const snapshot = live;
    live = [];
    for (const event of snapshot) if (event.sequence > last) pool.set(event.sequence, event);
    // The local run's unwritten events fill what the live buffer lacks (events published before
    // we subscribed and not yet in the log). Consulted only then: it can be long during an outage.
    let consultedWriter = false;
    for (;;) {
      const next = pool.get(last + 1);
      if (next) {
        pool.delete(last + 1);
        take(next);
        yield next;
        continue;
      }
      if (consultedWriter) break;
      consultedWriter = true;
      for (const event of source.localRun(threadId)?.log.unwrittenAfter(last) ?? []) {
        if (!pool.has(event.sequence)) pool.set(event.sequence, event);
      }
    }
    const ahead = [...pool.values()].filter((event) => event.sequence > last);
    live = [...ahead, ...live];
    return ahead.length > 0;
  }

  const ended = () => following !== null && lastTerminalRun === following;

  try {
    yield* logTail();
    following = source.localRun(threadId)?.runId ?? (await source.currentLock(threadId))?.runId ?? null;
    if (following === null) {
      // Nothing running: what a run that just ended flushed before releasing is in the log.
      yield* logTail();
      yield* fromMemory();
      return;
    }
    let needLog = false;
    while (!signal.aborted && !ended()) {
      dirty = false;
      const gap = yield* fromMemory();
      if (ended() || signal.aborted) break;
      if (gap || needLog || announced > last) {
        needLog = false;
        yield* logTail();
        continue;
      }
      if (endedAnnounced) {
        endedAnnounced = false;
        needLog = true;
        if (!(await stillRunning(source, threadId, following))) {
          yield* logTail();
          yield* fromMemory();
          break;
        }
        continue;
      }
      if (dirty) continue;
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve(true);
        }, source.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      if (timedOut && !signal.aborted) {
        // A run of this instance publishes every event on the bus we subscribed to (what came
        // before is in the log or its writer): a quiet spell is not a missed signal, and polling
        // the log would cost one query per follower per interval (N subscribers, N queries).
        if (source.localRunById(following)) continue;
        // Missed signals, or a holder that died: the lock tells.
        needLog = true;
        if (!(await stillRunning(source, threadId, following))) {
          yield* logTail();
          yield* fromMemory();
          break;
        }
      }
    }
    // A local run is over for its caller once its lock is released: wait for that, briefly.
    const local = source.localRunById(following);
    if (local && !signal.aborted) await deadline(local.finalized, source.stopWaitMs);
  } finally {
    unsubscribeBus();
    unsubscribeSignals();
    signal.removeEventListener('abort', poke);
  }
}

/** The run still holds the thread: it runs here, or its lock is live. */
async function stillRunning(source: FollowSource, threadId: string, runId: string): Promise<boolean> {
  if (source.localRunById(runId)) return true;
  const lock = await source.currentLock(threadId);
  return lock !== null && lock.runId === runId;
}
