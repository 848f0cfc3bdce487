import { describe, expect, it } from '@jest/globals';
import type { BaseEvent, Message } from '@ag-ui/core';
import { liveRunEvents, toClientEvent } from '../../src/agui/event-projection.js';
import { replayThenFollow } from '../../src/agui/history-replay.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';

/**
 * The connect stream, unit by unit: the history compacted as upstream does, each RUN_STARTED
 * carrying the messages its run brought in, our internal events translated, the live run raw.
 */
const THREAD = 'th';

function log(runs: Array<[runId: string, events: Array<Record<string, unknown>>]>): LoggedEvent[] {
  let sequence = 0;
  return runs.flatMap(([runId, events]) =>
    events.map((event) => ({ threadId: THREAD, runId, sequence: ++sequence, event: { timestamp: 1, ...event } as unknown as BaseEvent })),
  );
}

async function* iterate(events: LoggedEvent[]): AsyncGenerator<LoggedEvent> {
  yield* events;
}

async function collect(events: AsyncIterable<BaseEvent>): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  for await (const event of events) {
    const { timestamp: _t, ...rest } = event as unknown as Record<string, any>;
    out.push(rest);
  }
  return out;
}

const user = (id: string, content: string): Message => ({ id, role: 'user', content });
const text = (messageId: string, ...deltas: string[]) => [
  { type: 'TEXT_MESSAGE_START', messageId, role: 'assistant' },
  ...deltas.map((delta) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId, delta })),
  { type: 'TEXT_MESSAGE_END', messageId },
];
const started = (runId: string) => ({ type: 'RUN_STARTED', threadId: THREAD, runId });
const finished = (runId: string) => ({ type: 'RUN_FINISHED', threadId: THREAD, runId });
const input = (runId: string, messages: Message[]) => ({ threadId: THREAD, runId, messages, tools: [], context: [] });

