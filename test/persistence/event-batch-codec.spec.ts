import type { BaseEvent } from '@ag-ui/core';
import { describe, expect, it } from '@jest/globals';
import { decodeEvents, encodeEvents } from '../../src/persistence/event-batch-codec.js';

const event = (fields: Record<string, unknown>) => fields as unknown as BaseEvent;
const text = (messageId: string, delta: string, timestamp?: number) =>
  event(timestamp === undefined ? { type: 'TEXT_MESSAGE_CONTENT', messageId, delta } : { type: 'TEXT_MESSAGE_CONTENT', messageId, delta, timestamp });
const args = (toolCallId: string, delta: string, timestamp: number) => event({ type: 'TOOL_CALL_ARGS', toolCallId, delta, timestamp });

/** What the row holds after a trip through PostgreSQL's jsonb (which keeps no undefined). */
const stored = (events: BaseEvent[]) => JSON.parse(JSON.stringify(encodeEvents(events))) as unknown[];

describe('event batch codec (run_event_batches.events)', () => {
  it('stores a run of deltas of one message as one element, and reads back the same events in order', () => {
    const events = [
      event({ type: 'RUN_STARTED', threadId: 't', runId: 'r', timestamp: 1 }),
      event({ type: 'TEXT_MESSAGE_START', messageId: 'm1', role: 'assistant', timestamp: 2 }),
      text('m1', 'Hel', 3),
      text('m1', 'lo', 3),
      text('m1', ' world', 4),
      event({ type: 'TEXT_MESSAGE_END', messageId: 'm1', timestamp: 5 }),
      event({ type: 'TOOL_CALL_START', toolCallId: 'c1', toolCallName: 'search', timestamp: 6 }),
      args('c1', '{"q":', 7),
      args('c1', '"x"}', 8),
      event({ type: 'TOOL_CALL_END', toolCallId: 'c1', timestamp: 9 }),
      event({ type: 'RUN_FINISHED', threadId: 't', runId: 'r', timestamp: 10 }),
    ];
    const row = stored(events);
    expect(row).toEqual([
      events[0],
      events[1],
      { $deltas: 'TEXT_MESSAGE_CONTENT', id: 'm1', d: ['Hel', 'lo', ' world'], t: [3, 3, 4] },
      events[5],
      events[6],
      { $deltas: 'TOOL_CALL_ARGS', id: 'c1', d: ['{"q":', '"x"}'], t: [7, 8] },
      events[9],
      events[10],
    ]);
    expect(decodeEvents(row)).toEqual(events);
  });

  it('keeps as they are: a lone delta, a delta with any other field, and deltas of another message or with and without timestamps', () => {
    const events = [
      text('m1', 'a', 1),
      event({ type: 'TEXT_MESSAGE_START', messageId: 'm2', role: 'assistant' }),
      text('m2', 'b', 2),
      event({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm2', delta: 'c', timestamp: 3, rawEvent: { id: 'x' } }),
      text('m2', 'd', 4),
      text('m3', 'e', 5),
      text('m3', 'f'),
      text('m3', 'g'),
    ];
    const row = stored(events);
    expect(row).toEqual([
      events[0],
      events[1],
      events[2],
      events[3],
      events[4],
      events[5],
      { $deltas: 'TEXT_MESSAGE_CONTENT', id: 'm3', d: ['f', 'g'] },
    ]);
    expect(decodeEvents(row)).toEqual(events);
  });

  it('ignores fields that are undefined (JSON drops them) and reads rows written before the encoding unchanged', () => {
    const events = [event({ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'x', timestamp: 1, rawEvent: undefined }), text('m', 'y', 2)];
    expect(stored(events)).toEqual([{ $deltas: 'TEXT_MESSAGE_CONTENT', id: 'm', d: ['x', 'y'], t: [1, 2] }]);
    const plainRow = [text('m', 'x', 1), text('m', 'y', 2), event({ type: 'CUSTOM', name: 'n', value: { $deltas: 'TEXT_MESSAGE_CONTENT' } })];
    expect(decodeEvents(JSON.parse(JSON.stringify(plainRow)))).toEqual(plainRow);
  });

  it('makes a 1,000-token answer several times smaller', () => {
    const events = Array.from({ length: 1_000 }, (_, i) => text('msg-5b0f1d3e-8c1a-4a57-9b0e-2f6c1d2e3a4b', `tok${i} `, 1_733_270_000_000 + i));
    const plain = JSON.stringify(events).length;
    const encoded = JSON.stringify(encodeEvents(events)).length;
    expect(encoded * 4).toBeLessThan(plain);
    expect(decodeEvents(JSON.parse(JSON.stringify(encodeEvents(events))))).toEqual(events);
  });
});
