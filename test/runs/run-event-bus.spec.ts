import { describe, expect, it, jest } from '@jest/globals';
import { EventType } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { RunEventBus } from '../../src/runs/run-event-bus.js';

const event = (threadId: string, sequence: number): LoggedEvent => ({
  threadId,
  runId: 'r1',
  sequence,
  event: { type: EventType.CUSTOM, name: 'x', value: sequence } as never,
});

describe('RunEventBus', () => {
  it('delivers synchronously, per thread, until unsubscribed', () => {
    const bus = new RunEventBus();
    const a: number[] = [];
    const b: number[] = [];
    const unsubscribeA = bus.subscribe('t1', (e) => a.push(e.sequence));
    bus.subscribe('t2', (e) => b.push(e.sequence));
    bus.publish(event('t1', 1));
    expect(a).toEqual([1]);
    bus.publish(event('t2', 7));
    expect(b).toEqual([7]);
    unsubscribeA();
    unsubscribeA();
    bus.publish(event('t1', 2));
    expect(a).toEqual([1]);
    expect(bus.subscriberCount('t1')).toBe(0);
    expect(bus.subscriberCount('t2')).toBe(1);
  });

  it('keeps delivering to the others when a subscriber throws or unsubscribes mid-publish', () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const bus = new RunEventBus();
    const seen: string[] = [];
    bus.subscribe('t', () => {
      throw new Error('broken subscriber');
    });
    const unsubscribeSelf = bus.subscribe('t', () => {
      seen.push('self');
      unsubscribeSelf();
    });
    bus.subscribe('t', () => seen.push('last'));
    bus.publish(event('t', 1));
    bus.publish(event('t', 2));
    expect(seen).toEqual(['self', 'last', 'last']);
  });

  it('counts the same listener subscribed twice as two subscriptions', () => {
    const bus = new RunEventBus();
    const seen: number[] = [];
    const listener = (e: LoggedEvent) => seen.push(e.sequence);
    const first = bus.subscribe('t', listener);
    bus.subscribe('t', listener);
    first();
    bus.publish(event('t', 3));
    expect(seen).toEqual([3]);
  });
});
