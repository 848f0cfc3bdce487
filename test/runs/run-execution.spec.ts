import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { RUN_STOPPED_EVENT, RunExecution } from '../../src/runs/run-execution.js';
import { scriptedBody, types, until } from './run-fakes.js';

function execution(body: (signal: AbortSignal) => AsyncIterable<BaseEvent>) {
  const events: LoggedEvent[] = [];
  const run = new RunExecution({ threadId: 't', runId: 'r', body, emitBatch: (batch) => events.push(...batch) });
  return { run, events };
}

describe('RunExecution', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('numbers events from the first sequence and takes the status from RUN_FINISHED', async () => {
    const { run, events } = execution(scriptedBody('t', 'r', { deltas: 3 }));
    const result = await run.execute(41);
    expect(events.map((e) => e.sequence)).toEqual([41, 42, 43, 44, 45, 46, 47]);
    expect(result).toMatchObject({ status: 'succeeded', error: null, lastSequence: 47 });
    expect(result.outputMessages).toEqual([{ id: 'm-r', role: 'assistant', content: 'd0 d1 d2 ' }]);
  });

  it('ends a stopped run with closed messages, tool results, run_stopped and RUN_FINISHED', async () => {
    async function* body(signal: AbortSignal): AsyncGenerator<BaseEvent> {
      yield { type: EventType.RUN_STARTED, threadId: 't', runId: 'r' } as BaseEvent;
      yield { type: EventType.TOOL_CALL_START, toolCallId: 'c1', toolCallName: 'lookup' } as BaseEvent;
      yield { type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' } as BaseEvent;
      yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: 'half' } as BaseEvent;
      // A body that ignores its signal: the pump must not wait for it.
      await new Promise(() => undefined);
      void signal;
    }
    const { run, events } = execution(body);
    const done = run.execute(1);
    await until(() => events.length === 4);
    run.abort('stop');
    const result = await done;
    expect(types(events)).toEqual([
      'RUN_STARTED',
      'TOOL_CALL_START',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'TOOL_CALL_END',
      'TOOL_CALL_RESULT',
      'CUSTOM',
      'RUN_FINISHED',
    ]);
    expect(events[7]!.event).toMatchObject({ name: RUN_STOPPED_EVENT, value: { runId: 'r', reason: 'stop' } });
    expect(events[8]!.event).toMatchObject({ threadId: 't', runId: 'r' });
    expect(result.status).toBe('stopped');
    expect(result.error).toBeNull();
  });

  it('turns a throwing body into RUN_ERROR with its code', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { run, events } = execution(
      scriptedBody('t', 'r', { deltas: 2, throwAtEnd: new CopilotRuntimeError('NETWORK_ERROR', 'provider down') }),
    );
    const result = await run.execute(1);
    expect(types(events).slice(-2)).toEqual(['TEXT_MESSAGE_END', 'RUN_ERROR']);
    expect(events.at(-1)!.event).toMatchObject({ code: 'NETWORK_ERROR', message: 'provider down' });
    expect(result).toMatchObject({ status: 'failed', error: { code: 'NETWORK_ERROR', message: 'provider down' } });
  });

  it('fails a run aborted for persistence with the writer error', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { run, events } = execution(scriptedBody('t', 'r', { hang: true }));
    const done = run.execute(1);
    await until(() => events.length === 7);
    run.abort('persistence', new CopilotRuntimeError('PERSISTENCE_UNAVAILABLE', 'db gone'));
    const result = await done;
    expect(result.status).toBe('failed');
    expect(events.at(-1)!.event).toMatchObject({ type: 'RUN_ERROR', code: 'PERSISTENCE_UNAVAILABLE' });
  });

  it('drops events a body yields after its terminal event', async () => {
    async function* body(): AsyncGenerator<BaseEvent> {
      yield { type: EventType.RUN_STARTED, threadId: 't', runId: 'r' } as BaseEvent;
      yield { type: EventType.RUN_FINISHED, threadId: 't', runId: 'r' } as BaseEvent;
      yield { type: EventType.CUSTOM, name: 'late', value: 1 } as BaseEvent;
    }
    const { run, events } = execution(body);
    await run.execute(1);
    expect(types(events)).toEqual(['RUN_STARTED', 'RUN_FINISHED']);
  });

  it('fails a body that ends without a terminal event', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    async function* body(): AsyncGenerator<BaseEvent> {
      yield { type: EventType.RUN_STARTED, threadId: 't', runId: 'r' } as BaseEvent;
    }
    const { run, events } = execution(body);
    const result = await run.execute(1);
    expect(result.status).toBe('failed');
    expect(types(events)).toEqual(['RUN_STARTED', 'RUN_ERROR']);
  });
});
