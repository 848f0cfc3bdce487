import { pushable } from 'it-pushable';
import { batchedIterable, type BatchedIterable } from '../common/batched-iterable.js';
import type { LoggedEvent } from './logged-event.js';
import type { RunEventBus } from './run-event-bus.js';

export interface CallerStreamInit {
  bus: RunEventBus;
  threadId: string;
  runId: string;
  /** The caller's signal (client disconnect). */
  callerSignal: AbortSignal;
  onCallerGone: 'abort' | 'continue';
  /** Stops the run because its caller went away (only with `onCallerGone: 'abort'`). */
  abortRun: () => void;
}

export interface CallerStream {
  /** Event by event, or a batch at a time (`batchesOf`): what the pump emitted together. */
  events: BatchedIterable<LoggedEvent>;
  /** Ends the stream once the run is over (terminal event delivered, lock released). */
  end(): void;
}

/**
 * The caller's view of its run: the run's events from the bus, subscribed before the pump starts
 * so nothing is missed, buffered (the pump never waits for a slow reader). The stream ends when
 * the run is over, after the lock is released, so a client that sends its next message as soon
 * as the stream completes is not refused as busy. A caller that goes away (its signal aborts, or
 * it stops iterating) stops the run with `onCallerGone: 'abort'` and just leaves with 'continue'.
 * One push per batch the pump published, so a burst costs the reader one wake-up, not one per event.
 */
export function callerStream(init: CallerStreamInit): CallerStream {
  let runOver = false;
  let left = false;
  const stream = pushable<readonly LoggedEvent[]>({ objectMode: true, onEnd: () => leave() });
  // A batch is one run's: its first event tells whose.
  const unsubscribe = init.bus.subscribeBatches(init.threadId, (events) => {
    if (events[0]!.runId === init.runId) stream.push(events);
  });
  const onAbort = () => {
    leave();
    stream.end();
  };
  init.callerSignal.addEventListener('abort', onAbort, { once: true });

  function detach(): void {
    unsubscribe();
    init.callerSignal.removeEventListener('abort', onAbort);
  }

  function leave(): void {
    if (left) return;
    left = true;
    detach();
    if (!runOver && init.onCallerGone === 'abort') init.abortRun();
  }

  if (init.callerSignal.aborted) onAbort();

  return {
    events: batchedIterable(stream as AsyncIterable<LoggedEvent[]>),
    end: () => {
      runOver = true;
      detach();
      stream.end();
    },
  };
}