describe('replayThenFollow', () => {
  it('compacts ended runs: one delta per message and call, state before the end, inputs on RUN_STARTED', async () => {
    const events = log([
      [
        'r1',
        [
          started('r1'),
          { type: 'STATE_SNAPSHOT', snapshot: { step: 1 } },
          ...text('a1', 'Hel', 'lo'),
          { type: 'TOOL_CALL_START', toolCallId: 'c1', toolCallName: 'show', parentMessageId: 'a1' },
          { type: 'TOOL_CALL_ARGS', toolCallId: 'c1', delta: '{"x":' },
          { type: 'TOOL_CALL_ARGS', toolCallId: 'c1', delta: '1}' },
          { type: 'TOOL_CALL_END', toolCallId: 'c1' },
          { type: 'STATE_DELTA', delta: [{ op: 'replace', path: '/step', value: 2 }] },
          finished('r1'),
        ],
      ],
      ['r2', [started('r2'), ...text('a2', 'Done', '.'), finished('r2')]],
    ]);
    const stored: Message[] = [
      user('u1', 'first'),
      { id: 'a1', role: 'assistant', content: 'Hello', toolCalls: [{ id: 'c1', type: 'function', function: { name: 'show', arguments: '{"x":1}' } }] },
      { id: 't1', role: 'tool', toolCallId: 'c1', content: 'shown' },
      user('u2', 'second'),
      { id: 'a2', role: 'assistant', content: 'Done.' },
    ];
    const replay = await collect(replayThenFollow({ threadId: THREAD, events: iterate(events), endedRuns: new Set(['r1', 'r2']), storedMessages: stored }));
    expect(replay).toEqual([
      { ...started('r1'), input: input('r1', [stored[0]!]) },
      { type: 'TEXT_MESSAGE_START', messageId: 'a1', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a1', delta: 'Hello' },
      { type: 'TEXT_MESSAGE_END', messageId: 'a1' },
      { type: 'TOOL_CALL_START', toolCallId: 'c1', toolCallName: 'show', parentMessageId: 'a1' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'c1', delta: '{"x":1}' },
      { type: 'TOOL_CALL_END', toolCallId: 'c1' },
      { type: 'STATE_SNAPSHOT', snapshot: { step: 2 } },
      finished('r1'),
      { ...started('r2'), input: input('r2', [stored[2]!, stored[3]!]) },
      { type: 'TEXT_MESSAGE_START', messageId: 'a2', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a2', delta: 'Done.' },
      { type: 'TEXT_MESSAGE_END', messageId: 'a2' },
      finished('r2'),
    ]);
  });

  it('a stopped run ends with RUN_FINISHED carrying its ids; our CUSTOM run_stopped is not sent', async () => {
    const events = log([
      [
        'r1',
        [
          started('r1'),
          ...text('a1', 'Par'),
          { type: 'CUSTOM', name: 'run_stopped', value: { runId: 'r1', reason: 'stop', message: 'Run stopped by user.' } },
          { type: 'RUN_FINISHED' },
        ],
      ],
    ]);
    const replay = await collect(replayThenFollow({ threadId: THREAD, events: iterate(events), endedRuns: new Set(['r1']), storedMessages: [user('u1', 'x')] }));
    expect(replay.map((e) => e.type)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED']);
    expect(replay.at(-1)).toEqual(finished('r1'));
  });

  it('a run that failed before any output: the next inputs go to the first run after the last output', async () => {
    const events = log([
      ['r1', [started('r1'), ...text('a1', 'one'), finished('r1')]],
      ['r2', [started('r2'), { type: 'RUN_ERROR', message: 'model down', code: 'NETWORK_ERROR' }]],
      ['r3', [started('r3'), ...text('a3', 'three'), finished('r3')]],
    ]);
    const stored = [user('u1', '1'), { id: 'a1', role: 'assistant', content: 'one' } as Message, user('u2', '2'), { id: 'a3', role: 'assistant', content: 'three' } as Message];
    const replay = await collect(replayThenFollow({ threadId: THREAD, events: iterate(events), endedRuns: new Set(['r1', 'r2', 'r3']), storedMessages: stored }));
    const inputs = replay.filter((e) => e.type === 'RUN_STARTED').map((e) => e.input.messages.map((m: Message) => m.id));
    expect(inputs).toEqual([['u1'], ['u2'], []]);
    expect(replay.find((e) => e.type === 'RUN_ERROR')).toEqual({ type: 'RUN_ERROR', message: 'model down', code: 'NETWORK_ERROR' });
  });

  it('a run cut short mid-message and mid-call (its instance died): both are closed before its RUN_ERROR, which stays last', async () => {
    const events = log([
      [
        'r1',
        [
          started('r1'),
          { type: 'TEXT_MESSAGE_START', messageId: 'a1', role: 'assistant' },
          { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a1', delta: 'Once upon' },
          { type: 'TOOL_CALL_START', toolCallId: 'c1', toolCallName: 'show', parentMessageId: 'a1' },
          { type: 'TOOL_CALL_ARGS', toolCallId: 'c1', delta: '{"x":' },
          { type: 'RUN_ERROR', message: 'The runtime instance serving this run stopped before it finished.', code: 'RUN_ABANDONED' },
        ],
      ],
    ]);
    const replay = await collect(replayThenFollow({ threadId: THREAD, events: iterate(events), endedRuns: new Set(['r1']), storedMessages: [user('u1', 'x')] }));
    expect(replay.at(-1)).toMatchObject({ type: 'RUN_ERROR', code: 'RUN_ABANDONED' });
    const types = replay.map((e) => e.type);
    expect(types.indexOf('TEXT_MESSAGE_END')).toBeGreaterThan(types.indexOf('TEXT_MESSAGE_CONTENT'));
    expect(types.indexOf('TOOL_CALL_END')).toBeGreaterThan(types.indexOf('TOOL_CALL_ARGS'));
    expect(replay.find((e) => e.type === 'TEXT_MESSAGE_CONTENT')).toMatchObject({ messageId: 'a1', delta: 'Once upon' });
  });

  it('the run still going is not compacted: its events pass as they come, its RUN_STARTED has the remaining inputs', async () => {
    const events = log([
      ['r1', [started('r1'), ...text('a1', 'o', 'ne'), finished('r1')]],
      ['r2', [started('r2'), ...text('a2', 'tw', 'o').slice(0, -1)]],
    ]);
    const stored = [user('u1', '1'), { id: 'a1', role: 'assistant', content: 'one' } as Message, user('u2', '2')];
    const replay = await collect(replayThenFollow({ threadId: THREAD, events: iterate(events), endedRuns: new Set(['r1']), storedMessages: stored }));
    expect(replay.slice(5)).toEqual([
      { ...started('r2'), input: input('r2', [stored[2]!]) },
      { type: 'TEXT_MESSAGE_START', messageId: 'a2', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a2', delta: 'tw' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'a2', delta: 'o' },
    ]);
  });

  it('a run whose log lacks RUN_STARTED still starts with one (the client needs a started run)', async () => {
    const events = log([['r1', [...text('a1', 'x'), finished('r1')]], ['r2', [...text('a2', 'y')]]]);
    const replay = await collect(replayThenFollow({ threadId: THREAD, events: iterate(events), endedRuns: new Set(['r1']), storedMessages: [] }));
    expect(replay.filter((e) => e.type === 'RUN_STARTED')).toEqual([
      { ...started('r1'), input: input('r1', []) },
      { ...started('r2'), input: input('r2', []) },
    ]);
    expect(replay[0]!.type).toBe('RUN_STARTED');
  });

  it('an unknown or empty thread: nothing', async () => {
    expect(await collect(replayThenFollow({ threadId: THREAD, events: iterate([]), endedRuns: new Set(), storedMessages: [] }))).toEqual([]);
  });
});

describe('the live run stream', () => {
  it('RUN_STARTED gets the request input, RUN_FINISHED the run ids, our own CUSTOM events are dropped', async () => {
    const request = { threadId: THREAD, runId: 'r1', messages: [user('u1', 'hi')], tools: [], context: [], state: {}, forwardedProps: { a: 1 } };
    const events = log([
      [
        'r1',
        [
          { type: 'RUN_STARTED', threadId: 'agent-thread', runId: 'agent-run' },
          { type: 'CUSTOM', name: 'copilot_runtime.agent_run_started', value: { agentName: 'a', runId: 'r1' } },
          { type: 'CUSTOM', name: 'run_stopped', value: {} },
          { type: 'CUSTOM', name: 'other', value: 1 },
          { type: 'RUN_FINISHED' },
        ],
      ],
    ]);
    expect(await collect(liveRunEvents(iterate(events), request))).toEqual([
      { type: 'RUN_STARTED', threadId: THREAD, runId: 'r1', input: request },
      { type: 'CUSTOM', name: 'other', value: 1 },
      finished('r1'),
    ]);
  });

  it('other events pass unchanged', () => {
    const [logged] = log([['r1', [{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'x' }]]]);
    expect(toClientEvent(logged!)).toBe(logged!.event);
  });
});
