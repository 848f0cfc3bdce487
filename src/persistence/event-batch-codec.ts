import type { BaseEvent } from '@ag-ui/core';

/*
 * How run_event_batches.events stores a batch's events. Streaming deltas are most of a run's
 * events, and each repeats everything but its text: a 1,000-token answer is ~130 KB of JSON, which
 * PostgreSQL parses on the statement that ends the run (~5 ms, on the way to the client's last
 * part). So a run of two or more consecutive deltas of one message or tool call that carry nothing
 * but their type, id, delta and timestamp is stored as ONE element,
 *
 *   {"$deltas": "TEXT_MESSAGE_CONTENT", "id": "msg-1", "d": ["Hel", "lo"], "t": [1733270000000, 1733270000004]}
 *
 * ("t" only when they have timestamps): ~24 KB for that answer. Every other event is stored as it
 * is, and rows written before this encoding decode to themselves. Sequence numbers count decoded
 * events (a row holds first_sequence..last_sequence). The migration CompactDeltaRuns expands
 * these elements again when it is reverted, for the code before it.
 */

/** The deltas stored as runs, and the field naming what each belongs to. */
const DELTA_RUN_ID_FIELDS: Readonly<Record<string, string>> = {
  TEXT_MESSAGE_CONTENT: 'messageId',
  TOOL_CALL_ARGS: 'toolCallId',
};

/** The key that marks a stored element as a run of deltas (no AG-UI event has it). */
const DELTA_RUN_KEY = '$deltas';

interface DeltaRun {
  [DELTA_RUN_KEY]: string;
  id: string;
  d: string[];
  t?: number[];
}

interface Delta {
  type: string;
  id: string;
  delta: string;
  timestamp: number | undefined;
}

/** The events of a batch as they are stored. */
export function encodeEvents(events: readonly BaseEvent[]): unknown[] {
  const stored: unknown[] = [];
  let index = 0;
  while (index < events.length) {
    const first = asDelta(events[index]!);
    if (first) {
      let end = index + 1;
      const deltas = [first.delta];
      const timestamps = first.timestamp === undefined ? undefined : [first.timestamp];
      for (; end < events.length; end++) {
        const next = asDelta(events[end]!);
        if (!next || next.type !== first.type || next.id !== first.id) break;
        if ((next.timestamp === undefined) !== (timestamps === undefined)) break;
        deltas.push(next.delta);
        if (timestamps) timestamps.push(next.timestamp!);
      }
      if (deltas.length >= 2) {
        const run: DeltaRun = { [DELTA_RUN_KEY]: first.type, id: first.id, d: deltas };
        if (timestamps) run.t = timestamps;
        stored.push(run);
        index = end;
        continue;
      }
    }
    stored.push(events[index]);
    index += 1;
  }
  return stored;
}

/** The events of a stored batch, in order: what `encodeEvents` was given. */
export function decodeEvents(stored: readonly unknown[]): BaseEvent[] {
  const events: BaseEvent[] = [];
  for (const element of stored) {
    if (!isDeltaRun(element)) {
      events.push(element as BaseEvent);
      continue;
    }
    const type = element[DELTA_RUN_KEY];
    const idField = DELTA_RUN_ID_FIELDS[type]!;
    const { id, d: deltas, t: timestamps } = element;
    for (let i = 0; i < deltas.length; i++) {
      const event: Record<string, unknown> = { type, [idField]: id, delta: deltas[i] };
      if (timestamps) event.timestamp = timestamps[i];
      events.push(event as unknown as BaseEvent);
    }
  }
  return events;
}

/** A delta with nothing else (no rawEvent, no extra field), or null. */
function asDelta(event: BaseEvent): Delta | null {
  const idField = DELTA_RUN_ID_FIELDS[event.type];
  if (!idField) return null;
  const fields = event as unknown as Record<string, unknown>;
  const { [idField]: id, delta, timestamp } = fields;
  if (typeof id !== 'string' || typeof delta !== 'string') return null;
  if (timestamp !== undefined && !(typeof timestamp === 'number' && Number.isFinite(timestamp))) return null;
  for (const key of Object.keys(fields)) {
    if (fields[key] === undefined) continue;
    if (key !== 'type' && key !== idField && key !== 'delta' && key !== 'timestamp') return null;
  }
  return { type: event.type, id, delta, timestamp: timestamp as number | undefined };
}

function isDeltaRun(element: unknown): element is DeltaRun {
  if (!element || typeof element !== 'object') return false;
  const run = element as Partial<DeltaRun>;
  const type = run[DELTA_RUN_KEY];
  return (
    typeof type === 'string' &&
    DELTA_RUN_ID_FIELDS[type] !== undefined &&
    typeof run.id === 'string' &&
    Array.isArray(run.d) &&
    (run.t === undefined || (Array.isArray(run.t) && run.t.length === run.d.length))
  );
}
